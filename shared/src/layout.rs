//! A validated [`Schema`] with every offset the codec needs worked out once: where each
//! component's lanes and strings sit inside an entity of each kind, and which lane values each
//! field allows. Built once per game (server) or per Welcome (client), then shared read-only by
//! [`crate::world`], [`crate::world_diff`] and [`crate::world_wire`].
//!
//! An entity of a kind holds the lanes of its components back to back, in component order, each
//! component's fields in declaration order (exactly what [`crate::component::Component::write`]
//! appends), and its strings the same way.

use crate::schema::{Coding, ComponentDesc, Domain, Interpolate, Schema, SchemaError};
use crate::world::EntityData;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A schema and its precomputed offsets.
#[derive(Clone, Debug)]
pub struct Layout {
    schema: Schema,
    components: Vec<ComponentLayout>,
    kinds: Vec<KindLayout>,
    /// The input's fields, as one component's (no strings).
    input: ComponentLayout,
    /// Each component type a typed access asked for, and its index here if the schema declares
    /// it exactly so: worked out once per type, not per access (a game reads and writes
    /// components every tick). Shared by clones, which have the same schema.
    typed: Arc<RwLock<HashMap<TypeId, Option<usize>>>>,
}

/// One component's fields as the codec sees them.
#[derive(Clone, Debug)]
pub(crate) struct ComponentLayout {
    pub(crate) fields: Vec<FieldLayout>,
    pub(crate) lanes: u32,
    pub(crate) strings: u32,
    /// Whether any field may change after spawn: only these have a change bit.
    pub(crate) changeable: bool,
}

/// One field: its place inside its component and the values it allows.
#[derive(Clone, Debug)]
pub(crate) struct FieldLayout {
    /// Offset into the component's lanes, or into its strings for a string field.
    pub(crate) offset: u32,
    /// Lanes (0 for a string field).
    pub(crate) lanes: u32,
    pub(crate) coding: Coding,
    pub(crate) values: FieldValues,
    pub(crate) interpolate: Interpolate,
    /// Lane units per world unit (fixed point: 2^frac_bits; int: 1), or per turn for an angle
    /// (2^bits).
    pub(crate) unit: f64,
}

/// What one lane (or the string) of a field may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldValues {
    /// Integers from `min` to `max`, both included.
    Lanes { min: i32, max: i32 },
    /// UTF-8 of at most `max_len` bytes.
    Str { max_len: u16 },
}

/// One kind: which components it has and where their data sits.
#[derive(Clone, Debug)]
pub(crate) struct KindLayout {
    /// Bit `c` set: the kind has component `c`.
    pub(crate) components: u64,
    /// The subset of `components` that may change after spawn.
    pub(crate) changeable: u64,
    /// The subset of `components` only an entity's owner receives.
    pub(crate) owner_only: u64,
    /// Per component of the schema: its first lane and first string in this kind's entities
    /// (meaningful only for components the kind has).
    pub(crate) offsets: Vec<(u32, u32)>,
    pub(crate) lanes: u32,
    pub(crate) strings: u32,
    /// Every field of its components, placed in this kind's entities: what diff and apply walk
    /// for each changed entity.
    pub(crate) fields: Vec<KindField>,
}

/// A field of a kind's entities, placed.
#[derive(Clone, Debug)]
pub(crate) struct KindField {
    /// The component it belongs to.
    pub(crate) component: u8,
    /// Its first lane in the entity's lanes, or its string's index.
    pub(crate) at: u32,
    pub(crate) lanes: u32,
    pub(crate) coding: Coding,
    pub(crate) values: FieldValues,
    pub(crate) interpolate: Interpolate,
    /// See [`FieldLayout::unit`].
    pub(crate) unit: f64,
}

impl KindField {
    /// Whether a change of the components in `mask` carries it.
    pub(crate) fn carried_in(&self, mask: u64) -> bool {
        mask & (1 << self.component) != 0 && self.coding != Coding::SpawnOnly
    }

    /// Whether its values in an entity's (or a change's) `lanes` and `strings` are allowed.
    pub(crate) fn allows_all(&self, lanes: &[i32], strings: &[String]) -> bool {
        let placed = FieldLayout {
            offset: self.at,
            lanes: self.lanes,
            coding: self.coding,
            values: self.values,
            interpolate: self.interpolate,
            unit: self.unit,
        };
        placed.allows_all(lanes, strings)
    }

    /// Whether it holds different values in `old` and `new` (both of this kind).
    pub(crate) fn differs(&self, old: &EntityData, new: &EntityData) -> bool {
        let at = self.at as usize;
        match self.values {
            FieldValues::Lanes { .. } => {
                let range = at..at + self.lanes as usize;
                old.lanes.get(range.clone()) != new.lanes.get(range)
            }
            FieldValues::Str { .. } => old.strings.get(at) != new.strings.get(at),
        }
    }
}

