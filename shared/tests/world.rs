//! The generic world of any game: `apply(diff(a, b), a) == b` with the checksum kept true, every
//! delta survives its packed bits, any bytes unpack or fail cleanly, spawn-only and kind
//! changes re-create, typed and by-name reads agree, and the parity world's patch stays small.

use proptest::prelude::*;
use tickwire_shared::component::{Component, NetEnum};
use tickwire_shared::layout::Layout;
use tickwire_shared::schema::{KindDesc, Schema};
use tickwire_shared::tick_changes::TickChanges;
use tickwire_shared::world_wire::{self, WorldWireError};
use tickwire_shared::{EntityData, EntityId, FieldValue, World, WorldDeltaError};

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

#[derive(Clone, Debug, PartialEq, Component)]
struct Sign {
    #[net(string(max_len = 8))]
    text: String,
    #[net(int(min = -5, max = 5))]
    tilt: i8,
}

/// Kinds (components: 0 Body, 1 Car, 2 Sign): car, rock, sign, ghost.
const CAR: u16 = 0;
const ROCK: u16 = 1;
const GHOST: u16 = 3;
const KINDS: u16 = 4;

fn layout() -> Layout {
    let kind = |name: &str, components: &[u16]| KindDesc {
        name: name.into(),
        components: components.to_vec(),
    };
    Layout::new(Schema {
        game: "mixed".into(),
        version: 1,
        tick_rate: 30,
        components: vec![Body::desc(), Car::desc(), Sign::desc()],
        kinds: vec![
            kind("car", &[0, 1]),
            kind("rock", &[0]),
            kind("sign", &[0, 2]),
            kind("ghost", &[1]),
        ],
        input: vec![],
        owner_only: vec![],
        rules: vec![],
    })
    .expect("a valid schema")
}

fn body() -> impl Strategy<Value = Body> {
    [-4096..=4095, -4096..=4095].prop_map(|pos| Body { pos })
}

fn car() -> impl Strategy<Value = Car> {
    (0..4096u16, 0..3u16, 0..=99u8, any::<bool>(), "[a-zé]{0,8}").prop_map(
        |(heading, gear, laps, braking, driver)| Car {
            heading,
            gear: Gear::from_index(gear).expect("in range"),
            laps,
            braking,
            driver,
        },
    )
}

fn sign() -> impl Strategy<Value = Sign> {
    ("[a-z]{0,8}", -5..=5i8).prop_map(|(text, tilt)| Sign { text, tilt })
}

/// An entity of any kind with valid values.
fn entity() -> impl Strategy<Value = EntityData> {
    (0..KINDS, body(), car(), sign()).prop_map(|(kind, b, c, s)| {
        let layout = layout();
        let mut data = EntityData::new(&layout, kind).expect("a known kind");
        data.set_component(&layout, &b);
        data.set_component(&layout, &c);
        data.set_component(&layout, &s);
        assert!(data.is_valid(&layout));
        data
    })
}

/// A world, and a later one: some entities gone, some changed in some components, some new.
fn world_pair() -> impl Strategy<Value = (World, World)> {
    let before = prop::collection::btree_map(0..200u32, entity(), 0..40);
    let edits = prop::collection::vec((0..4u8, body(), car(), sign(), entity()), 40);
    let created = prop::collection::btree_map(0..200u32, entity(), 0..10);
    (before, edits, created).prop_map(|(before, edits, created)| {
        let layout = layout();
        let mut a = World::new();
        let mut b = World::new();
        for ((id, data), (edit, body, car, sign, other)) in before.into_iter().zip(edits) {
            a.insert(EntityId(id), data.clone());
            let mut next = data;
            match edit {
                0 => continue, // removed
                1 => {
                    next.set_component(&layout, &body);
                }
                2 => {
                    next.set_component(&layout, &car);
                    next.set_component(&layout, &sign);
                }
                _ => next = other, // maybe another kind: removed and created again
            }
            b.insert(EntityId(id), next);
        }
        for (id, data) in created {
            if b.get(EntityId(id)).is_none() && a.get(EntityId(id)).is_none() {
                b.insert(EntityId(id), data);
            }
        }
        (a, b)
    })
}

