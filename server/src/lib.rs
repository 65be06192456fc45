//! Tickwire's authoritative game server: a fixed-tick loop that owns the world, fed by binary
//! inputs from WebSocket sessions, sending each client delta snapshots.
//!
//! # Layout
//! - [`run`]: accepts connections, drains on `shutdown`.
//! - `http`: the port's HTTP side: the WebSocket upgrade, `/healthz`, `/readyz`, `/rooms`,
//!   `/metrics`; `web_files` serves the browser client's files on every other path.
//! - `session`: one task per joined connection (Hello, reads, heartbeat, close codes).
//! - `connection`: a client's socket shared by its session and the snapshot writers, with the
//!   ordered, capped queue of bytes waiting for it.
//! - `rooms`: the room directory (create on first join, limits, `/rooms`); `room_status` is
//!   what `/rooms` shows of one room.
//! - `room_threads`: one thread per core ticking many rooms; a failing room closes alone.
//! - `game_loop`: one room's fixed-tick loop; owns its arena and its clients.
//! - `snapshot_writers`: a task per runtime worker writing each tick's messages to sockets.
//! - `metrics`: the Prometheus metrics.
//! - `input_rate` and `per_ip`: abuse limits (signed join tokens are in the shared crate).
//! - `arena`: the game rules (movement, shots, hits, drones, respawn, score).
//! - `world`: entity storage (slotmap) with wire ids and the replicated view.
//! - `wire_ids`: compact wire ids with a reuse quarantine.
//! - `replication`: tick history and per-client deltas.
//! - `close_reason`: close codes and reasons for every way a session ends.
//! - `tick_stats`: the periodic tick-time summary.
//! - [`config`] and [`scenario`]: settings (`assets/server.toml`) and worlds (`assets/scenarios/`).

mod arena;
mod close_reason;
pub mod config;
mod connection;
mod game_loop;
mod http;
mod input_rate;
mod metrics;
mod per_ip;
mod replication;
mod room_status;
mod room_threads;
mod rooms;
pub mod scenario;
mod session;
mod snapshot_writers;
mod tick_stats;
pub mod tls;
mod web_files;
mod wire_ids;
mod world;

pub use config::{ConfigFile, Limits, ServerConfig, load_scenarios};
pub use scenario::Scenario;
pub use tickwire_shared::join_token::{self, JoinClaims, JoinSecret};
pub use tickwire_shared::room_path::WS_PATH;

use metrics::Metrics;
use room_threads::RoomThreads;
use rooms::Rooms;
use session::SessionContext;
use snapshot_writers::Writers;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// How often histogram samples are folded into their buckets when nobody scrapes `/metrics`.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The room threads could not start.
    #[error("cannot start the room threads: {0}")]
    LoopThread(std::io::Error),
    /// A limit in the config is out of range.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
}

/// Serves the game and its HTTP endpoints on `listener` until `shutdown` completes. Then it
/// drains: `/readyz` answers 503 and upgrades are refused while every session is closed with
/// 1001 and given up to the configured grace for its close handshake; then the rooms stop.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.limits.validate()?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = RoomThreads::start(threads).map_err(ServerError::LoopThread)?;
    let metrics = Arc::new(Metrics::new());
    let rooms = Arc::new(Rooms::new(
        config.clone(),
        threads,
        Writers::spawn(),
        Arc::clone(&metrics),
    ));
    let draining = CancellationToken::new();
    let connection_slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let per_ip = Arc::new(per_ip::PerIp::default());
    let ctx = Arc::new(SessionContext {
        limits: config.limits.clone(),
        allowed_origins: config.allowed_origins.clone(),
        join_secret: config.join_secret.clone(),
        tls: config.tls.clone(),
        web_dir: config.web_dir.clone(),
        rooms: Arc::clone(&rooms),
        metrics: Arc::clone(&metrics),
        shutdown: draining.clone(),
        started: Instant::now(),
    });
    let connections = TaskTracker::new();
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, path = WS_PATH, "listening");
    }
    let upkeep = tokio::spawn({
        let metrics = Arc::clone(&metrics);
        async move {
            let mut every = tokio::time::interval(METRICS_UPKEEP);
            loop {
                every.tick().await;
                metrics.run_upkeep();
            }
        }
    });

    tokio::pin!(shutdown);
    let grace = Duration::from_millis(config.limits.shutdown_grace_ms);
    let mut drain_deadline = None;
    loop {
        // While draining, keep answering HTTP (so `/readyz` says 503) until every session has
        // closed or the grace is over.
        let drained = async {
            match drain_deadline {
                Some(deadline) => {
                    let _ = tokio::time::timeout_at(deadline, connections.wait()).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown, if drain_deadline.is_none() => {
                info!(connections = connections.len(), "draining");
                draining.cancel();
                connections.close();
                drain_deadline = Some(tokio::time::Instant::now() + grace);
            }
            () = drained => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let limits = &config.limits;
                    let exempt = peer.ip().is_loopback() && !limits.limit_loopback_per_ip;
                    let per_ip_cap = if exempt { usize::MAX } else { limits.max_connections_per_ip };
                    let Some(ip_slot) = per_ip.try_acquire(peer.ip(), per_ip_cap) else {
                        warn!(%peer, "connections per IP limit reached; connection dropped");
                        continue;
                    };
                    let Ok(slot) = Arc::clone(&connection_slots).try_acquire_owned() else {
                        warn!(%peer, "connection limit reached; connection dropped");
                        continue;
                    };
                    let ctx = Arc::clone(&ctx);
                    connections.spawn(async move {
                        http::serve(stream, peer, ctx).await;
                        drop((slot, ip_slot));
                    });
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    if !connections.is_empty() {
        warn!(
            left = connections.len(),
            "connections still open after the grace period"
        );
    }
    drop(listener);
    upkeep.abort();
    let rooms_stopped = tokio::task::spawn_blocking(move || rooms.stop()).await;
    if rooms_stopped.is_err() {
        warn!("stopping the rooms panicked");
    }
    Ok(())
}
