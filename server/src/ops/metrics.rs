//! The server's metrics, rendered as Prometheus text on `GET /metrics`. One recorder per server
//! (not the `metrics` crate's global one), so servers in one process (the tests) stay apart; the
//! handles are registered once and updated without a lookup.
//!
//! Series labelled by room are not in the recorder, which can never drop a series: each room's
//! [`RoomSeries`] lives in its status and is rendered from the rooms open now, so a closed room's
//! series go with it and room-name churn cannot grow `/metrics` or memory.

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::fmt::{self, Write};
use std::time::Duration;

const TICK_SECONDS: &str = "tickwire_tick_duration_seconds";
const TICK_OVERRUNS: &str = "tickwire_tick_overruns_total";
/// Upper bounds of the tick-time histogram's buckets, in seconds.
const TICK_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.25,
];
const SNAPSHOT_BYTES: &str = "tickwire_snapshot_bytes";

/// Server-wide metrics and the recorder behind them.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    pub(crate) connected_clients: Gauge,
    pub(crate) rooms: Gauge,
    pub(crate) queued_bytes: Gauge,
    pub(crate) bytes_in: Counter,
    pub(crate) messages_in: Counter,
    pub(crate) bytes_out: Counter,
    pub(crate) messages_out: Counter,
    snapshot_bytes: Histogram,
    pub(crate) inputs_dropped: Counter,
    desyncs_reported: Counter,
    pub(crate) full_snapshot_requests: Counter,
    resumes: Counter,
    /// Hellos answered with a Redirect to the room's owner (a cluster).
    pub(crate) redirects: Counter,
    cluster: ClusterMetrics,
}

/// The figures of this node's room leases (a cluster).
#[derive(Debug, Clone)]
pub(crate) struct ClusterMetrics {
    /// Leases this node holds now.
    pub(crate) leases_held: Gauge,
    /// Leases taken; of those, takeovers (epoch above 1: another node held the room before).
    pub(crate) leases_taken: Counter,
    pub(crate) takeovers: Counter,
    /// Renewals that succeeded, and how long each took.
    pub(crate) renewals: Counter,
    pub(crate) renewal_seconds: Histogram,
    /// Renewals Redis refused: another node owns the room (a fenced write).
    pub(crate) renewals_refused: Counter,
    /// Renewals that got no answer (Redis unreachable or slower than the TTL).
    pub(crate) renewals_failed: Counter,
    /// Rooms saved (periodic saves and hand-offs), each save's size and how long it took.
    pub(crate) saves: Counter,
    pub(crate) save_bytes: Histogram,
    pub(crate) save_seconds: Histogram,
    /// Saves Redis refused (fenced), and saves that failed (no answer, or too big to save).
    pub(crate) saves_refused: Counter,
    pub(crate) saves_failed: Counter,
    /// Rooms restored from a save taken over from another node.
    pub(crate) restores: Counter,
}

/// The server-wide figures a room's loop adds to.
#[derive(Debug, Clone)]
pub(crate) struct RoomMetrics {
    pub(crate) snapshot_bytes: Histogram,
    pub(crate) bytes_out: Counter,
    pub(crate) messages_out: Counter,
    pub(crate) resumes: Counter,
    pub(crate) desyncs_reported: Counter,
    pub(crate) inputs_dropped: Counter,
}

const METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

