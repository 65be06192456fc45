//! Tick timing and traffic figures for the periodic log line. Every tick is also a trace event
//! with the target [`TICK_EVENTS`] (`RUST_LOG=tickwire_server::tick_stats=trace`), which
//! `tickwire-bot bench` reads for exact percentiles. The target is spelled out, so moving this
//! file cannot silently stop the events.

use std::time::Duration;
use tickwire_shared::Tick;
use tracing::{info, trace};

/// The target of the per-tick trace events (a contract with `tickwire-bot bench`).
pub(crate) const TICK_EVENTS: &str = "tickwire_server::tick_stats";

/// Tick durations, overruns and bytes sent since the last summary.
#[derive(Debug, Default)]
pub(crate) struct TickStats {
    tick_micros: Vec<u32>,
    overruns: u64,
    bytes_sent: u64,
    snapshots_sent: u64,
}

impl TickStats {
    /// Tick `tick` took `took`. Its trace event is the room's tick log (which node ticked
    /// which tick of a room, for the cluster checks).
    pub(crate) fn record_tick(&mut self, tick: Tick, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        trace!(target: TICK_EVENTS, tick = tick.0, tick_us = micros, "tick");
        self.tick_micros.push(micros);
    }

    pub(crate) fn record_overruns(&mut self, ticks: u64) {
        trace!(target: TICK_EVENTS, ticks, "overrun");
        self.overruns += ticks;
    }

    pub(crate) fn record_sent(&mut self, bytes: usize) {
        self.bytes_sent += bytes as u64;
        self.snapshots_sent += 1;
    }

    /// Logs one summary line and starts a new window.
    pub(crate) fn log_and_reset(&mut self, clients: usize, window: Duration) {
        self.tick_micros.sort_unstable();
        let at = |q: f64| {
            let i = ((self.tick_micros.len() as f64 - 1.0) * q).round() as usize;
            self.tick_micros
                .get(i)
                .map_or(0.0, |&us| f64::from(us) / 1000.0)
        };
        info!(
            clients,
            ticks = self.tick_micros.len(),
            tick_ms_p50 = at(0.5),
            tick_ms_p99 = at(0.99),
            tick_ms_max = at(1.0),
            overruns = self.overruns,
            snapshots_per_sec = self.snapshots_sent as f64 / window.as_secs_f64(),
            bytes_out_per_sec = self.bytes_sent as f64 / window.as_secs_f64(),
            "tick summary"
        );
        *self = Self {
            tick_micros: Vec::with_capacity(self.tick_micros.capacity()),
            ..Self::default()
        };
    }
}
