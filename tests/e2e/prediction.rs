//! Client-side prediction against the real server: bots run the shared crate's client session
//! over a link conditioner and predict their own players.

use crate::util::TestServer;
use std::time::Duration;
use tickwire_arena::Controls;
use tickwire_bot::{Bot, BotEvent, Link};
use tokio::time::{Instant, MissedTickBehavior};

/// 80 ms ± 20 ms in each direction: a 160 ms round trip with 40 ms of spread.
const LAGGY: Link = Link {
    latency: Duration::from_millis(80),
    jitter: Duration::from_millis(20),
};

/// Full speed toward -x for 5.5 s (the arena is 1000 units wide at 200 units/s, so the player
/// reaches the wall and the rules clamp it), then a new direction every half second.
fn controls_at(frame: u32) -> Controls {
    let (move_x, move_y) = if frame < 165 {
        (-127, 0)
    } else {
        [(127, 0), (90, 90), (0, -127), (-90, 90), (60, -110)][(frame / 15 % 5) as usize]
    };
    Controls {
        move_x,
        move_y,
        ..Controls::default()
    }
}

#[tokio::test]
async fn predicted_players_match_the_server_exactly_over_a_laggy_link() {
    let server = TestServer::start().await;
    let mut bots = Vec::new();
    for i in 0..2 {
        let mut bot = Bot::connect(&server.url, &format!("laggy-{i}"))
            .await
            .expect("connect");
        bot.condition_link(LAGGY);
        bots.push(tokio::spawn(play(bot, Duration::from_secs(8))));
    }
    for bot in bots {
        let (bot, reached_wall) = bot.await.expect("bot task");
        let session = bot.session().stats();
        let stats = bot.stats();
        assert_eq!(stats.desyncs, 0);
        assert!(session.inputs_sent >= 200, "sent {}", session.inputs_sent);
        assert!(
            bot.world().last_input() + 12 >= session.inputs_sent as u32,
            "the server applied nearly all inputs: {} of {}",
            bot.world().last_input(),
            session.inputs_sent
        );
        assert!(reached_wall, "the player was clamped at the wall");
        assert_eq!(
            (stats.corrections, stats.prediction_error_max),
            (0, 0.0),
            "no correction of a prediction"
        );
        let rtt = stats.rtt_us.iter().max().copied().unwrap_or(0);
        assert!(rtt >= 120_000, "the link was conditioned: rtt max {rtt} us");
        bot.close().await;
    }
}

/// Plays like a frontend for `duration`: one update per tick, every frame handled. Returns the
/// bot and whether the server ever had its player at the arena's lowest x.
async fn play(mut bot: Bot, duration: Duration) -> (Bot, bool) {
    let me = bot.player().expect("a player");
    let min_x = tickwire_arena::client::movement(bot.session())
        .expect("the arena's rules")
        .min
        .x;
    let tick = Duration::from_secs_f64(1.0 / f64::from(bot.welcome().tick_rate));
    let mut frames = tokio::time::interval(tick);
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let (deadline, mut frame, mut reached_wall) = (Instant::now() + duration, 0, false);
    while Instant::now() < deadline {
        tokio::select! {
            _ = frames.tick() => {
                bot.update(&controls_at(frame).frame(0)).await.expect("update");
                frame += 1;
            }
            received = bot.receive_frame() => {
                let received = received.expect("frame");
                if let BotEvent::Snapshot(_) = bot.handle_frame(&received).await.expect("handled") {
                    reached_wall |= tickwire_arena::client::entity(bot.world(), me).is_some_and(|p| p.pos.x == min_x);
                }
            }
        }
    }
    (bot, reached_wall)
}
