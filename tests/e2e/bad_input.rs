//! Bad frames and messages: each gets its close code and reason, and another client keeps
//! receiving every tick meanwhile.

use crate::util::{SOON, TestServer, assert_contiguous, expect_close, raw_connect, raw_joined};
use futures_util::SinkExt;
use tickwire_bot::Bot;
use tickwire_shared::{ClientMessage, Hello, InputMessage, PROTOCOL_VERSION, close_code};
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// Snapshots the observer must receive after the offender's close, all in sequence.
const TICKS_AFTER_THE_CLOSE: usize = 5;

/// Sends `bad` from a joined raw client while an observer bot records ticks; returns the close
/// the raw client got. Asserts the observer missed no tick before, during or after.
async fn close_for(bad: Message) -> (u16, String) {
    close_for_all(vec![bad]).await
}

/// [`close_for`] with several messages, sent back to back (sends after the server closed fail
/// and are ignored).
async fn close_for_all(bad: Vec<Message>) -> (u16, String) {
    let server = TestServer::start().await;
    let mut observer = Bot::connect(&server.url, "observer")
        .await
        .expect("observer joins");
    observer.next_snapshot().await.expect("first snapshot");
    let (closed, mut close_seen) = oneshot::channel::<()>();
    // Records every tick until it has `TICKS_AFTER_THE_CLOSE` more after hearing of the close.
    let watching = tokio::spawn(async move {
        let mut ticks = Vec::new();
        let mut at_close = None;
        loop {
            ticks.push(
                observer
                    .next_snapshot()
                    .await
                    .expect("the observer keeps receiving"),
            );
            if at_close.is_none() && close_seen.try_recv().is_ok() {
                at_close = Some(ticks.len());
            }
            if at_close.is_some_and(|at| ticks.len() >= at + TICKS_AFTER_THE_CLOSE) {
                return ticks;
            }
        }
    });
    let mut offender = raw_joined(&server.url).await;
    for message in bad {
        if offender.feed(message).await.is_err() {
            break;
        }
    }
    let _ = offender.flush().await;
    let close = expect_close(&mut offender).await;
    let _ = closed.send(());
    let ticks = timeout(SOON, watching)
        .await
        .expect("the observer's snapshots after the close, in time")
        .expect("observer task");
    assert_contiguous(&ticks);
    server.stop().await.expect("clean stop");
    close
}

#[tokio::test]
async fn a_text_frame_is_closed_with_1003() {
    let (code, reason) = close_for(Message::text("hello?")).await;
    assert_eq!(code, close_code::UNSUPPORTED_DATA);
    assert!(reason.contains("binary"), "{reason}");
}

#[tokio::test]
async fn a_garbage_binary_frame_is_closed_with_4000() {
    let (code, reason) = close_for(Message::binary(vec![0xde, 0xad, 0xbe, 0xef, 0xff])).await;
    assert_eq!(code, close_code::MALFORMED);
    assert!(reason.starts_with("malformed message"), "{reason}");
}

#[tokio::test]
async fn a_length_bomb_hello_is_closed_with_4000_by_the_decoders_limit() {
    let server = TestServer::start().await;
    let mut ws = raw_connect(&server.url).await;
    // A Hello whose name claims 4 GiB.
    ws.send(Message::binary(vec![0u8, 1, 252, 0xff, 0xff, 0xff, 0xff]))
        .await
        .expect("sent");
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close_code::MALFORMED);
    assert!(reason.contains("LimitExceeded"), "{reason}");
}

#[tokio::test]
async fn trailing_bytes_are_closed_with_4000() {
    let mut bytes =
        tickwire_shared::codec::encode_client(&ClientMessage::RequestFull).expect("encodes");
    bytes.extend_from_slice(&[0, 0]);
    let (code, reason) = close_for(Message::binary(bytes)).await;
    assert_eq!(code, close_code::MALFORMED);
    assert!(reason.contains("trailing"), "{reason}");
}

#[tokio::test]
async fn an_oversized_frame_is_closed_with_1009() {
    let (code, reason) = close_for(Message::binary(vec![0u8; 64 * 1024])).await;
    assert_eq!(code, close_code::MESSAGE_TOO_BIG);
    assert!(reason.contains("limit"), "{reason}");
}

/// A well-formed client message as a binary frame.
fn encoded(message: &ClientMessage) -> Message {
    Message::binary(tickwire_shared::codec::encode_client(message).expect("encodes"))
}

#[tokio::test]
async fn an_input_outside_the_games_input_schema_is_closed_with_4004() {
    // The arena's input lanes: move_x, move_y (-128..=127), aim (16 bits), buttons (0..=1).
    for lanes in [
        vec![0, 0, 0, 0x80],   // an unknown button bit
        vec![300, 0, 0, 0],    // a move past its range
        vec![0, 0, 70_000, 0], // an aim past 16 bits
        vec![0, 0, 0],         // a lane short
        vec![0, 0, 0, 0, 0],   // a lane too many
    ] {
        let input = InputMessage {
            sequence: 1,
            lanes: lanes.clone(),
        };
        let (code, reason) = close_for(encoded(&ClientMessage::Input(input))).await;
        assert_eq!(
            (code, reason.as_str()),
            (
                close_code::INVALID,
                "input does not fit the game's input schema"
            ),
            "{lanes:?}"
        );
    }
}

#[tokio::test]
async fn a_second_hello_is_closed_with_4004() {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "again".into(),
        spectator: false,
        resume: None,
        token: None,
        schema_hash: None,
    };
    let (code, reason) = close_for(encoded(&ClientMessage::Hello(hello))).await;
    assert_eq!(
        (code, reason.as_str()),
        (close_code::INVALID, "Hello sent twice")
    );
}

#[tokio::test]
async fn an_input_flood_is_dropped_then_closed_with_1008() {
    let flood = (1..=2000)
        .map(|sequence| {
            encoded(&ClientMessage::Input(
                tickwire_arena::InputFrame {
                    sequence,
                    move_x: 127,
                    move_y: 0,
                    aim: 0,
                    buttons: tickwire_arena::Buttons::default(),
                }
                .message(),
            ))
        })
        .collect();
    let (code, reason) = close_for_all(flood).await;
    assert_eq!(code, close_code::POLICY);
    assert_eq!(reason, "inputs far over the rate limit");
}
