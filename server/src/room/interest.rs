//! Interest management for `Visibility::Near`: the world's entities placed in a grid each tick,
//! from which each player's view is found by looking only at the cells around it.

use std::collections::HashMap;
use std::sync::Arc;
use tickwire_shared::{EntityData, EntityId, World};

/// The entries in one grid cell (indices into [`Grid`]'s entries), with their positions.
type Cell = Vec<(u32, [i64; 2])>;

/// One tick's entities, ascending by id (as the world holds them, shared with it), and where
/// each is. A cell is as wide as the farthest a player sees (`radius + margin`), so a view
/// touches at most 3 x 3 cells.
#[derive(Debug)]
pub(crate) struct Grid {
    radius: i64,
    /// `radius + margin`: how far an entity a player already sees may be.
    keep_radius: i64,
    entries: Vec<(EntityId, Arc<EntityData>)>,
    /// Indices into `entries` by cell, with their positions.
    cells: HashMap<(i64, i64), Cell>,
    /// The position of each entry (`None`: it has no place, and every player sees it).
    positions: Vec<Option<[i64; 2]>>,
    /// Indices of the entries with no place.
    unplaced: Vec<u32>,
}

impl Grid {
    pub(crate) fn new(radius: u32, margin: u32) -> Self {
        Self {
            radius: i64::from(radius),
            keep_radius: (i64::from(radius) + i64::from(margin)).max(1),
            entries: Vec::new(),
            cells: HashMap::new(),
            positions: Vec::new(),
            unplaced: Vec::new(),
        }
    }

    /// Places every entity of `world` at its `position` (the game's hook).
    pub(crate) fn rebuild(
        &mut self,
        world: &World,
        mut position: impl FnMut(EntityId) -> Option<[i32; 2]>,
    ) {
        // Cells keep their allocations from tick to tick.
        for cell in self.cells.values_mut() {
            cell.clear();
        }
        self.entries.clear();
        self.positions.clear();
        self.unplaced.clear();
        for (index, (id, data)) in world.iter_shared().enumerate() {
            let index = index as u32;
            self.entries.push((id, Arc::clone(data)));
            let at = position(id).map(|[x, y]| [i64::from(x), i64::from(y)]);
            self.positions.push(at);
            match at {
                Some(at) => self
                    .cells
                    .entry(self.cell_of(at))
                    .or_default()
                    .push((index, at)),
                None => self.unplaced.push(index),
            }
        }
    }

    /// Writes into `view` the entries `player` sees, as indices ascending (so by id): itself;
    /// the entities within the radius of it, and those it `holds` already within
    /// `radius + margin`, each if `refine` agrees; and the entities with no position, if
    /// `refine` agrees. A player with no position (or not in the world) sees only those.
    pub(crate) fn view_of(
        &self,
        player: EntityId,
        holds: impl Fn(EntityId) -> bool,
        refine: impl Fn(EntityId) -> bool,
        view: &mut Vec<u32>,
    ) {
        view.clear();
        let me = self
            .entries
            .binary_search_by_key(&player, |(id, _)| *id)
            .ok()
            .map(|i| i as u32);
        view.extend(me);
        let others = |&index: &u32| Some(index) != me && refine(self.entries[index as usize].0);
        view.extend(self.unplaced.iter().copied().filter(others));
        if let Some(at) = me.and_then(|me| self.positions[me as usize]) {
            let (near, keep) = (
                self.radius * self.radius,
                self.keep_radius * self.keep_radius,
            );
            let (low, high) = (
                self.cell_of([at[0] - self.keep_radius, at[1] - self.keep_radius]),
                self.cell_of([at[0] + self.keep_radius, at[1] + self.keep_radius]),
            );
            for cx in low.0..=high.0 {
                for cy in low.1..=high.1 {
                    let Some(cell) = self.cells.get(&(cx, cy)) else {
                        continue;
                    };
                    for &(index, pos) in cell {
                        let distance = (pos[0] - at[0]).pow(2) + (pos[1] - at[1]).pow(2);
                        let id = self.entries[index as usize].0;
                        let seen = distance <= near || (distance <= keep && holds(id));
                        if seen && others(&index) {
                            view.push(index);
                        }
                    }
                }
            }
        }
        view.sort_unstable();
    }

