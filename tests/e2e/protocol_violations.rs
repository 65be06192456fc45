//! RFC 6455 violations, written as raw bytes under a joined client: each gets close 1002 within
//! a second, with tungstenite's description of the violation, and an observer misses no tick.

use crate::util::{TestServer, assert_contiguous, expect_close, raw_joined};
use std::time::Duration;
use tickwire_bot::Bot;
use tickwire_shared::close_code;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;

/// One client frame: `first` is FIN/RSV/opcode, `masked` whether to mask the payload (clients
/// must; the mask here is fixed).
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let mut bytes = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => bytes.push(mask_bit | len as u8),
        len => {
            bytes.push(mask_bit | 126);
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    if masked {
        bytes.extend_from_slice(&MASK);
        bytes.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    } else {
        bytes.extend_from_slice(payload);
    }
    bytes
}

/// Writes `bytes` raw on a joined connection while an observer plays; returns the close.
async fn close_for_raw(bytes: Vec<u8>) -> (u16, String) {
    let server = TestServer::start().await;
    let mut observer = Bot::connect(&server.url, "observer")
        .await
        .expect("observer joins");
    observer.next_snapshot().await.expect("first snapshot");
    let mut offender = raw_joined(&server.url).await;
    let MaybeTlsStream::Plain(tcp) = offender.get_mut() else {
        panic!("plain TCP expected");
    };
    tcp.write_all(&bytes).await.expect("written");
    let close = tokio::time::timeout(Duration::from_secs(1), expect_close(&mut offender))
        .await
        .expect("closed within a second");
    let mut ticks = Vec::new();
    for _ in 0..10 {
        ticks.push(
            observer
                .next_snapshot()
                .await
                .expect("observer keeps receiving"),
        );
    }
    assert_contiguous(&ticks);
    server.stop().await.expect("clean stop");
    close
}

async fn assert_protocol_error(bytes: Vec<u8>, expected_reason: &str) {
    let (code, reason) = close_for_raw(bytes).await;
    assert_eq!(code, close_code::PROTOCOL_ERROR, "{reason}");
    assert!(
        reason.to_lowercase().contains(expected_reason),
        "reason {reason:?} should mention {expected_reason:?}"
    );
}

#[tokio::test]
async fn an_unmasked_frame_is_closed_with_1002() {
    assert_protocol_error(frame(0x82, &[5], false), "unmasked").await;
}

#[tokio::test]
async fn a_reserved_opcode_is_closed_with_1002() {
    assert_protocol_error(frame(0x83, &[5], true), "opcode").await;
}

#[tokio::test]
async fn reserved_bits_are_closed_with_1002() {
    assert_protocol_error(frame(0xC2, &[5], true), "reserved").await;
}

#[tokio::test]
async fn a_fragmented_control_frame_is_closed_with_1002() {
    assert_protocol_error(frame(0x09, b"ping", true), "fragmented").await;
}

#[tokio::test]
async fn an_oversized_control_frame_is_closed_with_1002() {
    assert_protocol_error(frame(0x89, &[0; 126], true), "control frame").await;
}

#[tokio::test]
async fn an_orphan_continuation_is_closed_with_1002() {
    assert_protocol_error(frame(0x80, &[5], true), "continue").await;
}

#[tokio::test]
async fn a_close_with_an_invalid_code_is_closed_with_1002() {
    // 999 is below the range a close frame may carry.
    let (code, reason) = close_for_raw(frame(0x88, &999u16.to_be_bytes(), true)).await;
    assert_eq!(code, close_code::PROTOCOL_ERROR, "{reason}");
}
