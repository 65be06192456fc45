//! The arena, Tickwire's demo game, written on the public game API only: players move (the
//! shared step), aim and fire; projectiles fly and hit; drones wander; the dead respawn and
//! shooters score.
//!
//! - [`config`]: its settings (`configs/arena.toml`).
//! - [`step`]: [`ArenaStep`], the movement shared with client prediction.
//! - [`game`]: [`Arena`], the server's rules.

pub mod config;
pub mod game;
pub mod step;

pub use config::ArenaConfig;
pub use game::Arena;
pub use step::ArenaStep;
