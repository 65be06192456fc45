//! The only place that names the serializer: bincode 2 (standard config: little-endian varints),
//! always decoding with a size limit and rejecting trailing bytes.

use crate::schema::{Schema, SchemaError};
use crate::{ClientMessage, SentAt, ServerMessage, Snapshot, Tick};
use bincode::config;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest client-to-server message, in bytes. Inputs are under 16 bytes and a `Hello` under 64;
/// the server's WebSocket frame limit should not be larger than this.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 1024;
/// Largest server-to-client message, in bytes (a full snapshot of a very busy world).
pub const MAX_SERVER_MESSAGE_BYTES: usize = 4 << 20;
/// Largest encoded [`Schema`], in bytes (the limits in [`crate::schema`] keep real ones far
/// below it).
pub const MAX_SCHEMA_BYTES: usize = 64 << 10;

/// Why bytes are not a valid message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The message is longer than the direction's limit.
    #[error("message of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The message length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes do not describe a message (bad variant, truncated, invalid value, or a length
    /// prefix that would exceed the limit).
    #[error("malformed message: {0}")]
    Malformed(#[from] bincode::error::DecodeError),
    /// A valid message followed by bytes that belong to nothing.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// [`peek_snapshot`] was given another message.
    #[error("not a snapshot")]
    NotASnapshot,
    /// The bytes are a schema that breaks one of its rules.
    #[error("invalid schema: {0}")]
    InvalidSchema(#[from] SchemaError),
}

/// Serialization of our own message types failed (cannot happen for well-formed values; kept as
/// an error so no code path panics).
#[derive(Debug, thiserror::Error)]
#[error("could not encode message: {0}")]
pub struct EncodeError(#[from] bincode::error::EncodeError);

/// Encodes a client message.
pub fn encode_client(message: &ClientMessage) -> Result<Vec<u8>, EncodeError> {
    encode(message)
}

/// Decodes a client message, enforcing [`MAX_CLIENT_MESSAGE_BYTES`] and that every byte is used.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, DecodeError> {
    decode::<_, MAX_CLIENT_MESSAGE_BYTES>(bytes)
}

/// Encodes a server message.
pub fn encode_server(message: &ServerMessage) -> Result<Vec<u8>, EncodeError> {
    encode(message)
}

/// Decodes a server message, enforcing [`MAX_SERVER_MESSAGE_BYTES`] and that every byte is used.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    decode::<_, MAX_SERVER_MESSAGE_BYTES>(bytes)
}

/// A schema's canonical bytes (what its hash covers; docs/PROTOCOL.md has the layout).
pub fn encode_schema(schema: &Schema) -> Result<Vec<u8>, EncodeError> {
    encode(schema)
}

/// Decodes a schema, enforcing [`MAX_SCHEMA_BYTES`], that every byte is used, and every rule of
/// [`Schema::validate`].
pub fn decode_schema(bytes: &[u8]) -> Result<Schema, DecodeError> {
    let schema: Schema = decode::<_, MAX_SCHEMA_BYTES>(bytes)?;
    schema.validate()?;
    Ok(schema)
}

/// Encodes a game's rules (what its shared step needs) for [`Schema::rules`].
pub fn encode_rules<T: Serialize>(rules: &T) -> Result<Vec<u8>, EncodeError> {
    encode(rules)
}

/// Decodes a game's rules from [`Schema::rules`], within [`crate::schema::MAX_RULES_BYTES`].
pub fn decode_rules<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode::<_, { crate::schema::MAX_RULES_BYTES }>(bytes)
}

/// Largest saved room (world, seats and the game's own state), in bytes: a room over it is not
/// saved, and a save over it is not loaded.
pub const MAX_SAVED_STATE_BYTES: usize = 16 << 20;

/// Encodes a room's saved state, or a part of it (a game's own, see the server's `Game::save`).
pub fn encode_state<T: Serialize>(state: &T) -> Result<Vec<u8>, EncodeError> {
    encode(state)
}

/// Decodes what [`encode_state`] wrote, within [`MAX_SAVED_STATE_BYTES`].
pub fn decode_state<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode::<_, MAX_SAVED_STATE_BYTES>(bytes)
}

