//! End-to-end tests: the real server on a real port (started in-process on port 0), real bots and
//! raw WebSocket clients over real sockets.

mod abuse;
mod admission;
mod bad_input;
#[cfg(unix)]
mod browser;
mod cluster;
mod gameplay;
mod games;
mod generic_input;
mod handshake;
mod join_tokens;
mod leases;
mod load;
mod operations;
mod prediction;
mod protocol_violations;
#[cfg(unix)]
mod redis_server;
mod resume;
mod rooms;
mod shutdown;
mod slow_consumer;
mod timeouts;
mod tls;
mod util;
mod web_files;
