//! Snapshot encode and decode on the benchmark world "parity-320" (`parity/mod.rs`, see
//! BENCHMARKS.md), in the parity game's schema as the server serves it. Decoding a frame leaves the
//! delta packed; applying unpacks it by the schema.
//!
//! Run: `cargo bench -p tickwire-shared --bench snapshot`. Criterion's output is the figure;
//! throughput is the frame's bytes wherever the step produces or consumes that frame.

mod parity;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use parity::{ENTITIES, Parity};
use std::hint::black_box;
use std::sync::Arc;
use tickwire_shared::codec::{self, SharedSnapshot};
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{Applied, ClientWorld, Delta, SentAt, ServerMessage, Snapshot, Tick, World};

/// The tick of the benchmarked patch: three minutes in at 30 Hz, so ticks take their usual
/// three varint bytes on the wire.
const TICK: u32 = 30 * 180;
/// A player's last applied input for the per-client frame (spectators send 0 and share a frame).
const LAST_INPUT: u32 = 1_234;

/// Everything the benchmarks measure, built once.
struct Fixture {
    layout: Arc<Layout>,
    before: World,
    after: World,
    patch_delta: Delta,
    full_delta: Delta,
    patch: Snapshot,
    full: Snapshot,
    patch_shared: SharedSnapshot,
    full_shared: SharedSnapshot,
    /// The full snapshot of the patch's baseline (tick `TICK - 1`).
    full_before: Snapshot,
}

impl Fixture {
    fn new() -> Self {
        let mut parity = Parity::new(320);
        // A few ticks in, so the window has already rotated through part of the world.
        for _ in 0..7 {
            parity.step();
        }
        let layout = Arc::new(parity::layout());
        let before = parity.world.clone();
        parity.step();
        let after = parity.world.clone();
        let pack = |delta: &Delta| PackedDelta::pack(delta, &layout).expect("a diff packs");
        let patch_delta = before.diff(&after, &layout);
        let full_delta = World::new().diff(&after, &layout);

        let sent_at = SentAt(0x5eed_0320);
        let patch = Snapshot {
            last_input: 0,
            sent_at,
            tick: Tick(TICK),
            baseline: Some(Tick(TICK - 1)),
            checksum: after.checksum(),
            delta: pack(&patch_delta),
        };
        let full = Snapshot {
            baseline: None,
            delta: pack(&full_delta),
            ..patch.clone()
        };
        let full_before = Snapshot {
            tick: Tick(TICK - 1),
            checksum: before.checksum(),
            delta: pack(&World::new().diff(&before, &layout)),
            ..full.clone()
        };

        let patch_shared = SharedSnapshot::encode(&patch).expect("a diff always encodes");
        let full_shared = SharedSnapshot::encode(&full).expect("a diff always encodes");
        for (shared, snapshot) in [(&patch_shared, &patch), (&full_shared, &full)] {
            let decoded = codec::decode_server(shared.bytes()).expect("our own frame decodes");
            assert_eq!(decoded, ServerMessage::Snapshot(snapshot.clone()));
        }
        Self {
            layout,
            before,
            after,
            patch_delta,
            full_delta,
            patch,
            full,
            patch_shared,
            full_shared,
            full_before,
        }
    }

    /// A client at the patch's baseline, built from its full snapshot.
    fn baseline_client(&self) -> ClientWorld {
        let mut client = ClientWorld::new();
        client.set_layout(Arc::clone(&self.layout));
        let applied = client.apply(&self.full_before);
        assert_eq!(applied, Ok(Applied::Updated), "the baseline applies");
        client
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
        b.iter(|| black_box(&f.before).diff(black_box(&f.after), &f.layout));
    });

    g.throughput(bytes(patch_frame));
    // Encoding packs the delta by the schema, then frames the snapshot: what the server does
    // once per baseline per tick.
    let encode = |snapshot: &Snapshot, delta: &Delta| {
        let packed = PackedDelta::pack(black_box(delta), &f.layout).expect("packs");
        let snapshot = Snapshot {
            delta: packed,
            ..snapshot.clone()
        };
        SharedSnapshot::encode(&snapshot).expect("encodes")
    };
    g.bench_function("encode_patch", |b| {
        b.iter(|| encode(&f.patch, &f.patch_delta));
    });
    g.throughput(bytes(full_frame));
    g.bench_function("encode_full", |b| {
        b.iter(|| encode(&f.full, &f.full_delta));
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
    g.throughput(Throughput::Elements(f.patch_delta.changed.len() as u64));
    g.bench_function("apply_patch", |b| {
        b.iter_batched(
            // Built afresh: a clone would share its entities and copy each one it changes.
            || f.baseline_client(),
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
