//! The world as a client sees it: built from snapshots, decoded by the game's schema, verified
//! by their checksums.

use crate::layout::Layout;
use crate::world_diff::WorldDeltaError;
use crate::world_wire::WorldWireError;
use crate::{Checksum, Snapshot, Tick, World};
use std::sync::Arc;

/// A client's copy of the replicated world.
///
/// Give it the game's layout ([`ClientWorld::set_layout`], from the Welcome), then every
/// snapshot in arrival order with [`ClientWorld::apply`]. After a mismatch it ignores deltas
/// until a full snapshot arrives; the caller sends [`crate::ClientMessage::RequestFull`] when
/// `apply` returns an error.
#[derive(Clone, Debug, Default)]
pub struct ClientWorld {
    layout: Option<Arc<Layout>>,
    state: World,
    /// The tick of the last snapshot applied; `None` before the first full snapshot or after a
    /// desync.
    tick: Option<Tick>,
    last_input: u32,
}

/// What [`ClientWorld::apply`] did with a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The world now matches the snapshot's tick and checksum.
    Updated,
    /// A delta arrived while waiting for a full snapshot; it was ignored.
    AwaitingFull,
}

/// Why a snapshot did not apply. Every variant is a desync: ask for a full snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The snapshot is a delta against a tick this world is not at.
    #[error("snapshot is a delta against tick {baseline}, but the world is at {world:?}")]
    BaselineMismatch {
        /// The snapshot's baseline.
        baseline: Tick,
        /// The world's tick.
        world: Option<Tick>,
    },
    /// No game layout yet: a snapshot before the Welcome.
    #[error("snapshot before the game's schema")]
    NoSchema,
    /// The packed delta does not decode by the game's schema.
    #[error(transparent)]
    Wire(#[from] WorldWireError),
    /// The delta contradicts the world.
    #[error(transparent)]
    Delta(#[from] WorldDeltaError),
    /// The world after applying does not have the checksum the server computed.
    #[error("checksum mismatch at tick {tick}: server {expected:?}, client {actual:?}")]
    ChecksumMismatch {
        /// The snapshot's tick.
        tick: Tick,
        /// The server's checksum.
        expected: Checksum,
        /// This world's checksum.
        actual: Checksum,
    },
}

impl ClientWorld {
    /// An empty world waiting for its first (full) snapshot.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the game's layout (a new one empties the world: its entities were of another game).
    pub fn set_layout(&mut self, layout: Arc<Layout>) {
        let same = self
            .layout
            .as_ref()
            .is_some_and(|old| old.schema() == layout.schema());
        if !same {
            self.state.clear();
            self.tick = None;
        }
        self.layout = Some(layout);
    }

    /// The game's layout, once set.
    #[must_use]
    pub fn layout(&self) -> Option<&Arc<Layout>> {
        self.layout.as_ref()
    }

    /// Applies the next snapshot and verifies its checksum.
    pub fn apply(&mut self, snapshot: &Snapshot) -> Result<Applied, ApplyError> {
        let Some(layout) = self.layout.clone() else {
            return Err(ApplyError::NoSchema);
        };
        match (snapshot.baseline, self.tick) {
            (None, _) => self.state.clear(),
            (Some(baseline), Some(world)) if baseline == world => {}
            (Some(_), None) => return Ok(Applied::AwaitingFull),
            (Some(baseline), world) => {
                self.tick = None;
                return Err(ApplyError::BaselineMismatch { baseline, world });
            }
        }
        self.tick = None;
        let delta = snapshot.delta.unpack(&layout)?;
        self.state.apply(&delta, &layout)?;
        let actual = self.state.checksum();
        if actual != snapshot.checksum {
            return Err(ApplyError::ChecksumMismatch {
                tick: snapshot.tick,
                expected: snapshot.checksum,
                actual,
            });
        }
        self.tick = Some(snapshot.tick);
        self.last_input = snapshot.last_input;
        Ok(Applied::Updated)
    }

    /// The tick of the last snapshot applied, if the world is in sync.
    #[must_use]
    pub fn tick(&self) -> Option<Tick> {
        self.tick
    }

    /// The sequence of the last own input the server had applied at [`ClientWorld::tick`].
    #[must_use]
    pub fn last_input(&self) -> u32 {
        self.last_input
    }

    /// The replicated state.
    #[must_use]
    pub fn state(&self) -> &World {
        &self.state
    }
}
