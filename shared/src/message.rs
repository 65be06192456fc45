//! Every message in both directions. Plain data: [`crate::codec`] turns them into bytes.

use crate::schema::{Schema, SchemaHash};
use crate::world_wire::PackedDelta;
use crate::{Checksum, EntityId, SentAt, Tick};
use serde::{Deserialize, Serialize};

/// Longest accepted player name, in bytes.
pub const MAX_NAME_BYTES: usize = 32;

/// A message from a client to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message on a new connection; anything else before it is a protocol violation.
    Hello(Hello),
    /// One tick of player input; sent once per tick after `Welcome`.
    Input(InputMessage),
    /// The last tick the client applied. Informational: the server deltas against what it sent.
    Ack(Tick),
    /// Heartbeat from the client; the server answers `Pong` with the same time.
    Ping {
        /// The client's clock, in microseconds, echoed back unchanged.
        client_time_us: u64,
    },
    /// Answer to the server's `Ping`, echoing its time so the server can measure RTT.
    Pong {
        /// The `server_time_us` of the `Ping` being answered.
        server_time_us: u64,
    },
    /// The client lost track of the world (a checksum mismatch): send the next snapshot in full.
    RequestFull,
}

/// One tick of a player's input: a sequence number and the game's input lanes, one per lane
/// of its schema's input fields, in order (the server refuses any other count, or a lane
/// outside its field's domain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMessage {
    /// Increments by one per frame, starting at 1. Snapshots echo the last one applied.
    pub sequence: u32,
    /// The input's lanes.
    pub lanes: Vec<i32>,
}

/// The opening message of a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal the server's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// Display name, 1 to [`MAX_NAME_BYTES`] bytes.
    pub name: String,
    /// Watch without a player entity. A spectator sends no inputs; one that does is closed
    /// with [`crate::close_code::INVALID`].
    pub spectator: bool,
    /// Take over a session that lost its connection, within the server's grace window: the
    /// same player entity, the input sequence continuing, and a first snapshot that is a delta
    /// from `last_applied` when the server still has that tick. `spectator` and `name` are then
    /// those of the resumed session.
    pub resume: Option<Resume>,
    /// A signed join token from the game's backend; required when the server has a join
    /// secret (see the server's `join_token` docs for the format).
    pub token: Option<String>,
    /// The hash of the game schema the client was built with; `None` for a generic client
    /// (a bot, a tool) that learns the schema from the `Welcome`.
    pub schema_hash: Option<SchemaHash>,
}

/// What a reconnecting client brings to resume its session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The token of the session's latest `Welcome` (single use).
    pub token: ResumeToken,
    /// The last tick the client applied, if any: the baseline it can take a delta against.
    pub last_applied: Option<Tick>,
}

/// A secret, single-use handle on a session, for resuming it after a lost connection. Random
/// 128 bits from a cryptographic generator; each `Welcome` carries a fresh one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResumeToken(pub u128);

impl std::fmt::Debug for ResumeToken {
    /// Never printed: logs must not leak a way into someone's session.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeToken(..)")
    }
}

/// A message from the server to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// The answer to an accepted `Hello`; snapshots follow, the first one full.
    Welcome(Welcome),
    /// The answer to a refused `Hello`; the server then closes with [`crate::close_code::REJECTED`].
    Rejected(RejectReason),
    /// One tick of world state, as a delta against the previous snapshot sent to this client.
    Snapshot(Snapshot),
    /// Heartbeat from the server, sent about once a second; the client answers `Pong`.
    Ping {
        /// The server's clock in microseconds, echoed back unchanged.
        server_time_us: u64,
    },
    /// Answer to the client's `Ping`.
    Pong {
        /// The `client_time_us` of the `Ping` being answered.
        client_time_us: u64,
    },
    /// The answer to a `Hello` sent to a node of a cluster that does not own the room: send the
    /// same `Hello` to `url` instead. The server then closes with
    /// [`crate::close_code::REDIRECTED`].
    Redirect(Redirect),
}

