//! Live counters shared by all bots, and the progress line drawn from them on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Counters every bot bumps as it goes.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Bots past Welcome.
    pub connected: AtomicU64,
    /// Snapshots received by all bots.
    pub snapshots: AtomicU64,
    /// Bytes received by all bots.
    pub bytes_down: AtomicU64,
    /// The latest RTT any bot measured, in microseconds.
    pub last_rtt_us: AtomicU64,
    /// Desyncs so far.
    pub desyncs: AtomicU64,
    /// Bots that ended with an error so far.
    pub errors: AtomicU64,
}

/// Redraws one status line on stderr twice a second while the returned task runs. Draws nothing
/// when stderr is not a terminal (CI logs, pipes).
pub(crate) fn spawn_progress_line(
    bots: usize,
    live: Arc<LiveCounters>,
) -> Option<tokio::task::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(500));
        let (mut last_at, mut last_snapshots, mut last_bytes) = (Instant::now(), 0, 0);
        loop {
            every.tick().await;
            let (snapshots, bytes) = (live.snapshots.load(Relaxed), live.bytes_down.load(Relaxed));
            let secs = last_at.elapsed().as_secs_f64().max(1e-3);
            let line = format!(
                "\r{}/{bots} connected | {:.0} snapshots/s | {:.1} KB/s down | rtt {:.2} ms | desyncs {} | errors {}  ",
                live.connected.load(Relaxed),
                (snapshots - last_snapshots) as f64 / secs,
                (bytes - last_bytes) as f64 / secs / 1000.0,
                live.last_rtt_us.load(Relaxed) as f64 / 1000.0,
                live.desyncs.load(Relaxed),
                live.errors.load(Relaxed),
            );
            (last_at, last_snapshots, last_bytes) = (Instant::now(), snapshots, bytes);
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line.as_bytes());
            let _ = err.flush();
        }
    }))
}
