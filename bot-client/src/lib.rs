//! Headless Tickwire bots. Each bot is a real WebSocket client that rebuilds the world from
//! snapshots with [`tickwire_shared::ClientWorld`], verifies every checksum, plays a
//! [`Behaviour`], and measures RTT and bytes.
//!
//! # Layout
//! - [`Bot`]: one connection (handshake, snapshots, inputs, pings); also used by the e2e tests.
//! - [`run_bots`]: runs many bots for a duration and returns a [`Summary`].
//! - `behaviour`: idle / wander / chase / fire.
//! - `progress`: live counters and the terminal progress line.
//! - `summary`: the end-of-run figures (text and JSON).
//! - `bench` (and `bench_client`, `bench_figures`, `server_process`, `sweep_report`):
//!   `tickwire-bot bench`; `soak`: `tickwire-bot soak`.

mod behaviour;
mod bench;
mod bench_client;
mod bench_figures;
mod bot;
mod chaos;
mod games;
mod link_conditioner;
mod progress;
mod server_process;
mod soak;
mod summary;
pub mod sweep_report;

pub use behaviour::Behaviour;
pub use bench::{BenchConfig, BenchError, BenchOutcome, run_bench};
pub use bench_figures::BenchFigures;
pub use bot::{Bot, BotError, BotEvent, BotStats, MAX_REDIRECTS};
pub use chaos::{ChaosCounts, run_chaos};
pub use link_conditioner::Link;
pub use progress::LiveCounters;
pub use server_process::{ServerProcessError, locate_server_binary};
pub use soak::{MAX_OVERRUN_PCT, MAX_RSS_GROWTH_PCT, SoakConfig, SoakFigures, run_soak};
pub use summary::Summary;

use behaviour::Brain;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use summary::BotReport;
use tickwire_shared::{Hello, RejectReason};
use tokio::time::{Instant, MissedTickBehavior};

