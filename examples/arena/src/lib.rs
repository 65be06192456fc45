//! The arena, Tickwire's demo game, written on the public game API only: players move (the
//! shared step), aim and fire; projectiles fly and hit; drones wander; the dead respawn and
//! shooters score.
//!
//! - [`entities`]: kinds, state and components, the arena's schema, 1/64-unit quantization.
//! - [`input`]: [`InputFrame`], what a player sends each tick.
//! - [`movement`]: [`MovementRules`], the integer arithmetic of moving a player.
//! - [`step`]: [`ArenaStep`], the movement shared with client prediction.
//! - [`config`]: its settings (`configs/arena.toml`).
//! - [`game`]: [`Arena`], the server's rules.
//! - [`client`]: the arena in a frontend: what to draw from a `ClientSession`, its entities and
//!   movement rules as the client holds them.
//! - [`bots`]: its bot behaviours (wander, chase, fire) for `tickwire-bot`.

pub mod bots;
pub mod client;
pub mod config;
pub mod entities;
pub mod game;
pub mod input;
pub mod movement;
pub mod step;

pub use client::{RenderState, RenderedEntity, render};
pub use config::ArenaConfig;
pub use entities::{EntityKind, EntityState, WorldState};
pub use game::Arena;
pub use input::{Buttons, Controls, InputFrame};
pub use movement::MovementRules;
pub use step::ArenaStep;
