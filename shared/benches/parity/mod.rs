//! The benchmark world "parity-320" (see BENCHMARKS.md), shared by the benches.
//!
//! 320 props at uniform random positions in a 1000 x 1000 world (1/64-unit steps, so 0..=64000
//! on each axis); every tick the next window of 64 of them moves by a uniform random integer in
//! [-32, 32] steps on x and on y, clamped to the world as examples/parity does. The RNG is
//! seeded, so every run measures the same worlds and the same frames. The schema is the parity
//! game's: one kind, `prop`, of one component, `Body`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tickwire_shared::component::Component;
use tickwire_shared::layout::Layout;
use tickwire_shared::{EntityData, EntityId, Schema, World};

/// A prop's place, as examples/parity declares it.
#[derive(Clone, Debug, PartialEq, Component)]
pub(crate) struct Body {
    #[net(
        fixed(frac_bits = 6, min = -16777216, max = 16777215),
        delta,
        interpolate = "linear"
    )]
    pub(crate) pos: [i32; 2],
}

/// The parity game's layout.
pub(crate) fn layout() -> Layout {
    let schema = Schema::new("parity", 1, 30)
        .component::<Body>()
        .kind("prop", &["Body"]);
    Layout::new(schema).expect("valid")
}

/// Entities in the world.
pub(crate) const ENTITIES: u32 = 320;
/// Entities the rotating window moves each tick.
pub(crate) const MOVING_PER_TICK: usize = 64;
/// The world's edge in 1/64-unit steps (1000 units).
pub(crate) const WORLD_STEPS: i32 = 1000 * 64;
/// Largest move per axis per tick, in steps (half a unit).
pub(crate) const JITTER_STEPS: i32 = 32;
/// The parity-320 world and its rotating window.
pub(crate) struct Parity {
    rng: StdRng,
    /// The world as of the latest step.
    pub(crate) world: World,
    layout: Layout,
    next: u32,
}

impl Parity {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let layout = layout();
        let mut world = World::new();
        for id in 0..ENTITIES {
            let pos = [(); 2].map(|()| rng.random_range(0..=WORLD_STEPS));
            let mut prop = EntityData::new(&layout, 0).expect("the prop kind");
            prop.set_component(&layout, &Body { pos });
            world.insert(EntityId(id), prop);
        }
        Self {
            rng,
            world,
            layout,
            next: 0,
        }
    }

    /// Moves the next window of entities, as examples/parity does each tick.
    pub(crate) fn step(&mut self) {
        for _ in 0..MOVING_PER_TICK {
            let id = EntityId(self.next);
            self.next = (self.next + 1) % ENTITIES;
            let step = [(); 2].map(|()| self.rng.random_range(-JITTER_STEPS..=JITTER_STEPS));
            let layout = &self.layout;
            self.world.update(id, |prop| {
                let mut body = prop.component::<Body>(layout).expect("a prop has a body");
                for (pos, step) in body.pos.iter_mut().zip(step) {
                    *pos = (*pos + step).clamp(0, WORLD_STEPS);
                }
                prop.set_component(layout, &body);
            });
        }
    }
}
