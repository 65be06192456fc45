//! `tickwire-bot bench`: starts the release server on a free loopback port with a scenario,
//! connects spectator clients (or, with `play`, players), warms up, measures, and reports the
//! figures of BENCHMARKS.md.

use crate::bench_client::{ClientTally, Phase, run_client};
use crate::server_process::{self, ServerProcess, ServerProcessError};
use crate::summary::percentile_ms;
use crate::{BenchFigures, Bot};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// At most this many handshakes in flight, so a burst of thousands of connects does not
/// overflow the listen backlog (which would stall clients for a SYN retry).
const CONNECTS_IN_FLIGHT: usize = 64;

/// One benchmark run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The scenario file the server plays.
    pub scenario: PathBuf,
    /// Clients to connect.
    pub clients: usize,
    /// How long to measure.
    pub duration: Duration,
    /// How long to wait after every client connected before measuring.
    pub warmup: Duration,
    /// How many clients rebuild the world and verify every checksum (the rest count bytes).
    pub verifying: usize,
    /// Clients join as players and play (see `bench_client`), instead of spectating.
    pub play: bool,
    /// The server binary.
    pub server_bin: PathBuf,
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The scenario file is unreadable.
    #[error("cannot read scenario {0}: {1}")]
    Scenario(PathBuf, String),
    /// The server could not be started or measured.
    #[error(transparent)]
    Server(#[from] ServerProcessError),
    /// Writing the server's config file failed.
    #[error("cannot write the server config: {0}")]
    Config(std::io::Error),
}

/// A run's figures, plus what the JSON does not carry.
#[derive(Debug)]
pub struct BenchOutcome {
    /// The figures of BENCHMARKS.md.
    pub figures: BenchFigures,
    /// Clients that connected.
    pub connected: usize,
    /// The first client error, if any (connect failures included).
    pub first_error: Option<String>,
    /// Clients with an error.
    pub errors: usize,
    /// The load generator's own CPU over the measurement, in percent of one core.
    pub load_cpu_pct: f64,
    /// Ticks the server logged while measuring, and overruns.
    pub ticks: usize,
    /// See `ticks`.
    pub overruns: u64,
    /// The server's exit status after SIGTERM.
    pub server_exit: Option<i32>,
}

impl BenchOutcome {
    /// Every client connected, none failed, no desyncs, and the server exited cleanly.
    pub fn success(&self) -> bool {
        self.connected == self.figures.clients
            && self.errors == 0
            && self.figures.desyncs == 0
            && self.server_exit == Some(0)
    }
}

#[derive(Deserialize)]
struct ScenarioHead {
    name: String,
    tick_rate: u16,
}

/// Runs one benchmark.
pub async fn run_bench(config: &BenchConfig) -> Result<BenchOutcome, BenchError> {
    let scenario_error = |e: String| BenchError::Scenario(config.scenario.clone(), e);
    let text =
        std::fs::read_to_string(&config.scenario).map_err(|e| scenario_error(e.to_string()))?;
    let head: ScenarioHead = toml::from_str(&text).map_err(|e| scenario_error(e.to_string()))?;
    let tick_hz = f64::from(head.tick_rate);

    let config_path = write_server_config(config.clients)?;
    let server = ServerProcess::start(&config.server_bin, &config.scenario, &config_path)?;
    let pid = server.pid();
    // Let the loop settle before the baseline memory reading.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server_process::rss_kb(pid)?;

    let phase = Phase::default();
    let connects = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let verify_every = (config.clients / config.verifying.max(1)).max(1);
    let play = config.play;
    let (joined_tx, mut joined_rx) = tokio::sync::mpsc::channel::<()>(config.clients.max(1));
    let tasks: Vec<_> = (0..config.clients)
        .map(|i| {
            let (url, phase, connects) = (server.url(), phase.clone(), Arc::clone(&connects));
            let joined = joined_tx.clone();
            let verify = i % verify_every == 0 && i / verify_every < config.verifying;
            tokio::spawn(async move {
                let name = format!("bench-{i}");
                let play = play;
                let bot = {
                    let _permit = connects.acquire_owned().await;
                    if play {
                        Bot::connect(&url, &name).await
                    } else {
                        Bot::spectate(&url, &name).await
                    }
                };
                let _ = joined.send(()).await;
                match bot {
                    Ok(bot) => run_client(bot, verify, play, phase).await,
                    Err(e) => ClientTally {
                        error: Some(format!("{name}: {e}")),
                        ..ClientTally::default()
                    },
                }
            })
        })
        .collect();
    drop(joined_tx);
    // Every client has connected (or failed) once all have reported in.
    let connect_deadline = Instant::now() + Duration::from_secs(120);
    for _ in 0..config.clients {
        if tokio::time::timeout_at(connect_deadline.into(), joined_rx.recv())
            .await
            .is_err()
        {
            break;
        }
    }
    tokio::time::sleep(config.warmup).await;

    phase.measuring.store(true, Ordering::Relaxed);
    server.start_recording();
    let started = Instant::now();
    let (server_cpu0, load_cpu0) = (
        server_process::cpu_time(pid)?,
        server_process::cpu_time(std::process::id())?,
    );
    tokio::time::sleep(config.duration).await;
    let (server_cpu1, load_cpu1) = (
        server_process::cpu_time(pid)?,
        server_process::cpu_time(std::process::id())?,
    );
    let measured = started.elapsed().as_secs_f64();
    phase.measuring.store(false, Ordering::Relaxed);
    phase.done.cancel();
    let tick_log = server.stop_recording();
    let rss_after = server_process::rss_kb(pid)?;

    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        tallies.push(task.await.unwrap_or_else(|e| ClientTally {
            error: Some(format!("client task failed: {e}")),
            ..ClientTally::default()
        }));
    }
    let server_exit = server.stop(Duration::from_secs(10))?.code();
    let _ = std::fs::remove_file(&config_path);

    let server_cpu = (server_cpu1 - server_cpu0).as_secs_f64();
    let mut tick_log = tick_log;
    tick_log.tick_us.sort_unstable();
    let ticks = if tick_log.tick_us.is_empty() {
        measured * tick_hz
    } else {
        tick_log.tick_us.len() as f64
    };
    let figures = figures(
        &head.name,
        tick_hz,
        &tallies,
        measured,
        FromServer {
            cpu_secs: server_cpu,
            ticks,
            sorted_tick_us: &tick_log.tick_us,
            rss_before,
            rss_after,
        },
    );
    Ok(BenchOutcome {
        connected: tallies.iter().filter(|t| t.connected).count(),
        errors: tallies.iter().filter(|t| t.error.is_some()).count(),
        first_error: tallies.iter().find_map(|t| t.error.clone()),
        load_cpu_pct: (load_cpu1 - load_cpu0).as_secs_f64() / measured * 100.0,
        ticks: tick_log.tick_us.len(),
        overruns: tick_log.overruns,
        server_exit,
        figures,
    })
}

