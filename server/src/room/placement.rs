//! [`RoomDirectory`]: where a room runs, asked before every join. Two implementations sit behind
//! it: [`InProcess`], the embedded default (one process: every room is here), and the cluster's
//! directory in Redis ([`crate::cluster::placement::Cluster`], `--directory`), where each room
//! runs on the one node holding its lease.

use crate::cluster::lease_clock::LeaseClock;
use crate::cluster::lease_store::{Node, Owner, StoreError};
use crate::cluster::room_lease::RoomLease;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tickwire_game::SavedRoom;

/// A directory's answer, later.
pub(crate) type Answer<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// Where a room runs.
#[derive(Debug)]
pub(crate) enum Placement {
    /// Here. In a cluster, under this node's lease of the room (`lease`: tick it while its clock
    /// allows), with the save found when the lease was taken (`saved`, until the room opens).
    Here {
        lease: Option<Arc<LeaseClock>>,
        saved: Option<Arc<SavedRoom>>,
    },
    /// On another node: its owner, or (epoch 0) the node a new room is placed on.
    There(Owner),
    /// Nowhere: this node takes no new room (it is full or draining) and no other node has
    /// room for it.
    Full,
}

/// Where rooms run: see the module docs.
pub(crate) trait RoomDirectory: Send + Sync + std::fmt::Debug {
    /// This node, in a cluster; `None` in one process.
    fn node(&self) -> Option<&Node>;

    /// Where `room` runs, opening it here (taking its lease, in a cluster) when no one runs it
    /// and this node takes new rooms.
    fn place(self: Arc<Self>, room: String) -> Answer<Placement>;

    /// `room`'s owner, if a node of the cluster owns it (always `None` in one process: see
    /// [`crate::room::directory::Rooms::is_open`]).
    fn locate(self: Arc<Self>, room: String) -> Answer<Option<Owner>>;

    /// The room opened here under `lease` (`restored`: from its save): what its thread keeps
    /// of the lease, to check before each tick, save and give up.
    fn opened(
        self: Arc<Self>,
        room: &str,
        lease: Option<&Arc<LeaseClock>>,
        restored: bool,
    ) -> Option<RoomLease>;

    /// A lease taken for a room that did not open here (a limit, a resume it cannot take) goes
    /// back, its save kept.
    fn not_opened(self: Arc<Self>, room: &str, lease: &Arc<LeaseClock>);

    /// The server drains: no new rooms here. `true` when its rooms are to be handed off to
    /// other nodes before its sessions close.
    fn start_draining(self: Arc<Self>) -> bool;
}

/// One process: every room is here, and nothing moves.
#[derive(Debug, Default)]
pub(crate) struct InProcess;

impl RoomDirectory for InProcess {
    fn node(&self) -> Option<&Node> {
        None
    }

    fn place(self: Arc<Self>, _room: String) -> Answer<Placement> {
        Box::pin(async {
            Ok(Placement::Here {
                lease: None,
                saved: None,
            })
        })
    }

    fn locate(self: Arc<Self>, _room: String) -> Answer<Option<Owner>> {
        Box::pin(async { Ok(None) })
    }

    fn opened(
        self: Arc<Self>,
        _room: &str,
        _lease: Option<&Arc<LeaseClock>>,
        _restored: bool,
    ) -> Option<RoomLease> {
        None
    }

    fn not_opened(self: Arc<Self>, _room: &str, _lease: &Arc<LeaseClock>) {}

    fn start_draining(self: Arc<Self>) -> bool {
        false
    }
}
