//! Scenarios: the TOML files under `assets/scenarios/` that describe a game world.

use serde::Deserialize;
use std::path::Path;

/// The built-in default scenario, so the server runs from any working directory.
const ARENA_TOML: &str = include_str!("../../../assets/scenarios/arena.toml");

/// Most drones (or props) a scenario may ask for.
const MAX_DRONES: u32 = 10_000;

/// A game world's settings. Distances are world units, speeds units per second, times ms.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in logs.
    pub name: String,
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// Seed for the world's random numbers; omit for a random seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The playing field.
    pub arena: ArenaSettings,
    /// Player rules.
    pub player: PlayerSettings,
    /// Projectile rules.
    pub projectile: ProjectileSettings,
    /// The wandering drones.
    pub drones: DroneSettings,
    /// Passive props that jitter in place (the benchmark world); none when the section is absent.
    #[serde(default)]
    pub props: PropSettings,
    /// Fault injection for tests of room isolation: the game code panics on this tick. Never
    /// read from a scenario file.
    #[serde(skip)]
    pub panic_at_tick: Option<u32>,
    /// Fault injection for tests of room isolation: the game code takes this long every tick.
    /// Never read from a scenario file.
    #[serde(skip)]
    pub tick_delay: Option<std::time::Duration>,
}

/// The playing field, from (0, 0) to (width, height).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArenaSettings {
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

/// Passive props: every tick the next `moving_per_tick` of them (a window rotating through all
/// props) each move by a uniform random amount in [-jitter, jitter] on x and on y.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropSettings {
    /// How many props the world holds.
    pub count: u32,
    /// How many of them move each tick.
    pub moving_per_tick: u32,
    /// The largest move per axis per tick, in units.
    pub jitter: f32,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error (in the message, not a separate cause, so it is printed once).
        error: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("invalid scenario: {0}")]
    Parse(#[from] toml::de::Error),
    /// The values are out of range.
    #[error("invalid scenario: {0}")]
    Invalid(&'static str),
}

impl Scenario {
    /// The built-in arena (`assets/scenarios/arena.toml`).
    pub fn arena() -> Self {
        Self::from_toml(ARENA_TOML).expect("the built-in arena.toml is valid (unit-tested)")
    }

    /// Loads a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Self::from_toml(&text)
    }

    /// Parses and checks a scenario.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if !(1..=240).contains(&self.tick_rate) {
            return Err(ScenarioError::Invalid("tick_rate must be 1 to 240"));
        }
        if !positive(self.arena.width)
            || !positive(self.arena.height)
            || self.arena.width > 100_000.0
            || self.arena.height > 100_000.0
        {
            return Err(ScenarioError::Invalid(
                "arena width and height must be in (0, 100000]",
            ));
        }
        let speeds = [self.player.speed, self.projectile.speed, self.drones.speed];
        let radii = [
            self.player.radius,
            self.projectile.radius,
            self.drones.radius,
        ];
        if !speeds.into_iter().chain(radii).all(positive) {
            return Err(ScenarioError::Invalid("speeds and radii must be positive"));
        }
        let smaller_side = self.arena.width.min(self.arena.height);
        if 2.0 * self.player.radius.max(self.drones.radius) >= smaller_side {
            return Err(ScenarioError::Invalid(
                "players and drones must fit in the arena",
            ));
        }
        // Keeps a full snapshot far below the protocol's message limit.
        if self.drones.count > MAX_DRONES || self.props.count > MAX_DRONES {
            return Err(ScenarioError::Invalid(
                "drones.count and props.count must be at most 10000",
            ));
        }
        if self.props.moving_per_tick > self.props.count
            || !(self.props.jitter.is_finite() && self.props.jitter >= 0.0)
        {
            return Err(ScenarioError::Invalid(
                "props.moving_per_tick must be at most props.count, props.jitter finite and >= 0",
            ));
        }
        if self.player.max_hp == 0 || self.drones.max_hp == 0 {
            return Err(ScenarioError::Invalid("max_hp must be at least 1"));
        }
        Ok(())
    }

    /// The time between ticks.
    pub fn tick_period(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(1.0 / f64::from(self.tick_rate))
    }

    /// Milliseconds as a whole number of ticks (at least 1).
    pub fn ticks(&self, ms: u32) -> u32 {
        (u64::from(ms) * u64::from(self.tick_rate))
            .div_ceil(1000)
            .max(1) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_arena_parses_and_every_shipped_scenario_loads() {
        assert_eq!(Scenario::arena().name, "arena");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/scenarios");
        for entry in std::fs::read_dir(dir).expect("assets/scenarios exists") {
            let path = entry.expect("readable").path();
            Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    #[test]
    fn nonsense_values_are_refused() {
        let text = ARENA_TOML.replace("tick_rate = 30", "tick_rate = 0");
        assert!(matches!(
            Scenario::from_toml(&text),
            Err(ScenarioError::Invalid(_))
        ));
        let text = ARENA_TOML.replace("speed = 200.0", "speed = nan");
        assert!(matches!(
            Scenario::from_toml(&text),
            Err(ScenarioError::Invalid(_))
        ));
    }
}