/// What the server process reported over the measurement.
struct FromServer<'a> {
    cpu_secs: f64,
    ticks: f64,
    sorted_tick_us: &'a [u32],
    rss_before: u64,
    rss_after: u64,
}

fn figures(
    scenario: &str,
    tick_hz: f64,
    tallies: &[ClientTally],
    measured_secs: f64,
    server: FromServer<'_>,
) -> BenchFigures {
    let connected: Vec<&ClientTally> = tallies.iter().filter(|t| t.connected).collect();
    let n = connected.len().max(1) as f64;
    let sum = |f: fn(&ClientTally) -> u64| connected.iter().map(|t| f(t)).sum::<u64>() as f64;
    let mut latency: Vec<u32> = connected
        .iter()
        .flat_map(|t| t.latency_us.iter().copied())
        .collect();
    latency.sort_unstable();
    let mut joins: Vec<usize> = connected.iter().filter_map(|t| t.join_bytes).collect();
    joins.sort_unstable();
    let clients = tallies.len();
    BenchFigures {
        scenario: scenario.to_owned(),
        clients,
        tick_hz,
        achieved_hz: sum(|t| t.snapshots) / n / measured_secs,
        tick_ms_p50: percentile_ms(server.sorted_tick_us, 0.50),
        tick_ms_p99: percentile_ms(server.sorted_tick_us, 0.99),
        patch_bytes_avg: sum(|t| t.patch_bytes) / sum(|t| t.patches).max(1.0),
        down_bytes_per_client_per_sec: sum(|t| t.bytes) / n / measured_secs,
        join_bytes: joins.get(joins.len() / 2).map_or(0.0, |&b| b as f64),
        server_cpu_pct: server.cpu_secs / measured_secs * 100.0,
        server_cpu_us_per_client_tick: server.cpu_secs * 1e6
            / (clients.max(1) as f64 * server.ticks.max(1.0)),
        server_rss_kb: server.rss_after as f64,
        rss_kb_per_client: server.rss_after.saturating_sub(server.rss_before) as f64
            / clients.max(1) as f64,
        latency_ms_p50: percentile_ms(&latency, 0.50),
        latency_ms_p99: percentile_ms(&latency, 0.99),
        desyncs: sum(|t| t.desyncs) as u64,
    }
}

/// A server config admitting `clients` clients, in the temp directory.
pub(crate) fn write_server_config(clients: usize) -> Result<PathBuf, BenchError> {
    let path = std::env::temp_dir().join(format!("tickwire-bench-{}.toml", std::process::id()));
    let text = format!(
        "# Written by tickwire-bot bench: room for every benchmark client.\n\
         [limits]\nmax_clients = {}\nmax_connections = {}\n",
        clients + 16,
        clients + 64
    );
    std::fs::write(&path, text).map_err(BenchError::Config)?;
    Ok(path)
}
