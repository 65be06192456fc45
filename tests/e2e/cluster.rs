//! Rooms across nodes (`--directory`), on a real redis-server and three servers on loopback:
//! bots entering one room through every node all play on its one owner, redirected there, with
//! the same world at every tick; `/rooms/ROOM/locate` names that owner on every node; and a node
//! cut off from Redis stops its room (close 1012) before its lease could pass to another node.

use crate::redis_server::RedisServer;
use crate::util::{TestServer, test_config};
use std::collections::BTreeMap;
use std::time::Duration;
use tickwire_bot::{Bot, BotError};
use tickwire_server::cluster::lease_store::Node;
use tickwire_server::config::{ClusterConfig, ServerConfig};
use tickwire_shared::close_code;
use tokio::net::TcpListener;
use tokio::time::sleep;

async fn node(redis: &RedisServer, id: &str, lease_ttl: Duration) -> TestServer {
    node_with(redis, id, lease_ttl, test_config()).await
}

/// A node of a cluster on `redis` with `config`, on a free loopback port.
pub(crate) async fn node_with(
    redis: &RedisServer,
    id: &str,
    lease_ttl: Duration,
    mut config: ServerConfig,
) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    config.cluster = Some(ClusterConfig {
        directory: redis.url(),
        node: Node {
            id: id.into(),
            url: format!("ws://{addr}"),
        },
        lease_ttl,
        save_every: ClusterConfig::DEFAULT_SAVE_EVERY,
    });
    TestServer::start_on(listener, config, false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_entering_one_room_through_three_nodes_all_play_on_its_one_owner() {
    let redis = RedisServer::start().await;
    let ttl = ClusterConfig::DEFAULT_LEASE_TTL;
    let nodes = [
        node(&redis, "a", ttl).await,
        node(&redis, "b", ttl).await,
        node(&redis, "c", ttl).await,
    ];
    // 30 bots at once, 10 through each node.
    let joins: Vec<_> = (0..30)
        .map(|i| {
            let url = nodes[i % 3].room_url("big", None);
            tokio::spawn(async move { Bot::connect(&url, &format!("bot{i}")).await })
        })
        .collect();
    let mut bots = Vec::new();
    for join in joins {
        bots.push(join.await.expect("the task runs").expect("every bot joins"));
    }

    // One owner: the room is open on exactly one node, with every bot in it.
    let mut owners = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let rooms = node.room_players().await;
        if !rooms.is_empty() {
            assert_eq!(rooms, vec![("big".to_owned(), 30)], "node {i}");
            owners.push(i);
        }
    }
    assert_eq!(owners.len(), 1, "exactly one node runs the room");
    let owner = owners[0];
    let owner_url = format!("ws://{}/ws/big", nodes[owner].addr);
    // Every node locates it there, at epoch 1.
    for node in &nodes {
        let (status, body) = node.get("/rooms/big/locate").await;
        assert_eq!(status, 200, "{body}");
        let located: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(located["url"], owner_url.as_str());
        assert_eq!(located["epoch"], 1);
        assert_eq!(located["node"], ["a", "b", "c"][owner]);
    }
    assert_eq!(nodes[0].get("/rooms/nowhere/locate").await.0, 404);
    // Bots that came in through another node were redirected once; the others never.
    for (i, bot) in bots.iter().enumerate() {
        let expected = u64::from(i % 3 != owner);
        assert_eq!(bot.stats().redirects, expected, "bot {i}");
    }

    // They play in one world: at every tick, every bot holds the same checksum.
    let mut checksums: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for _ in 0..20 {
        for bot in &mut bots {
            let tick = bot.next_snapshot().await.expect("plays");
            let checksum = bot.world().state().checksum().0;
            checksums.entry(tick.0).or_default().push(checksum);
        }
    }
    let compared = checksums.values().filter(|c| c.len() > 1).count();
    assert!(compared > 0, "some ticks were seen by several bots");
    for (tick, sums) in &checksums {
        assert!(
            sums.windows(2).all(|w| w[0] == w[1]),
            "tick {tick}: {sums:?}"
        );
    }
    assert!(bots.iter().all(|b| b.stats().desyncs == 0));

    // Each node's figures say the same: the owner took one lease and holds it; the others
    // redirected the 20 bots that came through them.
    let metric = |text: &str, name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut redirected = 0.0;
    for (i, node) in nodes.iter().enumerate() {
        let (_, text) = node.get("/metrics").await;
        let taken = metric(&text, "tickwire_leases_taken_total ");
        let held = metric(&text, "tickwire_leases_held ");
        assert_eq!(
            (taken, held),
            if i == owner { (1.0, 1.0) } else { (0.0, 0.0) },
            "node {i}"
        );
        redirected += metric(&text, "tickwire_redirects_total ");
    }
    assert_eq!(redirected, 20.0);
    println!(
        "30 bots through 3 nodes on node {owner}: {compared} ticks compared across bots, 0 desyncs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_stops_its_room_before_its_lease_can_pass_on() {
    let redis = RedisServer::start().await;
    let ttl = Duration::from_millis(900);
    let a = node(&redis, "a", ttl).await;
    let mut bot = Bot::connect(&a.room_url("lonely", None), "bot")
        .await
        .expect("joins");
    bot.next_snapshot().await.expect("plays");
    // Renewals go on while Redis answers: the room outlives several TTLs.
    let until = tokio::time::Instant::now() + ttl * 3;
    while tokio::time::Instant::now() < until {
        bot.next_snapshot().await.expect("still playing");
    }
    let cut = tokio::time::Instant::now();
    drop(redis);
    let closed = loop {
        match bot.next_snapshot().await {
            Ok(_) => continue,
            Err(error) => break error,
        }
    };
    let after = cut.elapsed();
    assert!(
        matches!(&closed, BotError::Closed { code, .. } if *code == close_code::SERVICE_RESTART),
        "closed with 1012, not {closed:?}"
    );
    // Its last renewal was at most a third of the TTL before the cut: it stopped by then.
    assert!(
        after < ttl,
        "the room stopped {after:?} after the cut, past the {ttl:?} TTL"
    );
    println!("cut off from redis: the room stopped after {after:?} (TTL {ttl:?}): {closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_places_a_new_room_on_the_least_loaded_ready_node() {
    let redis = RedisServer::start().await;
    let ttl = Duration::from_millis(900);
    let mut one_room = test_config();
    one_room.limits.max_rooms = 1;
    let a = node_with(&redis, "a", ttl, one_room).await;
    let b = node(&redis, "b", ttl).await;
    let _first = Bot::connect(&a.room_url("first", None), "one")
        .await
        .expect("joins");
    // Until node b has announced itself (at its start), node a, full, has nowhere to send a
    // new room and refuses it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let second = loop {
        match Bot::connect(&a.room_url("second", None), "two").await {
            Ok(bot) => break bot,
            Err(error) => assert!(tokio::time::Instant::now() < deadline, "{error}"),
        }
        sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(second.stats().redirects, 1, "sent on to node b");
    assert_eq!(a.room_players().await, vec![("first".to_owned(), 1)]);
    assert_eq!(b.room_players().await, vec![("second".to_owned(), 1)]);
    let (_, located) = a.get("/rooms/second/locate").await;
    let located: serde_json::Value = serde_json::from_str(&located).expect("JSON");
    assert_eq!(
        (located["node"].as_str(), located["epoch"].as_u64()),
        (Some("b"), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_redis_restarts_from_its_append_only_file_the_room_is_taken_over_at_a_higher_epoch() {
    let mut redis = RedisServer::start_durable().await;
    let ttl = Duration::from_millis(900);
    let a = node(&redis, "a", ttl).await;
    let b = node(&redis, "b", ttl).await;
    let mut bot = Bot::connect(&a.room_url("kept", None), "bot")
        .await
        .expect("joins");
    let player = bot.player();
    // Long enough for a save (every second) to hold the bot's seat.
    let saved = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < saved {
        bot.next_snapshot().await.expect("plays");
    }
    // Redis crashes, and stays down until node a has stopped the room at its lease's deadline.
    redis.crash();
    let closed = loop {
        if let Err(error) = bot.next_snapshot().await {
            break error;
        }
    };
    assert!(
        matches!(&closed, BotError::Closed { code, .. } if *code == close_code::SERVICE_RESTART),
        "{closed:?}"
    );
    redis.restart().await;
    // The lease runs out in Redis shortly after node a stopped: until then node b sends the
    // bot to node a, which holds nothing to give it. Resume until the room is taken over.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match bot.resume(&b.room_url("kept", None)).await {
            Ok(()) => break,
            Err(error) => assert!(tokio::time::Instant::now() < deadline, "{error}"),
        }
        sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        bot.player(),
        player,
        "the same player, from the save in the file"
    );
    bot.next_snapshot().await.expect("plays again");
    // The resume took the room over on whichever node it reached once the lease had run out
    // (node b, or node a through b's redirect): at the next epoch, on one node only.
    let mut owners = Vec::new();
    for (id, node) in [("a", &a), ("b", &b)] {
        let (_, located) = node.get("/rooms/kept/locate").await;
        let located: serde_json::Value = serde_json::from_str(&located).expect("JSON");
        assert_eq!(
            located["epoch"], 2,
            "the epoch counter survived the restart"
        );
        owners.push(located["node"].as_str().map(str::to_owned));
        if !node.room_players().await.is_empty() {
            owners.push(Some(id.to_owned()));
        }
    }
    assert!(
        owners.len() == 3 && owners.windows(2).all(|w| w[0] == w[1]),
        "one owner, located by both nodes: {owners:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_hands_every_room_on_and_the_next_owner_goes_on_from_the_next_tick() {
    let redis = RedisServer::start().await;
    let ttl = Duration::from_millis(900);
    let mut a = node(&redis, "a", ttl).await;
    let b = node(&redis, "b", ttl).await;
    let mut bots = Vec::new();
    for room in ["r0", "r1", "r2"] {
        for name in ["x", "y"] {
            let bot = Bot::connect(&a.room_url(room, None), name)
                .await
                .expect("joins");
            bots.push((room, bot));
        }
    }
    for (_, bot) in &mut bots {
        bot.next_snapshot().await.expect("plays");
    }
    a.begin_shutdown();
    for (room, bot) in &mut bots {
        let player = bot.player();
        let closed = crate::util::until_lost(bot).await;
        assert!(
            matches!(&closed, BotError::Closed { code, .. } if *code == close_code::SERVICE_RESTART),
            "told to resume elsewhere: {closed:?}"
        );
        let last = bot.world().tick().expect("a tick");
        bot.resume(&b.room_url(room, None))
            .await
            .expect("resumes on b at once: the drain gave the lease up");
        assert_eq!(bot.player(), player, "the same player");
        let next = bot.next_snapshot().await.expect("plays on b");
        assert!(next.0 > last.0, "{room}: tick {next:?} after {last:?}");
    }
    a.stop().await.expect("the drained node stops cleanly");
    let mut rooms = b.room_players().await;
    rooms.sort();
    assert_eq!(
        rooms,
        [
            ("r0".to_owned(), 2),
            ("r1".to_owned(), 2),
            ("r2".to_owned(), 2)
        ]
    );
    for room in ["r0", "r1", "r2"] {
        let (_, located) = b.get(&format!("/rooms/{room}/locate")).await;
        let located: serde_json::Value = serde_json::from_str(&located).expect("JSON");
        assert_eq!(
            (located["node"].as_str(), located["epoch"].as_u64()),
            (Some("b"), Some(2))
        );
    }
}
