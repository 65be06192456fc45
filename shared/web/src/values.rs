//! A game's values in user units, by the names its schema gives them: what the page reads and
//! writes instead of lanes.
//!
//! - int: the integer; fixed point: the lane over `2^frac_bits` (world units); angle: radians,
//!   0 to 2π; enum: the variant's name; bool: `true`/`false`; string: the string.
//! - A field of several lanes is an array, one number per lane.
//!
//! Entities read as `{ id, kind, own, components: { Component: { field: value } } }`, and the
//! input is written as `{ field: value }` with each value checked against its field's domain.

use serde_json::{Map, Value};
use std::f64::consts::TAU;
use tickwire_shared::EntityData;
use tickwire_shared::layout::Layout;
use tickwire_shared::schema::{Domain, FieldDesc, Schema};

/// One field placed in its component (or the input): where its lanes or its string start.
#[derive(Clone, Debug)]
struct PlacedField {
    name: String,
    /// Lanes (0 for a string).
    lanes: usize,
    /// Its first lane in the component's lanes, or its string's index in the component's strings.
    at: usize,
    domain: Domain,
}

/// Every field of a schema, placed: built once per Welcome.
#[derive(Clone, Debug)]
pub struct Fields {
    components: Vec<Vec<PlacedField>>,
    input: Vec<PlacedField>,
}

impl Fields {
    /// The fields of `schema`, each with its offset inside its component (and the input's).
    #[must_use]
    pub fn new(schema: &Schema) -> Self {
        Self {
            components: schema.components.iter().map(|c| place(&c.fields)).collect(),
            input: place(&schema.input),
        }
    }

    /// An entity as the page reads it: `lanes` as drawn (fractional between snapshots) and
    /// `data`'s strings. `own`: the local player's entity.
    #[must_use]
    pub fn entity(
        &self,
        layout: &Layout,
        id: u32,
        data: &EntityData,
        lanes: &[f64],
        own: bool,
    ) -> Value {
        let schema = layout.schema();
        let mut components = Map::new();
        for (index, (desc, fields)) in schema.components.iter().zip(&self.components).enumerate() {
            let Some((lane, string)) = layout.component_offsets(data.kind, index) else {
                continue;
            };
            let values = fields
                .iter()
                .map(|field| {
                    let value = if matches!(field.domain, Domain::Str { .. }) {
                        data.strings
                            .get(string + field.at)
                            .map_or(Value::Null, |s| Value::String(s.clone()))
                    } else {
                        let start = lane + field.at;
                        lanes
                            .get(start..start + field.lanes)
                            .map_or(Value::Null, |lanes| read(&field.domain, lanes))
                    };
                    (field.name.clone(), value)
                })
                .collect();
            components.insert(desc.name.clone(), Value::Object(values));
        }
        let kind = schema
            .kinds
            .get(usize::from(data.kind))
            .map_or(Value::Null, |k| Value::String(k.name.clone()));
        serde_json::json!({ "id": id, "kind": kind, "own": own, "components": components })
    }

