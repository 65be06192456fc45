//! The replicated state of any game, as its [`Layout`] describes it: entities by id, each a kind
//! and the integer lanes and strings of that kind's components, with the world's checksum kept
//! current by every change.
//!
//! Fields are reached by name ([`World::field`]) by clients that only have the schema, and as
//! typed components ([`EntityData::component`]) by games compiled in.
//! [`crate::world_diff`] computes and applies the difference between two worlds.

use crate::component::Component;
use crate::layout::Layout;
use crate::tick_changes::TickChanges;
use crate::{Checksum, EntityId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An entity's lanes: inline up to six (most entities), on the heap past that.
pub type Lanes = smallvec::SmallVec<[i32; 6]>;

/// One entity's replicated data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntityData {
    /// Its kind: an index into the schema's kinds. Never changes during an entity's life.
    pub kind: u16,
    /// The lanes of its kind's components, back to back in component order.
    pub lanes: Lanes,
    /// The strings of its kind's components, in the same order.
    pub strings: Vec<String>,
}

impl EntityData {
    /// An entity of `kind` with every lane 0 and every string empty, or `None` for an unknown
    /// kind. (Zero may lie outside a field's domain: set every component before replicating.)
    #[must_use]
    pub fn new(layout: &Layout, kind: u16) -> Option<Self> {
        let (lanes, strings) = layout.kind_size(kind)?;
        Some(Self {
            kind,
            lanes: smallvec::smallvec![0; lanes],
            strings: vec![String::new(); strings],
        })
    }

    /// Its component `C`, if its kind has one declared exactly as `C` is (a client built
    /// with an older version of the game gets `None` for a component whose fields changed, and
    /// reads it by name with [`World::field`]) and the values are in `C`'s domains.
    #[must_use]
    pub fn component<C: Component>(&self, layout: &Layout) -> Option<C> {
        let component = typed_index::<C>(layout)?;
        let (lane, string) = layout.component_offsets(self.kind, component)?;
        let desc = &layout.components()[component];
        C::read(
            self.lanes.get(lane..lane + desc.lanes as usize)?,
            self.strings.get(string..string + desc.strings as usize)?,
        )
    }

    /// Replaces its component `C`. Returns `false` (and changes nothing) when its kind has no
    /// `C` declared exactly as `C` is.
    pub fn set_component<C: Component>(&mut self, layout: &Layout, value: &C) -> bool {
        let Some(component) = typed_index::<C>(layout) else {
            return false;
        };
        let Some((lane, string)) = layout.component_offsets(self.kind, component) else {
            return false;
        };
        let (mut lanes, mut strings) = (Vec::new(), Vec::new());
        value.write(&mut lanes, &mut strings);
        let lane_slots = self.lanes.get_mut(lane..lane + lanes.len());
        let string_slots = self.strings.get_mut(string..string + strings.len());
        let (Some(lane_slots), Some(string_slots)) = (lane_slots, string_slots) else {
            return false;
        };
        lane_slots.copy_from_slice(&lanes);
        string_slots.clone_from_slice(&strings);
        true
    }

    /// Whether its kind exists, its sizes match the kind, and every value is in its field's
    /// domain: what a client will accept.
    #[must_use]
    pub fn is_valid(&self, layout: &Layout) -> bool {
        let Some(kind) = layout.kind(self.kind) else {
            return false;
        };
        if self.lanes.len() != kind.lanes as usize || self.strings.len() != kind.strings as usize {
            return false;
        }
        layout
            .components()
            .iter()
            .enumerate()
            .filter(|(c, _)| kind.has(*c))
            .all(|(c, component)| {
                let (lane, string) = kind.offsets[c];
                component.fields.iter().all(|field| {
                    field.allows_all(
                        &self.lanes[lane as usize..],
                        &self.strings[string as usize..],
                    )
                })
            })
    }
}

/// Adds to `delta` what turns `old` into `new` (either may be missing) for entity `id`. When
/// the change was copied from `known`, returns what it adds to a checksum.
fn add_to_delta(
    delta: &mut crate::world_diff::Delta,
    layout: &Layout,
    known: Option<&TickChanges>,
    id: EntityId,
    old: Option<&EntityData>,
    new: Option<&Arc<EntityData>>,
) -> Option<u32> {
    match (old, new) {
        (Some(old), Some(new)) => {
            let copied = known.and_then(|known| known.copy_into(delta, layout, id, old, new));
            if copied.is_some() {
                return copied;
            }
            if !crate::world_diff::diff_entity(delta, layout, id, old, new) {
                // Re-created: removed, then created in full.
                delta.removed.push(id);
                delta.created.push((id, EntityData::clone(new)));
            }
        }
        (None, Some(new)) => delta.created.push((id, EntityData::clone(new))),
        (Some(_), None) => delta.removed.push(id),
        (None, None) => {}
    }
    None
}

