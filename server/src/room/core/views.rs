//! Views: what part of the world each client's snapshot shows. By default everything, one
//! encoding per baseline shared by every client on it; with per-client visibility, for a
//! player in a world with interest management, or for a player that owns owner-only
//! components, the client's own view, moved on from the view its seat holds.

use super::*;
use crate::room::audience::Audience;
use crate::room::budget::Budget;
use crate::room::interest::Grid;
use crate::room::replication::{EncodedSnapshot, SnapshotError};

/// How a room finds each client's view (from the game's `Visibility`, asked once).
#[derive(Debug)]
pub(super) enum Views {
    Everything,
    /// The game's hook decides for every client and entity.
    PerClient,
    /// Players see what is near them, found in a grid rebuilt each tick; spectators see
    /// everything.
    Near {
        grid: Grid,
    },
}

impl Views {
    pub(super) fn new(visibility: Visibility) -> Self {
        match visibility {
            Visibility::Everything => Self::Everything,
            Visibility::PerClient => Self::PerClient,
            Visibility::Near { radius, margin } => Self::Near {
                grid: Grid::new(radius, margin),
            },
        }
    }

    /// Whether some client may need a snapshot of its own this tick: with per-client
    /// visibility, a budget, or hidden components.
    pub(super) fn may_differ(&self, budgeted: bool, audience: &Audience) -> bool {
        !matches!(self, Self::Everything) || budgeted || audience.hides_anything()
    }

    /// Places this tick's entities (of the `public` world), once per tick before the snapshots.
    pub(super) fn prepare(&mut self, game: &dyn HostedGame, public: &tickwire_shared::World) {
        if let Self::Near { grid } = self {
            grid.rebuild(public, |id| game.position(id));
        }
    }

    /// The snapshot of what this seat's client sees, against the view it holds (`baseline`:
    /// the tick of the last snapshot handed over), and the seat's view updated. `None`: the
    /// client sees everything and takes the shared snapshot. `scratch`: room for one view.
    /// Clients' snapshots may be made at once on several threads.
    pub(super) fn own_snapshot(
        &self,
        from: &Sources<'_>,
        seat: &mut Seat,
        baseline: Option<Tick>,
        scratch: &mut Vec<u32>,
    ) -> Option<Result<Option<EncodedSnapshot>, SnapshotError>> {
        let viewer = seat.player;
        let owns_hidden = viewer.is_some() && from.audience.hides_anything();
        let own_anyway = from.budget.is_some() || owns_hidden;
        let filtered = matches!(self, Self::PerClient);
        // A player in a world with interest management: the grid, and who it is.
        let near = match self {
            Self::Near { grid } => viewer.map(|player| (grid, player)),
            _ => None,
        };
        if near.is_none() && !filtered && !own_anyway && seat.view.is_none() {
            return None;
        }
        // A player back on the shared snapshot (nothing is hidden any more) takes one more of
        // its own, which leaves it holding the whole public world: the shared snapshot's
        // baseline. It holds no view of its own after that.
        let keeps_view = own_anyway || near.is_some() || filtered;
        let (game, audience) = (from.game, from.audience);
        let held = seat.view.take();
        let near = near.map(|(grid, player)| {
            let holds = |id| held.as_ref().is_some_and(|h| h.holds(id));
            grid.view_of(player, holds, |id| game.visible(viewer, id), scratch);
            (grid, player, &*scratch)
        });
        let world = game.world();
        let layout = game.layout();
        let changes = from.replication.changes();
        let allowance = &mut seat.allowance;
        let found = from.replication.view_snapshot_for(
            baseline,
            held,
            |newest| {
                let seen: Box<dyn Iterator<Item = _>> = match near {
                    Some((grid, _, scratch)) => Box::new(grid.entries(scratch)),
                    None if filtered => Box::new(
                        newest
                            .iter_shared()
                            .filter(move |&(id, _)| Some(id) == viewer || game.visible(viewer, id)),
                    ),
                    None => Box::new(newest.iter_shared()),
                };
                audience.own_entries(viewer, world, seen)
            },
            |view, entries, encode| match from.budget {
                None => {
                    let delta = view.follow_known(entries, layout, Some(changes));
                    encode(&delta, view.checksum())
                }
                Some(budget) => budget.move_on(
                    allowance.get_or_insert_with(|| budget.allowance()),
                    view,
                    entries,
                    |id| Some(id) == viewer || audience.owns(viewer, id),
                    |id| near.map_or(0.0, |(grid, player, _)| grid.nearness(player, id)),
                    game.tick(),
                    layout,
                    changes,
                    encode,
                ),
            },
        );
        Some(found.map(|found| {
            found.map(|(snapshot, view)| {
                seat.view = keeps_view.then_some(view);
                snapshot
            })
        }))
    }
}

/// What a client's own view is made from this tick.
pub(super) struct Sources<'a> {
    pub(super) game: &'a dyn HostedGame,
    pub(super) audience: &'a Audience,
    pub(super) replication: &'a Replication,
    pub(super) budget: Option<&'a Budget>,
}