impl KindLayout {
    pub(crate) fn has(&self, component: usize) -> bool {
        self.components & (1 << component) != 0
    }

    /// A kind with one changeable component sends no change bits: a change always carries it.
    pub(crate) fn sends_change_bits(&self) -> bool {
        self.changeable.count_ones() > 1
    }
}

impl Layout {
    /// Validates `schema` and works out its offsets.
    pub fn new(schema: Schema) -> Result<Self, SchemaError> {
        schema.validate()?;
        let components: Vec<ComponentLayout> =
            schema.components.iter().map(component_layout).collect();
        let kinds = schema
            .kinds
            .iter()
            .map(|kind| {
                let mut layout = KindLayout {
                    components: 0,
                    changeable: 0,
                    owner_only: 0,
                    offsets: vec![(0, 0); components.len()],
                    lanes: 0,
                    strings: 0,
                    fields: Vec::new(),
                };
                for &c in &kind.components {
                    let c = usize::from(c);
                    layout.components |= 1 << c;
                    if components[c].changeable {
                        layout.changeable |= 1 << c;
                    }
                    if schema.owner_only.contains(&(c as u16)) {
                        layout.owner_only |= 1 << c;
                    }
                    layout.offsets[c] = (layout.lanes, layout.strings);
                    for field in &components[c].fields {
                        let base = match field.values {
                            FieldValues::Lanes { .. } => layout.lanes,
                            FieldValues::Str { .. } => layout.strings,
                        };
                        layout.fields.push(KindField {
                            component: c as u8, // Below MAX_COMPONENTS (64).
                            at: base + field.offset,
                            lanes: field.lanes,
                            coding: field.coding,
                            values: field.values,
                            interpolate: field.interpolate,
                            unit: field.unit,
                        });
                    }
                    layout.lanes += components[c].lanes;
                    layout.strings += components[c].strings;
                }
                layout
            })
            .collect();
        let input = component_layout(&crate::schema::ComponentDesc {
            name: "input".into(),
            fields: schema.input.clone(),
        });
        Ok(Self {
            schema,
            components,
            kinds,
            input,
            typed: Arc::default(),
        })
    }

    /// The index of the component whose Rust type is `ty` and whose descriptor is `desc()`, if
    /// the schema declares it exactly so.
    pub(crate) fn typed_index(
        &self,
        ty: TypeId,
        desc: impl FnOnce() -> ComponentDesc,
    ) -> Option<usize> {
        // A poisoned lock only means another thread panicked mid-insert: the map is still whole.
        let cached = self
            .typed
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&ty)
            .copied();
        if let Some(found) = cached {
            return found;
        }
        let desc = desc();
        let found = self
            .component_index(&desc.name)
            .filter(|&index| self.schema.components[index] == desc);
        self.typed
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(ty, found);
        found
    }

    /// How many lanes one input carries.
    #[must_use]
    pub fn input_lanes(&self) -> usize {
        self.input.lanes as usize
    }

    /// Whether `lanes` is an input of this game: one value per input lane, each in its field's
    /// domain. What the server checks before a game sees an input.
    #[must_use]
    pub fn accepts_input(&self, lanes: &[i32]) -> bool {
        lanes.len() == self.input.lanes as usize
            && self
                .input
                .fields
                .iter()
                .all(|field| field.allows_all(lanes, &[]))
    }

    /// For each input lane, the values it allows (`min`, `max`), in order: what a generic client
    /// draws inputs from.
    #[must_use]
    pub fn input_ranges(&self) -> Vec<(i32, i32)> {
        self.input
            .fields
            .iter()
            .flat_map(|field| {
                let range = match field.values {
                    FieldValues::Lanes { min, max } => (min, max),
                    FieldValues::Str { .. } => (0, 0), // Inputs carry no strings.
                };
                std::iter::repeat_n(range, field.lanes as usize)
            })
            .collect()
    }

    /// The schema this layout was built from.
    #[must_use]
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The index of the kind named `name`.
    #[must_use]
    pub fn kind_index(&self, name: &str) -> Option<u16> {
        let index = self.schema.kinds.iter().position(|k| k.name == name)?;
        u16::try_from(index).ok()
    }

    /// The index of the component named `name`.
    #[must_use]
    pub fn component_index(&self, name: &str) -> Option<usize> {
        self.schema.components.iter().position(|c| c.name == name)
    }

    /// How many lanes and strings an entity of `kind` holds, or `None` for an unknown kind.
    #[must_use]
    pub fn kind_size(&self, kind: u16) -> Option<(usize, usize)> {
        let kind = self.kinds.get(usize::from(kind))?;
        Some((kind.lanes as usize, kind.strings as usize))
    }

    /// Where component `component`'s lanes and strings start in an entity of `kind`, if the kind
    /// has it.
    #[must_use]
    pub fn component_offsets(&self, kind: u16, component: usize) -> Option<(usize, usize)> {
        let kind = self.kinds.get(usize::from(kind))?;
        if component >= self.components.len() || !kind.has(component) {
            return None;
        }
        let (lanes, strings) = kind.offsets[component];
        Some((lanes as usize, strings as usize))
    }

    /// Whether some kind has components only an entity's owner receives.
    #[must_use]
    pub fn has_owner_only(&self) -> bool {
        self.kinds.iter().any(|kind| kind.owner_only != 0)
    }

    /// The entity as clients other than its owner hold it: its owner-only components at their
    /// hidden values (each lane 0, or the bound of its domain nearest 0; each string empty).
    /// `None` when its kind has no owner-only component (others hold it as it is).
    #[must_use]
    pub fn hidden(&self, data: &EntityData) -> Option<EntityData> {
        let kind = self.kind(data.kind)?;
        if kind.owner_only == 0 {
            return None;
        }
        let mut hidden = data.clone();
        for field in kind.fields.iter() {
            if kind.owner_only & (1 << field.component) == 0 {
                continue;
            }
            let at = field.at as usize;
            match field.values {
                FieldValues::Lanes { min, max } => {
                    let lanes = at..at + field.lanes as usize;
                    if let Some(lanes) = hidden.lanes.get_mut(lanes) {
                        lanes.fill(0.clamp(min, max));
                    }
                }
                FieldValues::Str { .. } => {
                    if let Some(string) = hidden.strings.get_mut(at) {
                        string.clear();
                    }
                }
            }
        }
        Some(hidden)
    }

    pub(crate) fn components(&self) -> &[ComponentLayout] {
        &self.components
    }

    pub(crate) fn kind(&self, kind: u16) -> Option<&KindLayout> {
        self.kinds.get(usize::from(kind))
    }
}

