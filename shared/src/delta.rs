//! A world's replicated state, and the delta between two of them.
//!
//! `apply(diff(a, b), a) == b` for any two worlds. A delta lists removed ids, created entities in
//! full, and changed entities with a [`FieldMask`] and only the fields that changed; positions
//! travel as a difference from the baseline, which is small for anything that moves smoothly.

use crate::{Checksum, EntityId, EntityState};
use glam::IVec2;
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Everything a client holds: entities by id, with their checksum kept current.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    entities: BTreeMap<EntityId, EntityState>,
    checksum: Checksum,
}

impl PartialEq for WorldState {
    fn eq(&self, other: &Self) -> bool {
        self.entities == other.entities
    }
}
impl Eq for WorldState {}

impl WorldState {
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

    /// One entity's state.
    #[must_use]
    pub fn get(&self, id: EntityId) -> Option<&EntityState> {
        self.entities.get(&id)
    }

    /// All entities in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (EntityId, &EntityState)> {
        self.entities.iter().map(|(id, s)| (*id, s))
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
    pub fn insert(&mut self, id: EntityId, state: EntityState) {
        if let Some(old) = self.entities.insert(id, state) {
            self.checksum.remove(id, &old);
        }
        self.checksum.add(id, &state);
    }

    /// Removes an entity, returning its last state.
    pub fn remove(&mut self, id: EntityId) -> Option<EntityState> {
        let old = self.entities.remove(&id)?;
        self.checksum.remove(id, &old);
        Some(old)
    }

    /// Empties the world.
    pub fn clear(&mut self) {
        self.entities.clear();
        self.checksum = Checksum::default();
    }

    /// What turns `self` into `target`.
    #[must_use]
    pub fn diff(&self, target: &WorldState) -> WorldDelta {
        let mut delta = WorldDelta::default();
        let mut old = self.entities.iter().peekable();
        let mut new = target.entities.iter().peekable();
        loop {
            match (old.peek(), new.peek()) {
                (Some((oid, _)), Some((nid, _))) if oid < nid => {
                    delta.removed.push(**oid);
                    old.next();
                }
                (Some((oid, _)), Some((nid, ns))) if oid > nid => {
                    delta.created.push((**nid, **ns));
                    new.next();
                }
                (Some((_, os)), Some((id, ns))) => {
                    let (id, os, ns) = (**id, **os, **ns);
                    if os.kind != ns.kind {
                        // A recycled id: the client must drop the old entity, not morph it.
                        delta.removed.push(id);
                        delta.created.push((id, ns));
                    } else if let Some(change) = EntityChange::between(id, &os, &ns) {
                        delta.changed.push(change);
                    }
                    old.next();
                    new.next();
                }
                (Some((oid, _)), None) => {
                    delta.removed.push(**oid);
                    old.next();
                }
                (None, Some((nid, ns))) => {
                    delta.created.push((**nid, **ns));
                    new.next();
                }
                (None, None) => return delta,
            }
        }
    }

    /// Applies a delta: removals, then creations, then changes. On error the world is left
    /// partly updated; the caller resynchronizes from a full snapshot.
    pub fn apply(&mut self, delta: &WorldDelta) -> Result<(), DeltaError> {
        for &id in &delta.removed {
            self.remove(id).ok_or(DeltaError::UnknownEntity(id))?;
        }
        for &(id, state) in &delta.created {
            if self.entities.contains_key(&id) {
                return Err(DeltaError::DuplicateEntity(id));
            }
            self.insert(id, state);
        }
        for change in &delta.changed {
            let old = *self
                .get(change.id)
                .ok_or(DeltaError::UnknownEntity(change.id))?;
            let new = change.applied_to(&old);
            self.insert(change.id, new);
        }
        Ok(())
    }
}

/// Why a delta does not apply to a world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// A removed or changed id is not in the world.
    #[error("entity {0} is not in the world")]
    UnknownEntity(EntityId),
    /// A created id is already in the world.
    #[error("entity {0} already exists")]
    DuplicateEntity(EntityId),
}

/// The difference between two worlds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldDelta {
    /// Ids that are gone.
    pub removed: Vec<EntityId>,
    /// New entities, in full.
    pub created: Vec<(EntityId, EntityState)>,
    /// Entities whose state changed, with only the changed fields.
    pub changed: Vec<EntityChange>,
}

impl WorldDelta {
    /// Whether applying this delta changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.created.is_empty() && self.changed.is_empty()
    }
}

/// Which fields an [`EntityChange`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldMask(pub u8);

impl FieldMask {
    /// `pos` changed; carries the difference from the baseline position.
    pub const POS: u8 = 1;
    /// `aim` changed.
    pub const AIM: u8 = 1 << 1;
    /// `hp` changed.
    pub const HP: u8 = 1 << 2;
    /// `score` changed.
    pub const SCORE: u8 = 1 << 3;
    /// Every defined bit; any other bit makes the change undecodable.
    pub const ALL: u8 = Self::POS | Self::AIM | Self::HP | Self::SCORE;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    fn pick<T: Default>(self, bit: u8, value: T) -> T {
        if self.has(bit) { value } else { T::default() }
    }
}

