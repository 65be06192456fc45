//! The games a server serves, over real sockets: a join picks a game, a game nobody plays seats
//! everyone as a spectator, and a client with the race's step compiled in predicts its car
//! exactly.

use crate::util::{SOON, TestServer, test_config};
use tickwire_bot::{Bot, BotError};
use tickwire_race::{Car, Drive};
use tickwire_shared::RejectReason;
use tokio::time::timeout;

#[tokio::test]
async fn a_join_picks_the_game_of_a_new_room_and_must_match_an_open_one() {
    let mut config = test_config();
    let parity = config
        .games
        .default_config("parity")
        .expect("parity's config");
    config.configs.insert("parity-320".into(), parity);
    let server = TestServer::start_with(config).await;
    let url = |room: &str, query: &str| format!("ws://{}/ws/{room}?{query}", server.addr);
    let race = Bot::connect(&url("track", "game=race"), "ann")
        .await
        .expect("joins");
    let schema = race.world().layout().expect("the schema").schema();
    assert_eq!(schema.game, "race");
    // The same room under another game's name is refused; an unknown game too.
    for (query, reason) in [
        ("game=arena", RejectReason::GameMismatch),
        ("game=chess", RejectReason::UnknownGame),
    ] {
        let room = if query == "game=arena" {
            "track"
        } else {
            "other"
        };
        match Bot::connect(&url(room, query), "bob").await {
            Err(BotError::Rejected(got)) => assert_eq!(got, reason, "{query}"),
            other => panic!("{query}: expected {reason:?}, got {other:?}"),
        }
    }
    // A config of one game asked for under another's name, for a new room or the open one.
    for (room, query) in [
        ("new", "game=race&scenario=parity-320"),
        ("track", "scenario=parity-320"),
    ] {
        match Bot::connect(&url(room, query), "cy").await {
            Err(BotError::Rejected(got)) => assert_eq!(got, RejectReason::GameMismatch, "{query}"),
            other => panic!("{room}?{query}: expected GameMismatch, got {other:?}"),
        }
    }
    // The config alone opens a room of its game.
    let watcher = Bot::connect(&url("bench", "scenario=parity-320"), "dee")
        .await
        .expect("joins");
    let schema = watcher.world().layout().expect("the schema").schema();
    assert_eq!(schema.game, "parity");
}

#[tokio::test]
async fn a_game_nobody_plays_seats_a_player_as_a_spectator() {
    let server = TestServer::start().await;
    let url = format!("ws://{}/ws/bench?game=parity", server.addr);
    let mut bot = Bot::connect(&url, "would-play").await.expect("joins");
    assert_eq!(bot.player(), None, "the Welcome names no player");
    bot.next_snapshot().await.expect("snapshots flow");
    assert_eq!(bot.world().state().len(), 320, "parity-320's props");
    assert!(
        matches!(
            bot.send_input(&Drive::default()).await,
            Err(BotError::Protocol(_))
        ),
        "a spectator has nothing to move"
    );
}

#[tokio::test]
async fn a_race_client_predicts_its_car_exactly() {
    let server = TestServer::start().await;
    let url = format!("ws://{}/ws/track?game=race", server.addr);
    let mut bot = Bot::connect(&url, "ann").await.expect("joins");
    let me = bot.player().expect("a car");
    assert!(
        bot.session().prediction().predictor().is_some(),
        "the bots know the race's step"
    );
    bot.next_snapshot().await.expect("a snapshot");
    let layout = bot.world().layout().expect("the schema").clone();
    let car = |bot: &Bot| {
        bot.world()
            .state()
            .get(me)
            .and_then(|e| e.component::<Car>(&layout))
            .expect("my car")
    };
    let start = car(&bot).pos;
    // Throttle and a little steering for a while, then let go until every input is confirmed.
    let gas = Drive {
        throttle: 127,
        steer: 30,
    };
    for _ in 0..45 {
        bot.update(&gas).await.expect("sent");
        bot.next_snapshot().await.expect("snapshots keep coming");
    }
    let coast = Drive::default();
    timeout(SOON, async {
        loop {
            bot.update(&coast).await.expect("sent");
            bot.next_snapshot().await.expect("snapshots keep coming");
            let sent = bot.session().stats().inputs_sent;
            if u64::from(bot.world().last_input()) == sent {
                break;
            }
        }
    })
    .await
    .expect("every input confirmed");
    let server_car = car(&bot);
    assert_ne!(server_car.pos, start, "the car drove");
    let mut lanes = Vec::new();
    tickwire_shared::component::Component::write(&server_car, &mut lanes, &mut Vec::new());
    assert_eq!(
        bot.session().prediction().state(),
        Some(&lanes[..]),
        "the prediction is the server's car"
    );
    let stats = bot.session().stats();
    assert_eq!((stats.corrections, stats.desyncs), (0, 0));
}
