//! The arena's entities: their kinds and state, the components they replicate as, the
//! arena's schema, and 1/64-unit quantization.

use glam::{IVec2, Vec2};
use serde::{Deserialize, Serialize};
use tickwire_shared::{EntityId, Trajectory};

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

// The arena as a game of the generic API: its components, kinds and schema, and the lossless
// conversion between its `EntityState` and the generic `EntityData`.

/// The arena's position component: 1/64-unit fixed point, delta-coded.
#[derive(Clone, Debug, PartialEq, tickwire_shared::component::Component)]
pub struct Body {
    /// Position in 1/64 world units.
    #[net(
        fixed(frac_bits = 6, min = -16777216, max = 16777215),
        delta,
        interpolate = "linear"
    )]
    pub pos: [i32; 2],
}

/// The arena's aim component: a full turn in 16 bits.
#[derive(Clone, Debug, PartialEq, tickwire_shared::component::Component)]
pub struct Aim {
    /// Aim direction: 0 is +x, 16384 is +y.
    #[net(angle(bits = 16), interpolate = "angle")]
    pub aim: u16,
}

/// The arena's hit points.
#[derive(Clone, Debug, PartialEq, tickwire_shared::component::Component)]
pub struct Health {
    /// Hit points left.
    #[net(int(min = 0, max = 255))]
    pub hp: u8,
}

/// The arena's score.
#[derive(Clone, Debug, PartialEq, tickwire_shared::component::Component)]
pub struct Score {
    /// Kills.
    #[net(int(min = 0, max = 65535))]
    pub score: u16,
}

/// The arena's schema, with `movement` as the rules its shared step needs (see
/// [`arena_schema_without_rules`]).
pub fn arena_schema(
    tick_rate: u16,
    movement: &crate::movement::MovementRules,
) -> Result<tickwire_shared::Schema, tickwire_shared::codec::EncodeError> {
    Ok(
        arena_schema_without_rules(tick_rate)
            .rules(tickwire_shared::codec::encode_rules(movement)?),
    )
}

/// The arena's schema before its rules are added. Kinds are in [`EntityKind::as_u8`] order:
/// player (body, aim, health, score), drone (body, aim, health), projectile (trajectory, aim:
/// ballistic, so it costs bytes only when it appears and goes), prop (body).
#[must_use]
pub fn arena_schema_without_rules(tick_rate: u16) -> tickwire_shared::Schema {
    tickwire_shared::Schema::new("arena", 1, tick_rate)
        .component::<Body>()
        .component::<Aim>()
        .component::<Health>()
        .component::<Score>()
        .component::<Trajectory>()
        .kind("player", &["Body", "Aim", "Health", "Score"])
        .kind("drone", &["Body", "Aim", "Health"])
        .kind("projectile", &["Trajectory", "Aim"])
        .kind("prop", &["Body"])
        .input::<crate::input::InputFrame>()
}

impl EntityState {
    /// Its replicated form in the arena's layout: the components of its kind (a projectile's
    /// hit points and score, for instance, are not replicated; its position is its
    /// trajectory's origin, standing still).
    #[must_use]
    pub fn to_data(
        &self,
        layout: &tickwire_shared::layout::Layout,
    ) -> Option<tickwire_shared::EntityData> {
        let mut data = tickwire_shared::EntityData::new(layout, u16::from(self.kind.as_u8()))?;
        data.set_component(
            layout,
            &Body {
                pos: self.pos.to_array(),
            },
        );
        data.set_component(
            layout,
            &Trajectory::new(self.pos.to_array(), [0, 0], tickwire_shared::Tick(0)),
        );
        data.set_component(layout, &Aim { aim: self.aim });
        data.set_component(layout, &Health { hp: self.hp });
        data.set_component(layout, &Score { score: self.score });
        Some(data)
    }

    /// An arena entity from its replicated form; components its kind lacks are zero. A
    /// projectile's position is where it was launched (`Trajectory::at` says where it is).
    #[must_use]
    pub fn from_data(
        data: &tickwire_shared::EntityData,
        layout: &tickwire_shared::layout::Layout,
    ) -> Option<Self> {
        let kind = EntityKind::from_u8(u8::try_from(data.kind).ok()?)?;
        let pos = match data.component::<Body>(layout) {
            Some(body) => body.pos,
            None => data.component::<Trajectory>(layout)?.origin,
        };
        Some(Self {
            kind,
            pos: IVec2::from_array(pos),
            aim: data.component::<Aim>(layout).map_or(0, |a| a.aim),
            hp: data.component::<Health>(layout).map_or(0, |h| h.hp),
            score: data.component::<Score>(layout).map_or(0, |s| s.score),
        })
    }
}

/// An arena world as plain entity states by id: tests and benches build worlds with it. Its
/// replicated form is [`WorldState::to_world`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorldState {
    entities: std::collections::BTreeMap<EntityId, EntityState>,
}

impl WorldState {
    /// An empty world.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// One entity's state.
    #[must_use]
    pub fn get(&self, id: EntityId) -> Option<&EntityState> {
        self.entities.get(&id)
    }

    /// All entities in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (EntityId, &EntityState)> {
        self.entities.iter().map(|(id, s)| (*id, s))
    }

    /// How many entities there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether there are no entities.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Inserts or replaces an entity.
    pub fn insert(&mut self, id: EntityId, state: EntityState) {
        self.entities.insert(id, state);
    }

    /// Removes an entity, returning its last state.
    pub fn remove(&mut self, id: EntityId) -> Option<EntityState> {
        self.entities.remove(&id)
    }

    /// This arena world in its replicated form (see [`EntityState::to_data`]).
    #[must_use]
    pub fn to_world(&self, layout: &tickwire_shared::layout::Layout) -> tickwire_shared::World {
        let mut world = tickwire_shared::World::new();
        for (id, state) in self.iter() {
            if let Some(data) = state.to_data(layout) {
                world.insert(id, data);
            }
        }
        world
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
