//! A game's schema as plain data: what its entities are made of, what its input carries, and the
//! rules its shared step needs. The server sends it to clients that do not know the game, so a
//! generic client (a bot, the browser SDK, a tool) can decode any game's snapshots by the
//! schema alone; clients built with the game compare its [`SchemaHash`] instead.
//!
//! Every replicated value is an integer in a declared domain (the simulation is quantized, not
//! only the wire), so prediction and checksums agree bit for bit. A field is one or more integer
//! *lanes* (two for a 2D position), or a bounded string.
//!
//! [`Schema::validate`] holds every limit below; [`crate::codec::decode_schema`] decodes only
//! schemas that pass it, within [`crate::codec::MAX_SCHEMA_BYTES`]. The canonical bytes
//! ([`crate::codec::encode_schema`]) and their layout are in docs/PROTOCOL.md.

use crate::room_path::is_valid_name;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Components a schema may declare.
pub const MAX_COMPONENTS: usize = 64;
/// Entity kinds a schema may declare.
pub const MAX_KINDS: usize = 64;
/// Fields in one component, and in the input.
pub const MAX_FIELDS: usize = 32;
/// Lanes in one field (a 4D vector at most).
pub const MAX_LANES: u8 = 4;
/// Variants of an enum field.
pub const MAX_VARIANTS: usize = 256;
/// Bytes of a string field's longest value.
pub const MAX_STRING_BYTES: u16 = 255;
/// Fractional bits of a fixed-point field.
pub const MAX_FRAC_BITS: u8 = 16;
/// Bits of an angle field.
pub const MAX_ANGLE_BITS: u8 = 16;
/// Bytes of the shared step's rules.
pub const MAX_RULES_BYTES: usize = 4096;

/// A game's schema. Plain data: build it by hand, or let the derive macros write the
/// descriptors of components and inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The game's name (1 to 32 of `A-Z a-z 0-9 - _`).
    pub game: String,
    /// The game's own version of its schema; any change to the rest should bump it.
    pub version: u32,
    /// Simulation ticks (and snapshots) per second, 1 to 240.
    pub tick_rate: u16,
    /// Every component an entity may carry, in wire order.
    pub components: Vec<ComponentDesc>,
    /// Every kind of entity, as a set of components.
    pub kinds: Vec<KindDesc>,
    /// The components only an entity's owner receives (ammo, an inventory), as indexes into
    /// [`Schema::components`], ascending, each once. Every other client holds them at their
    /// hidden values ([`crate::layout::Layout::hidden`]).
    pub owner_only: Vec<u16>,
    /// The fields of one input frame.
    pub input: Vec<FieldDesc>,
    /// What the shared step needs besides the state and the input (speeds, bounds), encoded
    /// by the game; clients pass it back to the same step.
    pub rules: Vec<u8>,
}

/// One component: a named group of fields that change together (one change bit on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDesc {
    /// Its name, unique in the schema.
    pub name: String,
    /// Its fields, in wire order.
    pub fields: Vec<FieldDesc>,
}

/// One kind of entity: the components it is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindDesc {
    /// Its name, unique in the schema.
    pub name: String,
    /// Indexes into [`Schema::components`], each at most once, in ascending order.
    pub components: Vec<u16>,
}

/// One field of a component or of the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDesc {
    /// Its name, unique in its component (or the input).
    pub name: String,
    /// Integer lanes, 1 to [`MAX_LANES`] (2 for a 2D vector); 1 for angles, enums, booleans
    /// and strings.
    pub lanes: u8,
    /// The values each lane may take.
    pub domain: Domain,
    /// How it travels in a delta.
    pub coding: Coding,
    /// How a client draws it between two snapshots.
    pub interpolate: Interpolate,
    /// For prediction: a predicted lane this far (in lane units) from the server's is not a
    /// correction. 0: any difference is one.
    pub tolerance: u32,
}

