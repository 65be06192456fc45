//! What a client decodes from every server frame, then applies: never panics, neither on an
//! empty world nor on a populated one; the stamp reader agrees with the full decoder.
#![no_main]

use glam::IVec2;
use libfuzzer_sys::fuzz_target;
use tickwire_shared::{ClientWorld, EntityId, EntityKind, EntityState, SentAt, ServerMessage, Snapshot, Tick, WorldState, codec};

fuzz_target!(|data: &[u8]| {
    // The stamp reader must agree with the full decoder on every snapshot.
    let stamp = codec::peek_snapshot(data);
    let Ok(ServerMessage::Snapshot(snapshot)) = codec::decode_server(data) else { return };
    let stamp = stamp.expect("a decodable snapshot has a readable stamp");
    assert_eq!(
        (stamp.last_input, stamp.sent_at, stamp.tick, stamp.baseline),
        (snapshot.last_input, snapshot.sent_at, snapshot.tick, snapshot.baseline)
    );
    let _ = ClientWorld::new().apply(&snapshot);

    // A world at the snapshot's baseline with a few entities, so deltas reach apply's paths.
    let mut populated = ClientWorld::new();
    let mut state = WorldState::new();
    for id in 0..8 {
        state.insert(EntityId(id), EntityState::new(EntityKind::Drone, IVec2::new(id as i32 * 100, 5)));
    }
    let full = Snapshot {
        sent_at: SentAt(0),
        tick: snapshot.baseline.unwrap_or(Tick(0)),
        baseline: None,
        last_input: 0,
        checksum: state.checksum(),
        delta: WorldState::new().diff(&state),
    };
    if populated.apply(&full).is_ok() {
        let _ = populated.apply(&snapshot);
    }
});
