//! Rooms: created on first join, listed on /rooms, closed when empty, limited, and isolated (a
//! room whose game code panics, or whose ticks stay too slow, closes alone with 1011).

use crate::util::{
    SOON, TestServer, assert_contiguous, expect_close, join, next_server_message, raw_connect,
    test_config,
};
use serde_json::Value;
use std::time::Duration;
use tickwire_arena::EntityKind;
use tickwire_bot::{Bot, BotError};
use tickwire_server::{GameConfig, ServerConfig};
use tickwire_shared::{RejectReason, ServerMessage, Tick, close_code};
use tokio::time::timeout;

async fn rooms(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/rooms").await;
    assert_eq!(status, 200, "{body}");
    match serde_json::from_str(&body).expect("/rooms is JSON") {
        Value::Array(rooms) => rooms,
        other => panic!("/rooms is not a list: {other}"),
    }
}

fn names(rooms: &[Value]) -> Vec<&str> {
    rooms.iter().filter_map(|r| r["room"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_created_on_join_listed_and_closed_once_empty() {
    let mut config = test_config();
    config.limits.room_close_after_empty_ms = 300;
    let server = TestServer::start_with(config).await;
    assert!(rooms(&server).await.is_empty(), "no room before a join");

    let mut lobby = Bot::connect(&server.url, "lobby").await.expect("joins /ws");
    let mut alpha = Bot::connect(&server.room_url("alpha", None), "a")
        .await
        .expect("joins /ws/alpha");
    lobby.next_snapshot().await.expect("snapshot");
    alpha.next_snapshot().await.expect("snapshot");
    let listed = rooms(&server).await;
    assert_eq!(names(&listed), ["alpha", "default"]);
    for room in &listed {
        assert_eq!(room["scenario"], "arena");
        assert_eq!(room["players"], 1);
        assert!(room["tick"].as_u64().is_some_and(|t| t > 0), "{room}");
        assert!(room["tick_ms_p99"].as_f64().is_some(), "{room}");
    }
    // Separate worlds: each holds its own player only.
    for bot in [&lobby, &alpha] {
        let players = tickwire_arena::client::entities(bot.world())
            .filter(|(_, e)| e.kind == EntityKind::Player)
            .count();
        assert_eq!(players, 1);
    }
    // A second of play, so a fresh room's tick is clearly lower.
    let mut alpha_tick = alpha.next_snapshot().await.expect("snapshot");
    while alpha_tick.0 < 30 {
        alpha_tick = alpha.next_snapshot().await.expect("snapshot");
    }

    alpha.close().await;
    timeout(SOON, async {
        while names(&rooms(&server).await) != ["default"] {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the empty room closes");

    let mut again = Bot::connect(&server.room_url("alpha", None), "a2")
        .await
        .expect("joins a fresh alpha");
    let fresh_tick = again.next_snapshot().await.expect("snapshot");
    assert!(
        fresh_tick.0 < alpha_tick.0,
        "a new world starts at tick 0 (old room was at {alpha_tick}, new one at {fresh_tick})"
    );
    lobby
        .next_snapshot()
        .await
        .expect("the default room kept going");
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_past_the_room_limits_get_typed_rejections() {
    let mut config = test_config();
    config.limits.max_rooms = 1;
    config.limits.max_clients = 1;
    let server = TestServer::start_with(config).await;
    let mut first = Bot::connect(&server.room_url("only", None), "first")
        .await
        .expect("joins");
    first.next_snapshot().await.expect("snapshot");

    let cases = [
        (server.room_url("only", None), RejectReason::RoomFull),
        (server.room_url("another", None), RejectReason::TooManyRooms),
    ];
    for (url, expected) in cases {
        match Bot::connect(&url, "late").await {
            Err(BotError::Rejected(reason)) => assert_eq!(reason, expected, "{url}"),
            other => panic!("{url}: expected {expected:?}, got {other:?}"),
        }
    }
    first.close().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_join_naming_an_unknown_scenario_is_rejected_and_bad_room_names_get_400() {
    let server = TestServer::start().await;
    let url = server.room_url("r", Some("no-such-scenario"));
    match Bot::connect(&url, "x").await {
        Err(BotError::Rejected(reason)) => assert_eq!(reason, RejectReason::UnknownScenario),
        other => panic!("expected UnknownScenario, got {other:?}"),
    }
    for path in ["/ws/bad%20name", "/ws/a/b", "/ws/r?scenario=x&other=1"] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    server.stop().await.expect("clean stop");
}

/// Server config whose named config `name` is the default config with a fault.
fn config_with_faulty_scenario(name: &str, fault: impl FnOnce(&mut GameConfig)) -> ServerConfig {
    let mut config = test_config();
    let mut faulty = config.game.clone();
    faulty.name = name.into();
    fault(&mut faulty);
    config.configs.insert(name.into(), faulty);
    config
}

/// An observer plays in room `calm` while a client joins room `doomed` with `scenario` and is
/// closed; then `extra` more snapshots. Returns the observer's ticks and the victim's close.
async fn observe_a_room_failing(
    server: &TestServer,
    scenario: &str,
    extra: usize,
) -> (Vec<Tick>, (u16, String)) {
    let mut observer = Bot::connect(&server.room_url("calm", None), "observer")
        .await
        .expect("observer joins");
    observer.next_snapshot().await.expect("first snapshot");
    let mut doomed = raw_connect(&server.room_url("doomed", Some(scenario))).await;
    join(&mut doomed, "doomed").await;
    let victim = tokio::spawn(async move { expect_close(&mut doomed).await });
    let mut ticks = Vec::new();
    while !victim.is_finished() {
        ticks.push(
            observer
                .next_snapshot()
                .await
                .expect("observer keeps receiving"),
        );
    }
    for _ in 0..extra {
        ticks.push(
            observer
                .next_snapshot()
                .await
                .expect("observer keeps receiving"),
        );
    }
    observer.close().await;
    (ticks, victim.await.expect("victim task"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_whose_game_code_panics_closes_alone_with_1011() {
    // About a second in at 30 Hz: the observer is in its stride by then.
    let config = config_with_faulty_scenario("crash", |s| s.panic_at_tick = Some(30));
    let server = TestServer::start_with(config).await;
    // A second more of the calm room after the crash.
    let (ticks, (code, reason)) = observe_a_room_failing(&server, "crash", 30).await;
    assert_eq!(code, close_code::INTERNAL_ERROR, "{reason}");
    assert_eq!(reason, "room closed after an internal error");
    assert_contiguous(&ticks);
    assert_eq!(
        names(&rooms(&server).await),
        ["calm"],
        "the failed room is gone"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("tickwire_kicks_total{code=\"1011\"} 1"),
        "{metrics}"
    );

    // The name is free again: a new join gets a fresh room.
    let mut again = raw_connect(&server.room_url("doomed", None)).await;
    join(&mut again, "again").await;
    assert!(matches!(
        next_server_message(&mut again).await,
        Some(ServerMessage::Snapshot(_))
    ));
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_slower_than_its_tick_rate_is_closed_with_1011_and_the_others_play_on() {
    // Every tick takes longer than the 33 ms period.
    let mut config = config_with_faulty_scenario("sluggish", |s| {
        s.tick_delay = Some(Duration::from_millis(45))
    });
    config.limits.slow_room_timeout_ms = 500;
    let server = TestServer::start_with(config).await;
    let (ticks, (code, reason)) = observe_a_room_failing(&server, "sluggish", 0).await;
    assert_eq!(code, close_code::INTERNAL_ERROR, "{reason}");
    assert_eq!(
        reason,
        "room closed: its ticks stayed slower than its tick rate"
    );
    assert_contiguous(&ticks);
    assert_eq!(names(&rooms(&server).await), ["calm"]);
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_room_holds_up_no_other_room() {
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        // One room thread: a stalled tick delays every room (docs/ARCHITECTURE.md says so).
        eprintln!("skipped: one core, one room thread");
        return;
    }
    // Every tick of `stalled` sleeps 300 ms, nine tick periods, on whichever thread runs it.
    let mut config = config_with_faulty_scenario("stalled", |s| {
        s.tick_delay = Some(Duration::from_millis(300))
    });
    config.limits.slow_room_timeout_ms = 600_000;
    let server = TestServer::start_with(config).await;
    let mut stalled = raw_connect(&server.room_url("stalled", Some("stalled"))).await;
    join(&mut stalled, "stalled").await;
    let mut observers = Vec::new();
    for i in 0..4 {
        let url = server.room_url(&format!("calm-{i}"), None);
        observers.push(Bot::spectate(&url, "observer").await.expect("joins"));
    }
    // Two seconds of every calm room, the stalled one ticking all along.
    for observer in &mut observers {
        while observer.next_snapshot().await.expect("snapshot").0 < 60 {}
    }
    let listed = rooms(&server).await;
    for room in listed.iter().filter(|r| r["room"] != "stalled") {
        assert_eq!(room["overruns"], 0, "a calm room fell behind: {room}");
    }
    let stalled_room = listed
        .iter()
        .find(|r| r["room"] == "stalled")
        .expect("the stalled room is open");
    assert!(
        stalled_room["overruns"].as_u64().is_some_and(|n| n > 0),
        "{stalled_room}"
    );
    for observer in observers {
        observer.close().await;
    }
    server.stop().await.expect("clean stop");
}
