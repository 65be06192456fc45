//! Many bots for hundreds of ticks.

use crate::util::{SOON, TestServer, test_config};
use std::time::Duration;
use tickwire_bot::{Behaviour, BotConfig, Link, run_bots};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_for_hundreds_of_ticks_match_every_checksum() {
    let mut config = test_config();
    config.game.tick_rate = 60;
    let server = TestServer::start_with(config).await;
    let summary = run_bots(&BotConfig {
        urls: vec![server.url.clone()],
        rooms: None,
        tokens: Vec::new(),
        tls: None,
        bots: 20,
        duration: Duration::from_secs(6),
        behaviour: Behaviour::Fire,
        link: Link::default(),
        progress: false,
    })
    .await;
    assert_eq!(summary.connected, 20, "{summary}");
    assert_eq!(summary.errors, 0, "{summary}");
    assert_eq!(summary.desyncs, 0, "{summary}");
    // 6 s at 60 Hz is 360 ticks per bot; "hundreds of ticks" with wide slack for a busy machine.
    assert!(summary.snapshots >= 20 * 200, "{summary}");
    assert!(summary.success());
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_spread_over_rooms_fill_them_evenly_and_match_every_checksum() {
    let server = TestServer::start().await;
    let config = BotConfig {
        urls: vec![server.url.clone()],
        rooms: Some(4),
        tokens: Vec::new(),
        tls: None,
        bots: 12,
        duration: Duration::from_secs(3),
        behaviour: Behaviour::Fire,
        link: Link::default(),
        progress: false,
    };
    let run = tokio::spawn(async move { run_bots(&config).await });
    // Each bot stays for 3 s after it joins: wait until all 12 are in, then look at the spread.
    let deadline = Instant::now() + SOON;
    let players = loop {
        let players = server.room_players().await;
        if players.iter().map(|(_, n)| n).sum::<u64>() == 12 {
            break players;
        }
        assert!(
            Instant::now() < deadline,
            "never all 12 bots in at once; last seen {players:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        players,
        [
            ("room-0".to_owned(), 3),
            ("room-1".to_owned(), 3),
            ("room-2".to_owned(), 3),
            ("room-3".to_owned(), 3)
        ]
    );
    let summary = run.await.expect("bots ran");
    assert!(summary.success(), "{summary}");
    server.stop().await.expect("clean stop");
}
