//! The benchmark world "parity-320" (see BENCHMARKS.md), shared by the benches.
//!
//! 320 props at uniform random positions in a 1000 x 1000 world (1/64-unit steps, so 0..=64000
//! on each axis); every tick the next window of 64 of them moves by a uniform random integer in
//! [-32, 32] steps on x and on y, clamped to the world as the server's arena does. The RNG is
//! seeded, so every run measures the same worlds and the same frames.

use glam::IVec2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tickwire_shared::{EntityId, EntityKind, EntityState, WorldState};

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
    pub(crate) world: WorldState,
    next: u32,
}

impl Parity {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut world = WorldState::new();
        for id in 0..ENTITIES {
            let pos = IVec2::new(
                rng.random_range(0..=WORLD_STEPS),
                rng.random_range(0..=WORLD_STEPS),
            );
            world.insert(EntityId(id), EntityState::new(EntityKind::Prop, pos));
        }
        Self {
            rng,
            world,
            next: 0,
        }
    }

    /// Moves the next window of entities, as the server's arena does each tick.
    pub(crate) fn step(&mut self) {
        for _ in 0..MOVING_PER_TICK {
            let id = EntityId(self.next);
            self.next = (self.next + 1) % ENTITIES;
            let step = IVec2::new(
                self.rng.random_range(-JITTER_STEPS..=JITTER_STEPS),
                self.rng.random_range(-JITTER_STEPS..=JITTER_STEPS),
            );
            let mut state = *self.world.get(id).expect("every id below ENTITIES exists");
            state.pos = (state.pos + step).clamp(IVec2::ZERO, IVec2::splat(WORLD_STEPS));
            self.world.insert(id, state);
        }
    }
}

/// The parity world's one component, as a game declares it: a position in 1/64 units inside
/// the world, delta-coded.
#[derive(Clone, Debug, PartialEq, tickwire_shared::component::Component)]
pub(crate) struct Body {
    #[net(
        fixed(frac_bits = 6, min = 0, max = 64000),
        delta,
        interpolate = "linear"
    )]
    pub(crate) pos: [i32; 2],
}

/// The parity world's schema: one kind, "prop", made of a [`Body`].
#[allow(dead_code)] // Used by the codec comparison, not by every bench that includes this module.
pub(crate) fn layout() -> tickwire_shared::layout::Layout {
    use tickwire_shared::component::Component;
    use tickwire_shared::schema::{KindDesc, Schema};
    tickwire_shared::layout::Layout::new(Schema {
        game: "parity".into(),
        version: 1,
        tick_rate: 30,
        components: vec![Body::desc()],
        kinds: vec![KindDesc {
            name: "prop".into(),
            components: vec![0],
        }],
        input: vec![],
        rules: vec![],
    })
    .expect("a valid schema")
}

/// `world` as the generic world of [`layout`].
#[allow(dead_code)]
pub(crate) fn generic(
    world: &WorldState,
    layout: &tickwire_shared::layout::Layout,
) -> tickwire_shared::World {
    let mut out = tickwire_shared::World::new();
    for (id, state) in world.iter() {
        let mut data = tickwire_shared::EntityData::new(layout, 0).expect("kind 0 exists");
        data.set_component(
            layout,
            &Body {
                pos: state.pos.to_array(),
            },
        );
        out.insert(id, data);
    }
    out
}
