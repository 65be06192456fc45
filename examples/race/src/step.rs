//! The race's shared step: a car's speed, heading and position after one input, in integers
//! only (a sine from a rational approximation, no floats), so a browser and the server agree
//! bit for bit.

use crate::components::{Car, Drive};
use serde::{Deserialize, Serialize};
use tickwire_shared::SharedStep;

/// Full throttle or full lock.
const FULL: i64 = 127;

/// The car's handling in tick units, derived from the config and sent to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceRules {
    /// Top speed forward, in 1/1024 units per tick.
    pub max_speed: i32,
    /// Top speed in reverse, in 1/1024 units per tick.
    pub reverse_speed: i32,
    /// Speed gained per tick at full throttle, in 1/1024 units per tick.
    pub acceleration: i32,
    /// Speed lost per tick with no throttle, in 1/1024 units per tick.
    pub drag: i32,
    /// Heading change per tick at full lock and top speed, in 1/4096 turns.
    pub turn_per_tick: i32,
    /// The lowest and highest position a car may take, in 1/64 units.
    pub min: [i32; 2],
    /// See `min`.
    pub max: [i32; 2],
}

/// Drives a [`Car`] by one [`Drive`].
#[derive(Debug)]
pub struct RaceStep;

impl SharedStep for RaceStep {
    type Input = Drive;
    type State = Car;
    type Rules = RaceRules;

    fn step(rules: &RaceRules, car: &mut Car, input: &Drive) {
        let throttle = i64::from(input.throttle).clamp(-FULL, FULL);
        let mut speed = i64::from(car.speed);
        if throttle == 0 {
            let drag = i64::from(rules.drag);
            speed = if speed > 0 {
                (speed - drag).max(0)
            } else {
                (speed + drag).min(0)
            };
        } else {
            speed += throttle * i64::from(rules.acceleration) / FULL;
        }
        speed = speed.clamp(-i64::from(rules.reverse_speed), i64::from(rules.max_speed));
        // Steering bites in proportion to speed (and the other way round in reverse).
        let turn =
            i64::from(input.steer).clamp(-FULL, FULL) * i64::from(rules.turn_per_tick) * speed
                / (FULL * i64::from(rules.max_speed.max(1)));
        let heading = (i64::from(car.heading) + turn).rem_euclid(4096);
        // Position in 1/64 units moves by speed (1/1024) times the unit vector (1/2^14).
        let step = |unit: i64| unit * speed / (1 << 18);
        let mut pos = car.pos;
        let moved = [step(cos_q14(heading)), step(sin_q14(heading))];
        let mut hit_wall = false;
        for axis in 0..2 {
            let next = (i64::from(pos[axis]) + moved[axis])
                .clamp(i64::from(rules.min[axis]), i64::from(rules.max[axis]));
            hit_wall |= next != i64::from(pos[axis]) + moved[axis];
            pos[axis] = next as i32;
        }
        car.pos = pos;
        car.heading = heading as u16;
        car.speed = if hit_wall { 0 } else { speed as i32 };
    }
}

/// sin of `angle` (1/4096 turns) times 2^14, by Bhaskara I's approximation (error under 0.2%):
/// exact in integers, so every platform computes the same value.
fn sin_q14(angle: i64) -> i64 {
    const HALF: i64 = 2048;
    let angle = angle.rem_euclid(2 * HALF);
    let (a, sign) = if angle < HALF {
        (angle, 1)
    } else {
        (angle - HALF, -1)
    };
    let p = a * (HALF - a);
    sign * 16 * p * (1 << 14) / (5 * HALF * HALF - 4 * p)
}

fn cos_q14(angle: i64) -> i64 {
    sin_q14(angle + 1024)
}
