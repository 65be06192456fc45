//! Property tests of the wire format and the delta model, through the public API, on the
//! arena's schema.

use glam::IVec2;
use proptest::prelude::*;
use tickwire_arena::entities::arena_schema;
use tickwire_arena::{Buttons, EntityKind, EntityState, InputFrame, MovementRules, WorldState};
use tickwire_shared::client_world::Applied;
use tickwire_shared::codec::{self, DecodeError};
use tickwire_shared::layout::Layout;
use tickwire_shared::world_wire::{self, PackedDelta};
use tickwire_shared::{
    Checksum, ClientMessage, ClientWorld, EntityId, Hello, InputMessage, RejectReason, Resume,
    ResumeToken, SchemaHash, SentAt, ServerMessage, Snapshot, Tick, Welcome,
};

const RULES: MovementRules = MovementRules {
    step_per_tick: 427,
    min: IVec2::new(768, 768),
    max: IVec2::new(63_232, 63_232),
};

fn layout() -> Layout {
    Layout::new(arena_schema(30, &RULES).expect("encodes")).expect("valid")
}

/// The packed delta from `a` to `b`, and `b`'s checksum, in the arena's schema.
fn packed(a: &WorldState, b: &WorldState) -> (PackedDelta, Checksum) {
    let layout = layout();
    let b = b.to_world(&layout);
    let delta = a.to_world(&layout).diff(&b, &layout);
    (
        PackedDelta::pack(&delta, &layout).expect("a diff packs"),
        b.checksum(),
    )
}

/// A client world that knows the arena's schema.
fn client_world() -> ClientWorld {
    let mut client = ClientWorld::new();
    client.set_layout(std::sync::Arc::new(layout()));
    client
}

fn kind() -> impl Strategy<Value = EntityKind> {
    prop_oneof![
        Just(EntityKind::Player),
        Just(EntityKind::Drone),
        Just(EntityKind::Projectile),
        Just(EntityKind::Prop),
    ]
}

fn entity_state() -> impl Strategy<Value = EntityState> {
    (
        kind(),
        -100_000..100_000i32,
        -100_000..100_000i32,
        any::<u16>(),
        any::<u8>(),
        any::<u16>(),
    )
        .prop_map(|(kind, x, y, aim, hp, score)| EntityState {
            kind,
            pos: IVec2::new(x, y),
            aim,
            hp,
            score,
        })
}

/// Worlds over a small id space, so two worlds share many ids and every delta case occurs.
fn world() -> impl Strategy<Value = WorldState> {
    proptest::collection::btree_map(0..64u32, entity_state(), 0..48).prop_map(|entities| {
        let mut w = WorldState::new();
        for (id, s) in entities {
            w.insert(EntityId(id), s);
        }
        w
    })
}

/// A world and a plausible next tick of it: some entities moved or changed, some gone, some new.
fn world_and_successor() -> impl Strategy<Value = (WorldState, WorldState)> {
    (
        world(),
        world(),
        proptest::collection::vec(
            (any::<bool>(), -500..500i32, -500..500i32, any::<bool>()),
            64,
        ),
    )
        .prop_map(|(a, fresh, edits)| {
            let mut b = WorldState::new();
            for (id, s) in a.iter() {
                let (keep, dx, dy, hit) = edits[id.0 as usize];
                if keep {
                    let mut s = *s;
                    s.pos += IVec2::new(dx, dy);
                    if hit {
                        s.hp = s.hp.wrapping_sub(10);
                    }
                    b.insert(id, s);
                }
            }
            for (id, s) in fresh.iter() {
                if b.get(id).is_none() && edits[id.0 as usize].3 {
                    b.insert(id, *s);
                }
            }
            (a, b)
        })
}

