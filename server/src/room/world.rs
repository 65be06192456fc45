//! Entity storage: a slotmap of entities, their wire ids, and the replicated view clients get.

use crate::room::wire_ids::WireIds;
use glam::IVec2;
use slotmap::SlotMap;
use std::sync::Arc;
use tickwire_shared::layout::Layout;
use tickwire_shared::{EntityId, EntityState, Tick, WorldState};

slotmap::new_key_type! {
    /// A server-side handle to an entity; never sent on the wire.
    pub(crate) struct EntityKey;
}

/// One simulated entity: its replicated state plus what only the server needs.
#[derive(Clone, Debug)]
pub(crate) struct Entity {
    pub(crate) id: EntityId,
    pub(crate) state: EntityState,
    /// Movement per tick in 1/64 units (drones and projectiles).
    pub(crate) velocity: IVec2,
    /// Who fired a projectile.
    pub(crate) owner: Option<EntityKey>,
    /// Players: when the next shot is allowed. Drones: when to turn. Projectiles: when to vanish.
    pub(crate) timer: Tick,
}

/// All entities, with wire ids and the replicated state kept in step.
#[derive(Debug)]
pub(crate) struct World {
    entities: SlotMap<EntityKey, Entity>,
    ids: WireIds,
    /// What was last replicated, as the simulation holds it: one cheap comparison per entity
    /// finds what changed.
    replicated: WorldState,
    /// The same in the game's replicated form (its layout's lanes): what clients hold.
    wire: tickwire_shared::World,
    layout: Arc<Layout>,
    tick: Tick,
}

impl World {
    /// `id_quarantine_ticks` must cover the replication history, see [`WireIds`].
    pub(crate) fn new(id_quarantine_ticks: u32, layout: Arc<Layout>) -> Self {
        Self {
            entities: SlotMap::with_key(),
            ids: WireIds::new(id_quarantine_ticks),
            replicated: WorldState::new(),
            wire: tickwire_shared::World::new(),
            layout,
            tick: Tick(0),
        }
    }

    pub(crate) fn tick(&self) -> Tick {
        self.tick
    }

    /// Moves to the next tick and frees wire ids whose quarantine is over.
    pub(crate) fn advance_tick(&mut self) -> Tick {
        self.tick = self.tick.next();
        self.ids.advance(self.tick);
        self.tick
    }

    pub(crate) fn spawn(
        &mut self,
        state: EntityState,
        velocity: IVec2,
        owner: Option<EntityKey>,
        timer: Tick,
    ) -> EntityKey {
        let id = self.ids.allocate();
        self.replicate(id, state);
        self.entities.insert(Entity {
            id,
            state,
            velocity,
            owner,
            timer,
        })
    }

    pub(crate) fn despawn(&mut self, key: EntityKey) -> Option<Entity> {
        let entity = self.entities.remove(key)?;
        self.replicated.remove(entity.id);
        self.wire.remove(entity.id);
        self.ids.release(entity.id, self.tick);
        Some(entity)
    }

    pub(crate) fn get(&self, key: EntityKey) -> Option<&Entity> {
        self.entities.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: EntityKey) -> Option<&mut Entity> {
        self.entities.get_mut(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (EntityKey, &Entity)> {
        self.entities.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (EntityKey, &mut Entity)> {
        self.entities.iter_mut()
    }

    /// The state clients must hold, brought up to date: one comparison per entity, and checksum
    /// work only for entities that changed.
    pub(crate) fn replicated(&mut self) -> &tickwire_shared::World {
        let changed: Vec<(EntityId, EntityState)> = self
            .entities
            .values()
            .filter(|e| self.replicated.get(e.id) != Some(&e.state))
            .map(|e| (e.id, e.state))
            .collect();
        for (id, state) in changed {
            self.replicate(id, state);
        }
        &self.wire
    }

    fn replicate(&mut self, id: EntityId, state: EntityState) {
        self.replicated.insert(id, state);
        // Every arena state has a replicated form: its kind is in the arena's schema.
        if let Some(data) = state.to_data(&self.layout) {
            self.wire.insert(id, data);
        }
    }
}
