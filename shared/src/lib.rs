//! Tickwire's shared protocol crate: everything the server, the headless bots and a game frontend
//! must agree on, with no I/O, no clocks and no threads, so it builds for `wasm32-unknown-unknown`.
//!
//! # Layout
//! - [`tick`]: the [`Tick`] counter and its wrap rule.
//! - [`entity`]: compact wire ids.
//! - [`message`]: every message in both directions ([`ClientMessage`], [`ServerMessage`]).
//! - [`codec`]: the only file that names the serializer; size limits and trailing-byte checks.
//! - [`sent_at`]: the server's send stamp on snapshots, for one-way latency on one host.
//! - [`checksum`]: the order-independent, incrementally updated checksum of a world.
//! - [`shared_step`]: [`SharedStep`], the function that moves a player by one input, run by
//!   the server's room and replayed by client prediction.
//! - [`client_world`]: [`ClientWorld`], which applies snapshots and verifies their checksums.
//! - [`prediction`]: the local player predicted with the game's [`SharedStep`], reconciled with
//!   snapshots field by field.
//! - [`interpolation`]: any game's entities drawn between snapshots on a delayed render clock,
//!   each field as the schema declares.
//! - [`bot_behaviour`]: [`bot_behaviour::BotBehaviour`], how a game's own bot behaviours plug into
//!   `tickwire-bot`.
//! - [`client_session`]: [`ClientSession`], the sans-I/O client a frontend drives (bytes, inputs
//!   and time in; bytes and entities to draw out). docs/EMBEDDING.md has a complete frontend
//!   loop.
//! - [`close_code`]: the WebSocket close codes Tickwire sends, with their meaning.
//! - [`room_path`]: the room an upgrade URL names (`/ws`, `/ws/ROOM?game=NAME&scenario=NAME`).
//! - [`join_token`]: signed join tokens (mint and verify; HMAC-SHA256).
//! - [`component`]: the [`component::Component`], [`component::Input`] and
//!   [`component::NetEnum`] traits a game's types implement (with their derives), lossless to and
//!   from integer lanes.
//! - [`schema`]: a game's [`Schema`] as plain data (components, kinds, input, rules), its limits
//!   and its hash.
//! - [`layout`]: a validated schema with the offsets of every component in every kind.
//! - [`world`]: [`World`], the replicated state of any game (entities as lanes and strings),
//!   read by field name or as typed components.
//! - [`world_diff`]: the [`Delta`] between two worlds of one game, and applying it.
//! - [`world_wire`]: a [`Delta`] packed into bits, column by column, as the layout says (with
//!   the private `bits` writer and reader).
//!
//! # Embedding in a frontend
//! Open a WebSocket to `ws://HOST:PORT/ws` (binary frames only) and drive a [`ClientSession`]
//! once per frame: every received frame into [`ClientSession::receive`], the local player's input
//! into [`ClientSession::update`], every [`ClientSession::poll_outgoing`] frame onto the socket,
//! and draw [`ClientSession::draw`]. docs/EMBEDDING.md has a complete frontend loop (compiled and
//! run as a doctest of this crate) and the tuning knobs.
//!
//! docs/PROTOCOL.md describes every message byte by byte.
#![warn(missing_docs)]

// The derives name `::tickwire_shared`; this lets the crate use them on its own types.
extern crate self as tickwire_shared;

mod bits;
pub mod bot_behaviour;
pub mod checksum;
pub mod client_session;
pub mod client_world;
pub mod close_code;
pub mod codec;
pub mod component;
pub mod entity;
pub mod interpolation;
pub mod join_token;
pub mod layout;
pub mod message;
pub mod prediction;
pub mod room_path;
pub mod schema;
pub mod sent_at;
pub mod shared_step;
pub mod tick;
pub mod tick_changes;
pub mod trajectory;
pub mod world;
pub mod world_diff;
pub mod world_wire;

pub use checksum::Checksum;
pub use client_session::{ClientConfig, ClientError, ClientEvent, ClientSession, ClientStats};
pub use client_world::{Applied, ApplyError, ClientWorld};
pub use entity::EntityId;
pub use interpolation::DrawnEntity;
pub use message::{
    ClientMessage, Hello, InputMessage, Redirect, RejectReason, Resume, ResumeToken, ServerMessage,
    Snapshot, Welcome,
};
pub use schema::{Schema, SchemaHash};
pub use sent_at::SentAt;
pub use shared_step::{NoStep, SharedStep};
pub use tick::Tick;
pub use trajectory::Trajectory;
pub use world::{EntityData, FieldValue, Lanes, World};
pub use world_diff::{Change, Delta, WorldDeltaError};

/// docs/EMBEDDING.md, so its example loop is compiled and run by `cargo test --doc`.
#[doc = include_str!("../../docs/EMBEDDING.md")]
#[cfg(doctest)]
pub struct EmbeddingGuide;

/// docs/GAME_API.md, so its examples are compiled by `cargo test --doc`.
#[doc = include_str!("../../docs/GAME_API.md")]
#[cfg(doctest)]
pub struct GameApiGuide;

/// The protocol version. A client whose `Hello` names another version is rejected with
/// [`RejectReason::VersionMismatch`]. Bump it on every change to the wire format.
pub const PROTOCOL_VERSION: u16 = 4;