fn input_frame() -> impl Strategy<Value = InputFrame> {
    (
        any::<u32>(),
        any::<i8>(),
        any::<i8>(),
        any::<u16>(),
        0..=Buttons::ALL,
    )
        .prop_map(|(sequence, move_x, move_y, aim, buttons)| InputFrame {
            sequence,
            move_x,
            move_y,
            aim,
            buttons: Buttons(buttons),
        })
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (
            any::<u16>(),
            "[a-z]{1,32}",
            any::<bool>(),
            any::<Option<(u128, Option<u32>)>>(),
            proptest::option::of("[ -~]{0,80}")
        )
            .prop_map(|(protocol_version, name, spectator, resume, token)| {
                let schema_hash = token
                    .as_ref()
                    .map(|t| SchemaHash(t.len() as u64 * 0x9E37_79B9));
                ClientMessage::Hello(Hello {
                    protocol_version,
                    name,
                    spectator,
                    resume: resume.map(|(token, last_applied)| Resume {
                        token: ResumeToken(token),
                        last_applied: last_applied.map(Tick),
                    }),
                    token,
                    schema_hash,
                })
            }),
        input_frame().prop_map(|frame| ClientMessage::Input(frame.message())),
        (
            any::<u32>(),
            proptest::collection::vec(any::<i32>(), 0..128)
        )
            .prop_map(|(sequence, lanes)| ClientMessage::Input(InputMessage { sequence, lanes })),
        any::<u32>().prop_map(|t| ClientMessage::Ack(Tick(t))),
        any::<u64>().prop_map(|client_time_us| ClientMessage::Ping { client_time_us }),
        any::<u64>().prop_map(|server_time_us| ClientMessage::Pong { server_time_us }),
        Just(ClientMessage::RequestFull),
    ]
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            any::<u32>(),
            any::<Option<u32>>(),
            any::<u16>(),
            any::<bool>(),
            any::<u128>()
        )
            .prop_map(|(client_id, player, tick_rate, with_schema, token)| {
                ServerMessage::Welcome(Welcome {
                    client_id,
                    player: player.map(EntityId),
                    tick_rate,
                    schema: with_schema.then(|| layout().schema().clone()),
                    resume_token: ResumeToken(token),
                })
            }),
        prop_oneof![
            (any::<u16>(), any::<u16>())
                .prop_map(|(server, client)| RejectReason::VersionMismatch { server, client }),
            Just(RejectReason::RoomFull),
            Just(RejectReason::TooManyRooms),
            Just(RejectReason::UnknownScenario),
            Just(RejectReason::ResumeExpired),
            Just(RejectReason::TokenRequired),
            Just(RejectReason::TokenInvalid),
            Just(RejectReason::TokenExpired),
            Just(RejectReason::TokenReplayed),
            Just(RejectReason::ServerBusy),
            Just(RejectReason::InvalidName),
        ]
        .prop_map(ServerMessage::Rejected),
        snapshot().prop_map(ServerMessage::Snapshot),
        any::<u64>().prop_map(|server_time_us| ServerMessage::Ping { server_time_us }),
        any::<u64>().prop_map(|client_time_us| ServerMessage::Pong { client_time_us }),
    ]
}

fn snapshot() -> impl Strategy<Value = Snapshot> {
    (
        world_and_successor(),
        any::<u32>(),
        any::<Option<u32>>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|((a, b), tick, baseline, last_input, sent_at)| {
            let (delta, checksum) = packed(&a, &b);
            Snapshot {
                sent_at: SentAt(sent_at),
                tick: Tick(tick),
                baseline: baseline.map(Tick),
                last_input,
                checksum,
                delta,
            }
        })
}

