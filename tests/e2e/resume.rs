//! Session resume: a client whose connection is lost takes its seat back with its resume token
//! within the grace window (same player, a delta from its last tick, inputs continuing); after
//! the window or with a used token it gets a typed rejection; bots do it on their own.

use crate::util::{
    CutProxy, SOON, TestServer, expect_close, join, raw_connect, send_client, test_config,
};
use std::time::Duration;
use tickwire_bot::{Behaviour, Bot, BotConfig, BotError, Link, run_bots};
use tickwire_shared::{ClientMessage, Hello, PROTOCOL_VERSION, RejectReason, Resume, close_code};
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_resumes_the_same_player_without_a_desync() {
    let server = TestServer::start().await;
    let proxy = CutProxy::start(&server).await;
    let mut bot = Bot::connect(&proxy.url, "roamer").await.expect("joins");
    for _ in 0..10 {
        bot.next_snapshot().await.expect("snapshot");
    }
    let player = bot.player();
    let old_token = bot.welcome().resume_token;
    proxy.cut();
    let lost = crate::util::until_lost(&mut bot).await;
    assert!(lost.is_connection_lost(), "{lost}");

    bot.resume(&proxy.url).await.expect("resumed");
    assert_eq!(bot.player(), player, "the same player");
    for _ in 0..10 {
        bot.next_snapshot().await.expect("snapshots again");
    }
    assert_eq!(
        bot.stats().desyncs,
        0,
        "the first snapshot was a delta the bot could apply"
    );
    assert_eq!(bot.stats().resumes, 1);

    // The old token was used up.
    let mut reused = raw_connect(&server.url).await;
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "thief".into(),
        spectator: false,
        resume: Some(Resume {
            token: old_token,
            last_applied: None,
        }),
        token: None,
        schema_hash: None,
    };
    send_client(&mut reused, &ClientMessage::Hello(hello)).await;
    let (code, reason) = expect_close(&mut reused).await;
    assert_eq!(code, close_code::REJECTED);
    assert_eq!(reason, RejectReason::ResumeExpired.to_string());
    bot.close().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_grace_window_a_resume_is_rejected_and_the_player_is_gone() {
    let mut config = test_config();
    config.limits.resume_grace_ms = 200;
    let server = TestServer::start_with(config).await;
    let proxy = CutProxy::start(&server).await;
    let mut bot = Bot::connect(&proxy.url, "late").await.expect("joins");
    bot.next_snapshot().await.expect("snapshot");
    let player = bot.player().expect("a player");
    let mut observer = Bot::spectate(&server.url, "observer").await.expect("joins");
    observer.next_snapshot().await.expect("snapshot");
    assert!(tickwire_arena::client::entity(observer.world(), player).is_some());
    proxy.cut();
    tokio::time::timeout(SOON, async {
        while tickwire_arena::client::entity(observer.world(), player).is_some() {
            observer.next_snapshot().await.expect("snapshot");
        }
    })
    .await
    .expect("the seat is despawned after the window");
    match bot.resume(&proxy.url).await {
        Err(BotError::Rejected(reason)) => assert_eq!(reason, RejectReason::ResumeExpired),
        other => panic!("expected ResumeExpired, got {other:?}"),
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn resuming_while_the_old_connection_lives_closes_it_with_4005() {
    let server = TestServer::start().await;
    let mut old = raw_connect(&server.url).await;
    let welcome = join(&mut old, "twin").await;
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "twin".into(),
        spectator: false,
        resume: Some(Resume {
            token: welcome.resume_token,
            last_applied: None,
        }),
        token: None,
        schema_hash: None,
    };
    let mut new = Bot::connect_with(&server.url, hello)
        .await
        .expect("resumed");
    assert_eq!(new.player(), welcome.player, "the same player");
    let (code, reason) = expect_close(&mut old).await;
    assert_eq!(code, close_code::RESUMED_ELSEWHERE, "{reason}");
    new.next_snapshot().await.expect("the new connection plays");
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_reconnect_on_their_own_and_count_resumes() {
    let server = TestServer::start().await;
    let proxy = CutProxy::start(&server).await;
    let config = BotConfig {
        urls: vec![proxy.url.clone()],
        rooms: None,
        tokens: Vec::new(),
        tls: None,
        bots: 5,
        duration: Duration::from_secs(4),
        behaviour: Behaviour::Fire,
        link: Link::default(),
        progress: false,
    };
    let run = tokio::spawn(async move { run_bots(&config).await });
    // Cut once all 5 have joined: the server counts a client only after its Welcome (and so its
    // resume token) is written, and each bot has its 4 s from then to come back.
    let all_joined = "\ntickwire_connected_clients 5\n";
    timeout(SOON, async {
        while !server.get("/metrics").await.1.contains(all_joined) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("all 5 bots join");
    proxy.cut();
    let summary = run.await.expect("bots ran");
    assert_eq!(summary.resumes, 5, "{summary}");
    assert!(summary.success(), "{summary}");
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("\ntickwire_resumes_total 5\n"),
        "{metrics}"
    );
    server.stop().await.expect("clean stop");
}
