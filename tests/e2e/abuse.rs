//! Abuse an attacker on the network can try with cheap messages (issue 13): seat churn, requests
//! for full snapshots, room-name churn, pings, token replay and stalled readers filling memory.
//! Each case fails on a server without its defence.

use crate::util::{
    SOON, TestServer, expect_close, join, next_server_message, raw_connect, raw_joined,
    send_client, test_config,
};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tickwire_bot::{Bot, BotError};
use tickwire_server::join_token::mint;
use tickwire_server::{JoinClaims, JoinSecret};
use tickwire_shared::{
    ClientMessage, Hello, RejectReason, Resume, ResumeToken, ServerMessage, close_code,
};
use tokio::time::timeout;

/// The room `room` in `/rooms`, if it is open.
async fn room_status(server: &TestServer, room: &str) -> Option<Value> {
    let (status, body) = server.get("/rooms").await;
    assert_eq!(status, 200, "{body}");
    let rooms: Vec<Value> = serde_json::from_str(&body).expect("/rooms is a JSON list");
    rooms.into_iter().find(|r| r["room"] == room)
}

/// The value of an unlabelled metric in Prometheus text.
fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
}

/// Polls `/rooms` until `room` shows `detached` seats kept for a resume.
async fn wait_for_detached(server: &TestServer, room: &str, detached: u64) -> Value {
    timeout(SOON, async {
        loop {
            if let Some(status) = room_status(server, room).await
                && status["detached"] == detached
            {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{room} never showed {detached} detached seats"))
}

/// Joins `url` as a player, reads the Welcome, and drops the connection without a close frame.
async fn join_and_vanish(url: &str) {
    let mut ws = raw_joined(url).await;
    assert!(matches!(
        next_server_message(&mut ws).await,
        Some(ServerMessage::Snapshot(_))
    ));
    drop(ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_left_for_a_resume_count_toward_the_room_cap_and_show_in_rooms() {
    let mut config = test_config();
    config.limits.max_clients = 4;
    let server = TestServer::start_with(config).await;
    let url = server.room_url("churn", None);
    for _ in 0..4 {
        join_and_vanish(&url).await;
    }
    let status = wait_for_detached(&server, "churn", 4).await;
    assert_eq!(status["players"], 0, "{status}");
    match Bot::connect(&url, "late").await {
        Err(BotError::Rejected(reason)) => assert_eq!(reason, RejectReason::RoomFull),
        other => panic!("four seats wait for a resume in a room of four: {other:?}"),
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_keeps_a_bounded_number_of_seats_for_a_resume() {
    let mut config = test_config();
    config.limits.limit_loopback_per_ip = true;
    config.limits.max_detached_seats_per_ip = 2;
    let server = TestServer::start_with(config).await;
    let url = server.room_url("churn", None);
    for _ in 0..6 {
        join_and_vanish(&url).await;
    }
    // Every Leave is in once the loop has seen all six: the last two seats are kept.
    wait_for_detached(&server, "churn", 2).await;
    let mut observer = Bot::spectate(&url, "observer").await.expect("joins");
    observer.next_snapshot().await.expect("snapshot");
    let players = tickwire_arena::client::entities(observer.world())
        .filter(|(_, e)| e.kind == tickwire_arena::EntityKind::Player)
        .count();
    assert_eq!(players, 2, "the world holds only the kept seats' players");
    observer.close().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_full_snapshots_are_rate_limited_and_a_flood_is_closed_with_1008() {
    let server = TestServer::start().await;
    let mut ws = raw_joined(&server.url).await;
    for _ in 0..3 {
        send_client(&mut ws, &ClientMessage::RequestFull).await;
    }
    // The join's full snapshot went out a moment ago: the next one waits out the 1 s interval,
    // which 25 ticks at 30 Hz cannot span.
    let mut fulls = 0;
    for _ in 0..25 {
        match next_server_message(&mut ws).await {
            Some(ServerMessage::Snapshot(s)) => fulls += usize::from(s.baseline.is_none()),
            Some(_) => {}
            None => panic!("closed while asking within the budget"),
        }
    }
    assert_eq!(
        fulls, 1,
        "only the join's full snapshot within the first interval"
    );
    let metrics = server.get("/metrics").await.1;
    assert!(
        metrics.contains("tickwire_full_snapshot_requests_total 3"),
        "{metrics}"
    );
    for _ in 0..20 {
        send_client(&mut ws, &ClientMessage::RequestFull).await;
    }
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close_code::POLICY, "{reason}");
    assert_eq!(
        reason,
        "full snapshots requested far more often than full_snapshot_interval_ms"
    );
    let desyncs = metric(
        &server.get("/metrics").await.1,
        "tickwire_desyncs_reported_total",
    );
    assert!(desyncs <= 1.0, "a flood is not a desync: {desyncs}");
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_that_come_and_go_leave_no_series_in_metrics() {
    let mut config = test_config();
    config.limits.room_close_after_empty_ms = 50;
    config.limits.resume_grace_ms = 50;
    let server = TestServer::start_with(config).await;
    let baseline = server.get("/metrics").await.1;
    for i in 0..20 {
        let mut ws = raw_connect(&server.room_url(&format!("churn-{i}"), None)).await;
        join(&mut ws, "visitor").await;
        drop(ws);
    }
    timeout(SOON, async {
        while server.get("/rooms").await.1.contains("churn-") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the empty rooms close");
    let metrics = server.get("/metrics").await.1;
    assert!(
        !metrics.contains("churn-"),
        "a closed room's series remain:\n{metrics}"
    );
    // Counters grew by a few digits; 20 rooms' series would add kilobytes.
    assert!(
        metrics.len() < baseline.len() + 2048,
        "/metrics grew from {} to {} bytes",
        baseline.len(),
        metrics.len()
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_gets_no_more_pongs_and_is_closed_with_1008() {
    let server = TestServer::start().await;
    let mut ws = raw_joined(&server.url).await;
    for client_time_us in 0..100 {
        send_client(&mut ws, &ClientMessage::Ping { client_time_us }).await;
    }
    let mut pongs = 0;
    let (code, reason) = loop {
        match timeout(SOON, futures_util::StreamExt::next(&mut ws))
            .await
            .expect("a message in time")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes))) => {
                if let Ok(ServerMessage::Pong { .. }) =
                    tickwire_shared::codec::decode_server(&bytes)
                {
                    pongs += 1;
                }
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                break (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(code, close_code::POLICY, "{reason}");
    assert_eq!(reason, "pings far over the rate limit");
    assert!(pongs <= 10, "{pongs} pongs: at most a second's worth");
    server.stop().await.expect("clean stop");
}

fn token(secret: &JoinSecret, player: &str, room: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = JoinClaims {
        player: player.into(),
        room: room.into(),
        expires_unix: now + 60,
    };
    mint(secret, &claims).expect("mints")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_token_opens_one_seat_and_a_resume_needs_no_new_one() {
    let key = JoinSecret::new(b"a secret that is long enough").expect("long enough");
    let mut config = test_config();
    config.join_secret = Some(key.clone());
    let server = TestServer::start_with(config).await;
    let proxy = crate::util::CutProxy::start(&server).await;
    let hello = Hello {
        token: Some(token(&key, "ann", "default")),
        ..Bot::hello("ann", false)
    };
    let mut first = Bot::connect_with(&proxy.url, hello.clone())
        .await
        .expect("the token's first seat");
    first.next_snapshot().await.expect("plays");
    match Bot::connect_with(&server.url, hello).await {
        Err(BotError::Rejected(reason)) => assert_eq!(reason, RejectReason::TokenReplayed),
        other => panic!("a replayed token: {other:?}"),
    }
    // A lost connection resumes with the same Hello (and token): the seat is the proof.
    let player = first.player();
    proxy.cut();
    let lost = crate::util::until_lost(&mut first).await;
    assert!(lost.is_connection_lost(), "{lost}");
    first.resume(&proxy.url).await.expect("resumed");
    assert_eq!(first.player(), player);
    first.next_snapshot().await.expect("plays again");

    // A resume cannot open a room, token or not.
    let hello = Hello {
        token: Some(token(&key, "mallory", "ghost")),
        resume: Some(Resume {
            token: ResumeToken(7),
            last_applied: None,
        }),
        ..Bot::hello("mallory", false)
    };
    match Bot::connect_with(&server.room_url("ghost", None), hello).await {
        Err(BotError::Rejected(reason)) => assert_eq!(reason, RejectReason::ResumeExpired),
        other => panic!("a resume into no room: {other:?}"),
    }
    assert!(
        room_status(&server, "ghost").await.is_none(),
        "no room made"
    );
    first.close().await;
    server.stop().await.expect("clean stop");
}

/// A WebSocket client that never reads, on a socket whose receive buffer is tiny, so the
/// server's queue for it grows soon.
async fn stalled_reader(url: &str, addr: std::net::SocketAddr) -> crate::util::RawWs {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect");
    let (mut ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("upgrade");
    // Not awaited: the Welcome may already be stuck behind the full socket.
    let hello = Bot::hello("stalled", false);
    send_client(&mut ws, &ClientMessage::Hello(hello)).await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_server_wide_queue_budget_the_longest_queues_are_cut_and_others_play_on() {
    let mut config = test_config();
    config.limits.socket_send_buffer_bytes = 4096;
    config.limits.write_queue_bytes = 64 * 1024;
    config.limits.max_queued_bytes_total = 64 * 1024;
    config.limits.outbound_queue_snapshots = 1000;
    config.limits.slow_consumer_timeout_ms = 600_000;
    config.limits.idle_timeout_ms = 600_000;
    let server = TestServer::start_with(config).await;
    let mut healthy = Bot::connect(&server.url, "healthy").await.expect("joins");
    let mut stalled = Vec::new();
    for _ in 0..12 {
        stalled.push(stalled_reader(&server.url, server.addr).await);
    }
    let cut = |metrics: &str| metrics.contains("tickwire_kicks_total{code=\"4002\"}");
    let mut ticks = Vec::new();
    let mut metrics = String::new();
    timeout(Duration::from_secs(60), async {
        while !cut(&metrics) {
            for _ in 0..30 {
                ticks.push(
                    healthy
                        .next_snapshot()
                        .await
                        .expect("the healthy bot plays on"),
                );
            }
            metrics = server.get("/metrics").await.1;
        }
    })
    .await
    .expect("a stalled queue is cut once the total passes the budget");
    crate::util::assert_contiguous(&ticks);
    let queued = metric(&metrics, "tickwire_queued_bytes");
    assert!(queued <= 64.0 * 1024.0 + 2048.0, "{queued} bytes queued");
    assert_eq!(healthy.stats().desyncs, 0);
    healthy.close().await;
    drop(stalled);
    server.stop().await.expect("clean stop");
}
