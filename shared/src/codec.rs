//! The only place that names the serializer: bincode 2 (standard config: little-endian varints),
//! always decoding with a size limit and rejecting trailing bytes.

use crate::{ClientMessage, ServerMessage};
use bincode::config;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest client-to-server message, in bytes. Inputs are under 16 bytes and a `Hello` under 64;
/// the server's WebSocket frame limit should not be larger than this.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 1024;
/// Largest server-to-client message, in bytes (a full snapshot of a very busy world).
pub const MAX_SERVER_MESSAGE_BYTES: usize = 4 << 20;

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