/// The checksum of `world` computed from nothing.
fn fresh_checksum(world: &World) -> tickwire_shared::Checksum {
    let mut copy = World::new();
    for (id, data) in world.iter() {
        copy.insert(id, data.clone());
    }
    copy.checksum()
}

/// The server's world after `a` with `b`'s values: it shares its unchanged entities with `a`,
/// as a room's consecutive ticks do.
fn next_tick(a: &World, b: &World, layout: &Layout) -> World {
    let mut next = a.clone();
    next.apply(&a.diff(b, layout), layout).expect("applies");
    next
}

/// The ids whose flag is set.
fn picked(flags: &[bool]) -> Vec<EntityId> {
    (0..flags.len() as u32)
        .filter(|&i| flags[i as usize])
        .map(EntityId)
        .collect()
}

proptest! {
    #[test]
    fn a_delta_turns_one_world_into_the_other_and_survives_its_bits((a, b) in world_pair()) {
        let layout = layout();
        let delta = a.diff(&b, &layout);
        let packed = world_wire::pack(&delta, &layout).expect("a diff packs");
        let unpacked = world_wire::unpack(&packed, &layout).expect("our own bits unpack");
        prop_assert_eq!(&unpacked, &delta);
        let mut applied = a.clone();
        applied.apply(&unpacked, &layout).expect("applies to its baseline");
        prop_assert_eq!(&applied, &b);
        prop_assert_eq!(applied.checksum(), b.checksum());
        prop_assert_eq!(b.checksum(), fresh_checksum(&b));
        // A full snapshot is the diff from nothing.
        let full = World::new().diff(&b, &layout);
        let mut rebuilt = World::new();
        rebuilt.apply(&world_wire::unpack(&world_wire::pack(&full, &layout).expect("packs"), &layout).expect("unpacks"), &layout).expect("applies");
        prop_assert_eq!(rebuilt, b);
    }

    #[test]
    fn following_a_view_gives_the_view_and_the_delta_a_client_needs(
        (a, b) in world_pair(),
        wanted in prop::collection::vec(any::<bool>(), 200),
        held in prop::collection::vec(any::<bool>(), 200),
    ) {
        let layout = layout();
        let source = next_tick(&a, &b, &layout);
        let ids = picked(&wanted);
        let mut view = a.subset(picked(&held));
        let before = view.clone();
        let part = source.iter_shared().filter(|(id, _)| ids.contains(id));
        let delta = view.follow(part, &layout);
        let expected = source.subset(ids.iter().copied());
        prop_assert_eq!(&view, &expected);
        prop_assert_eq!(view.checksum(), fresh_checksum(&expected));
        // The client, holding the view as it was, gets there through the packed delta.
        let bits = world_wire::pack(&delta, &layout).expect("packs");
        let unpacked = world_wire::unpack(&bits, &layout).expect("unpacks");
        let mut client = before;
        client.apply(&unpacked, &layout).expect("applies to the view it held");
        prop_assert_eq!(client.checksum(), expected.checksum());
        prop_assert_eq!(client, expected);
    }

    #[test]
    fn changes_worked_out_once_give_each_view_the_delta_of_its_own(
        (a, b) in world_pair(),
        wanted in prop::collection::vec(any::<bool>(), 200),
        held in prop::collection::vec(any::<bool>(), 200),
    ) {
        let layout = layout();
        let source = next_tick(&a, &b, &layout);
        let known = TickChanges::between(&a, &source, &layout);
        let ids = picked(&wanted);
        let part = || source.iter_shared().filter(|(id, _)| ids.contains(id));
        // A view that holds entities as the tick before had them (shared with it).
        let mut diffed = a.subset(picked(&held));
        let mut copied = diffed.clone();
        let (previewed, checksum) = copied.delta_to(part(), &layout, Some(&known));
        let expected = diffed.follow(part(), &layout);
        prop_assert_eq!(&copied.follow_known(part(), &layout, Some(&known)), &expected);
        prop_assert_eq!(&previewed, &expected);
        prop_assert_eq!(checksum, diffed.checksum());
        prop_assert_eq!(copied.checksum(), fresh_checksum(&diffed));
        prop_assert_eq!(copied, diffed);
    }

    #[test]
    fn any_bytes_unpack_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let layout = layout();
        if let Ok(delta) = world_wire::unpack(&bytes, &layout) {
            let again = world_wire::pack(&delta, &layout).expect("what unpacks packs");
            prop_assert_eq!(world_wire::unpack(&again, &layout), Ok(delta));
        }
    }

    #[test]
    fn a_corrupted_delta_never_applies_silently_wrong((a, b) in world_pair(), flip in any::<prop::sample::Index>()) {
        let layout = layout();
        let mut packed = world_wire::pack(&a.diff(&b, &layout), &layout).expect("packs");
        prop_assume!(!packed.is_empty());
        let at = flip.index(packed.len() * 8);
        packed[at / 8] ^= 1 << (at % 8);
        let mut world = a.clone();
        // Unpacking or applying may fail; when both succeed, the checksum tells.
        if let Ok(delta) = world_wire::unpack(&packed, &layout)
            && world.apply(&delta, &layout).is_ok()
            && world != b
        {
            prop_assert_ne!(world.checksum(), b.checksum());
            prop_assert_eq!(world.checksum(), fresh_checksum(&world));
        }
    }
}