/// The index of component `C` in `layout`, if the schema declares it exactly as `C` does.
fn typed_index<C: Component>(layout: &Layout) -> Option<usize> {
    layout.typed_index(std::any::TypeId::of::<C>(), C::desc)
}

/// A field's value as a client without the game's types reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// The lanes of an integer, fixed-point, angle, enum or bool field.
    Lanes(&'a [i32]),
    /// A string field.
    Str(&'a str),
}

/// Every entity of a game's world, with the checksum clients verify.
///
/// Entities are shared between clones: a server keeps a world per tick of its history, and a
/// tick's clone costs a pointer per entity, with only changed entities stored anew.
#[derive(Clone, Debug, Default)]
pub struct World {
    entities: BTreeMap<EntityId, Arc<EntityData>>,
    checksum: Checksum,
}

impl PartialEq for World {
    fn eq(&self, other: &Self) -> bool {
        self.entities == other.entities
    }
}
impl Eq for World {}

impl World {
    /// An empty world.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The checksum of the world as it is (O(1): kept current by every change).
    #[must_use]
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// One entity.
    #[must_use]
    pub fn get(&self, id: EntityId) -> Option<&EntityData> {
        self.entities.get(&id).map(Arc::as_ref)
    }

    /// All entities in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (EntityId, &EntityData)> {
        self.entities.iter().map(|(id, e)| (*id, e.as_ref()))
    }

    /// How many entities there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether there are no entities.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Inserts or replaces an entity.
    pub fn insert(&mut self, id: EntityId, data: EntityData) {
        self.checksum.add(id, &data);
        if let Some(old) = self.entities.insert(id, Arc::new(data)) {
            self.checksum.remove(id, &old);
        }
    }

    /// One entity, as shared between the worlds cloned from one another.
    #[must_use]
    pub fn get_shared(&self, id: EntityId) -> Option<&Arc<EntityData>> {
        self.entities.get(&id)
    }

    /// Inserts or replaces an entity with data shared with another world.
    pub fn insert_shared(&mut self, id: EntityId, data: Arc<EntityData>) {
        self.checksum.add(id, &data);
        if let Some(old) = self.entities.insert(id, data) {
            self.checksum.remove(id, &old);
        }
    }

    /// All entities in id order, as shared between the worlds cloned from one another (for
    /// [`World::follow`]).
    pub fn iter_shared(&self) -> impl ExactSizeIterator<Item = (EntityId, &Arc<EntityData>)> {
        self.entities.iter().map(|(id, e)| (*id, e))
    }

    /// Moves this world (what one client holds) on to `entries` (ascending ids, each once: a
    /// part of another world, from [`World::iter_shared`]), and returns the delta that does the
    /// same on the client. The work grows with what the client holds and what changed in it,
    /// not with the world `entries` come from: one walk over both, unchanged entities
    /// recognised by address, and the checksum updated only for what changed. Entities are
    /// shared with that world.
    pub fn follow<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (EntityId, &'a Arc<EntityData>)>,
        layout: &Layout,
    ) -> crate::world_diff::Delta {
        self.follow_known(entries, layout, None)
    }

    /// [`World::follow`], copying each change `known` has already worked out (for entities
    /// this world holds as `known`'s earlier state had them) instead of diffing it again.
    pub fn follow_known<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (EntityId, &'a Arc<EntityData>)>,
        layout: &Layout,
        known: Option<&TickChanges>,
    ) -> crate::world_diff::Delta {
        let mut delta = crate::world_diff::Delta::default();
        // Changes `known` had worked out come with their checksum shift: no hashing again.
        let (mut updates, mut reused, mut shift) = (Vec::new(), Vec::new(), 0u32);
        self.walk_to(entries, |id, old, new| {
            match (add_to_delta(&mut delta, layout, known, id, old, new), new) {
                (Some(known_shift), Some(new)) => {
                    shift = shift.wrapping_add(known_shift);
                    reused.push((id, new));
                }
                (_, Some(new)) => updates.push((id, new)),
                (_, None) => {}
            }
        });
        self.take_shared(&delta.removed, updates);
        for (id, new) in reused {
            self.entities.insert(id, Arc::clone(new));
        }
        self.checksum.0 = self.checksum.0.wrapping_add(shift);
        delta
    }

    /// The delta [`World::follow_known`] would return and the checksum this world would have,
    /// with this world left as it is.
    #[must_use]
    pub fn delta_to<'a>(
        &self,
        entries: impl IntoIterator<Item = (EntityId, &'a Arc<EntityData>)>,
        layout: &Layout,
        known: Option<&TickChanges>,
    ) -> (crate::world_diff::Delta, Checksum) {
        let mut delta = crate::world_diff::Delta::default();
        let mut checksum = self.checksum;
        self.walk_to(entries, |id, old, new| {
            if let Some(shift) = add_to_delta(&mut delta, layout, known, id, old, new) {
                checksum.0 = checksum.0.wrapping_add(shift);
                return;
            }
            if let Some(old) = old {
                checksum.remove(id, old);
            }
            if let Some(new) = new {
                checksum.add(id, new);
            }
        });
        (delta, checksum)
    }

    /// Moves this world on to `entries` as [`World::follow`] does, with no delta.
    pub fn adopt<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (EntityId, &'a Arc<EntityData>)>,
    ) {
        let (mut removed, mut updates) = (Vec::new(), Vec::new());
        self.walk_to(entries, |id, old, new| match new {
            Some(new) => updates.push((id, new)),
            None if old.is_some() => removed.push(id),
            None => {}
        });
        self.take_shared(&removed, updates);
    }

    /// One walk over this world and `entries` (ascending ids) together: `differs(id, old,
    /// new)` for each id, ascending, whose entity is not the same (by address) in both; `None`
    /// where one side lacks it.
    pub(crate) fn walk_to<'a>(
        &self,
        entries: impl IntoIterator<Item = (EntityId, &'a Arc<EntityData>)>,
        mut differs: impl FnMut(EntityId, Option<&EntityData>, Option<&'a Arc<EntityData>>),
    ) {
        let mut held = self.entities.iter().peekable();
        for (id, new) in entries {
            while let Some((&gone, old)) = held.next_if(|(h, _)| **h < id) {
                differs(gone, Some(old), None);
            }
            let old = held.next_if(|(h, _)| **h == id).map(|(_, old)| old);
            if old.is_some_and(|old| Arc::ptr_eq(old, new)) {
                continue;
            }
            differs(id, old.map(Arc::as_ref), Some(new));
        }
        for (&gone, old) in held {
            differs(gone, Some(old), None);
        }
    }

    /// Removes `removed`, then inserts or replaces `updates`, sharing them.
    fn take_shared(&mut self, removed: &[EntityId], updates: Vec<(EntityId, &Arc<EntityData>)>) {
        for id in removed {
            if let Some(old) = self.entities.remove(id) {
                self.checksum.remove(*id, &old);
            }
        }
        for (id, new) in updates {
            self.insert_shared(id, Arc::clone(new));
        }
    }

    /// The entities of this world with these ids (unknown ones skipped, repeats once): what a
    /// client that sees only those holds. Entities stay shared with this world.
    #[must_use]
    pub fn subset(&self, ids: impl IntoIterator<Item = EntityId>) -> Self {
        let mut part = Self::new();
        for id in ids {
            if let Some(data) = self.entities.get(&id)
                && part.entities.insert(id, Arc::clone(data)).is_none()
            {
                part.checksum.add(id, data);
            }
        }
        part
    }

    /// Removes an entity, returning its last data.
    pub fn remove(&mut self, id: EntityId) -> Option<EntityData> {
        let old = self.entities.remove(&id)?;
        self.checksum.remove(id, &old);
        Some(Arc::unwrap_or_clone(old))
    }

    /// Empties the world.
    pub fn clear(&mut self) {
        self.entities.clear();
        self.checksum = Checksum::default();
    }

    /// Changes one entity in place through `change`, keeping the checksum current. Returns what
    /// `change` returned, or `None` for an unknown id.
    pub fn update<T>(
        &mut self,
        id: EntityId,
        change: impl FnOnce(&mut EntityData) -> T,
    ) -> Option<T> {
        // Copies the entity only if a clone of this world still shares it.
        let entity = Arc::make_mut(self.entities.get_mut(&id)?);
        self.checksum.remove(id, entity);
        let result = change(entity);
        self.checksum.add(id, entity);
        Some(result)
    }

    /// The field `component.field` of entity `id`, by name: how a client that knows only the
    /// schema reads the world.
    #[must_use]
    pub fn field<'a>(
        &'a self,
        layout: &Layout,
        id: EntityId,
        component: &str,
        field: &str,
    ) -> Option<FieldValue<'a>> {
        let entity = self.entities.get(&id)?;
        let c = layout.component_index(component)?;
        let f = layout.schema().components[c]
            .fields
            .iter()
            .position(|f| f.name == field)?;
        let (lane, string) = layout.component_offsets(entity.kind, c)?;
        let desc = &layout.components()[c].fields[f];
        let offset = desc.offset as usize;
        Some(match desc.values {
            crate::layout::FieldValues::Lanes { .. } => FieldValue::Lanes(
                entity
                    .lanes
                    .get(lane + offset..lane + offset + desc.lanes as usize)?,
            ),
            crate::layout::FieldValues::Str { .. } => {
                FieldValue::Str(entity.strings.get(string + offset)?)
            }
        })
    }
}
