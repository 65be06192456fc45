//! [`GameWorld`]: a room's replicated world as its game changes it: typed components of entities,
//! spawned and despawned with compact wire ids, the checksum kept current by every change.

use crate::wire_ids::WireIds;
use std::sync::Arc;
use tickwire_shared::component::Component;
use tickwire_shared::layout::Layout;
use tickwire_shared::{EntityData, EntityId, Tick, World};

/// The world of one room: exactly what its clients hold, and the clock of its ticks.
///
/// A game reads and writes components with the types it declared them with; a component the
/// entity's kind does not have reads as `None` and is not written.
#[derive(Debug)]
pub struct GameWorld {
    world: World,
    layout: Arc<Layout>,
    ids: WireIds,
    tick: Tick,
    tick_rate: u16,
}

impl GameWorld {
    /// An empty world of the game `layout` describes, at tick 0. Despawned ids are reused only
    /// after `id_quarantine_ticks` (the room's history length: no client can hold a baseline in
    /// which the id meant another entity).
    #[must_use]
    pub fn new(layout: Arc<Layout>, tick_rate: u16, id_quarantine_ticks: u32) -> Self {
        Self {
            world: World::new(),
            layout,
            ids: WireIds::new(id_quarantine_ticks),
            tick: Tick(0),
            tick_rate,
        }
    }

    /// A world loaded from a room's save, at its tick. Every id it does not use is free at
    /// once: clients of a moved room start from a full snapshot, so no baseline names them.
    #[must_use]
    pub fn restored(
        layout: Arc<Layout>,
        tick_rate: u16,
        id_quarantine_ticks: u32,
        tick: Tick,
        world: World,
    ) -> Self {
        Self {
            ids: WireIds::in_use(id_quarantine_ticks, world.iter().map(|(id, _)| id)),
            world,
            layout,
            tick,
            tick_rate,
        }
    }

    /// The current tick.
    #[must_use]
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// Ticks per second.
    #[must_use]
    pub fn tick_rate(&self) -> u16 {
        self.tick_rate
    }

    /// `ms` milliseconds as a whole number of ticks, at least 1.
    #[must_use]
    pub fn ticks(&self, ms: u32) -> u32 {
        (u64::from(ms) * u64::from(self.tick_rate))
            .div_ceil(1000)
            .clamp(1, u64::from(u32::MAX)) as u32
    }

    /// The game's layout (its schema with every offset).
    #[must_use]
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// The index of the kind named `name` in the schema.
    #[must_use]
    pub fn kind(&self, name: &str) -> Option<u16> {
        self.layout.kind_index(name)
    }

    /// What clients hold after this tick.
    #[must_use]
    pub fn replicated(&self) -> &World {
        &self.world
    }

    /// Moves to the next tick and frees the wire ids whose quarantine is over. The room calls
    /// it once per tick, before [`crate::Game::tick`].
    pub fn advance_tick(&mut self) -> Tick {
        self.tick = self.tick.next();
        self.ids.advance(self.tick);
        self.tick
    }

    /// Spawns an entity of `kind` with every lane 0 and every string empty; set each of its
    /// components with [`Spawn::with`] (a zero lane outside its field's domain, from a component
    /// never set, is refused when the room replicates it). Returns `None` for a kind the schema
    /// does not have.
    pub fn spawn(&mut self, kind: u16) -> Option<Spawn<'_>> {
        let data = EntityData::new(&self.layout, kind)?;
        let id = self.ids.allocate();
        self.world.insert(id, data);
        Some(Spawn { world: self, id })
    }

    /// Removes an entity; its id is reused only after the quarantine. Returns whether it
    /// existed.
    pub fn despawn(&mut self, id: EntityId) -> bool {
        if self.world.remove(id).is_none() {
            return false;
        }
        self.ids.release(id, self.tick);
        true
    }

    /// Whether the entity exists.
    #[must_use]
    pub fn contains(&self, id: EntityId) -> bool {
        self.world.get(id).is_some()
    }

    /// The entity's kind.
    #[must_use]
    pub fn kind_of(&self, id: EntityId) -> Option<u16> {
        self.world.get(id).map(|e| e.kind)
    }

    /// The entity's component `C`.
    #[must_use]
    pub fn get<C: Component>(&self, id: EntityId) -> Option<C> {
        self.world.get(id)?.component::<C>(&self.layout)
    }

    /// Replaces the entity's component `C`. Returns `false` (and changes nothing) for an
    /// unknown entity or one whose kind has no `C`.
    ///
    /// # Panics
    /// If `value` lies outside the domains `C` declares (a game bug, such as a counter past its
    /// `max`): the room stops at once, and its clients get close 1011, rather than every
    /// client being sent a state it would refuse.
    pub fn set<C: Component>(&mut self, id: EntityId, value: &C) -> bool {
        let (mut lanes, mut strings) = (Vec::new(), Vec::new());
        value.write(&mut lanes, &mut strings);
        assert!(
            C::read(&lanes, &strings).is_some(),
            "game bug: a {} outside its declared domains",
            C::desc().name
        );
        let layout = &self.layout;
        self.world
            .update(id, |data| data.set_component(layout, value))
            .unwrap_or(false)
    }

    /// Changes the entity's component `C` through `change`. Returns what `change` returned, or
    /// `None` when the entity or its `C` does not exist.
    pub fn update<C: Component, T>(
        &mut self,
        id: EntityId,
        change: impl FnOnce(&mut C) -> T,
    ) -> Option<T> {
        let mut value = self.get::<C>(id)?;
        let result = change(&mut value);
        self.set(id, &value).then_some(result)
    }

    /// Every entity, by id.
    pub fn entities(&self) -> impl ExactSizeIterator<Item = (EntityId, &EntityData)> {
        self.world.iter()
    }

    /// The ids of every entity of `kind`, in id order (a list, so the world can be changed
    /// while going through it).
    #[must_use]
    pub fn ids_of(&self, kind: u16) -> Vec<EntityId> {
        self.world
            .iter()
            .filter(|(_, e)| e.kind == kind)
            .map(|(id, _)| id)
            .collect()
    }
}

