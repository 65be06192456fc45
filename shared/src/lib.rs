//! Tickwire's shared protocol crate: everything the server, the headless bots and a game frontend
//! must agree on, with no I/O, no clocks and no threads, so it builds for `wasm32-unknown-unknown`.
//!
//! # Layout
//! - [`tick`]: the [`Tick`] counter and its wrap rule.
//! - [`entity`]: compact wire ids, entity kinds and the replicated, quantized entity state.
//! - [`input`]: the [`InputFrame`] a client sends once per tick.
//! - [`message`]: every message in both directions ([`ClientMessage`], [`ServerMessage`]).
//! - [`codec`]: the only file that names the serializer; size limits and trailing-byte checks.
//! - [`delta`]: a world's replicated state, and `diff` / `apply` between two of them.
//! - [`checksum`]: the order-independent, incrementally updated checksum of a world.
//! - [`movement`]: the movement rules run by the server and by client prediction.
//! - [`client_world`]: [`ClientWorld`], which applies snapshots and verifies their checksums.
//! - [`close_code`]: the WebSocket close codes Tickwire sends, with their meaning.
//!
//! A frontend's loop is: decode each binary frame with [`codec::decode_server`], hand snapshots to
//! [`ClientWorld::apply`], render [`ClientWorld::entities`], and send one [`InputFrame`] per tick
//! encoded with [`codec::encode_client`]. See `README.md` and `docs/PROTOCOL.md`.
#![warn(missing_docs)]

pub mod checksum;
pub mod client_world;
pub mod close_code;
pub mod codec;
pub mod delta;
pub mod entity;
pub mod input;
pub mod message;
pub mod movement;
pub mod tick;

pub use checksum::Checksum;
pub use client_world::{Applied, ApplyError, ClientWorld};
pub use delta::{EntityChange, FieldMask, WorldDelta, WorldState};
pub use entity::{EntityId, EntityKind, EntityState};
pub use input::{Buttons, InputFrame};
pub use message::{ClientMessage, Hello, RejectReason, ServerMessage, Snapshot, Welcome};
pub use movement::MovementRules;
pub use tick::Tick;

/// The protocol version. A client whose `Hello` names another version is rejected with
/// [`RejectReason::VersionMismatch`]. Bump it on every change to the wire format.
pub const PROTOCOL_VERSION: u16 = 1;
