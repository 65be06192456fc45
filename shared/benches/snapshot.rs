//! Snapshot encode and decode on the benchmark world "parity-320" (`parity/mod.rs`, see
//! BENCHMARKS.md).
//!
//! Run: `cargo bench -p tickwire-shared --bench snapshot`. Criterion's output is the figure;
//! throughput is the frame's bytes wherever the step produces or consumes that frame.

mod parity;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use parity::{ENTITIES, Parity};
use std::hint::black_box;
use tickwire_shared::codec::{self, SharedSnapshot};
use tickwire_shared::{Applied, ClientWorld, SentAt, ServerMessage, Snapshot, Tick, WorldState};

/// The tick of the benchmarked patch: three minutes in at 30 Hz, so ticks take their usual
/// three varint bytes on the wire.
const TICK: u32 = 30 * 180;
/// A player's last applied input for the per-client frame (spectators send 0 and share a frame).
const LAST_INPUT: u32 = 1_234;

/// Everything the benchmarks measure, built once.
struct Fixture {
    before: WorldState,
    after: WorldState,
    patch: Snapshot,
    full: Snapshot,
    patch_shared: SharedSnapshot,
    full_shared: SharedSnapshot,
    /// A client at the patch's baseline (tick `TICK - 1`).
    baseline_client: ClientWorld,
}

impl Fixture {
    fn new() -> Self {
        let mut parity = Parity::new(320);
        // A few ticks in, so the window has already rotated through part of the world.
        for _ in 0..7 {
            parity.step();
        }
        let before = parity.world.clone();
        parity.step();
        let after = parity.world.clone();

        let sent_at = SentAt(0x5eed_0320);
        let patch = Snapshot {
            last_input: 0,
            sent_at,
            tick: Tick(TICK),
            baseline: Some(Tick(TICK - 1)),
            checksum: after.checksum(),
            delta: before.diff(&after),
        };
        let full = Snapshot {
            baseline: None,
            delta: WorldState::new().diff(&after),
            ..patch.clone()
        };
        let full_before = Snapshot {
            tick: Tick(TICK - 1),
            checksum: before.checksum(),
            delta: WorldState::new().diff(&before),
            ..full.clone()
        };
        let mut baseline_client = ClientWorld::new();
        let applied = baseline_client.apply(&full_before);
        assert_eq!(applied, Ok(Applied::Updated), "the baseline applies");

        let patch_shared = SharedSnapshot::encode(&patch).expect("a diff always encodes");
        let full_shared = SharedSnapshot::encode(&full).expect("a diff always encodes");
        for (shared, snapshot) in [(&patch_shared, &patch), (&full_shared, &full)] {
            let decoded = codec::decode_server(shared.bytes()).expect("our own frame decodes");
            assert_eq!(decoded, ServerMessage::Snapshot(snapshot.clone()));
        }
        Self {
            before,
            after,
            patch,
            full,
            patch_shared,
            full_shared,
            baseline_client,
        }
    }
}

fn snapshot_benches(c: &mut Criterion) {
    let f = Fixture::new();
    let patch_frame = f.patch_shared.bytes();
    let full_frame = f.full_shared.bytes();
    let bytes = |frame: &[u8]| Throughput::Bytes(frame.len() as u64);

    let mut g = c.benchmark_group("parity-320");

    g.throughput(Throughput::Elements(u64::from(ENTITIES)));
    g.bench_function("diff", |b| {
        b.iter(|| black_box(&f.before).diff(black_box(&f.after)));
    });

    g.throughput(bytes(patch_frame));
    g.bench_function("encode_patch", |b| {
        b.iter(|| SharedSnapshot::encode(black_box(&f.patch)).expect("encodes"));
    });
    g.throughput(bytes(full_frame));
    g.bench_function("encode_full", |b| {
        b.iter(|| SharedSnapshot::encode(black_box(&f.full)).expect("encodes"));
    });

    // One player's frame: its own prefix, then the shared tail, into a buffer reused per tick.
    for (name, shared) in [
        ("frame_for_patch", &f.patch_shared),
        ("frame_for_full", &f.full_shared),
    ] {
        let mut frame = Vec::with_capacity(shared.bytes().len() + 8);
        let (prefix, tail) = shared.frame_for(LAST_INPUT).expect("fits");
        g.throughput(Throughput::Bytes(
            (prefix.as_ref().len() + tail.len()) as u64,
        ));
        g.bench_function(name, |b| {
            b.iter(|| {
                frame.clear();
                let (prefix, tail) = black_box(shared).frame_for(LAST_INPUT).expect("fits");
                frame.extend_from_slice(prefix.as_ref());
                frame.extend_from_slice(tail);
                black_box(frame.len())
            });
        });
    }

    g.throughput(bytes(patch_frame));
    g.bench_function("decode_patch", |b| {
        b.iter(|| codec::decode_server(black_box(patch_frame)).expect("decodes"));
    });
    g.throughput(bytes(full_frame));
    g.bench_function("decode_full", |b| {
        b.iter(|| codec::decode_server(black_box(full_frame)).expect("decodes"));
    });

    // Apply only: the clone of the baseline world is setup, outside the measurement.
    g.throughput(Throughput::Elements(f.patch.delta.changed.len() as u64));
    g.bench_function("apply_patch", |b| {
        b.iter_batched(
            || f.baseline_client.clone(),
            |mut world| {
                let applied = world.apply(black_box(&f.patch)).expect("the patch applies");
                black_box(applied);
                world
            },
            BatchSize::SmallInput,
        );
    });

    // Reads only the stamp at the front of the frame: one frame per iteration.
    g.throughput(Throughput::Elements(1));
    g.bench_function("peek_snapshot", |b| {
        b.iter(|| codec::peek_snapshot(black_box(patch_frame)).expect("a snapshot frame"));
    });

    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = snapshot_benches
}
criterion_main!(benches);
