//! Inputs as the game's schema declares them: a client that knows nothing of the arena sends
//! lanes drawn from the Welcome's input fields, and the server applies them.

use crate::util::{SOON, TestServer};
use std::time::Duration;
use tickwire_bot::{Behaviour, Bot, BotConfig, Link, run_bots};
use tokio::time::timeout;

#[tokio::test]
async fn lanes_from_the_input_schema_move_the_player() {
    let server = TestServer::start().await;
    let mut bot = Bot::connect(&server.url, "lanes").await.expect("joins");
    let me = bot.player().expect("a player");
    let layout = bot.world().layout().expect("the Welcome's schema").clone();
    let fields: Vec<&str> = layout
        .schema()
        .input
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(fields, ["move_x", "move_y", "aim", "buttons"]);
    bot.next_snapshot().await.expect("a snapshot");
    let start = tickwire_arena::client::entity(bot.world(), me)
        .expect("own player")
        .pos;
    // Full speed toward +x, by the schema's field order, until the server shows a move.
    let moved = timeout(SOON, async {
        loop {
            bot.update_lanes(Some(&[127, 0, 0, 0])).await.expect("sent");
            bot.next_snapshot().await.expect("snapshots keep coming");
            let now = tickwire_arena::client::entity(bot.world(), me)
                .expect("own player")
                .pos;
            if now.x > start.x {
                break now;
            }
        }
    })
    .await
    .expect("the player moves");
    assert_eq!(moved.y, start.y, "no move on y");
    assert!(
        bot.world().last_input() > 0,
        "the server applied our inputs"
    );
    assert_eq!(bot.stats().desyncs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_walking_the_input_schema_at_random_are_never_refused() {
    let server = TestServer::start().await;
    let summary = run_bots(&BotConfig {
        urls: vec![server.url.clone()],
        rooms: None,
        tokens: Vec::new(),
        tls: None,
        bots: 10,
        duration: Duration::from_secs(3),
        behaviour: Behaviour::Walk,
        link: Link::default(),
        progress: false,
    })
    .await;
    // An input outside the schema would close the bot with 4004: an error.
    assert_eq!(summary.connected, 10, "{summary}");
    assert_eq!(summary.errors, 0, "{summary}");
    assert_eq!(summary.desyncs, 0, "{summary}");
    assert!(summary.success(), "{summary}");
    server.stop().await.expect("clean stop");
}
