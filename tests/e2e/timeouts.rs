//! Timeouts and dead peers: slowloris handshakes, a Hello that never comes, a joined client gone
//! silent (a half-open connection) and one killed mid-frame are all ended within their bounds.

use crate::util::{
    TestServer, expect_close, next_server_message, raw_connect, raw_joined, send_client,
    test_config,
};
use std::time::{Duration, Instant};
use tickwire_shared::{ClientMessage, Hello, PROTOCOL_VERSION, ServerMessage, close_code};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_slowloris_handshakes_are_all_closed_within_the_timeout() {
    let mut config = test_config();
    config.limits.handshake_timeout_ms = 500;
    let server = TestServer::start_with(config).await;
    let started = Instant::now();
    let mut half_open = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        // A request head that never ends.
        stream
            .write_all(b"GET /ws HTTP/1.1\r\nHost: tickwire\r\nUpgrade: websocket\r\n")
            .await
            .expect("write");
        half_open.push(stream);
    }
    for mut stream in half_open {
        let mut rest = Vec::new();
        let ended =
            tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
        assert!(
            ended.is_ok(),
            "a half-open handshake was still open after 3 s"
        );
    }
    let took = started.elapsed();
    eprintln!("100 half-open handshakes closed {took:?} after the first opened");
    assert!(
        took < Duration::from_millis(500 + 1500),
        "closed within the 500 ms timeout plus slack, took {took:?}"
    );
    // The server still serves.
    let _ = raw_joined(&server.url).await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn no_hello_within_the_handshake_timeout_is_closed_with_4003() {
    let mut config = test_config();
    config.limits.handshake_timeout_ms = 300;
    let server = TestServer::start_with(config).await;
    let mut silent = raw_connect(&server.url).await;
    let (code, reason) = expect_close(&mut silent).await;
    assert_eq!(code, close_code::TIMEOUT);
    assert_eq!(reason, "no Hello within the handshake timeout");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_joined_client_gone_silent_is_closed_with_4003_after_the_idle_timeout() {
    let mut config = test_config();
    config.limits.idle_timeout_ms = 400;
    config.limits.heartbeat_interval_ms = 100;
    let idle_timeout = Duration::from_millis(config.limits.idle_timeout_ms);
    let server = TestServer::start_with(config).await;
    // Joined, then never sends a byte again (no Pong either): what a half-open connection
    // looks like from the server.
    let mut silent = raw_connect(&server.url).await;
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "silent".into(),
        spectator: false,
        resume: None,
        token: None,
        schema_hash: None,
    };
    // Taken before the Hello goes out, so the server cannot have heard it any earlier.
    let last_sent = Instant::now();
    send_client(&mut silent, &ClientMessage::Hello(hello)).await;
    match next_server_message(&mut silent).await {
        Some(ServerMessage::Welcome(_)) => {}
        other => panic!("expected Welcome, got {other:?}"),
    }
    let (code, reason) = expect_close(&mut silent).await;
    let silent_for = last_sent.elapsed();
    assert_eq!(code, close_code::TIMEOUT);
    assert_eq!(reason, "no message within the idle timeout");
    assert!(
        silent_for >= idle_timeout,
        "closed {silent_for:?} after the client's last message, before the {idle_timeout:?} idle timeout"
    );
    eprintln!("idle client closed {silent_for:?} after its last message (the Hello)");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_client_killed_mid_frame_is_noticed_at_once() {
    let server = TestServer::start().await;
    let mut killed = raw_joined(&server.url).await;
    connected(&server, 1).await;
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = killed.get_mut() else {
        panic!("plain TCP expected");
    };
    // A masked binary frame announcing 100 bytes, and only 3 of them.
    tcp.write_all(&[0x82, 0x80 | 100, 1, 2, 3, 4, 9, 9, 9])
        .await
        .expect("written");
    // Killed: the kernel resets the connection (SO_LINGER 0), no close frame.
    socket2::SockRef::from(&*tcp)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    let started = Instant::now();
    drop(killed);
    connected(&server, 0).await;
    eprintln!(
        "killed client's session ended {:?} after the reset",
        started.elapsed()
    );
    server.stop().await.expect("clean stop");
}

/// Waits until `/metrics` shows `n` connected clients.
async fn connected(server: &TestServer, n: u32) {
    let wanted = format!("\ntickwire_connected_clients {n}\n");
    tokio::time::timeout(crate::util::SOON, async {
        while !server.get("/metrics").await.1.contains(&wanted) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never {n} connected clients"));
}