impl Metrics {
    pub(crate) fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // Bucket bounds are valid constants, so these cannot fail; keep the builder if they do.
        let builder = builder
            .set_buckets_for_metric(
                Matcher::Full(SNAPSHOT_BYTES.into()),
                &[
                    64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 16384.0, 65536.0,
                ],
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let described = [
            ("tickwire_connected_clients", "Clients joined to a room"),
            ("tickwire_rooms", "Open rooms"),
            (
                "tickwire_queued_bytes",
                "Bytes waiting for client sockets, all clients together",
            ),
            (
                "tickwire_bytes_in_total",
                "WebSocket payload bytes received from joined clients",
            ),
            (
                "tickwire_messages_in_total",
                "Messages received from joined clients",
            ),
            (
                "tickwire_bytes_out_total",
                "Payload bytes of Welcome and snapshot messages sent",
            ),
            (
                "tickwire_messages_out_total",
                "Welcome, snapshot, Ping and Pong messages sent",
            ),
            (
                "tickwire_inputs_dropped_total",
                "Inputs dropped because a client's input queue was full",
            ),
            (
                "tickwire_desyncs_reported_total",
                "Full snapshots sent because a client asked for one (a checksum mismatch on its \
                 side); at most one per client per full_snapshot_interval_ms",
            ),
            (
                "tickwire_full_snapshot_requests_total",
                "RequestFull messages received, granted or not",
            ),
            (
                "tickwire_redirects_total",
                "Hellos answered with a Redirect to the node that owns the room (a cluster)",
            ),
            (
                "tickwire_leases_taken_total",
                "Room leases this node took (a cluster)",
            ),
            (
                "tickwire_lease_takeovers_total",
                "Room leases taken from an earlier owner (epoch above 1)",
            ),
            (
                "tickwire_lease_renewals_total",
                "Room lease renewals that succeeded",
            ),
            (
                "tickwire_lease_renewals_refused_total",
                "Room lease renewals refused: another node owns the room (fenced)",
            ),
            (
                "tickwire_lease_renewals_failed_total",
                "Room lease renewals with no answer from the directory",
            ),
            ("tickwire_saves_total", "Rooms saved (a cluster)"),
            (
                "tickwire_saves_refused_total",
                "Room saves refused: another node owns the room (fenced)",
            ),
            (
                "tickwire_saves_failed_total",
                "Room saves that failed: no answer from the directory, or a room too big to save",
            ),
            (
                "tickwire_restores_total",
                "Rooms restored here from a save another node wrote",
            ),
            (
                "tickwire_kicks_total",
                "Sessions the server closed, by close code",
            ),
            (
                SNAPSHOT_BYTES,
                "Size of each encoded snapshot (one per baseline per tick)",
            ),
        ];
        for (name, help) in described {
            recorder.describe_counter(name.into(), None, help.into());
        }
        let counter =
            |name: &'static str| recorder.register_counter(&Key::from_name(name), &METADATA);
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_name(name), &METADATA);
        Self {
            connected_clients: gauge("tickwire_connected_clients"),
            rooms: gauge("tickwire_rooms"),
            queued_bytes: gauge("tickwire_queued_bytes"),
            bytes_in: counter("tickwire_bytes_in_total"),
            messages_in: counter("tickwire_messages_in_total"),
            bytes_out: counter("tickwire_bytes_out_total"),
            messages_out: counter("tickwire_messages_out_total"),
            snapshot_bytes: recorder.register_histogram(&Key::from_name(SNAPSHOT_BYTES), &METADATA),
            inputs_dropped: counter("tickwire_inputs_dropped_total"),
            desyncs_reported: counter("tickwire_desyncs_reported_total"),
            full_snapshot_requests: counter("tickwire_full_snapshot_requests_total"),
            resumes: counter("tickwire_resumes_total"),
            redirects: counter("tickwire_redirects_total"),
            cluster: ClusterMetrics {
                leases_held: gauge("tickwire_leases_held"),
                leases_taken: counter("tickwire_leases_taken_total"),
                takeovers: counter("tickwire_lease_takeovers_total"),
                renewals: counter("tickwire_lease_renewals_total"),
                renewal_seconds: recorder.register_histogram(
                    &Key::from_name("tickwire_lease_renewal_seconds"),
                    &METADATA,
                ),
                renewals_refused: counter("tickwire_lease_renewals_refused_total"),
                renewals_failed: counter("tickwire_lease_renewals_failed_total"),
                saves: counter("tickwire_saves_total"),
                save_bytes: recorder
                    .register_histogram(&Key::from_name("tickwire_save_bytes"), &METADATA),
                save_seconds: recorder
                    .register_histogram(&Key::from_name("tickwire_save_seconds"), &METADATA),
                saves_refused: counter("tickwire_saves_refused_total"),
                saves_failed: counter("tickwire_saves_failed_total"),
                restores: counter("tickwire_restores_total"),
            },
            handle,
            recorder,
        }
    }

    /// The handles this node's room leases add to (a cluster).
    pub(crate) fn cluster(&self) -> ClusterMetrics {
        self.cluster.clone()
    }

    /// The handles a room's loop adds its traffic to.
    pub(crate) fn room(&self) -> RoomMetrics {
        RoomMetrics {
            snapshot_bytes: self.snapshot_bytes.clone(),
            bytes_out: self.bytes_out.clone(),
            messages_out: self.messages_out.clone(),
            resumes: self.resumes.clone(),
            desyncs_reported: self.desyncs_reported.clone(),
            inputs_dropped: self.inputs_dropped.clone(),
        }
    }

    /// Counts a session the server closed with `code`.
    pub(crate) fn kicked(&self, code: u16) {
        let key = Key::from_parts(
            "tickwire_kicks_total",
            vec![Label::new("code", code.to_string())],
        );
        self.recorder.register_counter(&key, &METADATA).increment(1);
    }

    /// Every metric in the Prometheus text format: the recorder's, then the series of the rooms
    /// open now.
    pub(crate) fn render(&self, rooms: &[(String, RoomSeries)]) -> String {
        let mut text = self.handle.render();
        writeln!(text, "# HELP {TICK_SECONDS} Time to run one tick of a room").ok();
        writeln!(text, "# TYPE {TICK_SECONDS} histogram").ok();
        for (room, series) in rooms {
            series.write_tick_histogram(room, &mut text);
        }
        writeln!(
            text,
            "# HELP {TICK_OVERRUNS} Ticks a room skipped after falling behind"
        )
        .ok();
        writeln!(text, "# TYPE {TICK_OVERRUNS} counter").ok();
        for (room, series) in rooms {
            writeln!(
                text,
                "{TICK_OVERRUNS}{{room=\"{room}\"}} {}",
                series.overruns
            )
            .ok();
        }
        text
    }

    /// Drains histogram samples into their buckets; run every few seconds so memory stays flat
    /// when nobody scrapes.
    pub(crate) fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// One room's own series: its tick times and overruns since it opened.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoomSeries {
    /// Ticks at or under each bound of [`TICK_BUCKETS`] (not cumulative).
    tick_buckets: [u64; TICK_BUCKETS.len()],
    ticks: u64,
    tick_seconds_sum: f64,
    pub(crate) overruns: u64,
}

impl RoomSeries {
    pub(crate) fn record_tick(&mut self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(bucket) = TICK_BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.tick_buckets[bucket] += 1;
        }
        self.ticks += 1;
        self.tick_seconds_sum += seconds;
    }

    /// Room names are plain (A-Z a-z 0-9 - _), so they need no escaping as label values.
    fn write_tick_histogram(&self, room: &str, text: &mut String) {
        let mut cumulative = 0;
        for (bound, count) in TICK_BUCKETS.iter().zip(self.tick_buckets) {
            cumulative += count;
            writeln!(
                text,
                "{TICK_SECONDS}_bucket{{room=\"{room}\",le=\"{bound}\"}} {cumulative}"
            )
            .ok();
        }
        writeln!(
            text,
            "{TICK_SECONDS}_bucket{{room=\"{room}\",le=\"+Inf\"}} {}",
            self.ticks
        )
        .ok();
        writeln!(
            text,
            "{TICK_SECONDS}_sum{{room=\"{room}\"}} {}",
            self.tick_seconds_sum
        )
        .ok();
        writeln!(
            text,
            "{TICK_SECONDS}_count{{room=\"{room}\"}} {}",
            self.ticks
        )
        .ok();
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}
