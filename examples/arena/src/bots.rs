//! The arena's own bot behaviours, which `tickwire-bot` plays the arena with: `wander` (a random
//! heading, turning now and then), `chase` (toward the nearest other player, else drone, aiming
//! at it) and `fire` (chase and shoot).

use crate::client::entities;
use crate::entities::{EntityKind, dequantize};
use crate::input::{Buttons, Controls};
use glam::Vec2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f32::consts::TAU;
use tickwire_shared::bot_behaviour::BotBehaviour;
use tickwire_shared::{ClientSession, ClientWorld, EntityId};

/// The arena behaviour called `name` (`wander`, `chase` or `fire`), seeded with `seed`.
#[must_use]
pub fn behaviour(name: &str, seed: u64) -> Option<Box<dyn BotBehaviour>> {
    let kind = match name {
        "wander" => Kind::Wander,
        "chase" => Kind::Chase,
        "fire" => Kind::Fire,
        _ => return None,
    };
    Some(Box::new(ArenaBot {
        kind,
        rng: StdRng::seed_from_u64(seed),
        heading: 0.0,
        ticks_to_turn: 0,
    }))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Wander,
    Chase,
    Fire,
}

/// One bot's behaviour and its memory (the wander heading).
#[derive(Debug)]
struct ArenaBot {
    kind: Kind,
    rng: StdRng,
    heading: f32,
    ticks_to_turn: u32,
}

impl BotBehaviour for ArenaBot {
    fn input(&mut self, session: &ClientSession, me: EntityId) -> Option<Vec<i32>> {
        let world = session.world();
        let my_pos = dequantize(crate::client::entity(world, me)?.pos);
        let controls = match self.kind {
            Kind::Wander => {
                if self.ticks_to_turn == 0 {
                    self.heading = self.rng.random_range(0.0..TAU);
                    self.ticks_to_turn = self.rng.random_range(15..90);
                }
                self.ticks_to_turn -= 1;
                toward(Vec2::from_angle(self.heading), Buttons::default())
            }
            Kind::Chase | Kind::Fire => {
                let target = nearest_target(world, me, my_pos);
                let direction = target.map_or(Vec2::X, |t| (t - my_pos).normalize_or(Vec2::X));
                let fire = self.kind == Kind::Fire && target.is_some();
                toward(direction, Buttons(if fire { Buttons::FIRE } else { 0 }))
            }
        };
        Some(controls.frame(0).to_lanes())
    }
}

fn nearest_target(world: &ClientWorld, me: EntityId, from: Vec2) -> Option<Vec2> {
    let candidates = |kind| {
        entities(world)
            .filter(move |(id, s)| *id != me && s.kind == kind)
            .map(|(_, s)| dequantize(s.pos))
            .min_by(|a, b| {
                a.distance_squared(from)
                    .total_cmp(&b.distance_squared(from))
            })
    };
    candidates(EntityKind::Player).or_else(|| candidates(EntityKind::Drone))
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