fn car_entity(layout: &Layout, driver: &str, laps: u8) -> EntityData {
    let mut data = EntityData::new(layout, CAR).expect("a kind");
    data.set_component(layout, &Body { pos: [64, -64] });
    data.set_component(
        layout,
        &Car {
            heading: 1024,
            gear: Gear::Drive,
            laps,
            braking: false,
            driver: driver.into(),
        },
    );
    data
}

#[test]
fn typed_and_by_name_reads_agree() {
    let layout = layout();
    let mut world = World::new();
    world.insert(EntityId(3), car_entity(&layout, "ann", 2));
    let entity = world.get(EntityId(3)).expect("inserted");
    let car = entity.component::<Car>(&layout).expect("a car has a Car");
    assert_eq!((car.laps, car.driver.as_str()), (2, "ann"));
    assert_eq!(entity.component::<Sign>(&layout), None, "a car has no Sign");
    assert_eq!(
        world.field(&layout, EntityId(3), "Body", "pos"),
        Some(FieldValue::Lanes(&[64, -64]))
    );
    assert_eq!(
        world.field(&layout, EntityId(3), "Car", "driver"),
        Some(FieldValue::Str("ann"))
    );
    assert_eq!(world.field(&layout, EntityId(3), "Car", "nope"), None);
    assert_eq!(world.field(&layout, EntityId(3), "Sign", "text"), None);
}

#[test]
fn a_spawn_only_change_or_a_new_kind_recreates_the_entity() {
    let layout = layout();
    let mut a = World::new();
    a.insert(EntityId(1), car_entity(&layout, "ann", 2));
    a.insert(EntityId(2), car_entity(&layout, "bob", 2));
    a.insert(EntityId(3), car_entity(&layout, "cy", 2));
    let mut b = a.clone();
    b.insert(EntityId(1), car_entity(&layout, "ann", 3)); // laps: a change
    b.insert(EntityId(2), car_entity(&layout, "bo", 2)); // driver is spawn-only
    let rock = EntityData::new(&layout, ROCK).expect("a kind");
    b.insert(EntityId(3), rock); // another kind
    let delta = a.diff(&b, &layout);
    assert_eq!(delta.removed, [EntityId(2), EntityId(3)]);
    let created: Vec<EntityId> = delta.created.iter().map(|(id, _)| *id).collect();
    assert_eq!(created, [EntityId(2), EntityId(3)]);
    assert_eq!(delta.changed.len(), 1);
    assert_eq!(delta.changed[0].components, 0b10, "only Car changed");
    let mut applied = a.clone();
    applied.apply(&delta, &layout).expect("applies");
    assert_eq!(applied, b);
}

