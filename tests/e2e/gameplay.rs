//! The game as two players see it: movement, each other, projectiles, leaving.

use crate::util::{SOON, TestServer};
use tickwire_arena::{Buttons, Controls, EntityKind};
use tickwire_bot::Bot;
use tokio::time::{Instant, timeout};

/// Reads snapshots until `done` holds for the bot's world.
async fn until(bot: &mut Bot, what: &str, done: impl Fn(&Bot) -> bool) {
    timeout(SOON, async {
        while !done(bot) {
            bot.next_snapshot().await.expect("snapshots keep coming");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

#[tokio::test]
async fn players_see_each_other() {
    let server = TestServer::start().await;
    let mut a = Bot::connect(&server.url, "a").await.expect("a joins");
    let mut b = Bot::connect(&server.url, "b").await.expect("b joins");
    let (pa, pb) = (
        a.player().expect("joined as a player"),
        b.player().expect("joined as a player"),
    );
    assert_ne!(pa, pb);
    until(&mut a, "a sees b", |a| {
        tickwire_arena::client::entity(a.world(), pb).is_some_and(|e| e.kind == EntityKind::Player)
    })
    .await;
    until(&mut b, "b sees a", |b| {
        tickwire_arena::client::entity(b.world(), pa).is_some_and(|e| e.kind == EntityKind::Player)
    })
    .await;
}

#[tokio::test]
async fn an_input_moves_the_player_exactly_as_the_shared_rules_say_in_another_bots_world() {
    let server = TestServer::start().await;
    let mut mover = Bot::connect(&server.url, "mover").await.expect("joins");
    let mut watcher = Bot::connect(&server.url, "watcher").await.expect("joins");
    let id = mover.player().expect("joined as a player");
    until(&mut watcher, "watcher sees the mover", |w| {
        tickwire_arena::client::entity(w.world(), id).is_some()
    })
    .await;
    mover.next_snapshot().await.expect("snapshot");
    let start = tickwire_arena::client::entity(mover.world(), id)
        .expect("own player")
        .pos;
    let rules = tickwire_arena::client::movement(mover.session()).expect("the arena's rules");
    // Head for the middle so no wall interferes.
    let intent = Controls {
        move_x: if start.x < rules.max.x / 2 { 127 } else { -127 },
        move_y: 0,
        aim: 0,
        buttons: tickwire_arena::Buttons::default(),
    };
    let mut expected = start;
    let mut last_sequence = 0;
    for _ in 0..10 {
        last_sequence = mover
            .send_input(&intent.frame(0))
            .await
            .expect("input sent");
        let frame = tickwire_arena::InputFrame {
            sequence: last_sequence,
            move_x: intent.move_x,
            move_y: 0,
            aim: 0,
            buttons: tickwire_arena::Buttons::default(),
        };
        expected = rules.step(expected, &frame);
    }
    assert_ne!(expected, start);
    until(&mut mover, "the server applied all ten inputs", |m| {
        m.world().last_input() == last_sequence
    })
    .await;
    let server_pos = tickwire_arena::client::entity(mover.world(), id)
        .expect("own player")
        .pos;
    assert_eq!(
        server_pos, expected,
        "the server ran the shared movement rules"
    );
    until(&mut watcher, "the watcher sees the new position", |w| {
        tickwire_arena::client::entity(w.world(), id).is_some_and(|e| e.pos == expected)
    })
    .await;
}

#[tokio::test]
async fn projectiles_appear_and_disappear() {
    let server = TestServer::start().await;
    let mut shooter = Bot::connect(&server.url, "shooter").await.expect("joins");
    let mut watcher = Bot::connect(&server.url, "watcher").await.expect("joins");
    let fire = Controls {
        buttons: Buttons(Buttons::FIRE),
        ..Controls::default()
    };
    shooter.send_input(&fire.frame(0)).await.expect("fired");
    let projectile = |w: &Bot| {
        tickwire_arena::client::entities(w.world())
            .find(|(_, e)| e.kind == EntityKind::Projectile)
            .map(|(id, _)| id)
    };
    until(&mut watcher, "a projectile appears", |w| {
        projectile(w).is_some()
    })
    .await;
    let id = projectile(&watcher).expect("seen");
    let appeared = Instant::now();
    until(&mut watcher, "the projectile disappears", |w| {
        tickwire_arena::client::entity(w.world(), id).is_none()
    })
    .await;
    // It lives at most its lifetime (1.5 s in the arena), plus scheduling slack.
    assert!(
        appeared.elapsed().as_secs_f32() < 3.0,
        "took {:?}",
        appeared.elapsed()
    );
}

#[tokio::test]
async fn a_disconnect_despawns_the_player() {
    let server = TestServer::start().await;
    let leaver = Bot::connect(&server.url, "leaver").await.expect("joins");
    let mut watcher = Bot::connect(&server.url, "watcher").await.expect("joins");
    let id = leaver.player().expect("joined as a player");
    until(&mut watcher, "the watcher sees the leaver", |w| {
        tickwire_arena::client::entity(w.world(), id).is_some()
    })
    .await;
    leaver.close().await;
    until(&mut watcher, "the leaver's player is gone", |w| {
        tickwire_arena::client::entity(w.world(), id).is_none()
    })
    .await;
}