/// The values of one lane. Every bound is in lane units: the integers the simulation holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Domain {
    /// An integer from `min` to `max`, both included.
    Int {
        /// The smallest value.
        min: i32,
        /// The largest value.
        max: i32,
    },
    /// A fixed-point number: the lane is the value times `2^frac_bits`, from `min` to `max`
    /// (in those units), both included.
    Fixed {
        /// Fractional bits, 0 to [`MAX_FRAC_BITS`].
        frac_bits: u8,
        /// The smallest lane value.
        min: i32,
        /// The largest lane value.
        max: i32,
    },
    /// An angle in `2^bits` steps per turn: lanes from 0 to `2^bits - 1`, wrapping.
    Angle {
        /// Bits, 1 to [`MAX_ANGLE_BITS`].
        bits: u8,
    },
    /// One of the named variants: lanes from 0 to `variants.len() - 1`.
    Enum {
        /// The variants' names, 1 to [`MAX_VARIANTS`], unique.
        variants: Vec<String>,
    },
    /// 0 or 1.
    Bool,
    /// A UTF-8 string of at most `max_len` bytes (not a lane: carried as bytes).
    Str {
        /// The longest value in bytes, 1 to [`MAX_STRING_BYTES`].
        max_len: u16,
    },
}

/// How a field travels in a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Coding {
    /// Its value, whenever it changed.
    Absolute,
    /// Its difference from the client's baseline (positions that move a little each tick); int
    /// and fixed-point fields only.
    Delta,
    /// Only when the entity is created; never changes afterwards.
    SpawnOnly,
}

/// How a client draws a field between two snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interpolate {
    /// The older value until the newer one applies.
    None,
    /// A straight line between the two values; int and fixed-point fields only.
    Linear,
    /// The short way round the circle; angle fields only.
    Angle,
}

/// The first 8 bytes of the SHA-256 of a schema's canonical bytes: what a client built with a
/// game sends in its Hello, so the server sends the whole schema only when they differ.
/// Travels as 8 bytes, little-endian (a hash would take 9 as a varint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemaHash(pub u64);

impl Serialize for SchemaHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.to_le_bytes().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SchemaHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <[u8; 8]>::deserialize(deserializer).map(|b| Self(u64::from_le_bytes(b)))
    }
}

