//! The server's metrics, rendered as Prometheus text on `GET /metrics`. One recorder per server
//! (not the `metrics` crate's global one), so servers in one process (the tests) stay apart; the
//! handles are registered once and updated without a lookup.

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::fmt;

const TICK_SECONDS: &str = "tickwire_tick_duration_seconds";
const SNAPSHOT_BYTES: &str = "tickwire_snapshot_bytes";

/// Server-wide metrics and the recorder behind them.
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    pub(crate) connected_clients: Gauge,
    pub(crate) rooms: Gauge,
    pub(crate) bytes_in: Counter,
    pub(crate) messages_in: Counter,
    pub(crate) bytes_out: Counter,
    pub(crate) messages_out: Counter,
    snapshot_bytes: Histogram,
    pub(crate) inputs_dropped: Counter,
    pub(crate) desyncs_reported: Counter,
    resumes: Counter,
}

/// One room's metrics (labelled `room`) and the server-wide traffic figures its loop adds to.
#[derive(Debug, Clone)]
pub(crate) struct RoomMetrics {
    pub(crate) tick_seconds: Histogram,
    pub(crate) overruns: Counter,
    pub(crate) snapshot_bytes: Histogram,
    pub(crate) bytes_out: Counter,
    pub(crate) messages_out: Counter,
    pub(crate) resumes: Counter,
}

const METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

impl Metrics {
    pub(crate) fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // Bucket bounds are valid constants, so these cannot fail; keep the builder if they do.
        let builder = builder
            .set_buckets_for_metric(
                Matcher::Full(TICK_SECONDS.into()),
                &[
                    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.25,
                ],
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(SNAPSHOT_BYTES.into()),
                    &[
                        64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 16384.0, 65536.0,
                    ],
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let described = [
            ("tickwire_connected_clients", "Clients joined to a room"),
            ("tickwire_rooms", "Open rooms"),
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
                "Full snapshots requested by clients after a checksum mismatch",
            ),
            (
                "tickwire_kicks_total",
                "Sessions the server closed, by close code",
            ),
            (TICK_SECONDS, "Time to run one tick of a room"),
            (
                "tickwire_tick_overruns_total",
                "Ticks a room skipped after falling behind",
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
            bytes_in: counter("tickwire_bytes_in_total"),
            messages_in: counter("tickwire_messages_in_total"),
            bytes_out: counter("tickwire_bytes_out_total"),
            messages_out: counter("tickwire_messages_out_total"),
            snapshot_bytes: recorder.register_histogram(&Key::from_name(SNAPSHOT_BYTES), &METADATA),
            inputs_dropped: counter("tickwire_inputs_dropped_total"),
            desyncs_reported: counter("tickwire_desyncs_reported_total"),
            resumes: counter("tickwire_resumes_total"),
            handle,
            recorder,
        }
    }

    /// The handles of one room's metrics.
    pub(crate) fn room(&self, room: &str) -> RoomMetrics {
        let labels = || vec![Label::new("room", room.to_owned())];
        RoomMetrics {
            tick_seconds: self
                .recorder
                .register_histogram(&Key::from_parts(TICK_SECONDS, labels()), &METADATA),
            overruns: self.recorder.register_counter(
                &Key::from_parts("tickwire_tick_overruns_total", labels()),
                &METADATA,
            ),
            snapshot_bytes: self.snapshot_bytes.clone(),
            bytes_out: self.bytes_out.clone(),
            messages_out: self.messages_out.clone(),
            resumes: self.resumes.clone(),
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

    /// Every metric in the Prometheus text format.
    pub(crate) fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains histogram samples into their buckets; run every few seconds so memory stays flat
    /// when nobody scrapes.
    pub(crate) fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}