#[test]
fn a_delta_that_leaves_a_domain_or_misses_its_entity_is_refused() {
    let layout = layout();
    let mut a = World::new();
    let mut rock = EntityData::new(&layout, ROCK).expect("a kind");
    rock.set_component(&layout, &Body { pos: [4000, 0] });
    a.insert(EntityId(0), rock.clone());
    let mut b = a.clone();
    rock.set_component(&layout, &Body { pos: [4090, 0] });
    b.insert(EntityId(0), rock);
    let delta = a.diff(&b, &layout);

    // Applied twice, the +90 difference carries x past 4095.
    let mut world = b.clone();
    assert_eq!(
        world.apply(&delta, &layout),
        Err(WorldDeltaError::OutOfDomain(EntityId(0)))
    );
    assert_eq!(world, b, "a refused change leaves the entity as it was");
    assert_eq!(world.checksum(), b.checksum());
    assert_eq!(
        World::new().apply(&delta, &layout),
        Err(WorldDeltaError::UnknownEntity(EntityId(0)))
    );
}

#[test]
fn kinds_with_one_changeable_component_send_no_change_bits() {
    let layout = layout();
    let (mut a, mut b) = (World::new(), World::new());
    for id in 0..64 {
        let mut rock = EntityData::new(&layout, ROCK).expect("a kind");
        rock.set_component(&layout, &Body { pos: [id, 0] });
        a.insert(EntityId(id as u32), rock.clone());
        rock.set_component(&layout, &Body { pos: [id + 1, 0] });
        b.insert(EntityId(id as u32), rock);
    }
    let packed = world_wire::pack(&a.diff(&b, &layout), &layout).expect("packs");
    // Counts, the id-gap column, the kind column and two constant delta columns: a few bytes.
    assert!(packed.len() <= 8, "{} bytes", packed.len());
}

#[test]
fn trailing_bytes_and_entities_of_unknown_kinds_are_refused() {
    let layout = layout();
    let mut bytes = world_wire::pack(&tickwire_shared::Delta::default(), &layout).expect("packs");
    assert_eq!(
        world_wire::unpack(&bytes, &layout),
        Ok(tickwire_shared::Delta::default())
    );
    bytes.push(0);
    assert_eq!(
        world_wire::unpack(&bytes, &layout),
        Err(WorldWireError::TrailingBytes)
    );
    let mut world = World::new();
    world.insert(
        EntityId(0),
        EntityData::new(&layout, GHOST).expect("a kind"),
    );
    let mut delta = World::new().diff(&world, &layout);
    delta.created[0].1.kind = 9;
    assert_eq!(
        world_wire::pack(&delta, &layout),
        Err(WorldWireError::BadEntity(EntityId(0)))
    );
}

#[test]
fn typed_access_refuses_a_component_declared_otherwise_and_by_name_still_reads_it() {
    // The server's Sign has a wider tilt than the client's: same name, other declaration.
    let mut schema = layout().schema().clone();
    let tilt = &mut schema.components[2].fields[1];
    tilt.domain = tickwire_shared::schema::Domain::Int { min: -9, max: 9 };
    let server = Layout::new(schema).expect("valid");
    let mut sign = EntityData::new(&server, 2).expect("the sign kind");
    sign.strings[0] = "hi".into();
    assert!(!sign.set_component(
        &server,
        &Sign {
            text: "x".into(),
            tilt: 1
        }
    ));
    let mut world = World::new();
    world.insert(EntityId(1), sign.clone());
    assert_eq!(sign.component::<Sign>(&server), None);
    assert_eq!(sign.component::<Body>(&server), Some(Body { pos: [0, 0] }));
    assert_eq!(
        world.field(&server, EntityId(1), "Sign", "text"),
        Some(FieldValue::Str("hi"))
    );
}

#[test]
fn a_change_outside_its_domain_is_refused_when_packed_not_by_every_client() {
    let layout = layout();
    let mut a = World::new();
    a.insert(EntityId(1), car_entity(&layout, "ann", 2));
    let mut b = a.clone();
    // A game bug: laps past its declared max, written straight into the lanes (Body's 2 lanes,
    // then Car's heading, gear, laps).
    b.update(EntityId(1), |car| car.lanes[4] = 150);
    let delta = a.diff(&b, &layout);
    assert_eq!(
        world_wire::pack(&delta, &layout),
        Err(WorldWireError::BadChange(EntityId(1)))
    );
}
