//! WebSocket close codes Tickwire sends. The 4000-4999 range is Tickwire's own; each close
//! also carries a short human-readable reason. docs/PROTOCOL.md lists them all.

/// Normal closure: the client said goodbye.
pub const NORMAL: u16 = 1000;
/// The server is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// WebSocket protocol violation (RFC 6455).
pub const PROTOCOL_ERROR: u16 = 1002;
/// Unsupported data: Tickwire speaks binary frames only, so a text frame gets this.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Policy violation: a client over its input rate for too long.
pub const POLICY: u16 = 1008;
/// A frame or message larger than the server's limit.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The server hit an internal error with this session.
pub const INTERNAL_ERROR: u16 = 1011;
/// Service restart: the room stopped on this node of a cluster (its lease is gone, or the node
/// drains); resume the session through any node.
pub const SERVICE_RESTART: u16 = 1012;

/// A binary message that does not decode as a [`crate::ClientMessage`] (bad bytes, unknown
/// variant, trailing bytes, over the size limit once decoded).
pub const MALFORMED: u16 = 4000;
/// The `Hello` was refused; a [`crate::ServerMessage::Rejected`] with the reason came first.
pub const REJECTED: u16 = 4001;
/// The client did not read its snapshots for too long.
pub const SLOW_CONSUMER: u16 = 4002;
/// No `Hello` within the handshake timeout, or no message within the idle timeout.
pub const TIMEOUT: u16 = 4003;
/// A message that decodes but is not allowed here (input before `Hello`, a second `Hello`,
/// unknown button bits, an input from a spectator).
pub const INVALID: u16 = 4004;
/// The session was resumed on another connection (with its resume token).
pub const RESUMED_ELSEWHERE: u16 = 4005;
/// The room is on another node of the cluster; a [`crate::ServerMessage::Redirect`] with its URL
/// came first.
pub const REDIRECTED: u16 = 4006;
