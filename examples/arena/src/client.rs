//! The arena in a frontend: what to draw (entities in world units, the local player predicted
//! with the local aim), its entities and its movement rules, from any [`ClientSession`] of the
//! arena.

use crate::entities::{EntityKind, EntityState, STEPS_PER_UNIT};
use crate::movement::MovementRules;
use glam::Vec2;
use std::time::Duration;
use tickwire_shared::{ClientSession, ClientWorld, EntityId, Tick, codec};

/// What to draw this frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderState {
    /// The newest snapshot's tick applied.
    pub tick: Option<Tick>,
    /// The local player: predicted position, local aim, replicated hp and score.
    pub me: Option<RenderedEntity>,
    /// Every other entity, interpolated.
    pub others: Vec<RenderedEntity>,
}

/// The arena at `now` from `session` ([`ClientSession::draw`]): the local player, predicted
/// when the session is (with [`crate::ArenaStep`]), aiming at `aim` when the frontend knows its
/// own aim; everything else interpolated.
#[must_use]
pub fn render(session: &ClientSession, now: Duration, aim: Option<u16>) -> RenderState {
    let mut drawn = Vec::new();
    session.draw(now, &mut drawn);
    let Some(layout) = session.world().layout() else {
        return RenderState::default();
    };
    let me_id = session.player();
    let mut me = None;
    let mut others = Vec::with_capacity(drawn.len());
    for entity in drawn
        .iter()
        .filter_map(|d| RenderedEntity::from_drawn(d, layout))
    {
        if Some(entity.id) == me_id {
            me = Some(RenderedEntity {
                aim: aim.map_or(entity.aim, |a| f32::from(a) / 65536.0),
                ..entity
            });
        } else {
            others.push(entity);
        }
    }
    RenderState {
        tick: session.world().tick(),
        me,
        others,
    }
}

/// The room's movement rules, when the session's room plays the arena.
#[must_use]
pub fn movement(session: &ClientSession) -> Option<MovementRules> {
    codec::decode_rules(&arena_layout(session.world())?.schema().rules).ok()
}

/// The arena entity `id` as `world` holds it (the server's view, not the prediction).
#[must_use]
pub fn entity(world: &ClientWorld, id: EntityId) -> Option<EntityState> {
    EntityState::from_data(world.state().get(id)?, arena_layout(world)?)
}

/// The world's layout if its room plays the arena: another game's kinds and components are not
/// the arena's, whatever their names.
fn arena_layout(world: &ClientWorld) -> Option<&tickwire_shared::layout::Layout> {
    world
        .layout()
        .map(|l| &**l)
        .filter(|l| l.schema().game == "arena")
}

/// Every arena entity `world` holds, in id order.
pub fn entities(world: &ClientWorld) -> impl Iterator<Item = (EntityId, EntityState)> + '_ {
    let layout = arena_layout(world);
    world
        .state()
        .iter()
        .filter_map(move |(id, data)| Some((id, EntityState::from_data(data, layout?)?)))
}

/// An arena entity as drawn this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderedEntity {
    /// Its id.
    pub id: EntityId,
    /// What it is.
    pub kind: EntityKind,
    /// Position in world units.
    pub pos: Vec2,
    /// Aim as a fraction of a full turn, 0.0..1.0 (0 is +x, 0.25 is +y).
    pub aim: f32,
    /// Hit points.
    pub hp: u8,
    /// Score.
    pub score: u16,
}

impl RenderedEntity {
    /// An entity drawn exactly as replicated.
    #[must_use]
    pub fn from_state(id: EntityId, state: &EntityState) -> Self {
        Self {
            id,
            kind: state.kind,
            pos: state.pos.as_vec2() / STEPS_PER_UNIT,
            aim: f32::from(state.aim) / 65536.0,
            hp: state.hp,
            score: state.score,
        }
    }

    /// An arena entity as interpolated in the arena's `layout` (`None` for another game's).
    #[must_use]
    pub fn from_drawn(
        drawn: &tickwire_shared::DrawnEntity,
        layout: &tickwire_shared::layout::Layout,
    ) -> Option<Self> {
        if layout.schema().game != "arena" {
            return None;
        }
        let kind = EntityKind::from_u8(u8::try_from(drawn.kind).ok()?)?;
        // An arena component's first field; its lanes start where the kind places it.
        let lane = |component: &str| -> Option<&[f64]> {
            let c = layout.component_index(component)?;
            let (at, _) = layout.component_offsets(drawn.kind, c)?;
            let len = layout.schema().components[c].fields.first()?.lanes;
            drawn.lanes.get(at..at + usize::from(len))
        };
        // A projectile's trajectory origin is drawn where it is now.
        let &[x, y] = lane("Body").or_else(|| lane("Trajectory"))? else {
            return None;
        };
        let whole = |component| lane(component).and_then(|l| l.first().copied());
        Some(Self {
            id: drawn.id,
            kind,
            pos: Vec2::new(x as f32, y as f32) / STEPS_PER_UNIT,
            aim: whole("Aim").map_or(0.0, |a| (a / 65536.0) as f32),
            hp: whole("Health").map_or(0, |h| h as u8),
            score: whole("Score").map_or(0, |s| s as u16),
        })
    }
}
