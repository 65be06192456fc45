//! What an arena frontend's `ClientSession` costs on a world the size of the benchmark world
//! "parity-320" (see BENCHMARKS.md: 320 props, a window of 64 jittering each tick, here as the
//! arena's props) plus the local player: per snapshot interval (33 ms at 30 Hz), one snapshot
//! received (decode, apply, checksum, reconcile, buffer for interpolation) and two frames of a
//! 60 fps frontend (update: input and prediction; render: the predicted player and 320
//! interpolated entities).
//!
//! Run: `cargo bench -p tickwire-arena --bench client_session`.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::IVec2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tickwire_arena::entities::arena_schema;
use tickwire_arena::{
    ArenaStep, Controls, EntityKind, EntityState, MovementRules, WorldState, render,
};
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{
    ClientConfig, ClientSession, EntityId, Hello, PROTOCOL_VERSION, ResumeToken, SentAt,
    ServerMessage, Snapshot, Tick, Welcome, codec,
};

/// Props in the world, and how many move each tick.
const ENTITIES: u32 = 320;
const MOVING_PER_TICK: u32 = 64;
/// The world's edge in 1/64-unit steps (1000 units), and the largest jitter (half a unit).
const WORLD_STEPS: i32 = 1000 * 64;
const JITTER_STEPS: i32 = 32;

/// The props, seeded, with their rotating window.
struct Props {
    rng: StdRng,
    world: WorldState,
    next: u32,
}

impl Props {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut world = WorldState::new();
        for id in 0..ENTITIES {
            let pos = IVec2::new(
                rng.random_range(0..=WORLD_STEPS),
                rng.random_range(0..=WORLD_STEPS),
            );
            world.insert(EntityId(id), EntityState::new(EntityKind::Prop, pos));
        }
        Self {
            rng,
            world,
            next: 0,
        }
    }

    fn step(&mut self) {
        for _ in 0..MOVING_PER_TICK {
            let id = EntityId(self.next);
            self.next = (self.next + 1) % ENTITIES;
            let jitter = IVec2::new(
                self.rng.random_range(-JITTER_STEPS..=JITTER_STEPS),
                self.rng.random_range(-JITTER_STEPS..=JITTER_STEPS),
            );
            let mut prop = *self.world.get(id).expect("every id below ENTITIES exists");
            prop.pos = (prop.pos + jitter).clamp(IVec2::ZERO, IVec2::splat(WORLD_STEPS));
            self.world.insert(id, prop);
        }
    }
}

/// The local player: one more entity, moved by its inputs.
const ME: EntityId = EntityId(ENTITIES);
const RULES: MovementRules = MovementRules {
    step_per_tick: 427,
    min: IVec2::ZERO,
    max: IVec2::splat(WORLD_STEPS),
};
const TICK: Duration = Duration::from_micros(33_333);
const FRAME: Duration = Duration::from_micros(16_667);

/// The server side: `count` consecutive snapshot frames, the first full, the rest patches,
/// with the player applying one input (moving +x) per tick.
fn snapshot_frames(count: usize) -> Vec<Vec<u8>> {
    let mut parity = Props::new(320);
    parity.world.insert(
        ME,
        EntityState::new(EntityKind::Player, IVec2::splat(1_000)),
    );
    let mut sent = WorldState::new();
    let mut frames = Vec::with_capacity(count);
    for i in 0..count {
        parity.step();
        let world = &mut parity.world;
        let tick = u32::try_from(i).expect("few ticks") + 1;
        let mut me = *world.get(ME).expect("the player");
        // The input applied this tick is the one sent for the previous frame pair.
        let last_input = tick.saturating_sub(1);
        if last_input > 0 {
            me.pos = RULES.step(me.pos, &controls().frame(last_input));
        }
        world.insert(ME, me);
        let layout = layout();
        let (now, then) = (world.to_world(&layout), sent.to_world(&layout));
        let delta = then.diff(&now, &layout);
        let snapshot = Snapshot {
            last_input,
            sent_at: SentAt(0),
            tick: Tick(tick),
            baseline: (i > 0).then(|| Tick(tick - 1)),
            checksum: now.checksum(),
            delta: PackedDelta::pack(&delta, &layout).expect("packs"),
        };
        sent = world.clone();
        frames.push(codec::encode_server(&ServerMessage::Snapshot(snapshot)).expect("encodes"));
    }
    frames
}

/// The arena's layout with [`RULES`].
fn layout() -> Layout {
    Layout::new(arena_schema(30, &RULES).expect("encodes")).expect("valid")
}

fn controls() -> Controls {
    Controls {
        move_x: 127,
        ..Controls::default()
    }
}

fn welcomed_session() -> ClientSession {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "bench".into(),
        spectator: false,
        resume: None,
        token: None,
        schema_hash: None,
    };
    let mut session = ClientSession::new(hello, ClientConfig::default())
        .expect("encodes")
        .predicting::<ArenaStep>();
    let welcome = ServerMessage::Welcome(Welcome {
        client_id: 1,
        player: Some(ME),
        tick_rate: 30,
        schema: Some(layout().schema().clone()),
        resume_token: ResumeToken(1),
    });
    let welcome = codec::encode_server(&welcome).expect("encodes");
    session.receive(&welcome, Duration::ZERO).expect("welcomed");
    session
}

fn client_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("parity-320 client");
    // Frames for every iteration are made before the clock starts; each measured iteration is
    // one snapshot interval of a frontend.
    g.bench_function("snapshot_interval", |b| {
        b.iter_custom(|iters| {
            let frames = snapshot_frames(usize::try_from(iters).expect("fits") + 1);
            let mut session = welcomed_session();
            session
                .receive(&frames[0], TICK)
                .expect("the full snapshot applies");
            let start = Instant::now();
            for (i, frame) in frames[1..].iter().enumerate() {
                let now = TICK * (u32::try_from(i).expect("fits") + 2);
                session.receive(black_box(frame), now).expect("applies");
                for f in 0..2 {
                    let at = now + FRAME * f;
                    session.update(at, &controls().frame(0));
                    black_box(render(&session, at, Some(0)));
                }
                while session.poll_outgoing().is_some() {}
            }
            let elapsed = start.elapsed();
            assert_eq!(session.stats().desyncs, 0, "every patch applied");
            elapsed
        });
    });
    g.finish();
}

criterion_group!(benches, client_benches);
criterion_main!(benches);