proptest! {
    #[test]
    fn every_client_message_round_trips(message in client_message()) {
        let bytes = codec::encode_client(&message).expect("encodes");
        prop_assert!(bytes.len() <= codec::MAX_CLIENT_MESSAGE_BYTES);
        prop_assert_eq!(codec::decode_client(&bytes).expect("decodes"), message);
    }

    #[test]
    fn every_server_message_round_trips(message in server_message()) {
        let bytes = codec::encode_server(&message).expect("encodes");
        prop_assert_eq!(codec::decode_server(&bytes).expect("decodes"), message);
    }

    #[test]
    fn applying_the_diff_of_two_arena_worlds_gives_the_second((a, b) in world_and_successor()) {
        let layout = layout();
        let (a, b) = (a.to_world(&layout), b.to_world(&layout));
        let mut applied = a.clone();
        applied.apply(&a.diff(&b, &layout), &layout).expect("a diff applies to its own baseline");
        prop_assert_eq!(&applied, &b);
        prop_assert_eq!(applied.checksum(), b.checksum());
    }

    #[test]
    fn diff_of_unrelated_worlds_applies_too(a in world(), b in world()) {
        let layout = layout();
        let (a, b) = (a.to_world(&layout), b.to_world(&layout));
        let mut applied = a.clone();
        applied.apply(&a.diff(&b, &layout), &layout).expect("applies");
        prop_assert_eq!(applied, b);
    }

    #[test]
    fn arena_states_survive_their_replicated_form(a in world()) {
        let layout = layout();
        for (id, state) in a.iter() {
            let data = state.to_data(&layout).expect("every kind is in the schema");
            let back = EntityState::from_data(&data, &layout).expect("reads back");
            // What the kind replicates comes back; the rest is zero.
            prop_assert_eq!((back.kind, back.pos), (state.kind, state.pos), "{}", id);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_either_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = codec::decode_client(&bytes);
        let _ = codec::decode_server(&bytes);
        let _ = codec::peek_snapshot(&bytes);
        let layout = layout();
        if let Ok(delta) = world_wire::unpack(&bytes, &layout) {
            let packed = world_wire::pack(&delta, &layout).expect("an unpacked delta packs");
            prop_assert_eq!(world_wire::unpack(&packed, &layout).expect("repacked delta unpacks"), delta);
        }
    }

    #[test]
    fn a_shared_snapshot_gives_every_client_the_bytes_encode_server_would(
        snapshot in snapshot(),
        last_input in any::<u32>(),
    ) {
        let shared = codec::SharedSnapshot::encode(&snapshot).expect("encodes");
        let own = codec::encode_server(&ServerMessage::Snapshot(snapshot.clone())).expect("encodes");
        prop_assert_eq!(shared.bytes(), &own[..]);
        let (prefix, tail) = shared.frame_for(last_input).expect("prefix encodes");
        let frame = [prefix.as_ref(), tail].concat();
        let expected = Snapshot { last_input, ..snapshot.clone() };
        prop_assert_eq!(&frame, &codec::encode_server(&ServerMessage::Snapshot(expected)).expect("encodes"));
        let stamp = codec::peek_snapshot(&frame).expect("a snapshot frame peeks");
        prop_assert_eq!(stamp, codec::SnapshotStamp { last_input, sent_at: snapshot.sent_at, tick: snapshot.tick, baseline: snapshot.baseline });
    }

    #[test]
    fn packed_deltas_round_trip((a, b) in world_and_successor()) {
        let layout = layout();
        let delta = a.to_world(&layout).diff(&b.to_world(&layout), &layout);
        let packed = world_wire::pack(&delta, &layout).expect("a diff packs");
        prop_assert_eq!(world_wire::unpack(&packed, &layout), Ok(delta));
    }

    #[test]
    fn corrupting_one_byte_of_a_snapshot_never_panics(message in server_message(), at in any::<prop::sample::Index>(), byte: u8) {
        let mut bytes = codec::encode_server(&message).expect("encodes");
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(ServerMessage::Snapshot(s)) = codec::decode_server(&bytes) {
            let _ = client_world().apply(&s);
        }
    }

    #[test]
    fn a_client_world_follows_a_stream_of_snapshots(worlds in proptest::collection::vec(world(), 1..8)) {
        let mut client = client_world();
        let mut previous = WorldState::new();
        for (i, w) in worlds.iter().enumerate() {
            let (delta, checksum) = packed(&previous, w);
            let snapshot = Snapshot {
                sent_at: SentAt(0),
                tick: Tick(i as u32 + 10),
                baseline: (i > 0).then(|| Tick(i as u32 + 9)),
                last_input: 0,
                checksum,
                delta,
            };
            prop_assert_eq!(client.apply(&snapshot), Ok(Applied::Updated));
            prop_assert_eq!(client.state(), &w.to_world(&layout()));
            previous = w.clone();
        }
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = codec::encode_client(&ClientMessage::RequestFull).expect("encodes");
    bytes.push(0);
    assert!(matches!(
        codec::decode_client(&bytes),
        Err(DecodeError::TrailingBytes(1))
    ));
}

#[test]
fn a_length_bomb_is_refused_without_allocating() {
    // Hello with a name whose length prefix claims 4 GiB (varint tag 252 = u32 follows).
    let bomb = [0u8, 1, 252, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        codec::decode_client(&bomb),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let bytes = vec![0u8; codec::MAX_CLIENT_MESSAGE_BYTES + 1];
    assert!(matches!(
        codec::decode_client(&bytes),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn an_unknown_message_variant_is_malformed() {
    assert!(matches!(
        codec::decode_client(&[200]),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn a_wrong_checksum_is_a_desync_and_deltas_wait_for_a_full_snapshot() {
    let mut world = WorldState::new();
    world.insert(
        EntityId(1),
        EntityState::new(EntityKind::Drone, IVec2::new(5, 5)),
    );
    let (packed, checksum) = packed(&WorldState::new(), &world);
    let full = Snapshot {
        sent_at: SentAt(0),
        tick: Tick(1),
        baseline: None,
        last_input: 0,
        checksum: Checksum(checksum.0 ^ 1),
        delta: packed,
    };
    let mut client = client_world();
    assert!(matches!(
        client.apply(&full),
        Err(tickwire_shared::ApplyError::ChecksumMismatch { .. })
    ));
    let delta = Snapshot {
        sent_at: SentAt(0),
        tick: Tick(2),
        baseline: Some(Tick(1)),
        last_input: 0,
        checksum,
        delta: PackedDelta::pack(&Default::default(), &layout()).expect("packs"),
    };
    assert_eq!(client.apply(&delta), Ok(Applied::AwaitingFull));
    let good = Snapshot {
        checksum,
        tick: Tick(3),
        ..full
    };
    assert_eq!(client.apply(&good), Ok(Applied::Updated));
    assert_eq!(client.tick(), Some(Tick(3)));
}

#[test]
fn a_moved_entity_costs_few_bytes() {
    let mut a = WorldState::new();
    for id in 0..100 {
        a.insert(
            EntityId(id),
            EntityState::new(EntityKind::Prop, IVec2::new(id as i32 * 640, 32_000)),
        );
    }
    let mut b = a.clone();
    let mut moved = *b.get(EntityId(7)).expect("present");
    moved.pos += IVec2::new(20, -30);
    b.insert(EntityId(7), moved);
    let (delta, checksum) = packed(&a, &b);
    let bytes = codec::encode_server(&ServerMessage::Snapshot(Snapshot {
        sent_at: SentAt(0),
        tick: Tick(2),
        baseline: Some(Tick(1)),
        last_input: 0,
        checksum,
        delta,
    }))
    .expect("encodes");
    // variant, last_input, sent_at (4), tick, baseline (2), checksum (4), packed length; then the
    // packed delta: counts, and id, kind, dx, dy as one-value columns (a prop has one
    // component, so no change bits).
    assert_eq!(bytes.len(), 1 + 1 + 4 + 1 + 2 + 4 + 1 + 5, "{bytes:?}");
}
