//! Views: what part of the world each client's snapshot shows. By default everything, one
//! encoding per baseline shared by every client on it; with per-client visibility, for a
//! player in a world with interest management, or for a player that owns owner-only
//! components, the client's own view, moved on from the view its seat holds.

use super::*;
use crate::room::audience::Audience;
use crate::room::interest::Grid;
use crate::room::replication::{EncodedSnapshot, SnapshotError};

/// How a room finds each client's view (from the game's `Visibility`, asked once).
#[derive(Debug)]
pub(super) enum Views {
    Everything,
    /// The game's hook decides for every client and entity.
    PerClient,
    /// Players see what is near them, found in a grid rebuilt each tick; spectators see
    /// everything. `scratch` holds one view at a time.
    Near {
        grid: Grid,
        scratch: Vec<u32>,
    },
}

impl Views {
    pub(super) fn new(visibility: Visibility) -> Self {
        match visibility {
            Visibility::Everything => Self::Everything,
            Visibility::PerClient => Self::PerClient,
            Visibility::Near { radius, margin } => Self::Near {
                grid: Grid::new(radius, margin),
                scratch: Vec::new(),
            },
        }
    }

    /// Places this tick's entities (of the `public` world), once per tick before the snapshots.
    pub(super) fn prepare(&mut self, game: &dyn HostedGame, public: &tickwire_shared::World) {
        if let Self::Near { grid, .. } = self {
            grid.rebuild(public, |id| game.position(id));
        }
    }

    /// The snapshot of what this seat's client sees, against the view it holds (`baseline`:
    /// the tick of the last snapshot handed over), and the seat's view updated. `None`: the
    /// client sees everything and takes the shared snapshot.
    pub(super) fn own_snapshot(
        &mut self,
        game: &dyn HostedGame,
        audience: &Audience,
        replication: &Replication,
        seat: &mut Seat,
        baseline: Option<Tick>,
    ) -> Option<Result<Option<EncodedSnapshot>, SnapshotError>> {
        let viewer = seat.player;
        let owns_hidden = viewer.is_some() && audience.hides_anything();
        // A player back on the shared snapshot (nothing is hidden any more) takes one more of
        // its own, which leaves it holding the whole public world: the shared snapshot's
        // baseline. It holds no view of its own after that.
        let keeps_view = !matches!(self, Self::Everything) || owns_hidden;
        let world = game.world();
        let found = match self {
            Self::Everything if !owns_hidden && seat.view.is_none() => return None,
            Self::Everything => {
                replication.view_snapshot_for(baseline, seat.view.take(), |newest| {
                    audience.own_entries(viewer, world, newest.iter_shared())
                })
            }
            Self::PerClient => {
                replication.view_snapshot_for(baseline, seat.view.take(), |newest| {
                    let seen = newest
                        .iter_shared()
                        .filter(move |&(id, _)| Some(id) == viewer || game.visible(viewer, id));
                    audience.own_entries(viewer, world, seen)
                })
            }
            Self::Near { grid, scratch } => {
                let player = viewer?;
                let held = seat.view.take();
                let holds = |id| held.as_ref().is_some_and(|h| h.holds(id));
                grid.view_of(player, holds, |id| game.visible(viewer, id), scratch);
                replication.view_snapshot_for(baseline, held, |_| {
                    audience.own_entries(viewer, world, grid.entries(scratch))
                })
            }
        };
        Some(found.map(|found| {
            found.map(|(snapshot, view)| {
                seat.view = keeps_view.then_some(view);
                snapshot
            })
        }))
    }
}
