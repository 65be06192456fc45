//! Rooms across server processes (`--directory redis://…`): a directory in Redis where each room
//! has exactly one owner, fenced by an epoch.
//! - `lease_store`: the leases in Redis, changed only by atomic scripts.
//! - `lease_clock`: until when this node may tick a room, on its own monotonic clock.
//! - `placement`: this node's leases: where a joining room is (loading its save on a takeover),
//!   renewals, saves, release and hand-off.
//! - `room_lease`: one room's lease as its room thread uses it.
//!
//! Without `--directory` the server keeps its in-process directory (`room::directory`) alone.

pub(crate) mod lease_clock;
pub mod lease_store;
pub(crate) mod placement;
pub(crate) mod room_lease;
