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
