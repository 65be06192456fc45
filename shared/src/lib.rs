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
//! - [`delta_wire`]: a delta packed into bits (with the private `bits` writer and reader).
//! - [`sent_at`]: the server's send stamp on snapshots, for one-way latency on one host.
//! - [`checksum`]: the order-independent, incrementally updated checksum of a world.
//! - [`movement`]: the movement rules run by the server and by client prediction.
//! - [`client_world`]: [`ClientWorld`], which applies snapshots and verifies their checksums.
//! - [`prediction`]: the local player predicted with [`MovementRules`], reconciled with snapshots.
//! - [`interpolation`]: remote entities drawn between snapshots on a delayed render clock.
//! - [`client_session`]: [`ClientSession`], the sans-I/O client a frontend drives (bytes, controls
//!   and time in; bytes and [`RenderState`] out). docs/EMBEDDING.md has a complete frontend loop.
//! - [`close_code`]: the WebSocket close codes Tickwire sends, with their meaning.
//! - [`room_path`]: the room an upgrade URL names (`/ws`, `/ws/ROOM?scenario=NAME`).
//! - [`join_token`]: signed join tokens (mint and verify; HMAC-SHA256).
//!
//! # Embedding in a frontend
//! Open a WebSocket to `ws://HOST:PORT/ws` (binary frames only), then:
//!
//! ```
//! use tickwire_shared::{codec, ClientMessage, ClientWorld, Hello, InputFrame, ServerMessage, PROTOCOL_VERSION};
//!
//! /// Everything a frontend keeps between frames.
//! #[derive(Default)]
//! struct Game { world: ClientWorld, me: Option<tickwire_shared::EntityId>, next_sequence: u32 }
//!
//! impl Game {
//!     /// The first frame to send after the socket opens.
//!     fn hello(&self) -> Vec<u8> {
//!         let hello = Hello { protocol_version: PROTOCOL_VERSION, name: "player-1".into(), spectator: false, resume: None, token: None };
//!         codec::encode_client(&ClientMessage::Hello(hello)).expect("encodes")
//!     }
//!
//!     /// Handles one binary frame from the server; returns frames to send back.
//!     fn on_frame(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, codec::DecodeError> {
//!         let mut replies = Vec::new();
//!         match codec::decode_server(bytes)? {
//!             ServerMessage::Welcome(welcome) => self.me = welcome.player,
//!             ServerMessage::Rejected(reason) => eprintln!("refused: {reason}"),
//!             ServerMessage::Snapshot(snapshot) => {
//!                 // A checksum mismatch is a desync: ask for a full snapshot.
//!                 if self.world.apply(&snapshot).is_err() {
//!                     replies.push(ClientMessage::RequestFull);
//!                 }
//!             }
//!             ServerMessage::Ping { server_time_us } => replies.push(ClientMessage::Pong { server_time_us }),
//!             ServerMessage::Pong { .. } => {}
//!         }
//!         Ok(replies.iter().map(|m| codec::encode_client(m).expect("encodes")).collect())
//!     }
//!
//!     /// Once per tick: the local player's input.
//!     fn input(&mut self, move_x: i8, move_y: i8, aim: u16, fire: bool) -> Vec<u8> {
//!         self.next_sequence += 1;
//!         let buttons = tickwire_shared::Buttons(if fire { tickwire_shared::Buttons::FIRE } else { 0 });
//!         let frame = InputFrame { sequence: self.next_sequence, move_x, move_y, aim, buttons };
//!         codec::encode_client(&ClientMessage::Input(frame)).expect("encodes")
//!     }
//! }
//!
//! // Render from `game.world.entities()`; `game.me` is your own player.
//! let mut game = Game::default();
//! let _hello = game.hello();
//! let ping = codec::encode_server(&ServerMessage::Ping { server_time_us: 7 }).expect("encodes");
//! let replies = game.on_frame(&ping).expect("valid frame");
//! assert_eq!(codec::decode_client(&replies[0]).expect("decodes"), ClientMessage::Pong { server_time_us: 7 });
//! let _input = game.input(127, 0, 0, true);
//! ```
//!
//! docs/PROTOCOL.md describes every message byte by byte.
#![warn(missing_docs)]

mod bits;
pub mod checksum;
pub mod client_session;
pub mod client_world;
pub mod close_code;
pub mod codec;
pub mod delta;
pub mod delta_wire;
pub mod entity;
pub mod input;
pub mod interpolation;
pub mod join_token;
pub mod message;
pub mod movement;
pub mod prediction;
pub mod room_path;
pub mod sent_at;
pub mod tick;

pub use checksum::Checksum;
pub use client_session::{
    ClientConfig, ClientError, ClientEvent, ClientSession, ClientStats, RenderState,
};
pub use client_world::{Applied, ApplyError, ClientWorld};
pub use delta::{EntityChange, FieldMask, WorldDelta, WorldState};
pub use entity::{EntityId, EntityKind, EntityState};
pub use input::{Buttons, Controls, InputFrame};
pub use interpolation::RenderedEntity;
pub use message::{
    ClientMessage, Hello, RejectReason, Resume, ResumeToken, ServerMessage, Snapshot, Welcome,
};
pub use movement::MovementRules;
pub use sent_at::SentAt;
pub use tick::Tick;

/// The protocol version. A client whose `Hello` names another version is rejected with
/// [`RejectReason::VersionMismatch`]. Bump it on every change to the wire format.
pub const PROTOCOL_VERSION: u16 = 3;
