//! `tickwire-bot soak`: starts the release server, plays N bots for a long time at full rate,
//! and reports whether the server stays healthy: tick p99, overruns, RSS after the warm-up and
//! at the end, resumes, desyncs. With `--chaos`, a chaos client (`chaos.rs`) abuses the same
//! room all along, and the honest bots must not notice.

use crate::Link;
use crate::bench::{BenchError, write_server_config};
use crate::chaos::{ChaosCounts, run_chaos};
use crate::server_process::{self, ServerProcess};
use crate::summary::percentile_ms;
use crate::{Behaviour, BotConfig, run_bots};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The health bar: RSS growth after the warm-up, in percent.
pub const MAX_RSS_GROWTH_PCT: f64 = 5.0;
/// The health bar: overrun ticks, in percent of ticks.
pub const MAX_OVERRUN_PCT: f64 = 0.1;

/// One soak run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// The scenario the server plays.
    pub scenario: PathBuf,
    /// Bots to play.
    pub bots: usize,
    /// How long to measure, after the warm-up.
    pub duration: Duration,
    /// How long the bots play before the measurement starts.
    pub warmup: Duration,
    /// What the bots do.
    pub behaviour: Behaviour,
    /// The server binary.
    pub server_bin: PathBuf,
    /// Run the chaos client beside the bots, from the start to the end.
    pub chaos: bool,
}

/// Time between two chaos actions.
const CHAOS_PAUSE: Duration = Duration::from_millis(50);
/// Seats and connections the chaos client holds at most, about: ten seconds of vanished
/// players and stalled readers at its pace.
const CHAOS_SEATS: usize = 256;

/// A soak run's figures (the JSON keys).
#[derive(Clone, Debug, Serialize)]
pub struct SoakFigures {
    /// Bots started.
    pub bots: usize,
    /// Seconds measured.
    pub duration_s: f64,
    /// Ticks the server ran while measuring.
    pub ticks: usize,
    /// Tick duration percentiles while measuring.
    pub tick_ms_p50: f64,
    /// See `tick_ms_p50`.
    pub tick_ms_p99: f64,
    /// Ticks skipped after falling behind, and their share of all ticks in percent.
    pub overruns: u64,
    /// See `overruns`.
    pub overrun_pct: f64,
    /// Server RSS when the measurement started (after the warm-up) and at its end.
    pub rss_kb_start: u64,
    /// See `rss_kb_start`.
    pub rss_kb_end: u64,
    /// (end - start) / start, in percent.
    pub rss_growth_pct: f64,
    /// Sessions the bots resumed after a lost connection.
    pub resumes: u64,
    /// Bots' checksum mismatches.
    pub desyncs: u64,
    /// Bots that ended with an error.
    pub errors: usize,
    /// The slowest bot's snapshot rate.
    pub snapshot_hz_min: f64,
    /// The server's exit status after SIGTERM.
    pub server_exit: Option<i32>,
    /// What the chaos client did, with `--chaos`.
    pub chaos: Option<ChaosCounts>,
}

impl SoakFigures {
    /// Healthy: every bot fine, no desyncs, a clean exit, and within both health bars.
    pub fn success(&self) -> bool {
        self.errors == 0
            && self.desyncs == 0
            && self.server_exit == Some(0)
            && self.rss_growth_pct < MAX_RSS_GROWTH_PCT
            && self.overrun_pct < MAX_OVERRUN_PCT
    }
}

/// Runs one soak.
pub async fn run_soak(config: &SoakConfig) -> Result<SoakFigures, BenchError> {
    // The chaos client's seats (vanished ones wait 10 s for a resume) need room beside the bots.
    let seats = config.bots + if config.chaos { CHAOS_SEATS } else { 0 };
    let config_path = write_server_config(seats)?;
    let server = ServerProcess::start(&config.server_bin, &config.scenario, &config_path)?;
    let pid = server.pid();
    let bots = BotConfig {
        urls: vec![server.url()],
        rooms: None,
        tokens: Vec::new(),
        tls: None,
        bots: config.bots,
        duration: config.warmup + config.duration,
        behaviour: config.behaviour,
        link: Link::default(),
        progress: false,
    };
    let chaos = config.chaos.then(|| {
        let url = format!("{}/default", server.url());
        let until = tokio::time::Instant::now() + config.warmup + config.duration;
        tokio::spawn(async move { run_chaos(&url, until, CHAOS_PAUSE).await })
    });
    let playing = tokio::spawn(async move { run_bots(&bots).await });
    tokio::time::sleep(config.warmup).await;
    let rss_kb_start = server_process::rss_kb(pid)?;
    server.start_recording();
    let started = Instant::now();
    tokio::time::sleep(config.duration).await;
    let mut ticks = server.stop_recording();
    let measured = started.elapsed().as_secs_f64();
    let rss_kb_end = server_process::rss_kb(pid)?;
    let task_failed = |e| BenchError::Config(std::io::Error::other(format!("task failed: {e}")));
    let summary = playing.await.map_err(task_failed)?;
    let chaos = match chaos {
        Some(chaos) => Some(chaos.await.map_err(task_failed)?),
        None => None,
    };
    let server_exit = server.stop(Duration::from_secs(10))?.code();
    let _ = std::fs::remove_file(&config_path);

    ticks.tick_us.sort_unstable();
    let tick_count = ticks.tick_us.len();
    Ok(SoakFigures {
        bots: config.bots,
        duration_s: measured,
        ticks: tick_count,
        tick_ms_p50: percentile_ms(&ticks.tick_us, 0.50),
        tick_ms_p99: percentile_ms(&ticks.tick_us, 0.99),
        overruns: ticks.overruns,
        overrun_pct: ticks.overruns as f64 * 100.0
            / (tick_count as f64 + ticks.overruns as f64).max(1.0),
        rss_kb_start,
        rss_kb_end,
        rss_growth_pct: (rss_kb_end as f64 - rss_kb_start as f64) * 100.0
            / (rss_kb_start as f64).max(1.0),
        resumes: summary.resumes,
        desyncs: summary.desyncs,
        errors: summary.errors + (summary.bots - summary.connected),
        snapshot_hz_min: summary.snapshot_hz_min,
        server_exit,
        chaos,
    })
}
