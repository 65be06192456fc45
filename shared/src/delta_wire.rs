//! The wire form of a [`WorldDelta`]: one bit-packed byte string, carried by bincode as a
//! length-prefixed byte array inside the snapshot.
//!
//! Layout (all columns as described in [`crate::bits`]):
//! 1. Three counts, exp-Golomb(0): removed, created, changed.
//! 2. Removed: id gaps.
//! 3. Created: id gaps, kinds, x, y, aim, hp, score (each a column over the created entities).
//! 4. Changed: id gaps, field masks, then x and y deltas of the changes whose mask has POS, aims
//!    of those with AIM, hit points of those with HP, scores of those with SCORE.
//!
//! Ids ascend strictly within each list and travel as gaps: `id - previous - 1`, the first as
//! itself. In the benchmark world a tick's 64 moved entities cost about two bytes each: a one-bit
//! gap, no mask bits (every mask is the same) and 7 bits per axis.

pub use crate::bits::BitsError;
use crate::bits::{BitReader, BitWriter};
use crate::{EntityChange, EntityId, EntityKind, EntityState, FieldMask, WorldDelta};
use glam::IVec2;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer, ser};
use std::fmt;

/// The most entities (removed + created + changed) one delta may carry: bounds what a tiny
/// message can make a decoder allocate, since entities of constant columns cost zero bits.
pub const MAX_DELTA_ENTITIES: usize = 1 << 16;

