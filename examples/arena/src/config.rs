//! The arena's settings (`configs/arena.toml`). Distances are world units, speeds units per
//! second, times milliseconds.

use serde::Deserialize;

/// Most drones (or props) a config may ask for: keeps a full snapshot far below the protocol's
/// message limit.
const MAX_ENTITIES: u32 = 10_000;

/// Everything in an arena config besides `game`, `name` and `tick_rate`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArenaConfig {
    /// Seed for the world's random numbers; omit for a random seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The playing field.
    pub arena: FieldSettings,
    /// Player rules.
    pub player: PlayerSettings,
    /// Projectile rules.
    pub projectile: ProjectileSettings,
    /// The wandering drones.
    pub drones: DroneSettings,
}

/// The playing field, from (0, 0) to (width, height).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldSettings {
    /// Width in units.
    pub width: f32,
    /// Height in units.
    pub height: f32,
}

/// Player rules.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlayerSettings {
    /// Top speed in units per second.
    pub speed: f32,
    /// Collision radius in units.
    pub radius: f32,
    /// Hit points at spawn.
    pub max_hp: u8,
    /// Minimum time between two shots, in ms.
    pub fire_cooldown_ms: u32,
    /// How far a player sees, in units: a player's client holds only what is that close (it
    /// always holds its own player; spectators see everything). Omit for the whole arena.
    #[serde(default)]
    pub view_radius: Option<f32>,
}

/// Projectile rules.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectileSettings {
    /// Speed in units per second.
    pub speed: f32,
    /// Collision radius in units.
    pub radius: f32,
    /// Hit points taken from whatever it hits.
    pub damage: u8,
    /// Time before it disappears, in ms.
    pub lifetime_ms: u32,
}

/// The wandering drones.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DroneSettings {
    /// How many drones the arena keeps alive.
    pub count: u32,
    /// Speed in units per second.
    pub speed: f32,
    /// Collision radius in units.
    pub radius: f32,
    /// Hit points at spawn.
    pub max_hp: u8,
    /// How often a drone picks a new direction, in ms.
    pub turn_every_ms: u32,
}

impl ArenaConfig {
    /// Why the values cannot make an arena, if they cannot.
    pub fn validate(&self) -> Result<(), &'static str> {
        let positive = |v: f32| v.is_finite() && v > 0.0;
        let FieldSettings { width, height } = self.arena;
        if !positive(width) || !positive(height) || width > 100_000.0 || height > 100_000.0 {
            return Err("arena width and height must be in (0, 100000]");
        }
        let speeds = [self.player.speed, self.projectile.speed, self.drones.speed];
        let radii = [
            self.player.radius,
            self.projectile.radius,
            self.drones.radius,
        ];
        if !speeds.into_iter().chain(radii).all(positive) {
            return Err("speeds and radii must be positive");
        }
        if self
            .player
            .view_radius
            .is_some_and(|r| !positive(r) || r > 100_000.0)
        {
            return Err("player.view_radius must be in (0, 100000]");
        }
        if 2.0 * self.player.radius.max(self.drones.radius) >= width.min(height) {
            return Err("players and drones must fit in the arena");
        }
        if self.drones.count > MAX_ENTITIES {
            return Err("drones.count must be at most 10000");
        }
        if self.player.max_hp == 0 || self.drones.max_hp == 0 {
            return Err("max_hp must be at least 1");
        }
        Ok(())
    }
}
