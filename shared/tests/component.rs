//! The derives of the game API: the descriptors they write are the attributes' exactly, and
//! they pass `Schema::validate`; every value survives its lanes, and lanes outside a domain
//! are refused.

use proptest::prelude::*;
use tickwire_shared::component::{Component, Input, NetEnum};
use tickwire_shared::schema::{
    Coding, ComponentDesc, Domain, FieldDesc, Interpolate, KindDesc, Schema,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, NetEnum)]
enum Gear {
    Reverse,
    Neutral,
    Drive,
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Car {
    #[net(
        fixed(frac_bits = 6, min = -262144, max = 262143),
        delta,
        interpolate = "linear"
    )]
    pos: [i32; 2],
    #[net(angle(bits = 12), interpolate = "angle", tolerance = 2)]
    heading: u16,
    #[net(fixed(frac_bits = 4, min = -800, max = 1600))]
    speed: i16,
    gear: Gear,
    #[net(int(min = 0, max = 99))]
    laps: u8,
    braking: bool,
    #[net(string(max_len = 16), spawn_only)]
    driver: String,
}

#[derive(Clone, Debug, Default, PartialEq, Input)]
struct Drive {
    #[net(int(min = -127, max = 127))]
    throttle: i8,
    #[net(int(min = -127, max = 127))]
    steer: i8,
    handbrake: bool,
}

fn field(
    name: &str,
    lanes: u8,
    domain: Domain,
    coding: Coding,
    interpolate: Interpolate,
) -> FieldDesc {
    FieldDesc {
        name: name.into(),
        lanes,
        domain,
        coding,
        interpolate,
        tolerance: 0,
    }
}

#[test]
fn the_descriptor_is_the_attributes_exactly() {
    use Coding::{Absolute, Delta, SpawnOnly};
    let expected = ComponentDesc {
        name: "Car".into(),
        fields: vec![
            field(
                "pos",
                2,
                Domain::Fixed {
                    frac_bits: 6,
                    min: -262_144,
                    max: 262_143,
                },
                Delta,
                Interpolate::Linear,
            ),
            FieldDesc {
                tolerance: 2,
                ..field(
                    "heading",
                    1,
                    Domain::Angle { bits: 12 },
                    Absolute,
                    Interpolate::Angle,
                )
            },
            field(
                "speed",
                1,
                Domain::Fixed {
                    frac_bits: 4,
                    min: -800,
                    max: 1600,
                },
                Absolute,
                Interpolate::None,
            ),
            field(
                "gear",
                1,
                Domain::Enum {
                    variants: vec!["Reverse".into(), "Neutral".into(), "Drive".into()],
                },
                Absolute,
                Interpolate::None,
            ),
            field(
                "laps",
                1,
                Domain::Int { min: 0, max: 99 },
                Absolute,
                Interpolate::None,
            ),
            field("braking", 1, Domain::Bool, Absolute, Interpolate::None),
            field(
                "driver",
                1,
                Domain::Str { max_len: 16 },
                SpawnOnly,
                Interpolate::None,
            ),
        ],
    };
    assert_eq!(Car::desc(), expected);
    assert_eq!(
        Drive::fields(),
        vec![
            field(
                "throttle",
                1,
                Domain::Int {
                    min: -127,
                    max: 127
                },
                Absolute,
                Interpolate::None
            ),
            field(
                "steer",
                1,
                Domain::Int {
                    min: -127,
                    max: 127
                },
                Absolute,
                Interpolate::None
            ),
            field("handbrake", 1, Domain::Bool, Absolute, Interpolate::None),
        ]
    );
    let schema = Schema {
        game: "race".into(),
        version: 1,
        tick_rate: 30,
        components: vec![Car::desc()],
        kinds: vec![KindDesc {
            name: "car".into(),
            components: vec![0],
        }],
        input: Drive::fields(),
        owner_only: vec![],
        rules: Vec::new(),
    };
    assert_eq!(
        schema.validate(),
        Ok(()),
        "derived descriptors pass the schema's rules"
    );
    assert_eq!(Gear::VARIANTS, ["Reverse", "Neutral", "Drive"]);
}

fn gear() -> impl Strategy<Value = Gear> {
    (0..3u16).prop_map(|i| Gear::from_index(i).expect("a variant"))
}

fn car() -> impl Strategy<Value = Car> {
    (
        [-262_144..=262_143i32, -262_144..=262_143i32],
        0..4096u16,
        -800..=1600i16,
        gear(),
        0..=99u8,
        any::<bool>(),
        "[a-z]{0,16}",
    )
        .prop_map(|(pos, heading, speed, gear, laps, braking, driver)| Car {
            pos,
            heading,
            speed,
            gear,
            laps,
            braking,
            driver,
        })
}

proptest! {
    #[test]
    fn every_value_survives_its_lanes(car in car(), throttle in -127..=127i8, steer in -127..=127i8, handbrake in any::<bool>()) {
        let (mut lanes, mut strings) = (Vec::new(), Vec::new());
        car.write(&mut lanes, &mut strings);
        prop_assert_eq!(lanes.len(), 7, "2 + 1 + 1 + 1 + 1 + 1 lanes");
        prop_assert_eq!(Car::read(&lanes, &strings), Some(car));
        let drive = Drive { throttle, steer, handbrake };
        let mut lanes = Vec::new();
        drive.write(&mut lanes);
        prop_assert_eq!(Drive::read(&lanes), Some(drive));
    }

    #[test]
    fn lanes_outside_a_domain_are_refused(car in car(), lane in 0..7usize, value in any::<i32>()) {
        let (mut lanes, mut strings) = (Vec::new(), Vec::new());
        car.write(&mut lanes, &mut strings);
        lanes[lane] = value;
        let inside = match lane {
            0 | 1 => (-262_144..=262_143).contains(&value),
            2 => (0..4096).contains(&value),
            3 => (-800..=1600).contains(&value),
            4 => (0..3).contains(&value),
            5 => (0..=99).contains(&value),
            _ => (0..=1).contains(&value),
        };
        prop_assert_eq!(Car::read(&lanes, &strings).is_some(), inside);
    }
}

#[test]
fn too_few_lanes_or_strings_and_long_strings_are_refused() {
    let car = Car {
        pos: [1, 2],
        heading: 3,
        speed: 4,
        gear: Gear::Drive,
        laps: 5,
        braking: true,
        driver: "ann".into(),
    };
    let (mut lanes, mut strings) = (Vec::new(), Vec::new());
    car.write(&mut lanes, &mut strings);
    assert_eq!(Car::read(&lanes[..6], &strings), None);
    assert_eq!(Car::read(&lanes, &[]), None);
    assert_eq!(Car::read(&lanes, &["x".repeat(17)]), None);
    assert_eq!(Drive::read(&[1, 2]), None);
}
