//! Views: what part of the world each client's snapshot shows. By default everything, one
//! encoding per baseline shared by every client on it; with per-client visibility, for a
//! player in a world with interest management, or for a player that owns owner-only
//! components, the client's own view, moved on from the view its seat holds.

use super::*;
use crate::room::audience::Audience;
use crate::room::budget::Budget;
use crate::room::interest::Grid;
use crate::room::replication::{EncodedSnapshot, SnapshotError};
use tickwire_shared::EntityData;

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

    /// Whether clients' views may coincide, so that they can share a snapshot: not with a
    /// budget (allowances differ), nor with interest management (players see from where they
    /// stand, and its spectators take the shared snapshot).
    pub(super) fn may_share(&self, budgeted: bool) -> bool {
        !budgeted && !matches!(self, Self::Near { .. })
    }

    /// Places this tick's entities (of the `public` world), once per tick before the snapshots.
    pub(super) fn prepare(&mut self, game: &dyn HostedGame, public: &tickwire_shared::World) {
        if let Self::Near { grid } = self {
            grid.rebuild(public, |id| game.position(id));
        }
    }

    /// What this seat's client sees this tick, or `None` when it sees everything and takes
    /// the shared snapshot. `scratch`: room for one view. Clients' sights may be found at once
    /// on several threads.
    pub(super) fn sight<'a>(
        &'a self,
        from: &Sources<'a>,
        seat: &Seat,
        scratch: &mut Vec<u32>,
    ) -> Option<Sight<'a>> {
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
        let (game, audience, world) = (from.game, from.audience, from.game.world());
        let newest = from.replication.newest()?;
        let entries = match near {
            Some((grid, player)) => {
                let holds = |id| seat.view.as_ref().is_some_and(|h| h.holds(id));
                grid.view_of(player, holds, |id| game.visible(viewer, id), scratch);
                audience
                    .own_entries(viewer, world, grid.entries(scratch))
                    .collect()
            }
            None if filtered => {
                let seen = newest
                    .iter_shared()
                    .filter(move |&(id, _)| Some(id) == viewer || game.visible(viewer, id));
                audience.own_entries(viewer, world, seen).collect()
            }
            None => audience
                .own_entries(viewer, world, newest.iter_shared())
                .collect(),
        };
        Some(Sight {
            entries,
            near,
            // A player back on the shared snapshot (nothing is hidden any more) takes one more
            // of its own, which leaves it holding the whole public world: the shared
            // snapshot's baseline. It holds no view of its own after that.
            keeps_view: own_anyway || near.is_some() || filtered,
        })
    }

    /// The snapshot of what this seat's client sees (`sight`), against the view it holds
    /// (`baseline`: the tick of the last snapshot handed over), and the seat's view updated:
    /// all the way, or as far as the room's budget allows.
    pub(super) fn snapshot_of(
        &self,
        from: &Sources<'_>,
        seat: &mut Seat,
        baseline: Option<Tick>,
        sight: Sight<'_>,
    ) -> Result<Option<EncodedSnapshot>, SnapshotError> {
        let (game, audience, layout) = (from.game, from.audience, from.game.layout());
        let changes = from.replication.changes();
        let viewer = seat.player;
        let allowance = &mut seat.allowance;
        let near = sight.near;
        let found = from.replication.view_snapshot_for(
            baseline,
            seat.view.take(),
            sight.entries,
            |view, entries, encode| match from.budget {
                None => {
                    let delta = view.follow_known(entries, layout, Some(changes));
                    encode(&delta, view.checksum())
                }
                Some(budget) => budget.move_on(
                    allowance.get_or_insert_with(|| budget.allowance()),
                    view,
                    entries.into_iter(),
                    |id| Some(id) == viewer || audience.owns(viewer, id),
                    |id| near.map_or(0.0, |(grid, player)| grid.nearness(player, id)),
                    game.tick(),
                    layout,
                    changes,
                    encode,
                ),
            },
        );
        found.map(|found| {
            found.map(|(snapshot, view)| {
                seat.view = sight.keeps_view.then_some(view);
                snapshot
            })
        })
    }
}

/// What one client sees this tick, before its view moves on to it.
pub(super) struct Sight<'a> {
    /// The entities, ascending, shared with the newest world (its own as they are).
    entries: Vec<(EntityId, &'a Arc<EntityData>)>,
    near: Option<(&'a Grid, EntityId)>,
    /// Whether the seat keeps its view after this tick's snapshot.
    keeps_view: bool,
}

impl Sight<'_> {
    /// What it shows as words to hash, to find sights that may coincide: whether the view is
    /// kept, then each entity's id and the address of its data.
    pub(super) fn words(&self) -> impl Iterator<Item = u64> + '_ {
        let entries = self.entries.iter();
        std::iter::once(u64::from(self.keeps_view))
            .chain(entries.flat_map(|(id, data)| [u64::from(id.0), Arc::as_ptr(data) as u64]))
    }

    /// Whether it shows exactly what `other` does, entity for entity.
    pub(super) fn same_as(&self, other: &Sight<'_>) -> bool {
        self.keeps_view == other.keeps_view
            && self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((a, x), (b, y))| a == b && Arc::ptr_eq(x, y))
    }
}

/// What a client's own view is made from this tick.
pub(super) struct Sources<'a> {
    pub(super) game: &'a dyn HostedGame,
    pub(super) audience: &'a Audience,
    pub(super) replication: &'a Replication,
    pub(super) budget: Option<&'a Budget>,
}
