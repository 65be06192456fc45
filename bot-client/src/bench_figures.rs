//! The figures one benchmark run reports: exactly the JSON keys listed in BENCHMARKS.md, in
//! that order.

use serde::{Deserialize, Serialize};

/// One benchmark run's figures. Serialized as the last stdout line of `tickwire-bot bench --json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchFigures {
    /// The scenario's name (e.g. `parity-320`).
    pub scenario: String,
    /// Clients connected for the measurement.
    pub clients: usize,
    /// The scenario's tick rate.
    pub tick_hz: f64,
    /// Snapshots per second that clients actually received, averaged over clients.
    pub achieved_hz: f64,
    /// Median server tick duration during the measurement, in milliseconds.
    pub tick_ms_p50: f64,
    /// 99th percentile server tick duration during the measurement, in milliseconds.
    pub tick_ms_p99: f64,
    /// Average snapshot (patch) size in bytes, WebSocket payload, excluding full snapshots.
    pub patch_bytes_avg: f64,
    /// Bytes received per client per second (WebSocket payloads).
    pub down_bytes_per_client_per_sec: f64,
    /// Size of the first (full) snapshot a client receives, in bytes.
    pub join_bytes: f64,
    /// Server CPU (user + system) over the measurement, in percent of one core.
    pub server_cpu_pct: f64,
    /// Server CPU per client per tick, in microseconds.
    pub server_cpu_us_per_client_tick: f64,
    /// Server resident memory at the end of the measurement, in KiB.
    pub server_rss_kb: f64,
    /// Server RSS growth from before the clients connected, divided by clients, in KiB.
    pub rss_kb_per_client: f64,
    /// Median time from the server stamping a snapshot to a client receiving it, in ms.
    pub latency_ms_p50: f64,
    /// 99th percentile of the same, in ms.
    pub latency_ms_p99: f64,
    /// Checksum mismatches seen by the verifying clients.
    pub desyncs: u64,
}
