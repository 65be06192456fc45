//! Entity ids as they travel on the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A compact entity id as it travels on the wire; not a server-side handle.
///
/// The server hands out the smallest free ids and only reuses an id after every client's baseline
/// has moved past its removal, so ids stay small (one byte on the wire below 251).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityId(pub u32);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}
