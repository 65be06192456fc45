//! Tickwire's authoritative game server: a fixed-tick loop per room that owns the room's game
//! (any [`Game`]), fed by binary inputs from WebSocket sessions, sending each client delta
//! snapshots.
//!
//! A game's own server is a few lines: [`cli::main`] with its [`Games`] gives it the stock
//! `tickwire-server` command line (docs/GAME_API.md). [`run`] serves from code.
//!
//! # Layout
//! The folders follow the data flow: bytes arrive in `net`, become commands and inputs for a
//! room in `room`, and leave again as snapshots through `net`; `ops` is what operators see and
//! set.
//! - [`run`]: accepts connections, drains on `shutdown`; [`cli`]: the command line.
//! - `net`: the network side of the server.
//!   - `http`: the port's HTTP side: the WebSocket upgrade, `/healthz`, `/readyz`, `/rooms`,
//!     `/metrics` (or the admin listener); `web_files` serves the browser client's files.
//!   - `session`: one task per joined connection (Hello, reads, heartbeat, close codes).
//!   - `connection`: a client's socket shared by its session and the snapshot writers, with the
//!     ordered, capped queue of bytes waiting for it; `queue_budget` caps all queues together.
//!   - `writers`: a task per runtime worker writing each tick's messages to sockets.
//!   - `tls`: wss:// (rustls).
//!   - admission and abuse limits: `per_ip`, `message_rate`, `used_tokens` (signed join tokens
//!     themselves are in the shared crate); `close_reason`: every way a session ends.
//! - `room`: the rooms and their worlds.
//!   - `directory`: rooms by name (create on first join, limits, `/rooms`).
//!   - `threads`: one thread per core sharing one schedule of rooms; a failing room closes alone.
//!   - `core`: one room, sans I/O (time and events in, messages out): drives its game (a
//!     `tickwire_game::HostedGame`), owns its clients' seats, and is unit-tested without sockets.
//!   - `game_loop`: the tokio shell that feeds a room's core from its queues and hands its
//!     messages to the writers.
//!   - `replication`: tick history and per-client deltas.
//! - `ops`: [`config`] (settings, `assets/server.toml`; game configs are
//!   `assets/scenarios/NAME.toml`), `metrics` (Prometheus), `status` (what
//!   `/rooms` shows of a room, and its `/metrics` series), `tick_stats` (the periodic tick-time
//!   summary), `log_throttle`.

pub mod cli;
pub mod cluster;
mod net;
mod ops;
mod room;

pub use config::{ConfigFile, Limits, ServerConfig, load_configs};
pub use net::tls;
pub use ops::config;
pub use tickwire_game::{Game, GameConfig, GameWorld, Games};

pub use tickwire_shared::join_token::{self, JoinClaims, JoinSecret};
pub use tickwire_shared::room_path::WS_PATH;

use net::session::SessionContext;
use net::writers::Writers;
use net::{http, per_ip, queue_budget, used_tokens};
use ops::log_throttle::LogThrottle;
use ops::metrics::Metrics;
use room::directory::Rooms;
use room::threads::RoomThreads;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// At most one warning per this interval about connections dropped at accept (`left_out`
/// counts the rest).
const DROPPED_WARNING_INTERVAL: Duration = Duration::from_secs(1);

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
    /// The cluster's directory (`--directory`) could not be reached.
    #[error("cannot reach the cluster directory: {0}")]
    Directory(#[from] cluster::lease_store::StoreError),
}

/// Serves the game and its HTTP endpoints on `listener` until `shutdown` completes. The
/// operations endpoints `/rooms` and `/metrics` answer loopback peers only (403 to others).
/// Then it drains: `/readyz` answers 503 and upgrades are refused while every session is closed
/// with 1001 and given up to the configured grace for its close handshake; then the rooms stop.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    serve(listener, None, config, shutdown).await
}

/// [`run`], with the operations endpoints (`/rooms`, `/metrics`, `/healthz`, `/readyz`) served
/// to anyone on `admin` (bind it to a private address) and `/rooms` and `/metrics` not served
/// on the game port at all.
pub async fn run_with_admin(
    listener: TcpListener,
    admin: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    serve(listener, Some(admin), config, shutdown).await
}

/// Checks every config the server may start a room with, and every game's own default config,
/// so a bad one stops the server before it takes connections.
fn check_games(config: &ServerConfig) -> Result<(), config::ConfigError> {
    let games = &config.games;
    for name in games.names() {
        games.check(&games.default_config(name)?)?;
    }
    for game_config in std::iter::once(&config.game).chain(config.configs.values()) {
        games.check(game_config)?;
    }
    Ok(())
}

