//! The race's shared step on its own: handling, and the integer trigonometry it rests on.

use proptest::prelude::*;
use tickwire_race::{Car, Drive, RaceRules, RaceStep};
use tickwire_shared::SharedStep;

const RULES: RaceRules = RaceRules {
    max_speed: 10_240,
    reverse_speed: 2_730,
    acceleration: 273,
    drag: 136,
    turn_per_tick: 82,
    min: [0, 0],
    max: [76_800, 51_200],
};

const GAS: Drive = Drive {
    throttle: 127,
    steer: 0,
};

#[test]
fn full_throttle_reaches_top_speed_and_letting_go_coasts_to_a_stop() {
    let mut car = Car {
        pos: [1000, 25_600],
        heading: 0,
        speed: 0,
    };
    for _ in 0..100 {
        RaceStep::step(&RULES, &mut car, &GAS);
    }
    assert_eq!(car.speed, RULES.max_speed);
    for _ in 0..100 {
        RaceStep::step(&RULES, &mut car, &Drive::default());
    }
    assert_eq!(car.speed, 0);
}

#[test]
fn a_car_heading_along_an_axis_moves_exactly_along_it() {
    // At a quarter turn the integer sine is exactly 0 or 1: no drift off the axis.
    for (heading, axis, sign) in [(0, 0, 1), (1024, 1, 1), (2048, 0, -1), (3072, 1, -1)] {
        let start = [38_400, 25_600];
        let mut car = Car {
            pos: start,
            heading,
            speed: RULES.max_speed,
        };
        RaceStep::step(&RULES, &mut car, &GAS);
        // 10 units per tick (10,240 / 1024) in 1/64 units.
        let mut expected = start;
        expected[axis] += sign * 640;
        assert_eq!(car.pos, expected, "heading {heading}");
    }
}

#[test]
fn at_an_angle_a_car_covers_its_speed_within_a_fraction_of_a_percent() {
    for heading in (0..4096).step_by(37) {
        let mut car = Car {
            pos: [38_400, 25_600],
            heading,
            speed: RULES.max_speed,
        };
        RaceStep::step(&RULES, &mut car, &GAS);
        let moved = [car.pos[0] - 38_400, car.pos[1] - 25_600].map(f64::from);
        let distance = moved[0].hypot(moved[1]);
        assert!(
            (distance - 640.0).abs() < 640.0 * 0.004,
            "heading {heading}: {distance}"
        );
    }
}

proptest! {
    /// Any inputs keep a car inside the track with its values in their domains.
    #[test]
    fn a_car_stays_on_the_track_and_in_its_domains(
        inputs in prop::collection::vec((-127i8..=127, -127i8..=127), 1..200)
    ) {
        let mut car = Car { pos: [38_400, 25_600], heading: 0, speed: 0 };
        for (throttle, steer) in inputs {
            RaceStep::step(&RULES, &mut car, &Drive { throttle, steer });
            prop_assert!((0..=RULES.max[0]).contains(&car.pos[0]));
            prop_assert!((0..=RULES.max[1]).contains(&car.pos[1]));
            prop_assert!((-RULES.reverse_speed..=RULES.max_speed).contains(&car.speed));
            prop_assert!(car.heading < 4096);
        }
    }
}
