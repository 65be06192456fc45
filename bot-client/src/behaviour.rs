//! What a bot does each tick.

use glam::Vec2;
use rand::Rng;
use std::f32::consts::TAU;
use tickwire_shared::entity::dequantize;
use tickwire_shared::{Buttons, ClientWorld, Controls, EntityId, EntityKind};

/// How a bot plays.
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
}

/// A behaviour with its memory (the wander heading).
#[derive(Debug)]
pub(crate) struct Brain {
    behaviour: Behaviour,
    heading: f32,
    ticks_to_turn: u32,
}

impl Brain {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            heading: 0.0,
            ticks_to_turn: 0,
        }
    }

    /// The input for this tick, or `None` for a bot that sends none.
    pub(crate) fn decide(
        &mut self,
        world: &ClientWorld,
        me: EntityId,
        rng: &mut impl Rng,
    ) -> Option<Controls> {
        let my_pos = dequantize(world.entity(me)?.pos);
        match self.behaviour {
            Behaviour::Idle => None,
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
