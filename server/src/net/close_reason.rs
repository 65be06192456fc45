//! Why the server ends a session: a WebSocket close code and a short reason.

use std::borrow::Cow;
use tickwire_shared::close_code;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A close code with its reason text (at most 123 bytes, the RFC 6455 limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CloseReason {
    pub(crate) code: u16,
    pub(crate) reason: Cow<'static, str>,
}

impl CloseReason {
    pub(crate) const fn new(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason: Cow::Borrowed(reason),
        }
    }

    pub(crate) fn with_detail(code: u16, reason: impl std::fmt::Display) -> Self {
        let mut text = reason.to_string();
        if text.len() > 123 {
            let mut end = 123;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Self {
            code,
            reason: Cow::Owned(text),
        }
    }

    pub(crate) const SHUTDOWN: Self = Self::new(close_code::GOING_AWAY, "server shutting down");
    pub(crate) const ROOM_MOVED: Self = Self::new(
        close_code::SERVICE_RESTART,
        "room moves to another node: resume there",
    );
    pub(crate) const TEXT_FRAME: Self = Self::new(
        close_code::UNSUPPORTED_DATA,
        "text frames are not supported; send binary",
    );
    pub(crate) const SLOW_CONSUMER: Self = Self::new(
        close_code::SLOW_CONSUMER,
        "not reading snapshots fast enough",
    );
    pub(crate) const HANDSHAKE_TIMEOUT: Self =
        Self::new(close_code::TIMEOUT, "no Hello within the handshake timeout");
    pub(crate) const IDLE_TIMEOUT: Self =
        Self::new(close_code::TIMEOUT, "no message within the idle timeout");
    pub(crate) const SNAPSHOT_TOO_LARGE: Self = Self::new(
        close_code::INTERNAL_ERROR,
        "snapshot could not be encoded within the protocol's size limit",
    );
    pub(crate) const LOOP_STOPPED: Self =
        Self::new(close_code::INTERNAL_ERROR, "game loop stopped");
    pub(crate) const INPUT_FLOOD: Self =
        Self::new(close_code::POLICY, "inputs far over the rate limit");
    pub(crate) const PING_FLOOD: Self =
        Self::new(close_code::POLICY, "pings far over the rate limit");
    pub(crate) const FULL_REQUEST_FLOOD: Self = Self::new(
        close_code::POLICY,
        "full snapshots requested far more often than full_snapshot_interval_ms",
    );
    pub(crate) const RESUMED_ELSEWHERE: Self = Self::new(
        close_code::RESUMED_ELSEWHERE,
        "session resumed on another connection",
    );
    pub(crate) const ROOM_FAILED: Self = Self::new(
        close_code::INTERNAL_ERROR,
        "room closed after an internal error",
    );
    pub(crate) const ROOM_TOO_SLOW: Self = Self::new(
        close_code::INTERNAL_ERROR,
        "room closed: its ticks stayed slower than its tick rate",
    );

    /// The close for an error tungstenite reported while reading, or `None` when the connection
    /// is already gone and nothing can be sent.
    pub(crate) fn for_read_error(error: &WsError) -> Option<Self> {
        match error {
            WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
                Some(Self::with_detail(
                    close_code::MESSAGE_TOO_BIG,
                    format_args!("message of {size} bytes is over the {max_size}-byte limit"),
                ))
            }
            WsError::Capacity(e) => Some(Self::with_detail(close_code::MESSAGE_TOO_BIG, e)),
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
            WsError::Protocol(e) => Some(Self::with_detail(close_code::PROTOCOL_ERROR, e)),
            WsError::Utf8(_) => Some(Self::new(close_code::UNSUPPORTED_DATA, "invalid UTF-8")),
            _ => None,
        }
    }

    pub(crate) fn frame(&self) -> CloseFrame {
        CloseFrame {
            code: CloseCode::from(self.code),
            reason: self.reason.as_ref().into(),
        }
    }
}