/// Why a delta cannot be packed or unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeltaWireError {
    /// The packed bits are truncated or hold an over-long code.
    #[error(transparent)]
    Bits(#[from] BitsError),
    /// More entities than [`MAX_DELTA_ENTITIES`].
    #[error("{0} entities in one delta, over the limit of {MAX_DELTA_ENTITIES}")]
    TooManyEntities(u64),
    /// Ids in a list do not strictly ascend (encoding), or an id is over `u32::MAX` (decoding).
    #[error("entity ids must strictly ascend within u32")]
    BadIds,
    /// A field holds a value outside its type.
    #[error("{0} out of range")]
    FieldOutOfRange(&'static str),
    /// A field mask is empty or has undefined bits.
    #[error("invalid field mask {0:#04x}")]
    InvalidMask(i64),
    /// Bytes follow the packed delta.
    #[error("bytes after the packed delta")]
    TrailingBytes,
}

/// Packs a delta. Fails only for deltas `diff` never produces (unsorted ids, bad masks, more
/// than [`MAX_DELTA_ENTITIES`]).
pub fn pack(delta: &WorldDelta) -> Result<Vec<u8>, DeltaWireError> {
    let counts = [
        delta.removed.len(),
        delta.created.len(),
        delta.changed.len(),
    ];
    let total: usize = counts.iter().sum();
    if total > MAX_DELTA_ENTITIES {
        return Err(DeltaWireError::TooManyEntities(total as u64));
    }
    if let Some(change) = delta.changed.iter().find(|c| !c.mask.is_valid()) {
        return Err(DeltaWireError::InvalidMask(i64::from(change.mask.0)));
    }
    let mut w = BitWriter::default();
    for count in counts {
        w.write_golomb(count as u32, 0);
    }
    w.write_column(&gaps(delta.removed.iter().copied())?);

    let created = &delta.created;
    w.write_column(&gaps(created.iter().map(|(id, _)| *id))?);
    let column = |field: fn(&EntityState) -> i64| -> Vec<i64> {
        created.iter().map(|(_, s)| field(s)).collect()
    };
    w.write_column(&column(|s| i64::from(s.kind.as_u8())));
    w.write_column(&column(|s| i64::from(s.pos.x)));
    w.write_column(&column(|s| i64::from(s.pos.y)));
    w.write_column(&column(|s| i64::from(s.aim)));
    w.write_column(&column(|s| i64::from(s.hp)));
    w.write_column(&column(|s| i64::from(s.score)));

    let changed = &delta.changed;
    w.write_column(&gaps(changed.iter().map(|c| c.id))?);
    w.write_column(
        &changed
            .iter()
            .map(|c| i64::from(c.mask.0))
            .collect::<Vec<_>>(),
    );
    let with = |bit: u8, field: fn(&EntityChange) -> i64| -> Vec<i64> {
        changed
            .iter()
            .filter(|c| c.mask.has(bit))
            .map(field)
            .collect()
    };
    w.write_column(&with(FieldMask::POS, |c| i64::from(c.pos_delta.x)));
    w.write_column(&with(FieldMask::POS, |c| i64::from(c.pos_delta.y)));
    w.write_column(&with(FieldMask::AIM, |c| i64::from(c.aim)));
    w.write_column(&with(FieldMask::HP, |c| i64::from(c.hp)));
    w.write_column(&with(FieldMask::SCORE, |c| i64::from(c.score)));
    Ok(w.finish())
}

/// Unpacks a delta, checking every count, id, mask and field range; never panics.
pub fn unpack(bytes: &[u8]) -> Result<WorldDelta, DeltaWireError> {
    let mut r = BitReader::new(bytes);
    let mut counts = [0usize; 3];
    let mut total = 0u64;
    for count in &mut counts {
        let n = r.read_golomb(0)?;
        total += u64::from(n);
        if total > MAX_DELTA_ENTITIES as u64 {
            return Err(DeltaWireError::TooManyEntities(total));
        }
        *count = n as usize;
    }
    let [n_removed, n_created, n_changed] = counts;
    let mut column = Vec::with_capacity(n_removed.max(n_created).max(n_changed));

    r.read_column(n_removed, &mut column)?;
    let removed = ids_from_gaps(&column)?;

    r.read_column(n_created, &mut column)?;
    let ids = ids_from_gaps(&column)?;
    let mut states: Vec<EntityState> = Vec::with_capacity(n_created);
    r.read_column(n_created, &mut column)?;
    for &kind in &column {
        let kind = u8::try_from(kind).ok().and_then(EntityKind::from_u8);
        let kind = kind.ok_or(DeltaWireError::FieldOutOfRange("kind"))?;
        states.push(EntityState::new(kind, IVec2::ZERO));
    }
    read_into(&mut r, &mut column, &mut states, "x", |s, v| s.pos.x = v)?;
    read_into(&mut r, &mut column, &mut states, "y", |s, v| s.pos.y = v)?;
    read_into(&mut r, &mut column, &mut states, "aim", |s, v| s.aim = v)?;
    read_into(&mut r, &mut column, &mut states, "hp", |s, v| s.hp = v)?;
    read_into(&mut r, &mut column, &mut states, "score", |s, v| {
        s.score = v
    })?;
    let created = ids.into_iter().zip(states).collect();

    r.read_column(n_changed, &mut column)?;
    let ids = ids_from_gaps(&column)?;
    r.read_column(n_changed, &mut column)?;
    let mut changed = Vec::with_capacity(n_changed);
    for (id, &mask) in ids.into_iter().zip(&column) {
        let valid = u8::try_from(mask)
            .ok()
            .map(FieldMask)
            .filter(|m| m.is_valid());
        let mask = valid.ok_or(DeltaWireError::InvalidMask(mask))?;
        changed.push(EntityChange {
            id,
            mask,
            pos_delta: IVec2::ZERO,
            aim: 0,
            hp: 0,
            score: 0,
        });
    }
    let mut with = |bit: u8, name, set: fn(&mut EntityChange, i64) -> bool| {
        let mut subset: Vec<&mut EntityChange> =
            changed.iter_mut().filter(|c| c.mask.has(bit)).collect();
        r.read_column(subset.len(), &mut column)?;
        for (change, &value) in subset.iter_mut().zip(&column) {
            if !set(change, value) {
                return Err(DeltaWireError::FieldOutOfRange(name));
            }
        }
        Ok::<(), DeltaWireError>(())
    };
    with(FieldMask::POS, "x delta", |c, v| set(&mut c.pos_delta.x, v))?;
    with(FieldMask::POS, "y delta", |c, v| set(&mut c.pos_delta.y, v))?;
    with(FieldMask::AIM, "aim", |c, v| set(&mut c.aim, v))?;
    with(FieldMask::HP, "hp", |c, v| set(&mut c.hp, v))?;
    with(FieldMask::SCORE, "score", |c, v| set(&mut c.score, v))?;

    if !r.is_at_end() {
        return Err(DeltaWireError::TrailingBytes);
    }
    Ok(WorldDelta {
        removed,
        created,
        changed,
    })
}

/// Stores `value` in `field` if it fits its type.
fn set<T: TryFrom<i64>>(field: &mut T, value: i64) -> bool {
    T::try_from(value).map(|v| *field = v).is_ok()
}

/// Reads one column of created-entity fields into `states`.
fn read_into<T: TryFrom<i64>>(
    r: &mut BitReader<'_>,
    column: &mut Vec<i64>,
    states: &mut [EntityState],
    name: &'static str,
    store: fn(&mut EntityState, T),
) -> Result<(), DeltaWireError> {
    r.read_column(states.len(), column)?;
    for (state, &value) in states.iter_mut().zip(column.iter()) {
        let value = T::try_from(value).map_err(|_| DeltaWireError::FieldOutOfRange(name))?;
        store(state, value);
    }
    Ok(())
}

fn gaps(ids: impl Iterator<Item = EntityId>) -> Result<Vec<i64>, DeltaWireError> {
    let mut previous = -1i64;
    ids.map(|id| {
        let id = i64::from(id.0);
        let gap = id - previous - 1;
        previous = id;
        if gap < 0 {
            Err(DeltaWireError::BadIds)
        } else {
            Ok(gap)
        }
    })
    .collect()
}

fn ids_from_gaps(gaps: &[i64]) -> Result<Vec<EntityId>, DeltaWireError> {
    let mut previous = -1i64;
    gaps.iter()
        .map(|&gap| {
            if gap < 0 {
                return Err(DeltaWireError::BadIds); // A column's base may be negative.
            }
            previous += gap + 1;
            u32::try_from(previous)
                .map(EntityId)
                .map_err(|_| DeltaWireError::BadIds)
        })
        .collect()
}

impl Serialize for WorldDelta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let packed = pack(self).map_err(ser::Error::custom)?;
        serializer.serialize_bytes(&packed)
    }
}

