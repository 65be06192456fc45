//! What a client decodes from every server frame, then applies: never panics, neither on an
//! empty world nor on a populated one; the stamp reader agrees with the full decoder.
#![no_main]

use glam::IVec2;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use tickwire_arena::entities::arena_schema;
use tickwire_arena::{EntityKind, EntityState, MovementRules, WorldState};
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{ClientWorld, EntityId, SentAt, ServerMessage, Snapshot, Tick, World, codec};

/// A client world that knows the arena's schema.
fn client_world(layout: &Arc<Layout>) -> ClientWorld {
    let mut world = ClientWorld::new();
    world.set_layout(Arc::clone(layout));
    world
}

fuzz_target!(|data: &[u8]| {
    // The stamp reader must agree with the full decoder on every snapshot.
    let stamp = codec::peek_snapshot(data);
    let Ok(ServerMessage::Snapshot(snapshot)) = codec::decode_server(data) else { return };
    let stamp = stamp.expect("a decodable snapshot has a readable stamp");
    assert_eq!(
        (stamp.last_input, stamp.sent_at, stamp.tick, stamp.baseline),
        (snapshot.last_input, snapshot.sent_at, snapshot.tick, snapshot.baseline)
    );
    let rules = MovementRules { step_per_tick: 427, min: IVec2::ZERO, max: IVec2::splat(64_000) };
    let layout = Arc::new(Layout::new(arena_schema(30, &rules).expect("encodes")).expect("valid"));
    let _ = client_world(&layout).apply(&snapshot);

    // A world at the snapshot's baseline with a few entities, so deltas reach apply's paths.
    let mut populated = client_world(&layout);
    let mut state = WorldState::new();
    for id in 0..8 {
        state.insert(EntityId(id), EntityState::new(EntityKind::Drone, IVec2::new(id as i32 * 100, 5)));
    }
    let full = Snapshot {
        sent_at: SentAt(0),
        tick: snapshot.baseline.unwrap_or(Tick(0)),
        baseline: None,
        last_input: 0,
        checksum: state.to_world(&layout).checksum(),
        delta: PackedDelta::pack(&World::new().diff(&state.to_world(&layout), &layout), &layout)
            .expect("packs"),
    };
    if populated.apply(&full).is_ok() {
        let _ = populated.apply(&snapshot);
    }
});
