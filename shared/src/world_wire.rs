//! The wire form of a [`Delta`]: one bit-packed byte string whose columns follow the game's
//! [`Layout`], so descriptor work is per column, not per value.
//!
//! Layout (columns as in [`crate::bits`]; "over" names the entities a column covers, in id order):
//! 1. Three counts, exp-Golomb(0): removed, created, changed.
//! 2. Removed: id gaps.
//! 3. Created: id gaps; kinds. Then for each component of the schema in order, over the created
//!    entities whose kind has it: each field in order; a lane field as one column per lane, a
//!    string field as each entity's string.
//! 4. Changed: id gaps; kinds. Then for each component that can change after spawn, in order:
//!    its change bits (a column of 0/1) over the changed entities whose kind has it and has more
//!    than one such component; then, over the entities that carry it (bit 1, or a kind with it
//!    as its only changeable component), each field that is not spawn-only, as in 3; a
//!    delta-coded lane carries the wrapping difference from the baseline.
//!
//! A string is its byte length in exp-Golomb(0) and then its bytes, 8 bits each. Ids travel as
//! gaps: `id - previous - 1`, the first as itself. docs/PROTOCOL.md has a worked example.

use crate::EntityId;
pub use crate::bits::BitsError;
use crate::bits::{BitReader, BitWriter};
use crate::layout::{FieldLayout, FieldValues, KindLayout, Layout};
use crate::schema::Coding;
use crate::world::EntityData;
use crate::world_diff::{Change, Delta};

/// A packed [`Delta`] as it travels inside a snapshot: the bytes of [`pack`], carried by bincode
/// as a length-prefixed byte string. Only a client that knows the game's [`Layout`] can
/// [`PackedDelta::unpack`] it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedDelta(pub Vec<u8>);

impl PackedDelta {
    /// Packs `delta` (see [`pack`]).
    pub fn pack(delta: &Delta, layout: &Layout) -> Result<Self, WorldWireError> {
        pack(delta, layout).map(Self)
    }

    /// Unpacks it (see [`unpack`]).
    pub fn unpack(&self, layout: &Layout) -> Result<Delta, WorldWireError> {
        unpack(&self.0, layout)
    }
}

