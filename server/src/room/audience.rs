//! Audience: components only an entity's owner receives (ammo, an inventory). Each tick the
//! room derives the public world from the game's: every entity with owner-only components
//! replaced by its public copy, those components at their hidden values. Snapshots are made
//! from the public world, and each player's own view gets its own entities back as they are.

use std::collections::HashMap;
use std::sync::Arc;
use tickwire_game::HostedGame;
use tickwire_shared::{EntityData, EntityId, World};

/// The public world, and who owns what in it.
#[derive(Debug, Default)]
pub(crate) struct Audience {
    /// Whether the game's schema has owner-only components at all.
    enabled: bool,
    /// The public world, when this tick some entity has owner-only components (else it is the
    /// game's).
    public: Option<World>,
    /// Each entity with owner-only components: the entity its public copy was made from, and
    /// the copy. The copy is kept while the entity is unchanged, and while only its hidden
    /// fields changed, so the clients that do not own it see no change at all.
    copies: HashMap<EntityId, (Arc<EntityData>, Arc<EntityData>)>,
    /// The entities with owner-only components, by owner, ascending.
    owned: HashMap<EntityId, Vec<EntityId>>,
}

impl Audience {
    pub(crate) fn new(game: &dyn HostedGame) -> Self {
        Self {
            enabled: game.layout().has_owner_only(),
            ..Self::default()
        }
    }

    /// Whether this tick some clients hold the world differently from others.
    pub(crate) fn hides_anything(&self) -> bool {
        self.public.is_some()
    }

    /// Derives this tick's public world, once per tick after the inputs.
    pub(crate) fn prepare(&mut self, game: &dyn HostedGame) {
        if !self.enabled {
            return;
        }
        let (world, layout) = (game.world(), game.layout());
        for owned in self.owned.values_mut() {
            owned.clear();
        }
        let mut copies = HashMap::with_capacity(self.copies.len());
        for (id, data) in world.iter_shared() {
            let kept = self.copies.remove(&id);
            let copy = match kept {
                Some((source, copy)) if Arc::ptr_eq(&source, data) => copy,
                kept => {
                    let Some(hidden) = layout.hidden(data) else {
                        continue;
                    };
                    match kept {
                        Some((_, copy)) if *copy == hidden => copy,
                        _ => Arc::new(hidden),
                    }
                }
            };
            copies.insert(id, (Arc::clone(data), copy));
            if let Some(owner) = game.owner(id) {
                self.owned.entry(owner).or_default().push(id);
            }
        }
        self.copies = copies;
        self.owned.retain(|_, owned| !owned.is_empty());
        self.public = (!self.copies.is_empty()).then(|| {
            let mut public = self.public.take().unwrap_or_default();
            public.clone_from(world);
            for (&id, (_, copy)) in &self.copies {
                public.insert_shared(id, Arc::clone(copy));
            }
            public
        });
    }

    /// The world as a client that owns none of it holds it.
    pub(crate) fn public<'a>(&'a self, world: &'a World) -> &'a World {
        self.public.as_ref().unwrap_or(world)
    }

    /// Whether `viewer`'s client receives `id`'s owner-only components.
    pub(crate) fn owns(&self, viewer: Option<EntityId>, id: EntityId) -> bool {
        viewer
            .and_then(|viewer| self.owned.get(&viewer))
            .is_some_and(|owned| owned.binary_search(&id).is_ok())
    }

    /// `entries` of the public world (ascending), with the entities `viewer` owns as they are
    /// in the game's `world`.
    pub(crate) fn own_entries<'a>(
        &'a self,
        viewer: Option<EntityId>,
        world: &'a World,
        entries: impl Iterator<Item = (EntityId, &'a Arc<EntityData>)>,
    ) -> impl Iterator<Item = (EntityId, &'a Arc<EntityData>)> {
        let owned = viewer
            .and_then(|viewer| self.owned.get(&viewer))
            .map_or(&[][..], Vec::as_slice);
        entries.map(move |(id, data)| {
            let own = owned
                .binary_search(&id)
                .ok()
                .and_then(|_| world.get_shared(id));
            (id, own.unwrap_or(data))
        })
    }
}