async fn serve(
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.limits.validate()?;
    check_games(&config)?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = RoomThreads::start(threads).map_err(ServerError::LoopThread)?;
    let metrics = Arc::new(Metrics::new());
    let placement: Arc<dyn room::placement::RoomDirectory> = match &config.cluster {
        Some(cluster) => {
            let store = cluster::lease_store::LeaseStore::connect(
                &cluster.directory,
                cluster.node.clone(),
                cluster.lease_ttl,
            )
            .await?;
            info!(node = %cluster.node.id, url = %cluster.node.url, directory = %cluster.directory, "a node of a cluster");
            cluster::placement::Cluster::new(
                store,
                cluster.save_every,
                config.limits.max_rooms,
                metrics.cluster(),
            )
        }
        None => Arc::new(room::placement::InProcess),
    };
    let rooms = Arc::new(Rooms::new(
        config.clone(),
        threads,
        Writers::spawn(),
        Arc::clone(&metrics),
        placement,
    ));
    let draining = CancellationToken::new();
    let sessions_closing = CancellationToken::new();
    let drain_requested = CancellationToken::new();
    let connection_slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let per_ip = Arc::new(per_ip::PerIp::default());
    let queue_budget = Arc::new(queue_budget::QueueBudget::new(
        config.limits.max_queued_bytes_total,
        metrics.queued_bytes.clone(),
    ));
    let budget_enforcer = tokio::spawn({
        let queue_budget = Arc::clone(&queue_budget);
        async move { queue_budget.enforce_forever().await }
    });
    let ctx = Arc::new(SessionContext {
        limits: config.limits.clone(),
        allowed_origins: config.allowed_origins.clone(),
        join_secret: config.join_secret.clone(),
        tls: config.tls.clone(),
        web_dir: config.web_dir.clone(),
        rooms: Arc::clone(&rooms),
        metrics: Arc::clone(&metrics),
        draining: draining.clone(),
        drain_requested: drain_requested.clone(),
        shutdown: sessions_closing.clone(),
        admin_elsewhere: admin.is_some(),
        used_tokens: used_tokens::UsedTokens::new(config.limits.max_used_join_tokens),
        queue_budget: Arc::clone(&queue_budget),
        started: Instant::now(),
    });
    let connections = TaskTracker::new();
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, path = WS_PATH, "listening");
    }
    let admin = admin.map(|admin| {
        if let Ok(addr) = admin.local_addr() {
            info!(%addr, "operations endpoints listening");
        }
        tokio::spawn(http::serve_admin(admin, Arc::clone(&ctx)))
    });
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
    let mut dropped_warnings = LogThrottle::new(DROPPED_WARNING_INTERVAL);
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
            () = async { tokio::select! {
                () = &mut shutdown => {},
                () = drain_requested.cancelled() => {},
            } }, if drain_deadline.is_none() => {
                info!(connections = connections.len(), "draining");
                draining.cancel();
                if Arc::clone(rooms.placement()).start_draining() {
                    // Each room is handed off (saved, its lease given up) before its clients
                    // are told to resume elsewhere (1012), so no room is lost.
                    let rooms = Arc::clone(&rooms);
                    if tokio::task::spawn_blocking(move || rooms.stop()).await.is_err() {
                        warn!("handing the rooms off panicked");
                    }
                }
                sessions_closing.cancel();
                connections.close();
                drain_deadline = Some(tokio::time::Instant::now() + grace);
            }
            () = drained => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let limits = &config.limits;
                    let address = per_ip::limited_address(peer.ip(), limits);
                    // `None`: exempt; `Some(None)`: the address is at its cap.
                    let ip_slot = address
                        .map(|address| per_ip.try_acquire(address, limits.max_connections_per_ip));
                    if let Some(None) = ip_slot {
                        if let Some(left_out) = dropped_warnings.admit(Instant::now()) {
                            warn!(%peer, left_out, "connections per IP limit reached; connection dropped");
                        }
                        continue;
                    }
                    let Ok(slot) = Arc::clone(&connection_slots).try_acquire_owned() else {
                        if let Some(left_out) = dropped_warnings.admit(Instant::now()) {
                            warn!(%peer, left_out, "connection limit reached; connection dropped");
                        }
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
    budget_enforcer.abort();
    if let Some(admin) = admin {
        admin.abort();
    }
    let rooms_stopped = tokio::task::spawn_blocking(move || rooms.stop()).await;
    if rooms_stopped.is_err() {
        warn!("stopping the rooms panicked");
    }
    Ok(())
}