fn component_layout(desc: &crate::schema::ComponentDesc) -> ComponentLayout {
    let mut layout = ComponentLayout {
        fields: Vec::with_capacity(desc.fields.len()),
        lanes: 0,
        strings: 0,
        changeable: false,
    };
    for field in &desc.fields {
        let lane = |min: i64, max: i64| FieldValues::Lanes {
            // Validated bounds: angles have at most 16 bits, enums at most 256 variants.
            min: i32::try_from(min).unwrap_or(i32::MIN),
            max: i32::try_from(max).unwrap_or(i32::MAX),
        };
        let values = match &field.domain {
            Domain::Int { min, max } | Domain::Fixed { min, max, .. } => {
                lane(i64::from(*min), i64::from(*max))
            }
            Domain::Angle { bits } => lane(0, (1i64 << bits) - 1),
            Domain::Enum { variants } => lane(0, variants.len() as i64 - 1),
            Domain::Bool => lane(0, 1),
            Domain::Str { max_len } => FieldValues::Str { max_len: *max_len },
        };
        let (offset, lanes) = match values {
            FieldValues::Lanes { .. } => (layout.lanes, u32::from(field.lanes)),
            FieldValues::Str { .. } => (layout.strings, 0),
        };
        match values {
            FieldValues::Lanes { .. } => layout.lanes += lanes,
            FieldValues::Str { .. } => layout.strings += 1,
        }
        layout.changeable |= field.coding != Coding::SpawnOnly;
        let unit = match field.domain {
            Domain::Fixed { frac_bits, .. } => f64::from(1u32 << frac_bits),
            Domain::Angle { bits } => f64::from(1u32 << bits),
            _ => 1.0,
        };
        layout.fields.push(FieldLayout {
            offset,
            lanes,
            coding: field.coding,
            values,
            interpolate: field.interpolate,
            unit,
        });
    }
    layout
}

impl FieldValues {
    /// Whether `lane` is a value this field allows.
    pub(crate) fn allows(self, lane: i64) -> bool {
        match self {
            Self::Lanes { min, max } => (i64::from(min)..=i64::from(max)).contains(&lane),
            Self::Str { .. } => false,
        }
    }

    /// Whether `value` is a string this field allows.
    pub(crate) fn allows_str(self, value: &str) -> bool {
        match self {
            Self::Lanes { .. } => false,
            Self::Str { max_len } => value.len() <= usize::from(max_len),
        }
    }
}

impl FieldLayout {
    /// Whether this field's values in a component's `lanes` and `strings` are all allowed
    /// (`false` when they are too short).
    pub(crate) fn allows_all(&self, lanes: &[i32], strings: &[String]) -> bool {
        let offset = self.offset as usize;
        match self.values {
            FieldValues::Lanes { .. } => lanes
                .get(offset..offset + self.lanes as usize)
                .is_some_and(|l| l.iter().all(|&v| self.values.allows(i64::from(v)))),
            FieldValues::Str { .. } => strings
                .get(offset)
                .is_some_and(|s| self.values.allows_str(s)),
        }
    }
}
