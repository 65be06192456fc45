//! The end-of-run summary, as text and as the JSON object of the command-line contract.

use crate::BotStats;
use serde::Serialize;
use std::fmt;

/// What one bot brought home.
#[derive(Debug, Default)]
pub(crate) struct BotReport {
    pub(crate) connected: bool,
    pub(crate) stats: BotStats,
    pub(crate) error: Option<String>,
}

/// The run's figures. Field names are the JSON keys of the bot's command-line contract (README).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Bots started.
    pub bots: usize,
    /// Bots that got a Welcome.
    pub connected: usize,
    /// Snapshots received by all bots.
    pub snapshots: u64,
    /// Snapshots whose checksum or baseline did not match.
    pub desyncs: u64,
    /// Bots that ended with an error (connect failure, unexpected close, bad message).
    pub errors: usize,
    /// Sessions resumed after a lost connection (each bot reconnects on its own).
    pub resumes: u64,
    /// Redirects followed to the node that owns a room (a cluster), on connects and resumes.
    pub redirects: u64,
    /// Resumes into a room that had gone back to its last save (its node died; a cluster).
    pub rewinds: u64,
    /// Times the server's position of a bot's own player differed from the bot's prediction,
    /// summed over bots. 0 when nothing but the bot's inputs moves it (no hits, no respawns).
    pub corrections: u64,
    /// Of those, jumps too long to smooth (a respawn after a hit), shown at once.
    pub correction_snaps: u64,
    /// The largest of those corrections, in world units.
    pub prediction_error_max: f64,
    /// Times a bot's interpolated world ran past its newest snapshot, summed over bots.
    pub interpolation_stalls: u64,
    /// Snapshots per second per bot, averaged over bots, from each bot's first to last snapshot.
    pub snapshot_hz: f64,
    /// The slowest bot's snapshots per second (with rooms: the slowest room's rate, or less).
    pub snapshot_hz_min: f64,
    /// Bytes received per bot per second, averaged over bots.
    pub down_bytes_per_bot_per_sec: f64,
    /// Median Ping/Pong round trip, in ms.
    pub rtt_ms_p50: f64,
    /// 99th percentile round trip, in ms.
    pub rtt_ms_p99: f64,
    /// The first error seen, for the reader.
    pub first_error: Option<String>,
}

impl Summary {
    pub(crate) fn from_reports(reports: &[BotReport]) -> Self {
        let connected: Vec<&BotReport> = reports.iter().filter(|r| r.connected).collect();
        let mut rtt: Vec<u32> = connected
            .iter()
            .flat_map(|r| r.stats.rtt_us.iter().copied())
            .collect();
        rtt.sort_unstable();
        let rates: Vec<(f64, f64)> = connected
            .iter()
            .filter_map(|r| {
                let s = &r.stats;
                let secs = s
                    .last_snapshot?
                    .duration_since(s.first_snapshot?)
                    .as_secs_f64();
                (secs > 0.0).then(|| ((s.snapshots - 1) as f64 / secs, s.bytes_down as f64 / secs))
            })
            .collect();
        Self {
            bots: reports.len(),
            connected: connected.len(),
            snapshots: reports.iter().map(|r| r.stats.snapshots).sum(),
            desyncs: reports.iter().map(|r| r.stats.desyncs).sum(),
            errors: reports.iter().filter(|r| r.error.is_some()).count(),
            resumes: reports.iter().map(|r| r.stats.resumes).sum(),
            redirects: reports.iter().map(|r| r.stats.redirects).sum(),
            rewinds: reports.iter().map(|r| r.stats.rewinds).sum(),
            corrections: reports.iter().map(|r| r.stats.corrections).sum(),
            correction_snaps: reports.iter().map(|r| r.stats.correction_snaps).sum(),
            prediction_error_max: reports
                .iter()
                .map(|r| f64::from(r.stats.prediction_error_max))
                .fold(0.0, f64::max),
            interpolation_stalls: reports.iter().map(|r| r.stats.interpolation_stalls).sum(),
            snapshot_hz: mean(rates.iter().map(|r| r.0)),
            snapshot_hz_min: rates.iter().map(|r| r.0).reduce(f64::min).unwrap_or(0.0),
            down_bytes_per_bot_per_sec: mean(rates.iter().map(|r| r.1)),
            rtt_ms_p50: percentile_ms(&rtt, 0.50),
            rtt_ms_p99: percentile_ms(&rtt, 0.99),
            first_error: reports.iter().find_map(|r| r.error.clone()),
        }
    }

    /// The contract's success rule: every bot connected, no desyncs, no errors.
    pub fn success(&self) -> bool {
        self.connected == self.bots && self.desyncs == 0 && self.errors == 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} bots connected, {} snapshots at {:.2} Hz per bot (slowest {:.2}), {} desyncs, {} errors, {} resumes, {} redirects, {} corrections ({} snaps, max {:.3} units), {} interpolation stalls, {:.0} B/s down per bot, rtt p50 {:.3} ms p99 {:.3} ms",
            self.connected,
            self.bots,
            self.snapshots,
            self.snapshot_hz,
            self.snapshot_hz_min,
            self.desyncs,
            self.errors,
            self.resumes,
            self.redirects,
            self.corrections,
            self.correction_snaps,
            self.prediction_error_max,
            self.interpolation_stalls,
            self.down_bytes_per_bot_per_sec,
            self.rtt_ms_p50,
            self.rtt_ms_p99,
        )?;
        if let Some(e) = &self.first_error {
            write!(f, "; first error: {e}")?;
        }
        Ok(())
    }
}

fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len();
    if n == 0 {
        0.0
    } else {
        values.sum::<f64>() / n as f64
    }
}

/// Nearest-rank percentile of sorted microseconds, in ms.
pub(crate) fn percentile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 0.5), 50.0);
        assert_eq!(percentile_ms(&us, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn a_bot_that_failed_to_connect_fails_the_run() {
        let ok = BotReport {
            connected: true,
            ..BotReport::default()
        };
        let failed = BotReport {
            error: Some("refused".into()),
            ..BotReport::default()
        };
        let summary = Summary::from_reports(&[ok, failed]);
        assert_eq!((summary.bots, summary.connected, summary.errors), (2, 1, 1));
        assert!(!summary.success());
    }
}