/// `ServerMessage::Snapshot`'s variant index as bincode writes it (a varint before the fields).
/// Tests check that [`SharedSnapshot`]'s frames equal [`encode_server`]'s.
const SNAPSHOT_VARIANT: u32 = 2;

/// A snapshot encoded once for every client on the same baseline. Their frames differ only in
/// the leading `last_input`, so each client's frame is a small prefix plus the shared tail.
#[derive(Clone, Debug)]
pub struct SharedSnapshot {
    /// The whole message, for the encoded snapshot's own `last_input`.
    bytes: Vec<u8>,
    /// Where the fields after `last_input` start in `bytes`.
    tail_start: usize,
}

impl SharedSnapshot {
    /// Encodes `ServerMessage::Snapshot(snapshot)`.
    pub fn encode(snapshot: &Snapshot) -> Result<Self, EncodeError> {
        // A tuple of the variant index and the struct is exactly how bincode writes the enum.
        let bytes = encode(&(SNAPSHOT_VARIANT, snapshot))?;
        let tail_start = FramePrefix::new(snapshot.last_input)?.len;
        Ok(Self { bytes, tail_start })
    }

    /// The frame for the encoded snapshot's own `last_input` (0 for spectators).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The frame for a client whose last applied input is `last_input`: send the prefix, then
    /// the tail.
    pub fn frame_for(&self, last_input: u32) -> Result<(FramePrefix, &[u8]), EncodeError> {
        let tail = self.bytes.get(self.tail_start..).unwrap_or_default();
        Ok((FramePrefix::new(last_input)?, tail))
    }
}

/// The start of one client's snapshot frame: the variant index and its `last_input`.
#[derive(Clone, Copy, Debug)]
pub struct FramePrefix {
    bytes: [u8; 10],
    len: usize,
}

impl FramePrefix {
    fn new(last_input: u32) -> Result<Self, EncodeError> {
        let mut bytes = [0; 10];
        let len = bincode::encode_into_slice(
            (SNAPSHOT_VARIANT, last_input),
            &mut bytes,
            config::standard(),
        )?;
        Ok(Self { bytes, len })
    }
}

impl AsRef<[u8]> for FramePrefix {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The stamp at the start of a snapshot frame, read without decoding the delta: what a client
/// that only counts frames needs to measure latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotStamp {
    /// The snapshot's `last_input`.
    pub last_input: u32,
    /// When the server sent it.
    pub sent_at: SentAt,
    /// Its tick.
    pub tick: Tick,
    /// Its baseline (`None`: a full snapshot).
    pub baseline: Option<Tick>,
}

/// Reads the [`SnapshotStamp`] of a snapshot frame; other messages are [`DecodeError::NotASnapshot`].
pub fn peek_snapshot(bytes: &[u8]) -> Result<SnapshotStamp, DecodeError> {
    let config = config::standard().with_limit::<MAX_SERVER_MESSAGE_BYTES>();
    type Stamp = (u32, u32, SentAt, Tick, Option<Tick>);
    let ((variant, last_input, sent_at, tick, baseline), _): (Stamp, usize) =
        bincode::serde::decode_from_slice(bytes, config)?;
    if variant != SNAPSHOT_VARIANT {
        return Err(DecodeError::NotASnapshot);
    }
    Ok(SnapshotStamp {
        last_input,
        sent_at,
        tick,
        baseline,
    })
}

fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, EncodeError> {
    Ok(bincode::serde::encode_to_vec(message, config::standard())?)
}

fn decode<T: DeserializeOwned, const LIMIT: usize>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > LIMIT {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: LIMIT,
        });
    }
    // The limit also caps what length prefixes may claim, so a tiny message cannot make the
    // decoder allocate a huge vector.
    let config = config::standard().with_limit::<LIMIT>();
    let (message, used) = bincode::serde::decode_from_slice(bytes, config)?;
    match bytes.len() - used {
        0 => Ok(message),
        extra => Err(DecodeError::TrailingBytes(extra)),
    }
}
