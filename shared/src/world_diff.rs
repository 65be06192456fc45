//! The difference between two [`World`]s of one game: `apply(diff(a, b), a) == b`.
//!
//! A component is the unit of change: a changed entity carries the components whose values
//! changed, each with all its fields except spawn-only ones; delta-coded fields carry the
//! (wrapping) difference from the baseline. An entity whose kind or spawn-only field changed is
//! removed and created again. [`crate::world_wire`] packs a [`Delta`] into bits.

use crate::EntityId;
use crate::layout::{FieldValues, KindLayout, Layout};
use crate::schema::Coding;
use crate::world::{EntityData, World};

/// What turns one world into another. Ids ascend strictly within each list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// Ids that are gone.
    pub removed: Vec<EntityId>,
    /// New entities, in full.
    pub created: Vec<(EntityId, EntityData)>,
    /// Entities whose components changed.
    pub changed: Vec<Change>,
    /// The lanes of every change, back to back: each change has as many as its kind, with
    /// zeros in the components it does not carry and in spawn-only fields.
    pub(crate) lanes: Vec<i32>,
    /// The strings of every change, laid out the same way.
    pub(crate) strings: Vec<String>,
}

/// One changed entity. Its values live in the [`Delta`] that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The entity.
    pub id: EntityId,
    /// Its kind (unchanged).
    pub kind: u16,
    /// Bit `c` set: component `c` of the schema changed and its values are carried.
    pub components: u64,
    pub(crate) lanes_at: u32,
    pub(crate) strings_at: u32,
}

/// Why a delta does not apply to a world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorldDeltaError {
    /// A removed or changed id is not in the world.
    #[error("entity {0} is not in the world")]
    UnknownEntity(EntityId),
    /// A created id is already in the world.
    #[error("entity {0} already exists")]
    DuplicateEntity(EntityId),
    /// A change names another kind than the entity's, or an entity's data does not fit its
    /// kind.
    #[error("entity {0} does not match its kind")]
    KindMismatch(EntityId),
    /// A delta-coded value lands outside its field's domain.
    #[error("entity {0}: a value lands outside its field's domain")]
    OutOfDomain(EntityId),
}

impl Delta {
    /// Whether applying this delta changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.created.is_empty() && self.changed.is_empty()
    }

    /// The lanes and strings a change carries (its kind's size; see [`Delta`]).
    #[must_use]
    pub fn values(&self, change: &Change, layout: &Layout) -> Option<(&[i32], &[String])> {
        let (lanes, strings) = layout.kind_size(change.kind)?;
        let lane = change.lanes_at as usize;
        let string = change.strings_at as usize;
        Some((
            self.lanes.get(lane..lane + lanes)?,
            self.strings.get(string..string + strings)?,
        ))
    }

    /// Appends a copy of change `index` of `from`. `false` (and nothing appended) when it is
    /// not there.
    pub(crate) fn copy_change(&mut self, from: &Delta, index: usize, layout: &Layout) -> bool {
        let Some(change) = from.changed.get(index) else {
            return false;
        };
        let Some((lanes, strings)) = from.values(change, layout) else {
            return false;
        };
        self.changed.push(Change {
            lanes_at: self.lanes.len() as u32,
            strings_at: self.strings.len() as u32,
            ..*change
        });
        self.lanes.extend_from_slice(lanes);
        self.strings.extend_from_slice(strings);
        true
    }

    /// Appends a change of `kind` whose values are all zero and empty.
    pub(crate) fn push_change(&mut self, id: EntityId, kind: &KindLayout, kind_index: u16) {
        self.changed.push(Change {
            id,
            kind: kind_index,
            components: 0,
            lanes_at: self.lanes.len() as u32,
            strings_at: self.strings.len() as u32,
        });
        self.lanes.resize(self.lanes.len() + kind.lanes as usize, 0);
        self.strings
            .resize(self.strings.len() + kind.strings as usize, String::new());
    }
}

impl World {
    /// What turns `self` into `target`. Both must hold only entities valid for `layout`.
    #[must_use]
    pub fn diff(&self, target: &World, layout: &Layout) -> Delta {
        let mut delta = Delta::default();
        let mut old = self.iter().peekable();
        let mut new = target.iter().peekable();
        loop {
            match (old.peek(), new.peek()) {
                (Some((oid, _)), Some((nid, _))) if oid < nid => {
                    delta.removed.push(*oid);
                    old.next();
                }
                (Some((oid, _)), Some((nid, ns))) if oid > nid => {
                    delta.created.push((*nid, (*ns).clone()));
                    new.next();
                }
                (Some((_, os)), Some((id, ns))) => {
                    if !diff_entity(&mut delta, layout, *id, os, ns) {
                        // A new kind or spawn-only value: the client must drop the old entity.
                        delta.removed.push(*id);
                        delta.created.push((*id, (*ns).clone()));
                    }
                    old.next();
                    new.next();
                }
                (Some((oid, _)), None) => {
                    delta.removed.push(*oid);
                    old.next();
                }
                (None, Some((nid, ns))) => {
                    delta.created.push((*nid, (*ns).clone()));
                    new.next();
                }
                (None, None) => return delta,
            }
        }
    }

