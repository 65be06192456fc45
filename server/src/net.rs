//! The network side: HTTP and the WebSocket upgrade, sessions, sockets and their queues, the
//! writers that put each tick's snapshots on them, and the limits on what a peer may do.

pub(crate) mod close_reason;
pub(crate) mod connection;
pub(crate) mod http;
pub(crate) mod message_rate;
pub(crate) mod per_ip;
pub(crate) mod queue_budget;
pub(crate) mod session;
pub mod tls;
pub(crate) mod used_tokens;
pub(crate) mod web_files;
pub(crate) mod writers;