/// Why a schema is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A game, component, kind, field or variant name breaks the name rule.
    #[error("{0:?} is not a valid name (1 to 32 of A-Z a-z 0-9 - _)")]
    InvalidName(String),
    /// Two components, kinds, fields of one component or input, or variants share a name.
    #[error("{0:?} is declared twice")]
    Duplicate(String),
    /// A count or length is out of its limit.
    #[error("{what} is out of range: {value}")]
    OutOfRange {
        /// What was counted.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A field's declaration contradicts itself (bounds, lanes, coding or interpolation that
    /// its domain does not allow).
    #[error("field {field:?}: {problem}")]
    InvalidField {
        /// The field's name.
        field: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A kind names a component that does not exist, twice, or out of order.
    #[error("kind {0:?} must list existing components once each, in ascending order")]
    InvalidKind(String),
    /// The owner-only list names a component that does not exist, twice, or out of order.
    #[error("owner-only components must be existing ones, once each, in ascending order")]
    InvalidOwnerOnly,
}

impl Schema {
    /// A schema of `game` with nothing declared yet: add components, kinds, the input and the
    /// rules with the methods below, which chain.
    ///
    /// ```
    /// use tickwire_shared::component::{Component, Input};
    /// use tickwire_shared::schema::Schema;
    ///
    /// #[derive(Clone, Debug, PartialEq, Component)]
    /// struct Body {
    ///     #[net(fixed(frac_bits = 6, min = -65536, max = 65535), delta, interpolate = "linear")]
    ///     pos: [i32; 2],
    /// }
    /// #[derive(Clone, Debug, PartialEq, Component)]
    /// struct Label {
    ///     #[net(string(max_len = 12), spawn_only)]
    ///     text: String,
    /// }
    /// #[derive(Clone, Debug, Default, PartialEq, Input)]
    /// struct Steer {
    ///     #[net(int(min = -127, max = 127))]
    ///     turn: i8,
    /// }
    ///
    /// let schema = Schema::new("dots", 1, 30)
    ///     .component::<Body>()
    ///     .component::<Label>()
    ///     .kind("dot", &["Body"])
    ///     .kind("tagged", &["Label", "Body"])
    ///     .input::<Steer>()
    ///     .rules(vec![7]);
    /// schema.validate().expect("valid");
    /// assert_eq!(schema.kinds[1].components, [0, 1], "in schema order");
    /// // A kind naming a component the schema lacks fails validation.
    /// assert!(schema.kind("ghost", &["Nope"]).validate().is_err());
    /// ```
    #[must_use]
    pub fn new(game: impl Into<String>, version: u32, tick_rate: u16) -> Self {
        Self {
            game: game.into(),
            version,
            tick_rate,
            components: Vec::new(),
            kinds: Vec::new(),
            owner_only: Vec::new(),
            input: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// Adds component `C` (its descriptor, written by `#[derive(Component)]`).
    #[must_use]
    pub fn component<C: crate::component::Component>(mut self) -> Self {
        self.components.push(C::desc());
        self
    }

    /// Adds component `C`, received only by an entity's owner: the server sends every other
    /// client its hidden values (see [`Schema::owner_only`]).
    #[must_use]
    pub fn owner_only<C: crate::component::Component>(mut self) -> Self {
        self.owner_only.push(self.components.len() as u16);
        self.components.push(C::desc());
        self
    }

    /// Adds a kind of entity made of the components named (added before, in any order). A name
    /// the schema lacks makes [`Schema::validate`] fail.
    #[must_use]
    pub fn kind(mut self, name: impl Into<String>, components: &[&str]) -> Self {
        let mut indexes: Vec<u16> = components
            .iter()
            .map(|wanted| {
                let found = self.components.iter().position(|c| c.name == *wanted);
                // Past the components: refused by `validate` as a kind naming none.
                found.map_or(u16::MAX, |i| i as u16)
            })
            .collect();
        indexes.sort_unstable();
        self.kinds.push(KindDesc {
            name: name.into(),
            components: indexes,
        });
        self
    }

    /// Sets the input to `I`'s fields (written by `#[derive(Input)]`).
    #[must_use]
    pub fn input<I: crate::component::Input>(mut self) -> Self {
        self.input = I::fields();
        self
    }

    /// Sets the rules the shared step needs, as bytes (`codec::encode_rules` encodes a serde
    /// type).
    #[must_use]
    pub fn rules(mut self, rules: Vec<u8>) -> Self {
        self.rules = rules;
        self
    }

    /// Checks every limit and rule a decoder relies on.
    pub fn validate(&self) -> Result<(), SchemaError> {
        name(&self.game)?;
        in_range("tick_rate", u64::from(self.tick_rate), 1, 240)?;
        in_range(
            "components",
            self.components.len() as u64,
            1,
            MAX_COMPONENTS as u64,
        )?;
        in_range("kinds", self.kinds.len() as u64, 1, MAX_KINDS as u64)?;
        in_range(
            "input fields",
            self.input.len() as u64,
            0,
            MAX_FIELDS as u64,
        )?;
        in_range(
            "rules bytes",
            self.rules.len() as u64,
            0,
            MAX_RULES_BYTES as u64,
        )?;
        unique(self.components.iter().map(|c| c.name.as_str()))?;
        for component in &self.components {
            name(&component.name)?;
            in_range(
                "fields",
                component.fields.len() as u64,
                1,
                MAX_FIELDS as u64,
            )?;
            unique(component.fields.iter().map(|f| f.name.as_str()))?;
            component.fields.iter().try_for_each(FieldDesc::validate)?;
        }
        unique(self.kinds.iter().map(|k| k.name.as_str()))?;
        for kind in &self.kinds {
            name(&kind.name)?;
            let ascending = kind.components.windows(2).all(|pair| pair[0] < pair[1]);
            let exist = kind
                .components
                .iter()
                .all(|&index| usize::from(index) < self.components.len());
            if kind.components.is_empty() || !ascending || !exist {
                return Err(SchemaError::InvalidKind(kind.name.clone()));
            }
        }
        let ascending = self.owner_only.windows(2).all(|pair| pair[0] < pair[1]);
        let exist = self
            .owner_only
            .iter()
            .all(|&index| usize::from(index) < self.components.len());
        if !ascending || !exist {
            return Err(SchemaError::InvalidOwnerOnly);
        }
        unique(self.input.iter().map(|f| f.name.as_str()))?;
        for field in &self.input {
            field.validate()?;
            let problem = match (&field.domain, field.coding) {
                (Domain::Str { .. }, _) => Some("an input carries no strings"),
                (_, Coding::Absolute) => None,
                _ => Some("input fields are sent whole (Absolute)"),
            };
            if let Some(problem) = problem {
                return Err(field.invalid(problem));
            }
        }
        Ok(())
    }

    /// The hash of the schema's canonical bytes.
    pub fn hash(&self) -> Result<SchemaHash, crate::codec::EncodeError> {
        let bytes = crate::codec::encode_schema(self)?;
        let digest = Sha256::digest(&bytes);
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        Ok(SchemaHash(u64::from_le_bytes(first)))
    }
}

impl FieldDesc {
    fn validate(&self) -> Result<(), SchemaError> {
        name(&self.name)?;
        let vector_ok = matches!(self.domain, Domain::Int { .. } | Domain::Fixed { .. });
        let max_lanes = if vector_ok { MAX_LANES } else { 1 };
        if self.lanes == 0 || self.lanes > max_lanes {
            return Err(self.invalid("lanes must be 1 (2 to 4 only for int and fixed-point)"));
        }
        match &self.domain {
            Domain::Int { min, max } | Domain::Fixed { min, max, .. } if min > max => {
                return Err(self.invalid("min is above max"));
            }
            Domain::Fixed { frac_bits, .. } if *frac_bits > MAX_FRAC_BITS => {
                return Err(self.invalid("more than 16 fractional bits"));
            }
            Domain::Angle { bits } if *bits == 0 || *bits > MAX_ANGLE_BITS => {
                return Err(self.invalid("angle bits must be 1 to 16"));
            }
            Domain::Enum { variants } => {
                in_range("variants", variants.len() as u64, 1, MAX_VARIANTS as u64)?;
                variants.iter().try_for_each(|v| name(v))?;
                unique(variants.iter().map(String::as_str))?;
            }
            Domain::Str { max_len } if *max_len == 0 || *max_len > MAX_STRING_BYTES => {
                return Err(self.invalid("max_len must be 1 to 255"));
            }
            _ => {}
        }
        if self.coding == Coding::Delta && !vector_ok {
            return Err(self.invalid("only int and fixed-point fields are delta-coded"));
        }
        let interpolation_ok = match self.interpolate {
            Interpolate::None => true,
            Interpolate::Linear => vector_ok,
            Interpolate::Angle => matches!(self.domain, Domain::Angle { .. }),
        };
        if !interpolation_ok {
            return Err(self.invalid("linear is for int and fixed-point, angle for angles"));
        }
        Ok(())
    }

    fn invalid(&self, problem: &'static str) -> SchemaError {
        SchemaError::InvalidField {
            field: self.name.clone(),
            problem,
        }
    }
}

fn name(name: &str) -> Result<(), SchemaError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(SchemaError::InvalidName(name.to_owned()))
    }
}

fn in_range(what: &'static str, value: u64, min: u64, max: u64) -> Result<(), SchemaError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SchemaError::OutOfRange { what, value })
    }
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), SchemaError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(SchemaError::Duplicate(name.to_owned()));
        }
    }
    Ok(())
}