/// The changed fields of one entity. Fields outside `mask` are zero and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityChange {
    /// The entity.
    pub id: EntityId,
    /// Which of the fields below are present.
    pub mask: FieldMask,
    /// New position minus baseline position.
    pub pos_delta: IVec2,
    /// New aim.
    pub aim: u16,
    /// New hit points.
    pub hp: u8,
    /// New score.
    pub score: u16,
}

impl EntityChange {
    /// The change from `old` to `new`, or `None` when nothing changed.
    #[must_use]
    pub fn between(id: EntityId, old: &EntityState, new: &EntityState) -> Option<Self> {
        let mut mask = 0;
        for (bit, differs) in [
            (FieldMask::POS, old.pos != new.pos),
            (FieldMask::AIM, old.aim != new.aim),
            (FieldMask::HP, old.hp != new.hp),
            (FieldMask::SCORE, old.score != new.score),
        ] {
            if differs {
                mask |= bit;
            }
        }
        let mask = FieldMask(mask);
        // Fields outside the mask stay zero, so a decoded change equals the one encoded.
        (mask.0 != 0).then(|| Self {
            id,
            mask,
            pos_delta: mask.pick(FieldMask::POS, new.pos.wrapping_sub(old.pos)),
            aim: mask.pick(FieldMask::AIM, new.aim),
            hp: mask.pick(FieldMask::HP, new.hp),
            score: mask.pick(FieldMask::SCORE, new.score),
        })
    }

    /// `old` with this change applied. Positions add with wrapping, mirroring the wrapping
    /// difference the encoder took, so every change round-trips exactly.
    #[must_use]
    pub fn applied_to(&self, old: &EntityState) -> EntityState {
        let mut s = *old;
        if self.mask.has(FieldMask::POS) {
            s.pos = old.pos.wrapping_add(self.pos_delta);
        }
        if self.mask.has(FieldMask::AIM) {
            s.aim = self.aim;
        }
        if self.mask.has(FieldMask::HP) {
            s.hp = self.hp;
        }
        if self.mask.has(FieldMask::SCORE) {
            s.score = self.score;
        }
        s
    }
}

// Wire form: id, mask, then only the fields the mask names, in bit order. Serialized as a tuple
// whose length depends on the mask; the decoder reads the mask first and then exactly those fields
// (a tuple has no length prefix in bincode, so nothing else is spent on the optional fields).
impl Serialize for EntityChange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.mask;
        let len = 2
            + usize::from(m.has(FieldMask::POS)) * 2
            + usize::from(m.has(FieldMask::AIM))
            + usize::from(m.has(FieldMask::HP))
            + usize::from(m.has(FieldMask::SCORE));
        let mut t = serializer.serialize_tuple(len)?;
        t.serialize_element(&self.id)?;
        t.serialize_element(&m.0)?;
        if m.has(FieldMask::POS) {
            t.serialize_element(&self.pos_delta.x)?;
            t.serialize_element(&self.pos_delta.y)?;
        }
        if m.has(FieldMask::AIM) {
            t.serialize_element(&self.aim)?;
        }
        if m.has(FieldMask::HP) {
            t.serialize_element(&self.hp)?;
        }
        if m.has(FieldMask::SCORE) {
            t.serialize_element(&self.score)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for EntityChange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn field<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(seq: &mut A) -> Result<T, A::Error> {
            seq.next_element()?
                .ok_or_else(|| de::Error::custom("entity change ended early"))
        }
        struct ChangeVisitor;
        impl<'de> Visitor<'de> for ChangeVisitor {
            type Value = EntityChange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an entity change: id, field mask, masked fields")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntityChange, A::Error> {
                let id: EntityId = field(&mut seq)?;
                let mask: u8 = field(&mut seq)?;
                if mask == 0 || mask & !FieldMask::ALL != 0 {
                    return Err(de::Error::custom(format_args!(
                        "invalid field mask {mask:#04x}"
                    )));
                }
                let mask = FieldMask(mask);
                let mut change = EntityChange {
                    id,
                    mask,
                    pos_delta: IVec2::ZERO,
                    aim: 0,
                    hp: 0,
                    score: 0,
                };
                if mask.has(FieldMask::POS) {
                    change.pos_delta = IVec2::new(field(&mut seq)?, field(&mut seq)?);
                }
                if mask.has(FieldMask::AIM) {
                    change.aim = field(&mut seq)?;
                }
                if mask.has(FieldMask::HP) {
                    change.hp = field(&mut seq)?;
                }
                if mask.has(FieldMask::SCORE) {
                    change.score = field(&mut seq)?;
                }
                Ok(change)
            }
        }
        // 7 is the longest form (id, mask, x, y, aim, hp, score); the visitor reads fewer.
        deserializer.deserialize_tuple(7, ChangeVisitor)
    }
}
