//! [`GameConfig`]: a config file (`assets/scenarios/NAME.toml`, or a game's default) that names
//! its game and holds its settings.

use std::path::Path;

/// The smallest per-client budget a config may set: room for a player's own entity and the
/// snapshot around it every tick.
pub const MIN_BUDGET_BYTES_PER_SEC: u32 = 1024;
use std::time::Duration;

/// A room's game and its settings. The file:
///
/// ```toml
/// game = "race"          # the game (see `tickwire-server list-games`)
/// name = "oval"          # shown in logs and /rooms
/// tick_rate = 30         # ticks (and snapshots) per second, 1 to 240
/// budget_bytes_per_sec = 8192  # optional: the most each client receives per second
///
/// # everything else is the game's own settings (its `Game::Config`), here the race's
/// [track]
/// width = 400.0
/// # ...
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GameConfig {
    /// The game it is for.
    pub game: String,
    /// Shown in logs and `/rooms`.
    pub name: String,
    /// Ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// The most snapshot bytes each client receives per second (at least
    /// [`MIN_BUDGET_BYTES_PER_SEC`]); `None`: no budget. With one, each client's snapshot is
    /// its own: the changes it sees go out by priority as far as the budget allows.
    pub budget_bytes_per_sec: Option<u32>,
    /// The game's own settings: the rest of the file.
    pub settings: toml::Table,
    /// Fault injection for tests of room isolation: the room panics on this tick. Never read
    /// from a file.
    pub panic_at_tick: Option<u32>,
    /// Fault injection for tests of room isolation: every tick takes this much longer. Never
    /// read from a file.
    pub tick_delay: Option<Duration>,
}

/// Why a config could not be loaded, or a game not started with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error (in the message, not a separate cause, so it is printed once).
        error: std::io::Error,
    },
    /// The file is not TOML, or its settings are not the game's.
    #[error("invalid config: {0}")]
    Parse(#[from] toml::de::Error),
    /// `game`, `name` or `tick_rate` is missing or wrong.
    #[error("invalid config: {0}")]
    Head(&'static str),
    /// The config names a game this server does not have.
    #[error("unknown game {0:?} (see list-games)")]
    UnknownGame(String),
    /// A room's save that does not load.
    #[error("cannot load the room's save: {0}")]
    Save(#[from] crate::saved_room::SaveError),
    /// The game refused the settings.
    #[error("invalid config for {game}: {reason}")]
    Invalid {
        /// The game.
        game: String,
        /// Why, in the game's words.
        reason: String,
    },
}

impl GameConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Self::parse(&text)
    }

    /// Parses a config. Its settings are checked by the game (see [`crate::Games::check`]).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut settings: toml::Table = toml::from_str(text)?;
        let mut text_field = |key: &str, error: &'static str| match settings.remove(key) {
            Some(toml::Value::String(value)) if !value.is_empty() => Ok(value),
            _ => Err(ConfigError::Head(error)),
        };
        let game = text_field("game", "`game` must name the config's game")?;
        let name = text_field("name", "`name` must be a non-empty string")?;
        let tick_rate = match settings.remove("tick_rate") {
            Some(toml::Value::Integer(hz)) if (1..=240).contains(&hz) => hz as u16,
            _ => return Err(ConfigError::Head("`tick_rate` must be 1 to 240")),
        };
        let budget_bytes_per_sec = match settings.remove("budget_bytes_per_sec") {
            None => None,
            Some(toml::Value::Integer(bytes))
                if (i64::from(MIN_BUDGET_BYTES_PER_SEC)..=i64::from(u32::MAX)).contains(&bytes) =>
            {
                Some(bytes as u32)
            }
            Some(_) => {
                return Err(ConfigError::Head(
                    "`budget_bytes_per_sec` must be an integer of at least 1024",
                ));
            }
        };
        Ok(Self {
            game,
            name,
            tick_rate,
            budget_bytes_per_sec,
            settings,
            panic_at_tick: None,
            tick_delay: None,
        })
    }

    /// The time between ticks.
    #[must_use]
    pub fn tick_period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.tick_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_taken_out_and_the_rest_is_the_games() {
        let config = GameConfig::parse(
            "game = \"race\"\nname = \"oval\"\ntick_rate = 20\n[track]\nradius = 3.0\n",
        )
        .expect("valid");
        assert_eq!(
            (config.game.as_str(), config.name.as_str()),
            ("race", "oval")
        );
        assert_eq!(config.tick_rate, 20);
        assert_eq!(config.settings.keys().collect::<Vec<_>>(), ["track"]);
        for bad in [
            "name = \"x\"\ntick_rate = 30\n",
            "game = \"race\"\ntick_rate = 30\n",
            "game = \"race\"\nname = \"x\"\ntick_rate = 0\n",
            "game = \"race\"\nname = \"x\"\n",
            "game = 3\nname = \"x\"\ntick_rate = 30\n",
            "game = \"race\"\nname = \"x\"\ntick_rate = 30\nbudget_bytes_per_sec = 100\n",
            "game = \"race\"\nname = \"x\"\ntick_rate = 30\nbudget_bytes_per_sec = \"a\"\n",
        ] {
            assert!(
                matches!(GameConfig::parse(bad), Err(ConfigError::Head(_))),
                "{bad}"
            );
        }
    }
}