/// A bot run.
#[derive(Clone, Debug)]
pub struct BotConfig {
    /// Server URLs, e.g. `ws://127.0.0.1:7777/ws`: a bootstrap list (the nodes of a cluster).
    /// Bot i tries them in order from the i-th (round the list), for its connect and for each
    /// resume; the first that answers places it (a node may redirect it to the room's owner).
    pub urls: Vec<String>,
    /// Spread the bots over this many rooms: bot i joins `{url}/room-{i mod rooms}`.
    pub rooms: Option<usize>,
    /// Signed join tokens for servers with a join secret: bot i presents `tokens[i]` (a token
    /// opens one seat). Empty: none.
    pub tokens: Vec<String>,
    /// TLS client config for `wss://` URLs (`None`: the web's root certificates).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// How many bots.
    pub bots: usize,
    /// How long each bot plays after connecting.
    pub duration: Duration,
    /// What the bots do.
    pub behaviour: Behaviour,
    /// Delay every message by this much in each direction (a link conditioner).
    pub link: Link,
    /// Show the live progress line (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// A TLS client config trusting the certificates in `ca_pem` (a PEM file), for `wss://` to a
/// server with a private or self-signed certificate.
pub fn tls_trusting(ca_pem: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca_pem)
        .map_err(|e| format!("{}: {e}", ca_pem.display()))?
    {
        let cert = cert.map_err(|e| format!("{}: {e}", ca_pem.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca_pem.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Runs every bot concurrently for `config.duration` and summarizes.
pub async fn run_bots(config: &BotConfig) -> Summary {
    let live = Arc::new(LiveCounters::default());
    let progress = if config.progress {
        progress::spawn_progress_line(config.bots, Arc::clone(&live))
    } else {
        None
    };
    let tasks: Vec<_> = (0..config.bots)
        .map(|i| tokio::spawn(run_one(i, config.clone(), Arc::clone(&live))))
        .collect();
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        reports.push(task.await.unwrap_or_else(|e| BotReport {
            error: Some(format!("bot task failed: {e}")),
            ..BotReport::default()
        }));
    }
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    Summary::from_reports(&reports)
}

/// First wait before a reconnect; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Resumes a bot whose connection was lost through the first of `urls` that answers, retrying
/// with exponential backoff while none can be reached or the server is busy (a cluster node
/// whose directory did not answer), until `deadline`. Any other rejection (the grace window is
/// over) ends it.
async fn resume_with_backoff(
    bot: &mut Bot,
    urls: &[String],
    deadline: Instant,
) -> Result<(), BotError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        let mut last = BotError::Protocol("no URL to resume at");
        for url in urls {
            match bot.resume(url).await {
                Ok(()) => return Ok(()),
                Err(BotError::Rejected(RejectReason::ServerBusy)) => {
                    last = BotError::Rejected(RejectReason::ServerBusy);
                }
                Err(rejected @ BotError::Rejected(_)) => return Err(rejected),
                Err(e) => last = e,
            }
        }
        if Instant::now() + backoff >= deadline {
            return Err(last);
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Connects through the first of `urls` that answers (a rejection ends it: every node would
/// give the same).
async fn connect_through(
    urls: &[String],
    hello: &Hello,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Bot, BotError> {
    let mut last = BotError::Protocol("no URL to connect to");
    for url in urls {
        match Bot::connect_with_tls(url, hello.clone(), tls.clone()).await {
            Ok(bot) => return Ok(bot),
            Err(rejected @ BotError::Rejected(_)) => return Err(rejected),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Bot `index`'s bootstrap list: every URL (with its room when the bots are spread over
/// rooms), in order from the `index`-th.
fn bootstrap_urls(config: &BotConfig, index: usize) -> Vec<String> {
    let count = config.urls.len().max(1);
    (0..config.urls.len())
        .map(|k| &config.urls[(index + k) % count])
        .map(|url| match config.rooms {
            Some(rooms) => format!("{url}/room-{}", index % rooms.max(1)),
            None => url.clone(),
        })
        .collect()
}

async fn run_one(index: usize, config: BotConfig, live: Arc<LiveCounters>) -> BotReport {
    let name = format!("bot-{index}");
    let urls = bootstrap_urls(&config, index);
    let hello = Hello {
        token: config.tokens.get(index).cloned(),
        ..Bot::hello(&name, false)
    };
    let mut bot = match connect_through(&urls, &hello, config.tls.clone()).await {
        Ok(bot) => bot,
        Err(e) => {
            live.errors.fetch_add(1, Relaxed);
            return BotReport {
                error: Some(format!("{name}: {e}")),
                ..BotReport::default()
            };
        }
    };
    live.connected.fetch_add(1, Relaxed);
    bot.condition_link(config.link);
    let deadline = Instant::now() + config.duration;
    let mut brain = Brain::new(config.behaviour);
    let mut rng = StdRng::from_os_rng();
    // One frame per server tick, as a game frontend would run: inputs (one per tick, predicted),
    // pings and the render clock all go through the client session.
    let tick_rate = f64::from(bot.welcome().tick_rate.max(1));
    let mut frames = tokio::time::interval(Duration::from_secs_f64(1.0 / tick_rate));
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut bytes_seen = 0;
    let outcome = loop {
        // Ok(true): the run is over.
        let step: Result<bool, BotError> = tokio::select! {
            () = tokio::time::sleep_until(deadline) => Ok(true),
            _ = frames.tick() => {
                let lanes = bot.player().and_then(|me| brain.decide(bot.session(), me, &mut rng));
                let sent = bot.update_lanes(lanes.as_deref()).await;
                sent.map(|()| false)
            }
            // Only the read is raced: it is cancel-safe. Handling (apply, ack, reconcile) runs to
            // completion below, so no snapshot is half-handled when the deadline fires.
            frame = bot.receive_frame() => {
                let event = match frame {
                    Ok(frame) => bot.handle_frame(&frame).await,
                    Err(e) => Err(e),
                };
                let stats = bot.stats();
                live.bytes_down.fetch_add(stats.bytes_down - bytes_seen, Relaxed);
                bytes_seen = stats.bytes_down;
                if let Some(&rtt) = stats.rtt_us.last() {
                    live.last_rtt_us.store(u64::from(rtt), Relaxed);
                }
                match event {
                    Ok(BotEvent::Snapshot(_)) => {
                        live.snapshots.fetch_add(1, Relaxed);
                        Ok(false)
                    }
                    Ok(BotEvent::Desync(_)) => {
                        live.snapshots.fetch_add(1, Relaxed);
                        live.desyncs.fetch_add(1, Relaxed);
                        Ok(false)
                    }
                    Ok(BotEvent::Heartbeat) => Ok(false),
                    Err(e) => Err(e),
                }
            }
        };
        match step {
            Ok(true) => break Ok(()),
            Ok(false) => {}
            Err(e) if e.is_connection_lost() => {
                if let Err(e) = resume_with_backoff(&mut bot, &urls, deadline).await {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    let error = outcome.err().map(|e| format!("{name}: {e}"));
    if error.is_some() {
        live.errors.fetch_add(1, Relaxed);
    }
    let stats = bot.close().await;
    BotReport {
        connected: true,
        stats,
        error,
    }
}
