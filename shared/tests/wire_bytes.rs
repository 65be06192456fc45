//! The exact bytes of sample messages, as documented in docs/PROTOCOL.md. If one of these
//! changes, the wire format changed: update the doc and bump `PROTOCOL_VERSION`.

use glam::IVec2;
use tickwire_shared::codec;
use tickwire_shared::{
    Buttons, Checksum, ClientMessage, EntityChange, EntityId, EntityKind, EntityState, FieldMask,
    Hello, InputFrame, MovementRules, RejectReason, Resume, ResumeToken, SentAt, ServerMessage,
    Snapshot, Tick, Welcome, WorldDelta,
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
        protocol_version: 3,
        name: "ann".into(),
        spectator: true,
        resume: None,
        token: None,
    }));
    assert_eq!(bytes, [0, 3, 3, b'a', b'n', b'n', 1, 0, 0]);
    let resuming = client(ClientMessage::Hello(Hello {
        protocol_version: 3,
        name: "ann".into(),
        spectator: false,
        resume: Some(Resume {
            token: ResumeToken(5),
            last_applied: Some(Tick(300)),
        }),
        token: None,
    }));
    assert_eq!(
        resuming,
        [0, 3, 3, b'a', b'n', b'n', 0, 1, 5, 1, 251, 0x2c, 0x01, 0]
    );
}

#[test]
fn input() {
    let input = InputFrame {
        sequence: 300,
        move_x: -127,
        move_y: 127,
        aim: 16384,
        buttons: Buttons(Buttons::FIRE),
    };
    // sequence 300 = 251 + u16 LE; i8 as raw two's complement bytes; aim 16384 = 251 + u16 LE.
    assert_eq!(
        client(ClientMessage::Input(input)),
        [1, 251, 44, 1, 0x81, 0x7f, 251, 0, 64, 1]
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

#[test]
fn welcome_and_rejected() {
    let welcome = Welcome {
        client_id: 1,
        player: Some(EntityId(16)),
        tick_rate: 30,
        movement: MovementRules {
            step_per_tick: 427,
            min: IVec2::new(768, 768),
            max: IVec2::new(63232, 63232),
        },
        resume_token: ResumeToken(1 << 64),
    };
    // Signed fields are zigzag varints: 427 -> 854 = 251 + [0x56, 0x03]; 768 -> 1536; 63232 -> 126464 = 252 + u32.
    assert_eq!(
        server(ServerMessage::Welcome(welcome)),
        [
            0, 1, 1, 16, 30, 251, 0x56, 0x03, 251, 0x00, 0x06, 251, 0x00, 0x06, 252, 0x00, 0xee,
            0x01, 0x00, 252, 0x00, 0xee, 0x01, 0x00, 254, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
            0, 0
        ]
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
    let created = EntityState {
        kind: EntityKind::Drone,
        pos: IVec2::new(64, -64),
        aim: 5,
        hp: 60,
        score: 0,
    };
    let moved = EntityChange {
        id: EntityId(3),
        mask: FieldMask(FieldMask::POS | FieldMask::HP),
        pos_delta: IVec2::new(10, -1),
        aim: 0,
        hp: 40,
        score: 0,
    };
    let snapshot = Snapshot {
        sent_at: SentAt(0x0807_0605),
        tick: Tick(100),
        baseline: Some(Tick(99)),
        last_input: 12,
        checksum: Checksum(0x0403_0201),
        delta: WorldDelta {
            removed: vec![EntityId(9)],
            created: vec![(EntityId(4), created)],
            changed: vec![moved],
        },
    };
    // The packed delta, bit by bit (least significant bit of each byte first; see
    // docs/PROTOCOL.md). Exp-Golomb(0) of n: zeros, a one, then as many low bits of n + 1.
    // counts 1, 1, 1: 010 010 010. Every column holds one value, written as sign + magnitude:
    // removed gap 9: 0 0001010 | created gap 4: 0 00110 | kind 1 (Drone): 0 010
    // x 64: 0 0000001100000 | y -64: 1 0000001100000 | aim 5: 0 00101 | hp 60: 0 00000110111
    // score 0: 0 1 | changed gap 3: 0 00100 | mask 5 (POS|HP): 0 00101 | dx 10: 0 0001110
    // dy -1: 1 010 | hp 40: 0 00000110010 | one zero bit of padding.
    let packed = [146, 160, 48, 2, 12, 2, 3, 20, 216, 69, 80, 184, 2, 38];
    let mut expected = vec![
        2,  // variant: Snapshot
        12, // last_input
        5, 6, 7, 8,   // sent_at, 4 bytes little-endian
        100, // tick
        1, 99, // baseline: Some(99)
        1, 2, 3, 4,  // checksum, 4 bytes little-endian
        14, // packed delta length
    ];
    expected.extend(packed);
    assert_eq!(server(ServerMessage::Snapshot(snapshot)), expected);
    assert_eq!(server(ServerMessage::Ping { server_time_us: 1 }), [3, 1]);
    assert_eq!(server(ServerMessage::Pong { client_time_us: 2 }), [4, 2]);
}
