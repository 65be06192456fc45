//! The arena through the public API, as a server room runs it.

use tickwire_arena::entities::Body;
use tickwire_arena::{Arena, ArenaStep, Buttons, InputFrame, MovementRules};
use tickwire_game::{GameConfig, Games, HostedGame};
use tickwire_shared::{EntityId, SharedStep, codec};

fn arena() -> Box<dyn HostedGame> {
    let games = Games::new().with::<Arena>();
    let mut config = games.default_config("arena").expect("a config");
    config.settings.insert("seed".into(), 7.into());
    games.start(&config, 64).expect("the arena starts")
}

fn body(room: &dyn HostedGame, id: EntityId) -> Option<Body> {
    room.world().get(id)?.component::<Body>(room.layout())
}

fn count(room: &dyn HostedGame, kind: &str) -> usize {
    let kind = room.layout().kind_index(kind).expect("a kind");
    room.world().iter().filter(|(_, e)| e.kind == kind).count()
}

#[test]
fn a_fired_projectile_flies_and_expires() {
    let mut room = arena();
    let player = room.join("ann").expect("a player");
    let fire = InputFrame {
        buttons: Buttons(Buttons::FIRE),
        ..InputFrame::default()
    };
    room.step();
    assert!(room.input(player, &fire.to_lanes()));
    assert_eq!(count(&*room, "projectile"), 1);
    let kind = room.layout().kind_index("projectile").expect("a kind");
    let (id, launched) = room
        .world()
        .iter()
        .find(|(_, e)| e.kind == kind)
        .map(|(id, e)| (id, e.clone()))
        .expect("the projectile");
    let before = room.world().clone();
    for _ in 0..10 {
        room.step();
    }
    // Ballistic: while it flies its replicated data does not change, so no delta carries it.
    assert_eq!(room.world().get(id), Some(&launched));
    let delta = before.diff(room.world(), room.layout());
    assert!(
        delta.changed.iter().all(|c| c.id != id) && !delta.removed.contains(&id),
        "ten ticks of flight cost nothing"
    );
    // Lifetime 1500 ms at 30 Hz.
    for _ in 0..36 {
        room.step();
    }
    assert_eq!(count(&*room, "projectile"), 0);
}

#[test]
fn a_predicted_player_lands_exactly_where_the_server_puts_it() {
    let mut room = arena();
    let player = room.join("ann").expect("a player");
    let rules: MovementRules = codec::decode_rules(&room.layout().schema().rules).expect("rules");
    let mut predicted = body(&*room, player).expect("a body");
    for tick in 0..300_i32 {
        let input = InputFrame {
            move_x: ((tick * 53) % 255 - 127) as i8,
            move_y: ((tick * 29) % 255 - 127) as i8,
            aim: (tick * 1000) as u16,
            ..InputFrame::default()
        };
        room.step();
        assert!(room.input(player, &input.to_lanes()));
        ArenaStep::step(&rules, &mut predicted, &input);
        assert_eq!(body(&*room, player), Some(predicted.clone()), "tick {tick}");
    }
}

#[test]
fn nonsense_configs_are_refused() {
    let games = Games::new().with::<Arena>();
    let text = include_str!("../configs/arena.toml");
    games
        .check(&GameConfig::parse(text).expect("parses"))
        .expect("the shipped config starts");
    assert!(GameConfig::parse(&text.replace("tick_rate = 30", "tick_rate = 0")).is_err());
    let nan = GameConfig::parse(&text.replace("speed = 200.0", "speed = nan")).expect("parses");
    assert!(games.check(&nan).is_err());
    let typo = GameConfig::parse(&text.replace("[drones]", "[drone]")).expect("parses");
    assert!(games.check(&typo).is_err(), "an unknown section");
    let fast = text.replace("speed = 600.0", "speed = 1e7");
    let fast = GameConfig::parse(&fast).expect("parses");
    assert!(
        games.check(&fast).is_err(),
        "projectiles past a trajectory's velocity"
    );
}
