//! The generic delta decoder on raw bits, for a game with several kinds, change bits, strings,
//! spawn-only and delta-coded fields: never panics; whatever unpacks packs back to a delta that
//! unpacks equal, and applies to a world (or fails) without panicking, the checksum true to
//! what the world then holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use tickwire_shared::component::{Component, NetEnum};
use tickwire_shared::layout::Layout;
use tickwire_shared::schema::{KindDesc, Schema};
use tickwire_shared::world_wire;
use tickwire_shared::{EntityData, EntityId, World};

#[derive(Clone, Copy, Debug, PartialEq, Eq, NetEnum)]
enum Gear {
    Reverse,
    Drive,
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Body {
    #[net(fixed(frac_bits = 6, min = -4096, max = 4095), delta)]
    pos: [i32; 2],
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Car {
    #[net(angle(bits = 12))]
    heading: u16,
    gear: Gear,
    braking: bool,
    #[net(string(max_len = 16), spawn_only)]
    driver: String,
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Sign {
    #[net(string(max_len = 8))]
    text: String,
}

static LAYOUT: LazyLock<Layout> = LazyLock::new(|| {
    let kind = |name: &str, components: &[u16]| KindDesc {
        name: name.into(),
        components: components.to_vec(),
    };
    Layout::new(Schema {
        game: "fuzz".into(),
        version: 1,
        tick_rate: 30,
        components: vec![Body::desc(), Car::desc(), Sign::desc()],
        kinds: vec![kind("car", &[0, 1]), kind("rock", &[0]), kind("sign", &[0, 2])],
        input: vec![],
        owner_only: vec![],
        rules: vec![],
    })
    .expect("a valid schema")
});

/// A world of one entity of each kind, ids 0 to 2.
static BASELINE: LazyLock<World> = LazyLock::new(|| {
    let mut world = World::new();
    for kind in 0..3 {
        let data = EntityData::new(&LAYOUT, kind).expect("a known kind");
        world.insert(EntityId(u32::from(kind)), data);
    }
    world
});

fuzz_target!(|data: &[u8]| {
    let layout = &*LAYOUT;
    if let Ok(delta) = world_wire::unpack(data, layout) {
        let packed = world_wire::pack(&delta, layout).expect("an unpacked delta packs");
        assert_eq!(world_wire::unpack(&packed, layout), Ok(delta.clone()));
        let mut world = BASELINE.clone();
        let _ = world.apply(&delta, layout);
        let mut fresh = World::new();
        for (id, entity) in world.iter() {
            fresh.insert(id, entity.clone());
        }
        assert_eq!(world.checksum(), fresh.checksum());
    }
});