/// Where a room is: see [`ServerMessage::Redirect`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// The room's WebSocket URL on its owner (`ws://` or `wss://`, at most
    /// [`Redirect::MAX_URL_BYTES`] bytes).
    pub url: String,
    /// The owner's lease epoch: it only rises for a room, so a client can tell a newer owner.
    pub epoch: u64,
}

impl Redirect {
    /// The longest URL a Redirect may carry.
    pub const MAX_URL_BYTES: usize = 512;

    /// Whether the URL is one a client may follow: `ws://` or `wss://`, printable ASCII, not
    /// too long.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.url.len() <= Self::MAX_URL_BYTES
            && (self.url.starts_with("ws://") || self.url.starts_with("wss://"))
            && self.url.bytes().all(|b| b.is_ascii_graphic())
    }
}

/// What a client learns when it is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's id for this session, unique while the server runs.
    pub client_id: u32,
    /// The client's own player entity (present from the first snapshot on); `None` for a
    /// spectator.
    pub player: Option<EntityId>,
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// The room's game schema, with the rules its shared step needs; `None` when the Hello's
    /// `schema_hash` is this schema's (the client has it already).
    pub schema: Option<Schema>,
    /// Send it back in [`Hello::resume`] to take this session over after a lost connection.
    pub resume_token: ResumeToken,
}

/// Why the server refused a `Hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RejectReason {
    /// The client speaks another protocol version.
    #[error("protocol version mismatch: server speaks {server}, client sent {client}")]
    VersionMismatch {
        /// The server's protocol version.
        server: u16,
        /// The version the client sent.
        client: u16,
    },
    /// The room has as many clients as the server accepts per room (`max_clients`).
    #[error("room is full")]
    RoomFull,
    /// The name is empty or longer than [`MAX_NAME_BYTES`].
    #[error("name must be 1 to {MAX_NAME_BYTES} bytes")]
    InvalidName,
    /// The room does not exist and the server has as many rooms as it may (`max_rooms`).
    #[error("no room for another room")]
    TooManyRooms,
    /// The join named a scenario (`?scenario=NAME`) the server does not have.
    #[error("unknown scenario")]
    UnknownScenario,
    /// The resume token is unknown, already used, or its grace window is over: join afresh.
    #[error("session cannot be resumed")]
    ResumeExpired,
    /// The server requires a signed join token and the Hello has none.
    #[error("a join token is required")]
    TokenRequired,
    /// The join token is malformed, forged, or for another room.
    #[error("invalid join token")]
    TokenInvalid,
    /// The join token is past its expiry.
    #[error("join token expired")]
    TokenExpired,
    /// The join token opened a seat already: each token is good for one.
    #[error("join token already used")]
    TokenReplayed,
    /// The server cannot take the join now (it remembers as many used join tokens as it may);
    /// try again later.
    #[error("server busy; try again later")]
    ServerBusy,
    /// The join named a game (`?game=NAME`) the server does not serve.
    #[error("unknown game")]
    UnknownGame,
    /// The join named a game the room does not play: the open room plays another, or the
    /// named config (`?scenario=NAME`) is for another.
    #[error("the room plays another game")]
    GameMismatch,
}

/// One tick of world state for one client.
///
/// `last_input` comes first: it is the only field that differs between clients on the same
/// baseline, so the server encodes everything after it once and shares those bytes (see
/// [`crate::codec::SharedSnapshot`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The sequence of the last input frame from this client the server has applied (0: none).
    pub last_input: u32,
    /// When the server sent this tick's snapshots.
    pub sent_at: SentAt,
    /// The tick this snapshot describes.
    pub tick: Tick,
    /// The tick of the snapshot this one is a delta against, which is the previous snapshot the
    /// server sent this client; `None` for a full snapshot (start from an empty world).
    pub baseline: Option<Tick>,
    /// Checksum of the whole world the client must hold after applying this snapshot.
    pub checksum: Checksum,
    /// What changed since `baseline`, packed by the game's schema
    /// ([`crate::world_wire`]).
    pub delta: PackedDelta,
}
