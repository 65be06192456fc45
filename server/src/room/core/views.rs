//! Views: what part of the world each client's snapshot shows. By default everything, one
//! encoding per baseline shared by every client on it; with per-client visibility, or for a
//! player in a world with interest management, the client's own view, diffed against the view
//! its seat holds.

use super::*;
use crate::room::interest::Grid;
use crate::room::replication::{EncodedSnapshot, SnapshotError};

/// How a room finds each client's view (from the game's `Visibility`, asked once).
#[derive(Debug)]
pub(super) enum Views {
    Everything,
    /// The game's hook decides for every client and entity. `scratch` holds one view's ids.
    PerClient { scratch: Vec<EntityId> },
    /// Players see what is near them, found in a grid rebuilt each tick; spectators see
    /// everything. `scratch` holds one view's ids at a time.
    Near {
        grid: Grid,
        scratch: Vec<EntityId>,
    },
}

impl Views {
    pub(super) fn new(visibility: Visibility) -> Self {
        match visibility {
            Visibility::Everything => Self::Everything,
            Visibility::PerClient => Self::PerClient {
                scratch: Vec::new(),
            },
            Visibility::Near { radius, margin } => Self::Near {
                grid: Grid::new(radius, margin),
                scratch: Vec::new(),
            },
        }
    }

    /// Places this tick's entities, once per tick before the snapshots.
    pub(super) fn prepare(&mut self, game: &dyn HostedGame) {
        if let Self::Near { grid, .. } = self {
            grid.rebuild(game.world(), |id| game.position(id));
        }
    }

    /// The snapshot of what this seat's client sees, against the view it holds (`baseline`:
    /// the tick of the last snapshot handed over), and the seat's view updated. `None`: the
    /// client sees everything and takes the shared snapshot.
    pub(super) fn own_snapshot(
        &mut self,
        game: &dyn HostedGame,
        replication: &Replication,
        seat: &mut Seat,
        baseline: Option<Tick>,
    ) -> Option<Result<Option<EncodedSnapshot>, SnapshotError>> {
        let viewer = seat.player;
        let held = seat.view.take();
        let found = match self {
            Self::Everything => return None,
            Self::PerClient { scratch } => {
                let sees = |id| Some(id) == viewer || game.visible(viewer, id);
                replication.newest_ids(sees, scratch);
                replication.view_snapshot_for(baseline, held, scratch)
            }
            Self::Near { grid, scratch } => {
                let player = viewer?;
                let holds = |id| held.as_ref().is_some_and(|h| h.holds(id));
                grid.view_of(player, holds, |id| game.visible(viewer, id), scratch);
                scratch.sort_unstable();
                replication.view_snapshot_for(baseline, held, scratch)
            }
        };
        Some(found.map(|found| {
            found.map(|(snapshot, view)| {
                seat.view = Some(view);
                snapshot
            })
        }))
    }
}
