//! Entity ids, kinds and the replicated entity state, with position quantization.

use glam::{IVec2, Vec2};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Fixed-point steps per world unit: positions travel and are simulated as integers in 1/64 unit.
pub const STEPS_PER_UNIT: f32 = 64.0;

/// Converts a world-space position (units) to its quantized fixed-point form (1/64 unit).
/// Non-finite inputs become 0 and out-of-range inputs saturate, so the result is always valid.
#[must_use]
pub fn quantize(world: Vec2) -> IVec2 {
    let q = |v: f32| (v * STEPS_PER_UNIT).round() as i32; // `as` saturates and maps NaN to 0.
    IVec2::new(q(world.x), q(world.y))
}

/// Converts a quantized position back to world units (exact: every step is a power of two).
#[must_use]
pub fn dequantize(steps: IVec2) -> Vec2 {
    steps.as_vec2() / STEPS_PER_UNIT
}

/// A compact entity id as it travels on the wire; not a server-side slotmap key.
///
/// The server hands out the smallest free ids and only reuses an id after every client's baseline
/// has moved past its removal, so ids stay small (one byte on the wire below 251).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityId(pub u32);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// What an entity is. Never changes during an entity's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityKind {
    /// A connected player.
    Player,
    /// A server-controlled drone that wanders the arena.
    Drone,
    /// A projectile fired by a player.
    Projectile,
    /// A passive object moved by the world (used by the benchmark world).
    Prop,
}

impl EntityKind {
    /// The kind's wire number, used by the checksum and the packed delta.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Player => 0,
            Self::Drone => 1,
            Self::Projectile => 2,
            Self::Prop => 3,
        }
    }

    /// The kind with wire number `n`, if any.
    #[must_use]
    pub fn from_u8(n: u8) -> Option<Self> {
        [Self::Player, Self::Drone, Self::Projectile, Self::Prop]
            .get(usize::from(n))
            .copied()
    }
}

/// The replicated state of one entity: exactly what a client holds, already quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityState {
    /// What the entity is.
    pub kind: EntityKind,
    /// Position in 1/64 world units (see [`quantize`]).
    pub pos: IVec2,
    /// Aim direction as a fraction of a full turn: 0 is +x, 16384 is +y.
    pub aim: u16,
    /// Hit points left.
    pub hp: u8,
    /// Score (players: kills).
    pub score: u16,
}

impl EntityState {
    /// A new entity of `kind` at `pos` with everything else zero.
    #[must_use]
    pub fn new(kind: EntityKind, pos: IVec2) -> Self {
        Self {
            kind,
            pos,
            aim: 0,
            hp: 0,
            score: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_is_at_least_one_64th_and_round_trips() {
        let p = Vec2::new(123.456, -7.001);
        let back = dequantize(quantize(p));
        assert!((back - p).abs().max_element() <= 0.5 / 64.0);
        assert_eq!(quantize(dequantize(IVec2::new(5, -9))), IVec2::new(5, -9));
        assert_eq!(
            quantize(Vec2::new(f32::NAN, f32::INFINITY)),
            IVec2::new(0, i32::MAX)
        );
    }
}
