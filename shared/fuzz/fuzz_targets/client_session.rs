//! A client session fed arbitrary server frames between frontend updates, after a real Welcome:
//! never panics, whatever the frames, ticks and times (prediction, interpolation, rendering).
#![no_main]

use glam::IVec2;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tickwire_arena::entities::arena_schema;
use tickwire_arena::{ArenaStep, Controls, EntityKind, EntityState, MovementRules, WorldState};
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{
    ClientConfig, ClientSession, EntityId, Hello, PROTOCOL_VERSION, ResumeToken, SentAt,
    ServerMessage, Snapshot, Tick, Welcome, World, codec,
};

const RULES: MovementRules =
    MovementRules { step_per_tick: 427, min: IVec2::ZERO, max: IVec2::new(64_000, 64_000) };

fn layout() -> Layout {
    Layout::new(arena_schema(30, &RULES).expect("encodes")).expect("valid")
}

/// A full snapshot: tick and last input from the first 8 bytes, then an entity (the player
/// first) per 9 bytes: x, y (i32, shifted into the arena schema's range) and kind.
fn snapshot_from(bytes: &[u8]) -> Option<Vec<u8>> {
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let (head, entities) = (bytes.get(..8)?, &bytes[8..]);
    let layout = layout();
    let mut world = WorldState::new();
    for (id, e) in entities.chunks_exact(9).enumerate() {
        let pos = IVec2::new(word(&e[0..4]) as i32 >> 7, word(&e[4..8]) as i32 >> 7);
        let kind = EntityKind::from_u8(e[8] % 4)?;
        world.insert(EntityId(id as u32), EntityState::new(kind, pos));
    }
    let snapshot = Snapshot {
        last_input: word(&head[4..8]),
        sent_at: SentAt(0),
        tick: Tick(word(&head[0..4])),
        baseline: None,
        checksum: world.to_world(&layout).checksum(),
        delta: PackedDelta::pack(&World::new().diff(&world.to_world(&layout), &layout), &layout)
            .ok()?,
    };
    codec::encode_server(&ServerMessage::Snapshot(snapshot)).ok()
}

fuzz_target!(|data: &[u8]| {
    let hello = Hello { protocol_version: PROTOCOL_VERSION, name: "fuzz".into(), spectator: false, resume: None, token: None, schema_hash: None };
    let Ok(session) = ClientSession::new(hello, ClientConfig::default()) else { return };
    let mut session = session.predicting::<ArenaStep>();
    let welcome = ServerMessage::Welcome(Welcome {
        client_id: 1,
        player: Some(EntityId(0)),
        tick_rate: 30,
        schema: Some(layout().schema().clone()),
        resume_token: ResumeToken(1),
    });
    let welcome = codec::encode_server(&welcome).expect("encodes");
    session.receive(&welcome, Duration::ZERO).expect("a valid Welcome");
    // Each chunk: [time step in ms, move_x, frame length, frame bytes...]. An odd step sends the
    // bytes as they are; an even one builds a valid full snapshot from them (any tick, last
    // input and positions), so prediction and interpolation see wild but well-formed worlds.
    let (mut now, mut rest) = (Duration::ZERO, data);
    while let [step, move_x, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        now += Duration::from_millis(u64::from(*step));
        if step % 2 == 1 {
            let _ = session.receive(frame, now);
        } else if let Some(snapshot) = snapshot_from(frame) {
            let _ = session.receive(&snapshot, now);
        }
        session.update(now, &Controls { move_x: *move_x as i8, ..Controls::default() }.frame(0));
        let _ = tickwire_arena::render(&session, now, Some(0));
        while session.poll_outgoing().is_some() {}
        rest = tail;
    }
    if data.first() == Some(&0) {
        session.reconnect();
        let _ = session.receive(&welcome, now);
    }
});
