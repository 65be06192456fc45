//! Tickwire's game API, server side: what a game implements to be served ([`Game`]), the world
//! its hooks change ([`GameWorld`]), its config files ([`GameConfig`]) and the registry a server
//! binary is built from ([`Games`]). No I/O and no clock: a room drives it.
//!
//! The client side of a game (its components, input and shared step) lives in the game's own
//! crate, on `tickwire-shared`'s traits, so server, bots and frontends share it. docs/GAME_API.md builds a game
//! step by step.
#![warn(missing_docs)]

mod config;
mod game;
mod game_world;
mod registry;
mod saved_room;
mod wire_ids;

pub use config::{ConfigError, GameConfig, MIN_BUDGET_BYTES_PER_SEC};
pub use game::{Game, Visibility};
pub use game_world::{GameWorld, Spawn};
pub use registry::{Games, HostedGame};
pub use saved_room::{GameState, SAVED_ROOM_VERSION, SaveError, SavedGame, SavedRoom, SavedSeat};