/// An entity just spawned: set its components.
#[derive(Debug)]
pub struct Spawn<'w> {
    world: &'w mut GameWorld,
    id: EntityId,
}

impl Spawn<'_> {
    /// Sets its component `C` (ignored if its kind has no `C`).
    #[must_use]
    pub fn with<C: Component>(self, value: &C) -> Self {
        self.world.set(self.id, value);
        self
    }

    /// Its id.
    #[must_use]
    pub fn id(&self) -> EntityId {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_shared::Schema;
    use tickwire_shared::component::Component;

    #[derive(Clone, Debug, PartialEq, Component)]
    struct Pos {
        #[net(int(min = -100, max = 100))]
        x: i32,
    }

    #[derive(Clone, Debug, PartialEq, Component)]
    struct Hp {
        #[net(int(min = 0, max = 9))]
        hp: u8,
    }

    fn world() -> GameWorld {
        let schema = Schema::new("test", 1, 30)
            .component::<Pos>()
            .component::<Hp>()
            .kind("dot", &["Pos"])
            .kind("unit", &["Pos", "Hp"]);
        let layout = Arc::new(Layout::new(schema).expect("valid"));
        GameWorld::new(layout, 30, 2)
    }

    #[test]
    fn components_are_typed_by_kind_and_the_checksum_follows_every_change() {
        let mut world = world();
        let (dot, unit) = (
            world.kind("dot").expect("dot"),
            world.kind("unit").expect("unit"),
        );
        let a = world.spawn(dot).expect("a kind").with(&Pos { x: 5 }).id();
        let b = world
            .spawn(unit)
            .expect("a kind")
            .with(&Pos { x: -3 })
            .with(&Hp { hp: 7 })
            .id();
        assert_eq!(world.get::<Pos>(a), Some(Pos { x: 5 }));
        assert_eq!(world.get::<Hp>(a), None, "a dot has no Hp");
        assert!(!world.set(a, &Hp { hp: 1 }));
        assert_eq!(world.update::<Hp, _>(b, |h| h.hp -= 2), Some(()));
        assert_eq!(world.get::<Hp>(b), Some(Hp { hp: 5 }));
        assert_eq!(world.ids_of(unit), [b]);

        let mut fresh = World::new();
        for (id, data) in world.entities() {
            fresh.insert(id, data.clone());
        }
        assert_eq!(fresh.checksum(), world.replicated().checksum());
        assert!(world.despawn(a) && !world.despawn(a) && !world.contains(a));
    }

    #[test]
    #[should_panic(expected = "game bug: a Hp outside its declared domains")]
    fn setting_a_value_outside_its_domain_is_a_game_bug() {
        let mut world = world();
        let unit = world.kind("unit").expect("unit");
        let id = world.spawn(unit).expect("a kind").id();
        world.set(id, &Hp { hp: 10 });
    }

    #[test]
    fn a_despawned_id_waits_out_the_quarantine() {
        let mut world = world();
        let dot = world.kind("dot").expect("dot");
        let a = world.spawn(dot).expect("a kind").id();
        world.despawn(a);
        world.advance_tick();
        assert_ne!(world.spawn(dot).expect("a kind").id(), a);
        for _ in 0..3 {
            world.advance_tick();
        }
        assert_eq!(world.spawn(dot).expect("a kind").id(), a);
        assert_eq!(world.ticks(1000), 30);
        assert_eq!(world.ticks(1), 1);
    }
}
