//! The race through the public API, as a server room runs it: laps counted by the server, and
//! a car predicted with the shared step landing exactly where the server puts it.

use tickwire_game::{GameConfig, Games, HostedGame};
use tickwire_race::{Car, Drive, Progress, Race, RaceRules, RaceStep};
use tickwire_shared::component::{Component, Input};
use tickwire_shared::{EntityId, SharedStep, codec};

/// A room on the short test track (two checkpoints 240 units apart along x).
fn short_track() -> Box<dyn HostedGame> {
    let config = GameConfig::parse(include_str!("../configs/race-short.toml")).expect("a config");
    Games::new()
        .with::<Race>()
        .start(&config, 8)
        .expect("the race starts")
}

fn component<C: Component>(room: &dyn HostedGame, car: EntityId) -> C {
    room.world()
        .get(car)
        .and_then(|data| data.component::<C>(room.layout()))
        .expect("the car has it")
}

fn drive(room: &mut dyn HostedGame, car: EntityId, throttle: i8, steer: i8) {
    let mut lanes = Vec::new();
    Drive { throttle, steer }.write(&mut lanes);
    room.step();
    assert!(room.input(car, &lanes), "a valid input");
}

#[test]
fn a_lap_counts_after_every_checkpoint_in_order() {
    let mut room = short_track();
    let car = room.join("ann").expect("a car");
    assert_eq!(
        component::<Progress>(&*room, car),
        Progress {
            laps: 0,
            next_checkpoint: 1
        }
    );
    // Forward along +x through the second checkpoint into the far wall...
    for _ in 0..60 {
        drive(&mut *room, car, 127, 0);
    }
    assert_eq!(component::<Progress>(&*room, car).next_checkpoint, 0);
    // ...then back in reverse over the finish line.
    let mut ticks = 0;
    while component::<Progress>(&*room, car).laps == 0 {
        drive(&mut *room, car, -127, 0);
        ticks += 1;
        assert!(
            ticks < 300,
            "the car reversed over the line: {:?}",
            component::<Car>(&*room, car)
        );
    }
    assert_eq!(component::<Progress>(&*room, car).next_checkpoint, 1);
}

#[test]
fn a_predicted_car_lands_exactly_where_the_server_puts_it() {
    let mut room = short_track();
    let car = room.join("ann").expect("a car");
    // What a client gets in the Welcome's schema.
    let rules: RaceRules = codec::decode_rules(&room.layout().schema().rules).expect("rules");
    let mut predicted: Car = component(&*room, car);
    for tick in 0..240_i32 {
        let input = Drive {
            throttle: [127, 60, 0, -127][(tick / 40 % 4) as usize],
            steer: ((tick * 37) % 255 - 127) as i8,
        };
        let mut lanes = Vec::new();
        input.write(&mut lanes);
        room.step();
        assert!(room.input(car, &lanes));
        RaceStep::step(&rules, &mut predicted, &input);
        assert_eq!(component::<Car>(&*room, car), predicted, "tick {tick}");
    }
}

#[test]
fn the_default_config_and_every_shipped_config_start() {
    let games = Games::new().with::<Race>();
    games
        .check(&games.default_config("race").expect("parses"))
        .expect("starts");
    let short = GameConfig::parse(include_str!("../configs/race-short.toml")).expect("parses");
    games.check(&short).expect("starts");
    let mut bad = short;
    bad.settings["track"]
        .as_table_mut()
        .expect("a table")
        .insert("checkpoints".into(), toml::Value::Array(Vec::new()));
    assert!(games.check(&bad).is_err(), "a track without checkpoints");
}
