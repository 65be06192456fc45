//! The exact bytes of sample messages, as documented in docs/PROTOCOL.md. If one of these
//! changes, the wire format changed: update the doc and bump `PROTOCOL_VERSION`.

use tickwire_shared::codec;
use tickwire_shared::layout::Layout;
use tickwire_shared::schema::SchemaHash;
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{
    Checksum, ClientMessage, EntityData, EntityId, Hello, InputMessage, RejectReason, Resume,
    ResumeToken, SentAt, ServerMessage, Snapshot, Tick, Welcome, World,
};

fn client(m: ClientMessage) -> Vec<u8> {
    codec::encode_client(&m).expect("encodes")
}

fn server(m: ServerMessage) -> Vec<u8> {
    codec::encode_server(&m).expect("encodes")
}

#[test]
fn hello() {
    let bytes = client(ClientMessage::Hello(Hello {
        protocol_version: 4,
        name: "ann".into(),
        spectator: true,
        resume: None,
        token: None,
        schema_hash: None,
    }));
    assert_eq!(bytes, [0, 4, 3, b'a', b'n', b'n', 1, 0, 0, 0]);
    let built_with = client(ClientMessage::Hello(Hello {
        protocol_version: 4,
        name: "ann".into(),
        spectator: true,
        resume: None,
        token: None,
        schema_hash: Some(SchemaHash(0x0807_0605_0403_0201)),
    }));
    assert_eq!(
        built_with,
        [
            0, 4, 3, b'a', b'n', b'n', 1, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8
        ]
    );
    let resuming = client(ClientMessage::Hello(Hello {
        protocol_version: 4,
        name: "ann".into(),
        spectator: false,
        resume: Some(Resume {
            token: ResumeToken(5),
            last_applied: Some(Tick(300)),
        }),
        token: None,
        schema_hash: None,
    }));
    assert_eq!(
        resuming,
        [0, 4, 3, b'a', b'n', b'n', 0, 1, 5, 1, 251, 0x2c, 0x01, 0, 0]
    );
}

#[test]
fn input() {
    // The arena's input (examples/arena): move_x -127, move_y 127, aim 16384, buttons FIRE.
    let input = InputMessage {
        sequence: 300,
        lanes: vec![-127, 127, 16384, 1],
    };
    // The arena's input lanes, in its input schema's order: move_x, move_y, aim, buttons.
    // sequence 300 = 251 + u16 LE; 4 lanes; each lane an i32 zigzag varint: -127 -> 253 and
    // 127 -> 254 (both 251 + u16 LE), 16384 -> 32768 = 251 + u16 LE, 1 -> 2.
    assert_eq!(
        client(ClientMessage::Input(input)),
        [
            1, 251, 44, 1, 4, 251, 0xfd, 0, 251, 0xfe, 0, 251, 0, 0x80, 2
        ]
    );
}

#[test]
fn ack_ping_pong_request_full() {
    assert_eq!(client(ClientMessage::Ack(Tick(7))), [2, 7]);
    assert_eq!(
        client(ClientMessage::Ping {
            client_time_us: 1000
        }),
        [3, 251, 0xe8, 0x03]
    );
    assert_eq!(client(ClientMessage::Pong { server_time_us: 5 }), [4, 5]);
    assert_eq!(client(ClientMessage::RequestFull), [5]);
}

mod common;
use common::dots;

#[test]
fn welcome_and_rejected() {
    let welcome = |schema| Welcome {
        client_id: 1,
        player: Some(EntityId(16)),
        tick_rate: 30,
        schema,
        resume_token: ResumeToken(1 << 64),
    };
    let token = [254, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    let mut expected = vec![0, 1, 1, 16, 30, 0];
    expected.extend(token);
    assert_eq!(server(ServerMessage::Welcome(welcome(None))), expected);
    // With the schema: `1`, then its canonical bytes (49 for the dots game).
    let schema = codec::encode_schema(&dots()).expect("encodes");
    assert_eq!(schema.len(), 49);
    let mut expected = vec![0, 1, 1, 16, 30, 1];
    expected.extend(&schema);
    expected.extend(token);
    assert_eq!(
        server(ServerMessage::Welcome(welcome(Some(dots())))),
        expected
    );
    let reject = RejectReason::VersionMismatch {
        server: 1,
        client: 2,
    };
    assert_eq!(server(ServerMessage::Rejected(reject)), [1, 0, 1, 2]);
    assert_eq!(
        server(ServerMessage::Rejected(RejectReason::RoomFull)),
        [1, 1]
    );
}

#[test]
fn snapshot() {
    let layout = Layout::new(dots()).expect("valid");
    let dot = |x, y| {
        let mut data = EntityData::new(&layout, 0).expect("kind 0");
        data.lanes.copy_from_slice(&[x, y]);
        data
    };
    // Baseline: dots 3 at (100, 100) and 9. Now: 9 is gone, 4 appears at (64, -64), 3 moved by
    // (10, -1).
    let mut before = World::new();
    before.insert(EntityId(3), dot(100, 100));
    before.insert(EntityId(9), dot(0, 0));
    let mut after = World::new();
    after.insert(EntityId(3), dot(110, 99));
    after.insert(EntityId(4), dot(64, -64));
    let delta = before.diff(&after, &layout);
    let snapshot = Snapshot {
        sent_at: SentAt(0x0807_0605),
        tick: Tick(100),
        baseline: Some(Tick(99)),
        last_input: 12,
        checksum: Checksum(0x0403_0201),
        delta: PackedDelta::pack(&delta, &layout).expect("packs"),
    };
    // The packed delta, bit by bit (least significant bit of each byte first; see
    // docs/PROTOCOL.md). Exp-Golomb(0) of n: zeros, a one, then as many low bits of n + 1.
    // counts 1, 1, 1: 010 010 010. Every column holds one value, written as sign + magnitude:
    // removed gap 9: 0 0001010 | created gap 4: 0 00110 | kind 0: 0 1 | x 64: 0 0000001100000
    // y -64: 1 0000001100000 | changed gap 3: 0 00100 | kind 0: 0 1 | dx 10: 0 0001110
    // dy -1: 1 010 | 7 zero bits of padding. (A dot has one component: no change bits.)
    let packed = [146, 160, 48, 1, 131, 192, 0, 17, 174, 0];
    let mut expected = vec![
        2,  // variant: Snapshot
        12, // last_input
        5, 6, 7, 8,   // sent_at, 4 bytes little-endian
        100, // tick
        1, 99, // baseline: Some(99)
        1, 2, 3, 4,  // checksum, 4 bytes little-endian
        10, // packed delta length
    ];
    expected.extend(packed);
    assert_eq!(server(ServerMessage::Snapshot(snapshot)), expected);
    assert_eq!(server(ServerMessage::Ping { server_time_us: 1 }), [3, 1]);
    assert_eq!(server(ServerMessage::Pong { client_time_us: 2 }), [4, 2]);
}
