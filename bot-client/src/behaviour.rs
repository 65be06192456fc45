//! What a bot does each tick: in the arena, its behaviours; in any other game, a random walk
//! through the input its schema declares.

use glam::Vec2;
use rand::Rng;
use std::f32::consts::TAU;
use tickwire_shared::entity::dequantize;
use tickwire_shared::{Buttons, ClientSession, ClientWorld, Controls, EntityId, EntityKind};

/// How a bot plays. In a game other than the arena, every behaviour but `idle` sends inputs
/// drawn from the game's input schema (a random walk inside each field's range).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Behaviour {
    /// Sends no input: a spectator that only receives and verifies snapshots.
    Idle,
    /// Walks in a random direction, turning now and then.
    Wander,
    /// Walks toward the nearest other player (or drone) and aims at it.
    Chase,
    /// Chases and fires at its target.
    #[default]
    Fire,
    /// A random walk through the game's input schema, in any game (the arena too): what every
    /// behaviour but `idle` does in a game the bots have no behaviours for.
    Walk,
}

/// A behaviour with its memory (the wander heading, the walk's current input).
#[derive(Debug)]
pub(crate) struct Brain {
    behaviour: Behaviour,
    heading: f32,
    ticks_to_turn: u32,
    walk: Option<InputWalk>,
}

/// One tick's input: the arena's controls, or any game's input lanes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Controls(Controls),
    Lanes(Vec<i32>),
}

impl Brain {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            heading: 0.0,
            ticks_to_turn: 0,
            walk: None,
        }
    }

    /// The input for this tick, or `None` for a bot that sends none.
    pub(crate) fn decide(
        &mut self,
        session: &ClientSession,
        me: EntityId,
        rng: &mut impl Rng,
    ) -> Option<Decision> {
        if self.behaviour == Behaviour::Idle {
            return None;
        }
        if self.behaviour == Behaviour::Walk || session.movement().is_none() {
            let walk = match &mut self.walk {
                Some(walk) => walk,
                None => self.walk.insert(InputWalk::new(
                    session.world().layout()?.input_ranges(),
                    rng,
                )),
            };
            return Some(Decision::Lanes(walk.step(rng).to_vec()));
        }
        self.arena(session.world(), me, rng).map(Decision::Controls)
    }

    fn arena(&mut self, world: &ClientWorld, me: EntityId, rng: &mut impl Rng) -> Option<Controls> {
        let my_pos = dequantize(world.entity(me)?.pos);
        match self.behaviour {
            Behaviour::Idle | Behaviour::Walk => None,
            Behaviour::Wander => {
                if self.ticks_to_turn == 0 {
                    self.heading = rng.random_range(0.0..TAU);
                    self.ticks_to_turn = rng.random_range(15..90);
                }
                self.ticks_to_turn -= 1;
                Some(toward(Vec2::from_angle(self.heading), Buttons::default()))
            }
            Behaviour::Chase | Behaviour::Fire => {
                let target = nearest_target(world, me, my_pos);
                let direction = target.map_or(Vec2::X, |t| (t - my_pos).normalize_or(Vec2::X));
                let fire = self.behaviour == Behaviour::Fire && target.is_some();
                Some(toward(
                    direction,
                    Buttons(if fire { Buttons::FIRE } else { 0 }),
                ))
            }
        }
    }
}

fn nearest_target(world: &ClientWorld, me: EntityId, from: Vec2) -> Option<Vec2> {
    let candidates = |kind| {
        world
            .entities()
            .filter(move |(id, s)| *id != me && s.kind == kind)
            .map(|(_, s)| dequantize(s.pos))
            .min_by(|a, b| {
                a.distance_squared(from)
                    .total_cmp(&b.distance_squared(from))
            })
    };
    candidates(EntityKind::Player).or_else(|| candidates(EntityKind::Drone))
}

/// A random walk through a game's input: each tick every lane moves by up to a sixteenth of its
/// range (at least 1), staying inside it, so every input is valid and inputs change smoothly.
#[derive(Debug)]
struct InputWalk {
    ranges: Vec<(i32, i32)>,
    lanes: Vec<i32>,
}

impl InputWalk {
    fn new(ranges: Vec<(i32, i32)>, rng: &mut impl Rng) -> Self {
        let lanes = ranges
            .iter()
            .map(|&(min, max)| rng.random_range(min..=max))
            .collect();
        Self { ranges, lanes }
    }

    fn step(&mut self, rng: &mut impl Rng) -> &[i32] {
        for (lane, &(min, max)) in self.lanes.iter_mut().zip(&self.ranges) {
            let span = i64::from(max) - i64::from(min);
            let reach = (span / 16).max(1);
            let next = i64::from(*lane) + rng.random_range(-reach..=reach);
            // Inside [min, max], so it fits an i32.
            *lane = next.clamp(i64::from(min), i64::from(max)) as i32;
        }
        &self.lanes
    }
}

fn toward(direction: Vec2, buttons: Buttons) -> Controls {
    let v = (direction * 127.0).round();
    let turns = direction.to_angle() / TAU;
    Controls {
        move_x: v.x.clamp(-127.0, 127.0) as i8,
        move_y: v.y.clamp(-127.0, 127.0) as i8,
        aim: (turns.rem_euclid(1.0) * 65536.0) as u16,
        buttons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use tickwire_shared::layout::Layout;
    use tickwire_shared::schema::{
        Coding, ComponentDesc, Domain, FieldDesc, Interpolate, KindDesc, Schema,
    };

    #[test]
    fn the_input_walk_only_sends_inputs_the_schema_accepts_and_moves() {
        let field = |name: &str, lanes, domain| FieldDesc {
            name: name.into(),
            lanes,
            domain,
            coding: Coding::Absolute,
            interpolate: Interpolate::None,
            tolerance: 0,
        };
        let input = vec![
            field(
                "throttle",
                1,
                Domain::Int {
                    min: -127,
                    max: 127,
                },
            ),
            field(
                "steer",
                2,
                Domain::Fixed {
                    frac_bits: 4,
                    min: -16,
                    max: 16,
                },
            ),
            field("heading", 1, Domain::Angle { bits: 12 }),
            field(
                "gear",
                1,
                Domain::Enum {
                    variants: vec!["r".into(), "d".into()],
                },
            ),
            field("brake", 1, Domain::Bool),
        ];
        let layout = Layout::new(Schema {
            game: "walk".into(),
            version: 1,
            tick_rate: 30,
            components: vec![ComponentDesc {
                name: "c".into(),
                fields: vec![field("v", 1, Domain::Bool)],
            }],
            kinds: vec![KindDesc {
                name: "k".into(),
                components: vec![0],
            }],
            input,
            rules: vec![],
        })
        .expect("valid");
        let mut rng = StdRng::seed_from_u64(7);
        let mut walk = InputWalk::new(layout.input_ranges(), &mut rng);
        let first = walk.lanes.clone();
        let mut changed = vec![false; first.len()];
        for _ in 0..2_000 {
            let lanes = walk.step(&mut rng).to_vec();
            assert!(layout.accepts_input(&lanes), "{lanes:?}");
            for (c, (a, b)) in changed.iter_mut().zip(first.iter().zip(&lanes)) {
                *c |= a != b;
            }
        }
        assert!(changed.iter().all(|&c| c), "every lane moves: {changed:?}");
        assert!(!layout.accepts_input(&[0; 5]), "a lane short");
        assert!(
            !layout.accepts_input(&[200, 0, 0, 0, 0, 0]),
            "throttle past its range"
        );
    }
}
