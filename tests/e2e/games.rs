//! The games a server serves, over real sockets: a join picks a game, a game nobody plays seats
//! everyone as a spectator, a client with the race's step compiled in predicts its car
//! exactly, and in a game with per-client visibility each player holds only what it sees.

use crate::util::{SOON, TestServer, set, test_config};
use tickwire_arena::InputFrame;
use tickwire_arena::entities::Body;
use tickwire_bot::{Bot, BotError};
use tickwire_race::{Car, Drive};
use tickwire_server::GameConfig;
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

#[tokio::test]
async fn with_a_view_radius_each_player_holds_exactly_what_is_near_it() {
    let mut config = test_config();
    let mut fog = GameConfig::parse(include_str!("../../examples/arena/configs/arena-fog.toml"))
        .expect("the arena-fog config");
    set(&mut fog, &["seed"], 7);
    let radius = crate::util::setting(&fog, &["player", "view_radius"]);
    config.configs.insert("arena-fog".into(), fog);
    let server = TestServer::start_with(config).await;
    let url = format!("ws://{}/ws/fog?scenario=arena-fog", server.addr);
    let mut player = Bot::connect(&url, "near").await.expect("joins");
    let mut watcher = Bot::spectate(&url, "all").await.expect("joins");
    let me = player.player().expect("a player");
    let layout = player.world().layout().expect("the schema").clone();
    // How far an entity is from the player, in world units.
    let distance = |world: &tickwire_shared::World, id| {
        let pos = |id| world.get(id)?.component::<Body>(&layout).map(|b| b.pos);
        let (a, b) = (pos(me)?, pos(id)?);
        let d = |i: usize| f64::from(a[i] - b[i]) / 64.0;
        Some(d(0).hypot(d(1)))
    };
    // Walk for a while, comparing the player's world with what the spectator holds at the
    // same tick: every snapshot's checksum is verified against what each client holds.
    let walk = InputFrame {
        move_x: 127,
        ..InputFrame::default()
    };
    let (mut compared, mut most_held) = (0, 0);
    let ids = |bot: &Bot| -> Vec<_> { bot.world().state().iter().map(|(id, _)| id).collect() };
    let mut held_before = ids(&player);
    timeout(SOON * 4, async {
        while compared < 20 {
            player.update(&walk).await.expect("sent");
            let tick = player.next_snapshot().await.expect("a snapshot");
            let held = ids(&player);
            let was_held = std::mem::replace(&mut held_before, held.clone());
            let behind = |w: &Bot| {
                w.world()
                    .tick()
                    .is_none_or(|t| t.wrapping_cmp(tick).is_lt())
            };
            while behind(&watcher) {
                watcher.next_snapshot().await.expect("a snapshot");
            }
            if watcher.world().tick() != Some(tick) {
                continue;
            }
            // In view: within the radius, or held already and within a tenth more.
            let everything = watcher.world().state();
            let seen: Vec<_> = everything
                .iter()
                .map(|(id, _)| id)
                .filter(|&id| {
                    distance(everything, id).is_some_and(|d| {
                        d <= radius || (d <= radius * 1.1 && was_held.contains(&id))
                    })
                })
                .collect();
            assert_eq!(held, seen, "tick {tick:?}: exactly the entities in view");
            assert!(held.len() < everything.len(), "not the whole arena");
            most_held = most_held.max(held.len());
            compared += 1;
        }
    })
    .await
    .expect("20 ticks compared");
    assert!(
        most_held > 1,
        "others came into view, not only the player itself"
    );
    for bot in [&player, &watcher] {
        assert_eq!(bot.session().stats().desyncs, 0);
    }
}
