//! Graceful shutdown: every client gets close 1001 and `run` returns Ok.

use crate::util::{SOON, TestServer};
use tickwire_bot::{Bot, BotError};
use tickwire_shared::close_code;
use tokio::time::timeout;

#[tokio::test]
async fn shutdown_closes_every_client_with_1001_and_stops_cleanly() {
    let mut server = TestServer::start().await;
    let mut bots = Vec::new();
    for name in ["a", "b", "c"] {
        let mut bot = Bot::connect(&server.url, name).await.expect("joins");
        bot.next_snapshot().await.expect("snapshot");
        bots.push(bot);
    }
    server.begin_shutdown();
    for mut bot in bots {
        let ended = timeout(SOON, async {
            loop {
                if let Err(e) = bot.next_snapshot().await {
                    return e;
                }
            }
        })
        .await
        .expect("closed in time");
        match ended {
            BotError::Closed { code, reason } => {
                assert_eq!(code, close_code::GOING_AWAY);
                assert_eq!(reason, "server shutting down");
            }
            other => panic!("expected close 1001, got {other}"),
        }
    }
    let url = server.url.clone();
    server.stop().await.expect("run returns Ok");
    assert!(
        tokio_tungstenite::connect_async(&url).await.is_err(),
        "no longer accepting"
    );
}
