//! The race's settings (`configs/race.toml`): world units, seconds, turns.

use crate::step::RaceRules;
use serde::Deserialize;

/// Sub-units per world unit of a position (fixed point with 6 fractional bits).
pub const POS_PER_UNIT: f32 = 64.0;
/// Sub-units per world unit of a speed per tick (10 fractional bits).
pub const SPEED_PER_UNIT: f32 = 1024.0;

/// Everything in a race config besides `game`, `name` and `tick_rate`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RaceConfig {
    /// The track.
    pub track: TrackSettings,
    /// The cars' handling.
    pub car: CarSettings,
}

/// The field, from (0, 0) to (width, height), and the checkpoints round it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrackSettings {
    /// Width in units.
    pub width: f32,
    /// Height in units.
    pub height: f32,
    /// How close a car's centre must come to a checkpoint to pass it, in units.
    pub checkpoint_radius: f32,
    /// The checkpoints in lap order (2 to 255); the first is the start and finish line.
    pub checkpoints: Vec<[f32; 2]>,
}

/// A car's handling.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CarSettings {
    /// Top speed forward, in units per second.
    pub max_speed: f32,
    /// Top speed in reverse, in units per second.
    pub reverse_speed: f32,
    /// Speed gained per second at full throttle, in units per second.
    pub acceleration: f32,
    /// Speed lost per second with no throttle, in units per second.
    pub drag: f32,
    /// Turns per second at full lock and top speed.
    pub turn_rate: f32,
}

impl RaceConfig {
    /// The shared step's rules at `tick_rate`, or why these settings make no race.
    pub fn rules(&self, tick_rate: u16) -> Result<RaceRules, String> {
        let (track, car) = (&self.track, &self.car);
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if !positive(track.width)
            || !positive(track.height)
            || track.width.max(track.height) > 100_000.0
        {
            return Err("track width and height must be in (0, 100000]".into());
        }
        if !(2..=255).contains(&track.checkpoints.len()) || !positive(track.checkpoint_radius) {
            return Err("a track has 2 to 255 checkpoints and a positive checkpoint_radius".into());
        }
        let inside = |[x, y]: [f32; 2]| {
            (0.0..=track.width).contains(&x) && (0.0..=track.height).contains(&y)
        };
        if !track.checkpoints.iter().copied().all(inside) {
            return Err("every checkpoint must be on the track".into());
        }
        let handling = [
            car.max_speed,
            car.reverse_speed,
            car.acceleration,
            car.drag,
            car.turn_rate,
        ];
        // `Car::speed` holds up to 256 units per tick.
        let fits = |v: f32| v <= 255.0 * f32::from(tick_rate);
        if !handling.into_iter().all(positive) || !fits(car.max_speed) || !fits(car.reverse_speed) {
            return Err("car speeds, acceleration, drag and turn_rate must be positive, speeds at most 255 units per tick".into());
        }
        let hz = f32::from(tick_rate);
        let per_tick = |v: f32| ((v / hz * SPEED_PER_UNIT).round() as i32).max(1);
        let per_tick_sq = |v: f32| ((v / hz / hz * SPEED_PER_UNIT).round() as i32).max(1);
        let size = [track.width, track.height].map(|v| (v * POS_PER_UNIT).round() as i32);
        Ok(RaceRules {
            max_speed: per_tick(car.max_speed),
            reverse_speed: per_tick(car.reverse_speed),
            acceleration: per_tick_sq(car.acceleration),
            drag: per_tick_sq(car.drag),
            turn_per_tick: ((car.turn_rate * 4096.0 / hz).round() as i32).max(1),
            min: [0, 0],
            max: size,
        })
    }
}
