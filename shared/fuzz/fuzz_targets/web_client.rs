//! The web SDK's client fed arbitrary server frames, each followed by reading every entity and
//! the world in user units and an arbitrary input: never panics, whatever the frames and the
//! schema. An odd first byte starts from the arena's real Welcome; an even one leaves the Welcome
//! (and its schema) to the data.
#![no_main]

use glam::IVec2;
use libfuzzer_sys::fuzz_target;
use tickwire_arena::MovementRules;
use tickwire_arena::entities::arena_schema;
use tickwire_shared::{EntityId, ResumeToken, ServerMessage, Welcome, codec};
use tickwire_web::{JoinOptions, WebClient};

fn arena_welcome() -> Vec<u8> {
    let rules = MovementRules { step_per_tick: 427, min: IVec2::ZERO, max: IVec2::new(64_000, 64_000) };
    codec::encode_server(&ServerMessage::Welcome(Welcome {
        client_id: 1,
        player: Some(EntityId(0)),
        tick_rate: 30,
        schema: Some(arena_schema(30, &rules).expect("encodes")),
        resume_token: ResumeToken(1),
    }))
    .expect("encodes")
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, data)) = data.split_first() else { return };
    let Ok(mut client) = WebClient::open(JoinOptions::default(), None) else { return };
    if first % 2 == 1 {
        client.try_receive(&arena_welcome(), 0.0).expect("a valid Welcome");
    }
    // Frames as (u16 length, bytes); the last one's rest is the input, as JSON.
    let mut rest = data;
    let mut now = 0.0;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        now += 16.0;
        let _ = client.try_receive(frame, now);
        let _ = client.entity_values(now);
        let _ = client.world_values();
        if let Ok(input) = serde_json::from_slice::<serde_json::Value>(rest) {
            let _ = client.try_send(&input);
        }
    }
});