    /// The entries of a view from [`Grid::view_of`], ascending by id.
    pub(crate) fn entries<'a, 'v>(
        &'a self,
        view: &'v [u32],
    ) -> impl Iterator<Item = (EntityId, &'a Arc<EntityData>)> + use<'a, 'v> {
        view.iter().map(|&index| {
            let (id, data) = &self.entries[index as usize];
            (*id, data)
        })
    }

    /// How near `id` is to `player`: 1 on top of it, falling to 0 at the radius and beyond
    /// (and for either without a position).
    pub(crate) fn nearness(&self, player: EntityId, id: EntityId) -> f32 {
        let at = |id: EntityId| {
            let index = self.entries.binary_search_by_key(&id, |(id, _)| *id).ok()?;
            self.positions[index]
        };
        let (Some(a), Some(b)) = (at(player), at(id)) else {
            return 0.0;
        };
        let distance = (((a[0] - b[0]).pow(2) + (a[1] - b[1]).pow(2)) as f64).sqrt();
        (1.0 - distance / self.radius.max(1) as f64).max(0.0) as f32
    }

    fn cell_of(&self, at: [i64; 2]) -> (i64, i64) {
        (
            at[0].div_euclid(self.keep_radius),
            at[1].div_euclid(self.keep_radius),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_shared::component::Component;
    use tickwire_shared::layout::Layout;
    use tickwire_shared::{EntityData, Schema};

    #[derive(Clone, Debug, PartialEq, Component)]
    struct Spot {
        #[net(int(min = -100000, max = 100000))]
        x: i32,
    }

    /// A world of `n` entities whose positions the test gives.
    fn world(n: u32) -> World {
        let schema = Schema::new("spots", 1, 30)
            .component::<Spot>()
            .kind("spot", &["Spot"]);
        let layout = Layout::new(schema).expect("valid");
        let mut world = World::new();
        for id in 0..n {
            let mut spot = EntityData::new(&layout, 0).expect("a kind");
            spot.set_component(&layout, &Spot { x: 0 });
            world.insert(EntityId(id), spot);
        }
        world
    }

    fn view(grid: &Grid, player: u32, held: &[u32]) -> Vec<u32> {
        let mut view = Vec::new();
        let holds = |id: EntityId| held.contains(&id.0);
        grid.view_of(EntityId(player), holds, |_| true, &mut view);
        grid.entries(&view).map(|(id, _)| id.0).collect()
    }

    #[test]
    fn a_player_sees_what_is_near_and_keeps_it_until_past_the_margin() {
        // 0 is the player at the origin; 1 is 100 away, 2 is 110, 3 is 130, 4 far, 5 placeless.
        let xs = [Some(0), Some(100), Some(110), Some(130), Some(5000), None];
        let mut grid = Grid::new(100, 20);
        grid.rebuild(&world(6), |id| xs[id.0 as usize].map(|x| [x, 0]));
        assert_eq!(
            view(&grid, 0, &[]),
            [0, 1, 5],
            "within the radius, and the placeless"
        );
        assert_eq!(
            view(&grid, 0, &[2, 3]),
            [0, 1, 2, 5],
            "a held entity stays until past radius + margin"
        );
    }

    #[test]
    fn views_agree_with_a_scan_of_every_entity_across_cell_borders() {
        // Entities on a line crossing many cells, with negative coordinates too.
        let n = 200;
        let x = |id: u32| (id as i32 - 100) * 37;
        let mut grid = Grid::new(150, 50);
        grid.rebuild(&world(n), |id| Some([x(id.0), (id.0 as i32 % 7) * 20]));
        for player in (0..n).step_by(13) {
            let held: Vec<u32> = (0..n).filter(|id| id % 3 == 0).collect();
            let expected: Vec<u32> = (0..n)
                .filter(|&id| {
                    let d2 = i64::from(x(id) - x(player)).pow(2)
                        + i64::from((id as i32 % 7 - player as i32 % 7) * 20).pow(2);
                    id == player || d2 <= 150 * 150 || (d2 <= 200 * 200 && held.contains(&id))
                })
                .collect();
            assert_eq!(view(&grid, player, &held), expected, "player {player}");
        }
    }
}
