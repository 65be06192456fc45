//! The hand-written arena codec against the generic, schema-driven one on the same parity-320
//! patch (issue 12's gate: generic within 1.15x). Kept until the arena runs on the generic
//! codec and the comparison is recorded in BENCHMARKS.md.
//!
//! Run: `cargo bench -p tickwire-shared --bench codec_comparison`. Both codecs' packed sizes
//! are printed first, then the median generic/hand time ratio of each step over rounds that
//! alternate the two (robust to a noisy neighbour, which criterion's back-to-back runs are
//! not), then criterion's own figures.

mod parity;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use parity::Parity;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tickwire_shared::{World, WorldState, delta_wire, world_wire};

fn comparison(c: &mut Criterion) {
    let mut parity = Parity::new(320);
    for _ in 0..7 {
        parity.step();
    }
    let before = parity.world.clone();
    parity.step();
    let after = parity.world.clone();
    let layout = parity::layout();
    let (g_before, g_after) = (
        parity::generic(&before, &layout),
        parity::generic(&after, &layout),
    );

    let hand = before.diff(&after);
    let generic = g_before.diff(&g_after, &layout);
    let hand_bytes = delta_wire::pack(&hand).expect("packs");
    let generic_bytes = world_wire::pack(&generic, &layout).expect("packs");
    let hand_full = delta_wire::pack(&WorldState::new().diff(&after)).expect("packs");
    let generic_full =
        world_wire::pack(&World::new().diff(&g_after, &layout), &layout).expect("packs");
    println!(
        "parity-320 packed delta bytes: patch hand {} generic {}; full hand {} generic {}",
        hand_bytes.len(),
        generic_bytes.len(),
        hand_full.len(),
        generic_full.len()
    );
    assert_eq!(generic.changed.len(), hand.changed.len());

    let (hand_back, generic_back) = (after.diff(&before), g_after.diff(&g_before, &layout));
    let (mut hand_world, mut generic_world) = (before.clone(), parity::generic(&before, &layout));
    let ratio = |hand_step: &mut dyn FnMut(), generic_step: &mut dyn FnMut()| {
        median_ratio(hand_step, generic_step)
    };
    println!(
        "median generic/hand time over {ROUNDS} alternating rounds: diff {:.2}, encode {:.2}, decode {:.2}, apply {:.2}",
        ratio(
            &mut || drop(black_box(&before).diff(black_box(&after))),
            &mut || drop(black_box(&g_before).diff(black_box(&g_after), &layout)),
        ),
        ratio(
            &mut || drop(delta_wire::pack(black_box(&hand))),
            &mut || drop(world_wire::pack(black_box(&generic), &layout)),
        ),
        ratio(
            &mut || drop(delta_wire::unpack(black_box(&hand_bytes))),
            &mut || drop(world_wire::unpack(black_box(&generic_bytes), &layout)),
        ),
        // Forth and back, so the world is reused and no clone is timed: two applies a step.
        ratio(
            &mut || {
                hand_world.apply(black_box(&hand)).expect("applies");
                hand_world.apply(black_box(&hand_back)).expect("applies");
            },
            &mut || {
                generic_world
                    .apply(black_box(&generic), &layout)
                    .expect("applies");
                generic_world
                    .apply(black_box(&generic_back), &layout)
                    .expect("applies");
            },
        ),
    );

    let mut g = c.benchmark_group("parity-320 codec");
    g.throughput(Throughput::Elements(hand.changed.len() as u64));
    g.bench_function("hand/diff", |b| {
        b.iter(|| black_box(&before).diff(black_box(&after)))
    });
    g.bench_function("generic/diff", |b| {
        b.iter(|| black_box(&g_before).diff(black_box(&g_after), &layout))
    });
    g.bench_function("hand/encode", |b| {
        b.iter(|| delta_wire::pack(black_box(&hand)))
    });
    g.bench_function("generic/encode", |b| {
        b.iter(|| world_wire::pack(black_box(&generic), &layout))
    });
    g.bench_function("hand/decode", |b| {
        b.iter(|| delta_wire::unpack(black_box(&hand_bytes)))
    });
    g.bench_function("generic/decode", |b| {
        b.iter(|| world_wire::unpack(black_box(&generic_bytes), &layout))
    });
    g.bench_function("hand/apply", |b| {
        b.iter_batched(
            || before.clone(),
            |mut world| {
                world.apply(black_box(&hand)).expect("applies");
                world
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("generic/apply", |b| {
        b.iter_batched(
            // A copy that shares no entity with `g_before`, as a client's world shares none.
            || parity::generic(&before, &layout),
            |mut world| {
                world.apply(black_box(&generic), &layout).expect("applies");
                world
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// Rounds of the alternating comparison.
const ROUNDS: usize = 41;

/// The median over [`ROUNDS`] of (time of `generic` / time of `hand`), each round timing a
/// batch of one then a batch of the other, the order alternating.
fn median_ratio(hand: &mut dyn FnMut(), generic: &mut dyn FnMut()) -> f64 {
    let batch = |step: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..500 {
            step();
        }
        start.elapsed().max(Duration::from_nanos(1))
    };
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            let (h, g) = if round % 2 == 0 {
                let h = batch(hand);
                (h, batch(generic))
            } else {
                let g = batch(generic);
                (batch(hand), g)
            };
            g.as_secs_f64() / h.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ROUNDS / 2]
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = comparison
}
criterion_main!(benches);
