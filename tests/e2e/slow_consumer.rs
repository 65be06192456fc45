//! A client that never reads: disconnected within a bounded time, and nobody else notices.

use crate::util::{SOON, TestServer, assert_contiguous, join, send_client, set, test_config};
use futures_util::StreamExt;
use std::time::Duration;
use tickwire_bot::Bot;
use tickwire_shared::ClientMessage;
use tokio::net::TcpSocket;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::MaybeTlsStream;

/// How soon after its kick a stalled session must have ended.
const SESSION_ENDS_WITHIN: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_kicked_and_the_others_get_every_tick() {
    let mut config = test_config();
    // Many moving drones make every snapshot large, so a stalled reader backs up quickly.
    set(&mut config.game, &["drones", "count"], 300);
    // Small kernel buffers make the stalled reader back up within a second. The outbound queue
    // keeps its default, so the observer has the usual slack (8 ticks) against a busy machine.
    config.limits.socket_send_buffer_bytes = 4096;
    config.limits.slow_consumer_timeout_ms = 500;
    // Room for the observer and the stalled client only: a newcomer gets in once the stalled
    // session has really ended and released its slot.
    config.limits.max_connections = 2;
    let server = TestServer::start_with(config).await;

    let mut observer = Bot::connect(&server.url, "observer")
        .await
        .expect("observer joins");
    observer.next_snapshot().await.expect("first snapshot");

    // The stalled client: a tiny receive window, a proper Hello, then it never reads again.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr = server
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .parse()
        .expect("addr");
    let stream = socket.connect(addr).await.expect("connect");
    let (mut stalled, _) =
        tokio_tungstenite::client_async(server.url.as_str(), MaybeTlsStream::Plain(stream))
            .await
            .expect("upgrade");
    let stalled_player = join(&mut stalled, "stalled")
        .await
        .player
        .expect("joined as a player");

    let started = Instant::now();
    let mut ticks = Vec::new();
    let mut seen = false;
    timeout(SOON, async {
        loop {
            ticks.push(
                observer
                    .next_snapshot()
                    .await
                    .expect("observer keeps receiving"),
            );
            // The stalled client keeps sending Pings, so the write that blocks is often a Pong:
            // every write, not only snapshots, must give way to the kick.
            for _ in 0..5 {
                let ping = ClientMessage::Ping { client_time_us: 0 };
                let _ = timeout(Duration::from_millis(5), send_client(&mut stalled, &ping)).await;
            }
            let present =
                tickwire_arena::client::entity(observer.world(), stalled_player).is_some();
            seen |= present;
            if seen && !present {
                return;
            }
        }
    })
    .await
    .expect("the stalled client is kicked (its player despawns) within the bound");
    let kicked_after = started.elapsed();
    assert!(seen, "the observer saw the stalled player before the kick");
    assert_contiguous(&ticks);

    // Without the stalled client reading a byte, its session ends and frees its slot within the
    // close linger (1 s) plus slack. A session stuck in an unguarded Pong write took ~6 s here.
    let kicked_at = Instant::now();
    let newcomer = timeout(SESSION_ENDS_WITHIN, async {
        loop {
            match Bot::connect(&server.url, "newcomer").await {
                Ok(bot) => return bot,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
    .await
    .expect("the stalled session ended without the client reading");
    drop(newcomer);
    eprintln!("slot freed {:?} after the kick", kicked_at.elapsed());

    // The stalled client's connection ends too (after the bytes already in flight).
    let drained = timeout(SOON, async {
        while let Some(Ok(_)) = stalled.next().await {}
    })
    .await;
    assert!(drained.is_ok(), "the stalled connection was closed");
    eprintln!(
        "stalled client kicked after {kicked_after:?}; observer got {} contiguous ticks",
        ticks.len()
    );
    server.stop().await.expect("clean stop");
}