impl<'de> Deserialize<'de> for WorldDelta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PackedVisitor;
        impl Visitor<'_> for PackedVisitor {
            type Value = WorldDelta;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a packed world delta")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<WorldDelta, E> {
                unpack(bytes).map_err(E::custom)
            }
        }
        deserializer.deserialize_bytes(PackedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorldState;

    #[test]
    fn a_window_of_64_small_moves_packs_to_about_two_bytes_each() {
        let mut before = WorldState::new();
        for id in 0..320 {
            before.insert(
                EntityId(id),
                EntityState::new(
                    EntityKind::Prop,
                    IVec2::new(id as i32 * 199, 64_000 - id as i32),
                ),
            );
        }
        let mut after = before.clone();
        // The window wraps around the end of the id range, like the benchmark's rotating window.
        for (i, id) in (290..320).chain(0..34).enumerate() {
            let mut s = *after.get(EntityId(id)).expect("present");
            s.pos += IVec2::new(i as i32 % 65 - 32, 32 - (i as i32 * 7) % 65);
            after.insert(EntityId(id), s);
        }
        let delta = before.diff(&after);
        assert_eq!(delta.changed.len(), 64);
        let packed = pack(&delta).expect("packs");
        assert!(packed.len() <= 136, "{} bytes", packed.len());
        assert_eq!(unpack(&packed), Ok(delta));

        let full = WorldState::new().diff(&after);
        let packed = pack(&full).expect("packs");
        assert!(packed.len() <= 1_400, "{} bytes", packed.len());
        assert_eq!(unpack(&packed), Ok(full));
    }

    #[test]
    fn encoding_refuses_what_decoding_would_refuse() {
        let unsorted = WorldDelta {
            removed: vec![EntityId(5), EntityId(5)],
            ..WorldDelta::default()
        };
        assert_eq!(pack(&unsorted), Err(DeltaWireError::BadIds));
        let change = EntityChange {
            id: EntityId(1),
            mask: FieldMask(0x10),
            pos_delta: IVec2::ZERO,
            aim: 0,
            hp: 0,
            score: 0,
        };
        let bad_mask = WorldDelta {
            changed: vec![change],
            ..WorldDelta::default()
        };
        assert_eq!(pack(&bad_mask), Err(DeltaWireError::InvalidMask(0x10)));
    }

    #[test]
    fn a_count_bomb_is_refused_before_allocating() {
        // Three counts of 2^20 - 1 each in exp-Golomb(0): 20 zeros, a one, 20 ones.
        let mut w = BitWriter::default();
        for _ in 0..3 {
            w.write_golomb((1 << 20) - 1, 0);
        }
        assert!(matches!(
            unpack(&w.finish()),
            Err(DeltaWireError::TooManyEntities(_))
        ));
    }

    #[test]
    fn negative_id_gaps_are_refused() {
        // Found by the fuzzer: a column base of -3 made ids descend.
        assert_eq!(
            unpack(&[236, 108, 1, 1, 9, 93, 3]),
            Err(DeltaWireError::BadIds)
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut packed = pack(&WorldDelta::default()).expect("packs");
        packed.push(0);
        assert_eq!(unpack(&packed), Err(DeltaWireError::TrailingBytes));
    }
}