impl serde::Serialize for PackedDelta {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PackedDelta {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl serde::de::Visitor<'_> for BytesVisitor {
            type Value = PackedDelta;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a packed delta")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<PackedDelta, E> {
                Ok(PackedDelta(bytes.to_vec()))
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

/// The most entities (removed + created + changed) one delta may carry: bounds what a tiny
/// message can make a decoder allocate, since entities of constant columns cost zero bits.
pub const MAX_DELTA_ENTITIES: usize = 1 << 16;

/// The most lanes and strings (together) one delta may carry: bounds what a tiny message can
/// make a decoder allocate, since values of constant columns cost zero bits.
pub const MAX_DELTA_VALUES: usize = 1 << 20;

/// Why a delta cannot be packed or unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorldWireError {
    /// The packed bits are truncated or hold an over-long code.
    #[error(transparent)]
    Bits(#[from] BitsError),
    /// More entities than [`MAX_DELTA_ENTITIES`].
    #[error("{0} entities in one delta, over the limit of {MAX_DELTA_ENTITIES}")]
    TooManyEntities(u64),
    /// More lanes and strings than [`MAX_DELTA_VALUES`].
    #[error("{0} values in one delta, over the limit of {MAX_DELTA_VALUES}")]
    TooManyValues(u64),
    /// Ids in a list do not strictly ascend (encoding), or an id is over `u32::MAX` (decoding).
    #[error("entity ids must strictly ascend within u32")]
    BadIds,
    /// A kind the schema does not have, or a change of a kind that never changes.
    #[error("kind {0} is unknown or cannot change")]
    BadKind(i64),
    /// A value outside its field's domain.
    #[error("component {component}, field {field}: value out of range")]
    OutOfDomain {
        /// The component's index in the schema.
        component: usize,
        /// The field's index in the component.
        field: usize,
    },
    /// A string over its field's length, or not UTF-8.
    #[error("invalid string")]
    BadString,
    /// A change that carries no component, or one its kind cannot change (encoding: also
    /// values that do not match its kind).
    #[error("invalid change of entity {0}")]
    BadChange(EntityId),
    /// A created entity whose data does not fit its kind's layout (encoding only).
    #[error("created entity {0} does not fit its kind")]
    BadEntity(EntityId),
    /// Bytes follow the packed delta.
    #[error("bytes after the packed delta")]
    TrailingBytes,
}

/// Packs a delta. Fails only for deltas [`crate::World::diff`] never produces from valid worlds.
pub fn pack(delta: &Delta, layout: &Layout) -> Result<Vec<u8>, WorldWireError> {
    let counts = [
        delta.removed.len(),
        delta.created.len(),
        delta.changed.len(),
    ];
    let total: usize = counts.iter().sum();
    if total > MAX_DELTA_ENTITIES {
        return Err(WorldWireError::TooManyEntities(total as u64));
    }
    for (id, data) in &delta.created {
        if !data.is_valid(layout) {
            return Err(WorldWireError::BadEntity(*id));
        }
    }
    let mut change_kinds = Vec::with_capacity(delta.changed.len());
    for change in &delta.changed {
        let kind = layout
            .kind(change.kind)
            .filter(|kind| change_is_valid(kind, change))
            .ok_or(WorldWireError::BadChange(change.id))?;
        // What the decoder would refuse fails here, on the server, instead of on every client.
        let (lanes, strings) = delta
            .values(change, layout)
            .ok_or(WorldWireError::BadChange(change.id))?;
        let in_domains = kind
            .fields
            .iter()
            .filter(|f| f.carried_in(change.components) && f.coding != Coding::Delta)
            .all(|f| f.allows_all(lanes, strings));
        if !in_domains {
            return Err(WorldWireError::BadChange(change.id));
        }
        change_kinds.push(kind);
    }

    // Most entities of a delta take a few bytes: one allocation, not one per doubling.
    let mut w = BitWriter::with_capacity(16 + 4 * total);
    for count in counts {
        w.write_golomb(count as u32, 0);
    }
    let mut column = Vec::with_capacity(total);
    w.write_column(gaps(delta.removed.iter().copied(), &mut column)?);

    let created = &delta.created;
    w.write_column(gaps(created.iter().map(|(id, _)| *id), &mut column)?);
    column.clear();
    column.extend(created.iter().map(|(_, data)| i64::from(data.kind)));
    w.write_column(&column);
    let created_kinds: Vec<&KindLayout> = created
        .iter()
        .filter_map(|(_, data)| layout.kind(data.kind))
        .collect();
    for (c, component) in layout.components().iter().enumerate() {
        let holders: Vec<(usize, usize, &EntityData)> = created
            .iter()
            .zip(&created_kinds)
            .filter(|(_, kind)| kind.has(c))
            .map(|((_, data), kind)| {
                let (lane, string) = kind.offsets[c];
                (lane as usize, string as usize, data)
            })
            .collect();
        if holders.is_empty() {
            continue;
        }
        for field in &component.fields {
            write_field(
                &mut w,
                &mut column,
                field,
                holders
                    .iter()
                    .map(|(lane, string, data)| (&data.lanes[*lane..], &data.strings[*string..])),
            );
        }
    }

    let changed = &delta.changed;
    w.write_column(gaps(changed.iter().map(|c| c.id), &mut column)?);
    column.clear();
    column.extend(changed.iter().map(|c| i64::from(c.kind)));
    w.write_column(&column);
    for (c, component) in layout.components().iter().enumerate() {
        if !component.changeable {
            continue;
        }
        let holders = changed
            .iter()
            .zip(&change_kinds)
            .filter(|(_, kind)| kind.changeable & (1 << c) != 0);
        column.clear();
        column.extend(
            holders
                .clone()
                .filter(|(_, kind)| kind.sends_change_bits())
                .map(|(change, _)| i64::from(change.components & (1 << c) != 0)),
        );
        w.write_column(&column);
        let carriers: Vec<(usize, usize)> = holders
            .filter(|(change, _)| change.components & (1 << c) != 0)
            .map(|(change, kind)| {
                let (lane, string) = kind.offsets[c];
                (
                    change.lanes_at as usize + lane as usize,
                    change.strings_at as usize + string as usize,
                )
            })
            .collect();
        if carriers.is_empty() {
            continue;
        }
        for field in component
            .fields
            .iter()
            .filter(|f| f.coding != Coding::SpawnOnly)
        {
            write_field(
                &mut w,
                &mut column,
                field,
                carriers
                    .iter()
                    .map(|&(lane, string)| (&delta.lanes[lane..], &delta.strings[string..])),
            );
        }
    }
    Ok(w.finish())
}

/// Whether a change carries at least one component, only changeable ones, and all of them when
/// its kind sends no change bits.
fn change_is_valid(kind: &KindLayout, change: &Change) -> bool {
    let mask = change.components;
    mask != 0
        && mask & !kind.changeable == 0
        && (kind.sends_change_bits() || mask == kind.changeable)
}

/// Writes one field of every holder: a column per lane, or each holder's string. A holder is
/// the lanes and strings of its component (the field's offsets are inside them).
fn write_field<'a>(
    w: &mut BitWriter,
    column: &mut Vec<i64>,
    field: &FieldLayout,
    holders: impl Iterator<Item = (&'a [i32], &'a [String])> + Clone,
) {
    let at = field.offset as usize;
    match field.values {
        FieldValues::Lanes { .. } => {
            for lane in at..at + field.lanes as usize {
                column.clear();
                column.extend(holders.clone().map(|(lanes, _)| i64::from(lanes[lane])));
                w.write_column(column);
            }
        }
        FieldValues::Str { .. } => {
            for (_, strings) in holders {
                let bytes = strings[at].as_bytes();
                w.write_golomb(bytes.len() as u32, 0);
                for &byte in bytes {
                    w.write(u32::from(byte), 8);
                }
            }
        }
    }
}

/// Unpacks a delta of the game `layout` describes, checking every count, id, kind and value;
/// never panics.
pub fn unpack(bytes: &[u8], layout: &Layout) -> Result<Delta, WorldWireError> {
    let mut r = BitReader::new(bytes);
    let mut counts = [0usize; 3];
    let mut total = 0u64;
    for count in &mut counts {
        let n = r.read_golomb(0)?;
        total += u64::from(n);
        if total > MAX_DELTA_ENTITIES as u64 {
            return Err(WorldWireError::TooManyEntities(total));
        }
        *count = n as usize;
    }
    let [n_removed, n_created, n_changed] = counts;
    let mut column = Vec::with_capacity(n_removed.max(n_created).max(n_changed));
    let mut delta = Delta::default();
    let mut values = 0u64;

    r.read_column(n_removed, &mut column)?;
    delta.removed = ids_from_gaps(&column)?;

    r.read_column(n_created, &mut column)?;
    let ids = ids_from_gaps(&column)?;
    r.read_column(n_created, &mut column)?;
    let mut created_kinds = Vec::with_capacity(n_created);
    for &kind in &column {
        let (index, layout_kind) = kind_of(layout, kind)?;
        values += u64::from(layout_kind.lanes + layout_kind.strings);
        if values > MAX_DELTA_VALUES as u64 {
            return Err(WorldWireError::TooManyValues(values));
        }
        created_kinds.push((index, layout_kind));
    }
    // Decoded into flat buffers (as changes are), then split into entities.
    let mut starts = Vec::with_capacity(n_created);
    let (mut n_lanes, mut n_strings) = (0, 0);
    for (_, kind) in &created_kinds {
        starts.push((n_lanes, n_strings));
        n_lanes += kind.lanes as usize;
        n_strings += kind.strings as usize;
    }
    let mut lanes = vec![0; n_lanes];
    let mut strings = vec![String::new(); n_strings];
    for (c, component) in layout.components().iter().enumerate() {
        let holders: Vec<(usize, usize)> = starts
            .iter()
            .zip(&created_kinds)
            .filter(|(_, (_, kind))| kind.has(c))
            .map(|(&(lane, string), (_, kind))| {
                let (at_lane, at_string) = kind.offsets[c];
                (lane + at_lane as usize, string + at_string as usize)
            })
            .collect();
        if holders.is_empty() {
            continue;
        }
        for (f, field) in component.fields.iter().enumerate() {
            let buffers = (lanes.as_mut_slice(), strings.as_mut_slice());
            read_field(
                &mut r,
                &mut column,
                field,
                Coding::Absolute,
                buffers,
                &holders,
            )
            .map_err(|e| e.at(c, f))?;
        }
    }
    let mut strings = strings.into_iter();
    let created = created_kinds
        .iter()
        .zip(&starts)
        .map(|((index, kind), &(lane, _))| EntityData {
            kind: *index,
            lanes: crate::world::Lanes::from_slice(&lanes[lane..lane + kind.lanes as usize]),
            strings: strings.by_ref().take(kind.strings as usize).collect(),
        });
    delta.created = ids.into_iter().zip(created).collect();

    r.read_column(n_changed, &mut column)?;
    let ids = ids_from_gaps(&column)?;
    r.read_column(n_changed, &mut column)?;
    let mut change_kinds = Vec::with_capacity(n_changed);
    let (mut n_lanes, mut n_strings) = (0, 0);
    for &kind in &column {
        let (index, layout_kind) = kind_of(layout, kind)?;
        if layout_kind.changeable == 0 {
            return Err(WorldWireError::BadKind(kind));
        }
        values += u64::from(layout_kind.lanes + layout_kind.strings);
        if values > MAX_DELTA_VALUES as u64 {
            return Err(WorldWireError::TooManyValues(values));
        }
        n_lanes += layout_kind.lanes as usize;
        n_strings += layout_kind.strings as usize;
        change_kinds.push((index, layout_kind));
    }
    delta.changed.reserve_exact(n_changed);
    delta.lanes.reserve_exact(n_lanes);
    delta.strings.reserve_exact(n_strings);
    for (&id, &(index, kind)) in ids.iter().zip(&change_kinds) {
        delta.push_change(id, kind, index);
        if let Some(change) = delta.changed.last_mut() {
            // Kinds without change bits carry their one changeable component.
            if !kind.sends_change_bits() {
                change.components = kind.changeable;
            }
        }
    }
    let change_kinds: Vec<&KindLayout> = change_kinds.into_iter().map(|(_, kind)| kind).collect();
    let mut carriers = Vec::with_capacity(n_changed);
    let Delta {
        changed,
        lanes,
        strings,
        ..
    } = &mut delta;
    for (c, component) in layout.components().iter().enumerate() {
        if !component.changeable {
            continue;
        }
        let with_bits = changed
            .iter()
            .zip(&change_kinds)
            .filter(|(_, kind)| kind.changeable & (1 << c) != 0 && kind.sends_change_bits())
            .count();
        r.read_column(with_bits, &mut column)?;
        let mut bits = column.iter();
        for (change, kind) in changed.iter_mut().zip(&change_kinds) {
            if kind.changeable & (1 << c) == 0 || !kind.sends_change_bits() {
                continue;
            }
            match bits.next() {
                Some(0) => {}
                Some(1) => change.components |= 1 << c,
                _ => return Err(WorldWireError::BadChange(change.id)),
            }
        }
        carriers.clear();
        carriers.extend(
            changed
                .iter()
                .zip(&change_kinds)
                .filter(|(change, _)| change.components & (1 << c) != 0)
                .map(|(change, kind)| {
                    let (lane, string) = kind.offsets[c];
                    (
                        change.lanes_at as usize + lane as usize,
                        change.strings_at as usize + string as usize,
                    )
                }),
        );
        if carriers.is_empty() {
            continue;
        }
        for (f, field) in component.fields.iter().enumerate() {
            if field.coding == Coding::SpawnOnly {
                continue;
            }
            let buffers = (lanes.as_mut_slice(), strings.as_mut_slice());
            read_field(&mut r, &mut column, field, field.coding, buffers, &carriers)
                .map_err(|e| e.at(c, f))?;
        }
    }
    if let Some(change) = changed.iter().find(|c| c.components == 0) {
        return Err(WorldWireError::BadChange(change.id));
    }
    if !r.is_at_end() {
        return Err(WorldWireError::TrailingBytes);
    }
    Ok(delta)
}

/// Reads one field of every holder (see [`write_field`]) into flat `lanes` and `strings`,
/// where each holder's component starts at the given positions. Checks each value: in the
/// field's domain, or, delta-coded, a 32-bit difference.
fn read_field(
    r: &mut BitReader<'_>,
    column: &mut Vec<i64>,
    field: &FieldLayout,
    coding: Coding,
    (lanes, strings): (&mut [i32], &mut [String]),
    holders: &[(usize, usize)],
) -> Result<(), WorldWireError> {
    let at = field.offset as usize;
    match field.values {
        FieldValues::Lanes { .. } => {
            for lane in at..at + field.lanes as usize {
                r.read_column(holders.len(), column)?;
                for (&(start, _), &value) in holders.iter().zip(column.iter()) {
                    let fits = match coding {
                        Coding::Delta => i32::try_from(value).is_ok(),
                        _ => field.values.allows(value),
                    };
                    if !fits {
                        return Err(WorldWireError::OutOfDomain {
                            component: 0,
                            field: 0,
                        });
                    }
                    lanes[start + lane] = value as i32;
                }
            }
        }
        FieldValues::Str { max_len } => {
            for &(_, start) in holders {
                let len = r.read_golomb(0)?;
                if len > u32::from(max_len) {
                    return Err(WorldWireError::BadString);
                }
                let bytes = (0..len)
                    .map(|_| r.read(8).map(|b| b as u8))
                    .collect::<Result<Vec<u8>, _>>()?;
                strings[start + at] =
                    String::from_utf8(bytes).map_err(|_| WorldWireError::BadString)?;
            }
        }
    }
    Ok(())
}

impl WorldWireError {
    /// Names the component and field of an out-of-domain value.
    fn at(self, component: usize, field: usize) -> Self {
        match self {
            Self::OutOfDomain { .. } => Self::OutOfDomain { component, field },
            other => other,
        }
    }
}

/// The kind with wire number `kind`.
fn kind_of(layout: &Layout, kind: i64) -> Result<(u16, &KindLayout), WorldWireError> {
    u16::try_from(kind)
        .ok()
        .and_then(|index| Some((index, layout.kind(index)?)))
        .ok_or(WorldWireError::BadKind(kind))
}

fn gaps(ids: impl Iterator<Item = EntityId>, out: &mut Vec<i64>) -> Result<&[i64], WorldWireError> {
    out.clear();
    let mut previous = -1i64;
    for id in ids {
        let id = i64::from(id.0);
        let gap = id - previous - 1;
        previous = id;
        if gap < 0 {
            return Err(WorldWireError::BadIds);
        }
        out.push(gap);
    }
    Ok(out)
}

fn ids_from_gaps(gaps: &[i64]) -> Result<Vec<EntityId>, WorldWireError> {
    let mut previous = -1i64;
    gaps.iter()
        .map(|&gap| {
            if gap < 0 {
                return Err(WorldWireError::BadIds); // A column's base may be negative.
            }
            previous += gap + 1;
            u32::try_from(previous)
                .map(EntityId)
                .map_err(|_| WorldWireError::BadIds)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ComponentDesc, Domain, FieldDesc, Interpolate, KindDesc, Schema};

    /// One kind of 128 lanes: 32 fields of 4.
    fn wide() -> Layout {
        let field = |i: usize| FieldDesc {
            name: format!("f{i}"),
            lanes: 4,
            domain: Domain::Int { min: 0, max: 9 },
            coding: Coding::Absolute,
            interpolate: Interpolate::None,
            tolerance: 0,
        };
        Layout::new(Schema {
            game: "wide".into(),
            version: 1,
            tick_rate: 30,
            components: vec![ComponentDesc {
                name: "w".into(),
                fields: (0..32).map(field).collect(),
            }],
            kinds: vec![KindDesc {
                name: "k".into(),
                components: vec![0],
            }],
            input: vec![],
            owner_only: vec![],
            rules: vec![],
        })
        .expect("valid")
    }

    #[test]
    fn count_bombs_are_refused_before_allocating() {
        let layout = wide();
        let mut w = BitWriter::default();
        for _ in 0..3 {
            w.write_golomb((1 << 20) - 1, 0);
        }
        assert!(matches!(
            unpack(&w.finish(), &layout),
            Err(WorldWireError::TooManyEntities(_))
        ));
        // 60,000 created entities of 128 lanes, every column constant: a few bytes that would
        // ask for 7.7 million lanes.
        let mut w = BitWriter::default();
        for count in [0, 60_000, 0] {
            w.write_golomb(count, 0);
        }
        w.write_column(&vec![0; 60_000]); // id gaps
        w.write_column(&vec![0; 60_000]); // kinds
        assert!(matches!(
            unpack(&w.finish(), &layout),
            Err(WorldWireError::TooManyValues(_))
        ));
    }

    #[test]
    fn negative_id_gaps_are_refused() {
        let layout = wide();
        let mut w = BitWriter::default();
        for count in [2, 0, 0] {
            w.write_golomb(count, 0);
        }
        w.write_column(&[-3, 1]);
        assert_eq!(unpack(&w.finish(), &layout), Err(WorldWireError::BadIds));
    }
}