    /// Applies a delta: removals, then creations, then changes. On error the world is left
    /// partly updated (each entity whole, the checksum true to it); the caller resynchronizes
    /// from a full snapshot.
    pub fn apply(&mut self, delta: &Delta, layout: &Layout) -> Result<(), WorldDeltaError> {
        for &id in &delta.removed {
            self.remove(id).ok_or(WorldDeltaError::UnknownEntity(id))?;
        }
        for (id, data) in &delta.created {
            if self.get(*id).is_some() {
                return Err(WorldDeltaError::DuplicateEntity(*id));
            }
            if !data.is_valid(layout) {
                return Err(WorldDeltaError::KindMismatch(*id));
            }
            self.insert(*id, data.clone());
        }
        for change in &delta.changed {
            let id = change.id;
            let (Some(kind), Some((lanes, strings))) =
                (layout.kind(change.kind), delta.values(change, layout))
            else {
                return Err(WorldDeltaError::KindMismatch(id));
            };
            let applied = self.update(id, |entity| {
                if entity.kind != change.kind || change.components & !kind.changeable != 0 {
                    return Err(WorldDeltaError::KindMismatch(id));
                }
                if !fits(kind, change.components, entity, (lanes, strings)) {
                    return Err(WorldDeltaError::OutOfDomain(id));
                }
                write_change(kind, change.components, entity, lanes, strings);
                Ok(())
            });
            applied.ok_or(WorldDeltaError::UnknownEntity(id))??;
        }
        Ok(())
    }
}

/// Adds the change from `old` to `new` (same id) to `delta`; `false` when it cannot be a change
/// (another kind, or a spawn-only field differs).
pub(crate) fn diff_entity(
    delta: &mut Delta,
    layout: &Layout,
    id: EntityId,
    old: &EntityData,
    new: &EntityData,
) -> bool {
    // Worlds cloned from one another share their unchanged entities.
    if std::ptr::eq(old, new) {
        return true;
    }
    if old.kind != new.kind {
        return false;
    }
    if old == new {
        return true;
    }
    let Some(kind) = layout.kind(new.kind) else {
        return false;
    };
    if !fits_kind(kind, old) || !fits_kind(kind, new) {
        return false;
    }
    let mut mask = 0u64;
    for field in &kind.fields {
        if field.differs(old, new) {
            if field.coding == Coding::SpawnOnly {
                return false;
            }
            mask |= 1 << field.component;
        }
    }
    let (lanes_at, strings_at) = (delta.lanes.len(), delta.strings.len());
    delta.push_change(id, kind, new.kind);
    if let Some(change) = delta.changed.last_mut() {
        change.components = mask;
    }
    for field in kind.fields.iter().filter(|f| f.carried_in(mask)) {
        let at = field.at as usize;
        match field.values {
            FieldValues::Lanes { .. } => {
                for i in at..at + field.lanes as usize {
                    let (o, n) = (old.lanes[i], new.lanes[i]);
                    delta.lanes[lanes_at + i] = match field.coding {
                        Coding::Delta => n.wrapping_sub(o),
                        _ => n,
                    };
                }
            }
            FieldValues::Str { .. } => {
                delta.strings[strings_at + at] = new.strings[at].clone();
            }
        }
    }
    true
}

/// Whether applying a change's `lanes` and `strings` to `entity` keeps every value in its
/// domain.
fn fits(
    kind: &KindLayout,
    mask: u64,
    entity: &EntityData,
    (lanes, strings): (&[i32], &[String]),
) -> bool {
    if !fits_kind(kind, entity) {
        return false;
    }
    kind.fields
        .iter()
        .filter(|f| f.carried_in(mask))
        .all(|field| {
            let at = field.at as usize;
            match field.values {
                FieldValues::Lanes { .. } => (at..at + field.lanes as usize).all(|i| {
                    let value = match field.coding {
                        Coding::Delta => entity.lanes[i].wrapping_add(lanes[i]),
                        _ => lanes[i],
                    };
                    field.values.allows(i64::from(value))
                }),
                FieldValues::Str { .. } => field.values.allows_str(&strings[at]),
            }
        })
}

/// Whether `entity` has as many lanes and strings as its kind.
fn fits_kind(kind: &KindLayout, entity: &EntityData) -> bool {
    entity.lanes.len() == kind.lanes as usize && entity.strings.len() == kind.strings as usize
}

/// Writes a change's values into `entity` (checked by [`fits`] first).
fn write_change(
    kind: &KindLayout,
    mask: u64,
    entity: &mut EntityData,
    lanes: &[i32],
    strings: &[String],
) {
    for field in kind.fields.iter().filter(|f| f.carried_in(mask)) {
        let at = field.at as usize;
        match field.values {
            FieldValues::Lanes { .. } => {
                let range = at..at + field.lanes as usize;
                for (held, &carried) in entity.lanes[range.clone()].iter_mut().zip(&lanes[range]) {
                    *held = match field.coding {
                        Coding::Delta => held.wrapping_add(carried),
                        _ => carried,
                    };
                }
            }
            FieldValues::Str { .. } => entity.strings[at].clone_from(&strings[at]),
        }
    }
}
