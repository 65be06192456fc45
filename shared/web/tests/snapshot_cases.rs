//! The SDK's decoder on generated snapshots: a full snapshot of one world, then a delta to a
//! later one, fed to a `WebClient` as the server would send them. The client holds exactly the
//! later world, and reads every field in the game's units.
//!
//! With `TICKWIRE_WEB_CASES=FILE`, the cases (their bytes and the world the native client read)
//! are written to FILE as JSON; `node assets/web/sdk/test/decoder-parity.mjs FILE` then feeds the
//! same bytes to the wasm build and checks it reads the same world (`.ci/run` does both).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::f64::consts::TAU;
use tickwire_shared::codec::encode_server;
use tickwire_shared::component::{Component, NetEnum};
use tickwire_shared::layout::Layout;
use tickwire_shared::schema::{KindDesc, Schema};
use tickwire_shared::world_wire::PackedDelta;
use tickwire_shared::{
    EntityData, EntityId, ResumeToken, SentAt, ServerMessage, Snapshot, Tick, Welcome, World,
};
use tickwire_web::{JoinOptions, WebClient};

#[derive(Clone, Copy, Debug, PartialEq, Eq, NetEnum)]
enum Gear {
    Reverse,
    Neutral,
    Drive,
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Body {
    #[net(fixed(frac_bits = 6, min = -4096, max = 4095), delta, interpolate = "linear")]
    pos: [i32; 2],
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Car {
    #[net(angle(bits = 12), interpolate = "angle")]
    heading: u16,
    gear: Gear,
    #[net(int(min = 0, max = 99))]
    laps: u8,
    braking: bool,
    #[net(string(max_len = 16), spawn_only)]
    driver: String,
}

/// Kinds: 0 car (Body, Car), 1 rock (Body), 2 ghost (Car).
const KINDS: u16 = 3;

fn schema() -> Schema {
    let kind = |name: &str, components: &[u16]| KindDesc {
        name: name.into(),
        components: components.to_vec(),
    };
    Schema {
        game: "mixed".into(),
        version: 1,
        tick_rate: 30,
        components: vec![Body::desc(), Car::desc()],
        kinds: vec![
            kind("car", &[0, 1]),
            kind("rock", &[0]),
            kind("ghost", &[1]),
        ],
        input: vec![],
        owner_only: vec![],
        rules: vec![],
    }
}

fn layout() -> Layout {
    Layout::new(schema()).expect("a valid schema")
}

fn entity() -> impl Strategy<Value = EntityData> {
    let body = [-4096..=4095, -4096..=4095].prop_map(|pos| Body { pos });
    let car = (0..4096u16, 0..3u16, 0..=99u8, any::<bool>(), "[a-zé]{0,8}").prop_map(
        |(heading, gear, laps, braking, driver)| Car {
            heading,
            gear: Gear::from_index(gear).expect("in range"),
            laps,
            braking,
            driver,
        },
    );
    (0..KINDS, body, car).prop_map(|(kind, body, car)| {
        let layout = layout();
        let mut data = EntityData::new(&layout, kind).expect("a known kind");
        data.set_component(&layout, &body);
        data.set_component(&layout, &car);
        data
    })
}

/// A world and a later one: some entities kept, some changed, some gone, some new.
fn world_pair() -> impl Strategy<Value = (World, World)> {
    let before = prop::collection::btree_map(0..100u32, entity(), 0..20);
    let after = prop::collection::btree_map(0..100u32, (any::<bool>(), entity()), 0..20);
    (before, after).prop_map(|(before, after)| {
        let mut a = World::new();
        let mut b = World::new();
        for (id, data) in before {
            a.insert(EntityId(id), data);
        }
        for (id, (keep, data)) in after {
            match a.get(EntityId(id)) {
                Some(old) if keep => b.insert(EntityId(id), old.clone()),
                _ => b.insert(EntityId(id), data),
            }
        }
        (a, b)
    })
}

/// What the server sends: the Welcome, a full snapshot of `a` (tick 1), `b` as a delta (tick 2).
fn frames(a: &World, b: &World) -> Vec<Vec<u8>> {
    let layout = layout();
    let snapshot = |tick: u32, baseline: Option<Tick>, from: &World, to: &World| {
        encode_server(&ServerMessage::Snapshot(Snapshot {
            last_input: 0,
            sent_at: SentAt(0),
            tick: Tick(tick),
            baseline,
            checksum: to.checksum(),
            delta: PackedDelta::pack(&from.diff(to, &layout), &layout).expect("packs"),
        }))
        .expect("encodes")
    };
    let welcome = encode_server(&ServerMessage::Welcome(Welcome {
        client_id: 1,
        player: None,
        tick_rate: 30,
        schema: Some(schema()),
        resume_token: ResumeToken(9),
    }))
    .expect("encodes");
    vec![
        welcome,
        snapshot(1, None, &World::new(), a),
        snapshot(2, Some(Tick(1)), a, b),
    ]
}

/// `b`'s entities as the SDK should read them, worked out from the typed components.
fn expected(b: &World) -> Vec<Value> {
    let layout = layout();
    b.iter()
        .map(|(id, data)| {
            let mut components = serde_json::Map::new();
            if let Some(body) = data.component::<Body>(&layout) {
                let pos = body.pos.map(|v| f64::from(v) / 64.0);
                components.insert("Body".into(), json!({ "pos": pos }));
            }
            if let Some(car) = data.component::<Car>(&layout) {
                let gear = ["Reverse", "Neutral", "Drive"][car.gear.index() as usize];
                components.insert(
                    "Car".into(),
                    json!({
                        "heading": f64::from(car.heading) / 4096.0 * TAU,
                        "gear": gear,
                        "laps": f64::from(car.laps),
                        "braking": car.braking,
                        "driver": car.driver,
                    }),
                );
            }
            let kind = ["car", "rock", "ghost"][usize::from(data.kind)];
            json!({ "id": id.0, "kind": kind, "own": false, "components": components })
        })
        .collect()
}

#[test]
fn generated_snapshots_decode_to_their_worlds_in_user_units() {
    let cases = RefCell::new(Vec::new());
    let mut runner = TestRunner::new(Config {
        cases: 128,
        ..Config::default()
    });
    runner
        .run(&world_pair(), |(a, b)| {
            let frames = frames(&a, &b);
            let mut client = WebClient::open(JoinOptions::default(), None).expect("opens");
            for (i, frame) in frames.iter().enumerate() {
                client
                    .try_receive(frame, i as f64)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            prop_assert_eq!(client.session().stats().desyncs, 0);
            prop_assert_eq!(client.session().world().state(), &b);
            let world = client.world_values();
            prop_assert_eq!(&world, &expected(&b));
            cases.borrow_mut().push(json!({
                "frames": frames,
                "world": Value::Array(world).to_string(),
            }));
            Ok(())
        })
        .expect("every generated snapshot decodes to its world");
    if let Some(path) = std::env::var_os("TICKWIRE_WEB_CASES") {
        let cases = Value::Array(cases.into_inner());
        std::fs::write(&path, cases.to_string()).expect("write the cases");
        println!("wrote the cases to {}", path.to_string_lossy());
    }
}
