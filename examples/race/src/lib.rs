//! A top-down racing game on Tickwire's public game API, and the game docs/GAME_API.md's
//! tutorial builds: cars with position, heading and speed in fixed point, driven by throttle
//! and steering through a shared step (so a frontend predicts its own car exactly); the server
//! counts checkpoints and laps.
//!
//! - [`components`]: what is replicated ([`Car`], [`Progress`], [`Driver`], [`Checkpoint`]) and
//!   the input ([`Drive`]).
//! - [`step`]: [`RaceStep`], shared by the server and client prediction.
//! - [`config`]: the track and the cars' handling (`configs/race.toml`).
//! - [`game`]: [`Race`], the server's rules.

pub mod components;
pub mod config;
pub mod game;
pub mod step;

pub use components::{Car, Checkpoint, Drive, Driver, Progress};
pub use config::RaceConfig;
pub use game::Race;
pub use step::{RaceRules, RaceStep};