    /// Writes the fields `input` names into `lanes` (the input's lanes, in schema order): each
    /// value in user units, checked against its field. Fields it does not name keep their lanes.
    /// On an error `lanes` is unchanged.
    pub fn write_input(&self, input: &Value, lanes: &mut [i32]) -> Result<(), InputError> {
        let Value::Object(named) = input else {
            return Err(InputError::NotAnObject);
        };
        let mut written = lanes.to_vec();
        for (name, value) in named {
            let field = self.input.iter().find(|f| f.name == *name).ok_or_else(|| {
                InputError::UnknownField {
                    field: name.clone(),
                    fields: self
                        .input
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?;
            let values: Vec<&Value> = match value {
                Value::Array(items) if field.lanes > 1 => items.iter().collect(),
                _ if field.lanes > 1 => {
                    return Err(InputError::Invalid {
                        field: name.clone(),
                        problem: format!("expected an array of {} numbers", field.lanes),
                    });
                }
                one => vec![one],
            };
            if values.len() != field.lanes {
                return Err(InputError::Invalid {
                    field: name.clone(),
                    problem: format!("expected {} numbers, got {}", field.lanes, values.len()),
                });
            }
            for (slot, value) in written[field.at..field.at + field.lanes]
                .iter_mut()
                .zip(values)
            {
                *slot = write(&field.domain, value).map_err(|problem| InputError::Invalid {
                    field: name.clone(),
                    problem,
                })?;
            }
        }
        lanes.copy_from_slice(&written);
        Ok(())
    }

    /// The input's lanes before any `send`: each 0, or its domain's bound nearest 0.
    #[must_use]
    pub fn neutral_input(&self) -> Vec<i32> {
        self.input
            .iter()
            .flat_map(|field| {
                let (min, max) = bounds(&field.domain);
                std::iter::repeat_n(0.clamp(min, max), field.lanes)
            })
            .collect()
    }
}

/// Why an input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The input is not an object of fields.
    #[error("an input is an object of fields by name")]
    NotAnObject,
    /// The game's input has no such field.
    #[error("the input has no field {field:?} (its fields: {fields})")]
    UnknownField {
        /// The name given.
        field: String,
        /// The input's fields.
        fields: String,
    },
    /// A value its field does not take.
    #[error("input field {field:?}: {problem}")]
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

fn place(fields: &[FieldDesc]) -> Vec<PlacedField> {
    let (mut lanes, mut strings) = (0, 0);
    fields
        .iter()
        .map(|field| {
            let is_string = matches!(field.domain, Domain::Str { .. });
            let at = if is_string { &mut strings } else { &mut lanes };
            let placed = PlacedField {
                name: field.name.clone(),
                lanes: if is_string {
                    0
                } else {
                    usize::from(field.lanes)
                },
                at: *at,
                domain: field.domain.clone(),
            };
            *at += if is_string { 1 } else { placed.lanes };
            placed
        })
        .collect()
}

/// A field's lane values as the domain allows them (strings have none).
fn bounds(domain: &Domain) -> (i32, i32) {
    match domain {
        Domain::Int { min, max } | Domain::Fixed { min, max, .. } => (*min, *max),
        Domain::Angle { bits } => (0, (1 << bits) - 1),
        Domain::Enum { variants } => (0, i32::try_from(variants.len()).unwrap_or(i32::MAX) - 1),
        Domain::Bool | Domain::Str { .. } => (0, 1),
    }
}

/// Lanes per user unit: `2^frac_bits` for fixed point, steps per radian for an angle.
fn scale(domain: &Domain) -> f64 {
    match domain {
        Domain::Fixed { frac_bits, .. } => f64::from(1u32 << frac_bits),
        Domain::Angle { bits } => f64::from(1u32 << bits) / TAU,
        _ => 1.0,
    }
}

/// A field's lanes in user units.
fn read(domain: &Domain, lanes: &[f64]) -> Value {
    let one = |lane: f64| match domain {
        Domain::Enum { variants } => {
            let index = lane.round();
            (index >= 0.0)
                .then(|| variants.get(index as usize))
                .flatten()
                .map_or(Value::Null, |name| Value::String(name.clone()))
        }
        Domain::Bool => Value::Bool(lane >= 0.5),
        Domain::Angle { bits } => number(lane / f64::from(1u32 << bits) * TAU),
        _ => number(lane / scale(domain)),
    };
    match lanes {
        [lane] => one(*lane),
        lanes => Value::Array(lanes.iter().map(|&lane| one(lane)).collect()),
    }
}

fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// One lane from a value in user units, or what is wrong with it.
fn write(domain: &Domain, value: &Value) -> Result<i32, String> {
    let (min, max) = bounds(domain);
    match (domain, value) {
        (Domain::Enum { variants }, Value::String(name)) => variants
            .iter()
            .position(|v| v == name)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| format!("{name:?} is not one of {}", variants.join(", "))),
        (Domain::Bool, Value::Bool(on)) => Ok(i32::from(*on)),
        (Domain::Str { .. }, _) => Err("inputs carry no strings".to_owned()),
        (Domain::Angle { bits }, Value::Number(n)) => {
            let radians = n
                .as_f64()
                .filter(|r| r.is_finite())
                .ok_or("not a finite number")?;
            let steps = (radians.rem_euclid(TAU) * scale(domain)).round() as i64;
            Ok((steps % (1i64 << bits)) as i32)
        }
        (Domain::Int { .. } | Domain::Fixed { .. }, Value::Number(n)) => {
            let value = n
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or("not a finite number")?;
            let lane = (value * scale(domain)).round();
            if lane < f64::from(min) || lane > f64::from(max) {
                let s = scale(domain);
                return Err(format!(
                    "{value} is out of {}..={}",
                    f64::from(min) / s,
                    f64::from(max) / s
                ));
            }
            Ok(lane as i32)
        }
        (Domain::Enum { .. }, _) => Err("expected a variant's name".to_owned()),
        (Domain::Bool, _) => Err("expected true or false".to_owned()),
        _ => Err(format!("expected a number, got {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tickwire_shared::schema::{Coding, Interpolate};

    fn field(name: &str, lanes: u8, domain: Domain) -> FieldDesc {
        FieldDesc {
            name: name.into(),
            lanes,
            domain,
            coding: Coding::Absolute,
            interpolate: Interpolate::None,
            tolerance: 0,
        }
    }

    fn input() -> Fields {
        let mut schema = Schema::new("t", 1, 30);
        schema.input = vec![
            field(
                "move",
                2,
                Domain::Int {
                    min: -127,
                    max: 127,
                },
            ),
            field("aim", 1, Domain::Angle { bits: 12 }),
            field(
                "throttle",
                1,
                Domain::Fixed {
                    frac_bits: 4,
                    min: -16,
                    max: 32,
                },
            ),
            field(
                "stance",
                1,
                Domain::Enum {
                    variants: vec!["stand".into(), "crouch".into()],
                },
            ),
            field("fire", 1, Domain::Bool),
        ];
        Fields::new(&schema)
    }

    #[test]
    fn inputs_by_name_in_user_units() {
        let fields = input();
        let mut lanes = fields.neutral_input();
        assert_eq!(lanes, vec![0, 0, 0, 0, 0, 0]);
        let sent = json!({"move": [127, -3], "aim": std::f64::consts::PI, "throttle": 1.5,
            "stance": "crouch", "fire": true});
        fields.write_input(&sent, &mut lanes).expect("valid");
        assert_eq!(lanes, vec![127, -3, 2048, 24, 1, 1]);
        // Fields not named keep their value; angles wrap.
        fields
            .write_input(&json!({"aim": -std::f64::consts::FRAC_PI_2}), &mut lanes)
            .expect("valid");
        assert_eq!(lanes, vec![127, -3, 3072, 24, 1, 1]);
    }

    #[test]
    fn bad_inputs_are_refused_with_the_field_and_leave_the_input_as_it_was() {
        let fields = input();
        let mut lanes = fields.neutral_input();
        let cases = [
            (json!([1, 2]), "an input is an object of fields by name"),
            (
                json!({"jump": true}),
                "the input has no field \"jump\" (its fields: move, aim, throttle, stance, fire)",
            ),
            (
                json!({"move": 5}),
                "input field \"move\": expected an array of 2 numbers",
            ),
            (
                json!({"move": [1]}),
                "input field \"move\": expected 2 numbers, got 1",
            ),
            (
                json!({"move": [1, 200]}),
                "input field \"move\": 200 is out of -127..=127",
            ),
            (
                json!({"throttle": 2.5}),
                "input field \"throttle\": 2.5 is out of -1..=2",
            ),
            (
                json!({"stance": "prone"}),
                "input field \"stance\": \"prone\" is not one of stand, crouch",
            ),
            (
                json!({"fire": 1}),
                "input field \"fire\": expected true or false",
            ),
            (
                json!({"aim": "left"}),
                "input field \"aim\": expected a number, got \"left\"",
            ),
        ];
        for (input, message) in cases {
            let error = fields.write_input(&input, &mut lanes).expect_err("refused");
            assert_eq!(error.to_string(), message);
        }
        // A valid field before an invalid one is not applied either.
        let error = fields.write_input(&json!({"aim": 1.0, "fire": 3}), &mut lanes);
        assert!(error.is_err());
        assert_eq!(lanes, fields.neutral_input());
    }
}
