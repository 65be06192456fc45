//! Tickwire's authoritative game server: a fixed-tick loop that owns the world, fed by binary
//! inputs from WebSocket sessions, sending each client delta snapshots.
//!
//! # Layout
//! - [`run`]: accepts connections and wires sessions to the game loop; stops on `shutdown`.
//! - `session`: one task per connection (handshake, reads, heartbeat, close codes).
//! - `connection`: a client's socket shared by its session and the snapshot writers, with the
//!   ordered, capped queue of bytes waiting for it.
//! - `game_loop`: the fixed-tick loop on its own thread; owns the arena and the clients' queues.
//! - `snapshot_writers`: a task per runtime worker writing each tick's messages to sockets.
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
mod replication;
pub mod scenario;
mod session;
mod snapshot_writers;
mod tick_stats;
mod wire_ids;
mod world;

pub use config::{ConfigFile, Limits, ServerConfig};
pub use scenario::Scenario;
pub use session::WS_PATH;

use game_loop::GameLoop;
use session::SessionContext;
use snapshot_writers::Outbox;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The game loop thread could not start.
    #[error("cannot start the game loop thread: {0}")]
    LoopThread(std::io::Error),
    /// The game loop panicked.
    #[error("the game loop panicked")]
    LoopPanicked,
    /// A limit in the config is out of range.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
}

/// Serves the game on `listener` until `shutdown` completes, then closes every session with
/// 1001, waits up to the configured grace for their close handshakes, and stops the loop.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.limits.validate()?;
    let sessions_stop = CancellationToken::new();
    let loop_stop = CancellationToken::new();
    let (commands_tx, commands_rx) = mpsc::channel(1024);
    let game = GameLoop::new(config.clone(), Outbox::spawn_writers());
    // Dropped when the loop thread ends, normally or by a panic, so `run` notices at once.
    let (loop_alive, mut loop_ended) = oneshot::channel::<()>();
    let loop_thread = {
        let stop = loop_stop.clone();
        std::thread::Builder::new()
            .name("tickwire-loop".into())
            .spawn(move || {
                let _alive = loop_alive;
                game.run(commands_rx, stop);
            })
            .map_err(ServerError::LoopThread)?
    };
    let connection_slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let ctx = Arc::new(SessionContext {
        limits: config.limits.clone(),
        commands: commands_tx,
        shutdown: sessions_stop.clone(),
        started: Instant::now(),
    });
    let sessions = TaskTracker::new();
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, path = WS_PATH, "listening");
    }

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = &mut loop_ended => {
                error!("the game loop stopped unexpectedly; shutting down");
                break;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match Arc::clone(&connection_slots).try_acquire_owned() {
                    Ok(slot) => {
                        let ctx = Arc::clone(&ctx);
                        sessions.spawn(async move {
                            session::serve(stream, peer, ctx).await;
                            drop(slot);
                        });
                    }
                    Err(_) => warn!(%peer, "connection limit reached; connection dropped"),
                },
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }

    info!(sessions = sessions.len(), "shutting down");
    drop(listener);
    sessions_stop.cancel();
    sessions.close();
    let grace = Duration::from_millis(config.limits.shutdown_grace_ms);
    if tokio::time::timeout(grace, sessions.wait()).await.is_err() {
        warn!(
            left = sessions.len(),
            "sessions still closing after the grace period"
        );
    }
    loop_stop.cancel();
    let joined = tokio::task::spawn_blocking(move || loop_thread.join()).await;
    match joined {
        Ok(Ok(())) => Ok(()),
        _ => Err(ServerError::LoopPanicked),
    }
}
