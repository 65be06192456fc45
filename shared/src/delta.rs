//! A world's replicated state, and the delta between two of them.
//!
//! `apply(diff(a, b), a) == b` for any two worlds. A delta lists removed ids, created entities in
//! full, and changed entities with a [`FieldMask`] and only the fields that changed; positions
//! travel as a difference from the baseline, which is small for anything that moves smoothly.
//! [`crate::delta_wire`] packs a delta into bits.

use crate::{Checksum, EntityId, EntityState};
use glam::IVec2;
use std::collections::BTreeMap;

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

/// The difference between two worlds. Ids ascend strictly within each list (as `diff` makes
/// them); its wire form is in [`crate::delta_wire`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

    /// Whether the `bit` field is present.
    #[must_use]
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Whether the mask names at least one field and only defined ones.
    #[must_use]
    pub fn is_valid(self) -> bool {
        self.0 != 0 && self.0 & !Self::ALL == 0
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
