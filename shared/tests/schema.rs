//! A game's schema: valid ones survive their canonical bytes unchanged and hash stably, every rule
//! of `Schema::validate` refuses what breaks it, the decoder never panics and accepts only valid
//! schemas, and the example in docs/PROTOCOL.md is byte for byte what the code writes.

use proptest::prelude::*;
use tickwire_shared::codec::{self, DecodeError};
use tickwire_shared::schema::{
    Coding, ComponentDesc, Domain, FieldDesc, Interpolate, KindDesc, Schema, SchemaError,
};

mod common;
use common::{dots, field};

#[test]
fn the_documented_example_is_byte_for_byte_what_the_code_writes() {
    let bytes = codec::encode_schema(&dots()).expect("encodes");
    #[rustfmt::skip]
    let expected = [
        4, b'd', b'o', b't', b's',      // game
        1,                              // version
        30,                             // tick_rate
        1,                              // 1 component
        3, b'p', b'o', b's',            //   name
        1,                              //   1 field
        2, b'x', b'y',                  //     name
        2,                              //     lanes
        1, 6, 251, 0xff, 0x1f, 251, 0xfe, 0x1f, // Fixed { frac_bits 6, min -4096, max 4095 }
        1,                              //     coding: Delta
        1,                              //     interpolate: Linear
        0,                              //     tolerance
        1,                              // 1 kind
        3, b'd', b'o', b't',            //   name
        1, 0,                           //   components [0]
        0,                              // no owner-only components
        1,                              // 1 input field
        3, b'd', b'i', b'r', 1,         //   name, lanes
        2, 8,                           //   Angle { bits 8 }
        0, 0, 0,                        //   Absolute, None, tolerance 0
        1, 7,                           // rules
    ];
    assert_eq!(bytes, expected);
    assert_eq!(codec::decode_schema(&bytes).expect("decodes"), dots());
    assert_eq!(
        dots().hash().expect("hashes").0,
        0x602f_7553_ce2f_b89f,
        "the hash is the first 8 bytes of SHA-256 of those bytes, little-endian"
    );
}

fn invalid(change: impl FnOnce(&mut Schema)) -> SchemaError {
    let mut schema = dots();
    change(&mut schema);
    let error = schema.validate().expect_err("invalid");
    let bytes = codec::encode_schema(&schema).expect("encodes");
    assert!(
        matches!(codec::decode_schema(&bytes), Err(DecodeError::InvalidSchema(e)) if e == error),
        "the decoder refuses it too"
    );
    error
}

/// The example's one component field.
fn pos(schema: &mut Schema) -> &mut FieldDesc {
    &mut schema.components[0].fields[0]
}

#[test]
fn every_rule_refuses_what_breaks_it() {
    dots().validate().expect("the example is valid");
    let cases: Vec<(SchemaError, &str)> = vec![
        (invalid(|s| s.game = "no spaces".into()), "InvalidName"),
        (invalid(|s| s.tick_rate = 0), "tick_rate"),
        (invalid(|s| s.components.clear()), "components"),
        (invalid(|s| s.rules = vec![0; 4097]), "rules bytes"),
        (
            invalid(|s| s.components.push(s.components[0].clone())),
            "Duplicate",
        ),
        (invalid(|s| s.components[0].fields.clear()), "fields"),
        (invalid(|s| s.owner_only = vec![1]), "InvalidOwnerOnly"),
        (invalid(|s| s.owner_only = vec![0, 0]), "InvalidOwnerOnly"),
        (invalid(|s| pos(s).lanes = 5), "lanes"),
        (
            invalid(|s| {
                pos(s).domain = Domain::Int { min: 2, max: 1 };
            }),
            "min is above max",
        ),
        (
            invalid(|s| {
                pos(s).domain = Domain::Fixed {
                    frac_bits: 17,
                    min: 0,
                    max: 1,
                }
            }),
            "fractional",
        ),
        (
            invalid(|s| {
                let f = pos(s);
                f.lanes = 1;
                f.interpolate = Interpolate::None;
                f.domain = Domain::Bool;
            }),
            "delta-coded",
        ),
        (
            invalid(|s| {
                let f = pos(s);
                f.lanes = 1;
                f.coding = Coding::Absolute;
                f.domain = Domain::Angle { bits: 12 };
            }),
            "linear is for",
        ),
        (
            invalid(|s| {
                let f = pos(s);
                f.lanes = 1;
                f.coding = Coding::Absolute;
                f.interpolate = Interpolate::None;
                f.domain = Domain::Enum {
                    variants: vec!["a".into(), "a".into()],
                };
            }),
            "Duplicate",
        ),
        (
            invalid(|s| {
                let f = pos(s);
                f.lanes = 1;
                f.coding = Coding::Absolute;
                f.interpolate = Interpolate::None;
                f.domain = Domain::Str { max_len: 0 };
            }),
            "max_len",
        ),
        (invalid(|s| s.kinds[0].components = vec![1]), "InvalidKind"),
        (invalid(|s| s.kinds[0].components = vec![]), "InvalidKind"),
        (
            invalid(|s| s.input[0].domain = Domain::Str { max_len: 8 }),
            "no strings",
        ),
        (
            invalid(|s| s.input[0].coding = Coding::SpawnOnly),
            "sent whole",
        ),
    ];
    for (error, expected) in cases {
        let text = format!("{error:?} {error}");
        assert!(text.contains(expected), "{text} should mention {expected}");
    }
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,32}"
}

fn numeric_field() -> impl Strategy<Value = FieldDesc> {
    (
        name(),
        1..=4u8,
        any::<i32>(),
        any::<i32>(),
        proptest::option::of(0..=16u8),
        prop_oneof![
            Just(Coding::Absolute),
            Just(Coding::Delta),
            Just(Coding::SpawnOnly)
        ],
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(|(name, lanes, a, b, frac, coding, linear, tolerance)| {
            let (min, max) = (a.min(b), a.max(b));
            FieldDesc {
                name,
                lanes,
                domain: match frac {
                    Some(frac_bits) => Domain::Fixed {
                        frac_bits,
                        min,
                        max,
                    },
                    None => Domain::Int { min, max },
                },
                coding,
                interpolate: if linear {
                    Interpolate::Linear
                } else {
                    Interpolate::None
                },
                tolerance,
            }
        })
}

fn scalar_field() -> impl Strategy<Value = FieldDesc> {
    let domain = prop_oneof![
        (1..=16u8).prop_map(|bits| Domain::Angle { bits }),
        proptest::collection::hash_set(name(), 1..6).prop_map(|variants| Domain::Enum {
            variants: variants.into_iter().collect(),
        }),
        Just(Domain::Bool),
        (1..=255u16).prop_map(|max_len| Domain::Str { max_len }),
    ];
    (name(), domain, any::<bool>()).prop_map(|(name, domain, spawn_only)| FieldDesc {
        interpolate: if matches!(domain, Domain::Angle { .. }) {
            Interpolate::Angle
        } else {
            Interpolate::None
        },
        coding: if spawn_only {
            Coding::SpawnOnly
        } else {
            Coding::Absolute
        },
        ..field(&name, 1, domain)
    })
}

/// Fields with distinct names.
fn fields(min: usize, max: usize) -> impl Strategy<Value = Vec<FieldDesc>> {
    proptest::collection::vec(prop_oneof![numeric_field(), scalar_field()], min..=max).prop_map(
        |mut fields| {
            for (i, field) in fields.iter_mut().enumerate() {
                field.name = format!("f{i}_{}", &field.name[..field.name.len().min(20)]);
            }
            fields
        },
    )
}

fn valid_schema() -> impl Strategy<Value = Schema> {
    (
        name(),
        any::<u32>(),
        1..=240u16,
        proptest::collection::vec(fields(1, 6), 1..6),
        proptest::collection::vec(proptest::collection::btree_set(0..6u16, 1..4), 1..5),
        fields(0, 5),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::btree_set(0..6u16, 0..3),
    )
        .prop_map(
            |(game, version, tick_rate, components, kinds, input, rules, owner_only)| {
                let count = components.len() as u16;
                Schema {
                    game,
                    version,
                    tick_rate,
                    components: components
                        .into_iter()
                        .enumerate()
                        .map(|(i, fields)| ComponentDesc {
                            name: format!("c{i}"),
                            fields,
                        })
                        .collect(),
                    kinds: kinds
                        .into_iter()
                        .enumerate()
                        .map(|(i, set)| KindDesc {
                            name: format!("k{i}"),
                            components: set
                                .into_iter()
                                .map(|c| c % count)
                                .collect::<std::collections::BTreeSet<_>>()
                                .into_iter()
                                .collect(),
                        })
                        .collect(),
                    owner_only: owner_only.into_iter().filter(|&c| c < count).collect(),
                    input: input
                        .into_iter()
                        .filter(|f| !matches!(f.domain, Domain::Str { .. }))
                        .map(|f| FieldDesc {
                            coding: Coding::Absolute,
                            ..f
                        })
                        .collect(),
                    rules,
                }
            },
        )
}

proptest! {
    #[test]
    fn valid_schemas_survive_their_bytes_and_hash_stably(schema in valid_schema()) {
        prop_assert_eq!(schema.validate(), Ok(()));
        let bytes = codec::encode_schema(&schema).expect("encodes");
        let decoded = codec::decode_schema(&bytes).expect("a valid schema decodes");
        prop_assert_eq!(&decoded, &schema);
        prop_assert_eq!(decoded.hash().expect("hashes"), schema.hash().expect("hashes"));
        let mut bumped = schema.clone();
        bumped.version = bumped.version.wrapping_add(1);
        prop_assert_ne!(bumped.hash().expect("hashes"), schema.hash().expect("hashes"));
    }

    #[test]
    fn the_decoder_never_panics_and_accepts_only_valid_schemas(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            // Valid schemas with one byte changed: close to the format, often still decodable.
            (valid_schema(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(s, at, b)| {
                let mut bytes = codec::encode_schema(&s).expect("encodes");
                let i = at.index(bytes.len());
                bytes[i] = b;
                bytes
            }),
        ]
    ) {
        if let Ok(schema) = codec::decode_schema(&bytes) {
            prop_assert_eq!(schema.validate(), Ok(()));
            let again = codec::encode_schema(&schema).expect("encodes");
            prop_assert_eq!(codec::decode_schema(&again).expect("decodes"), schema);
        }
    }
}

#[test]
fn oversized_bytes_are_refused_before_decoding() {
    let bytes = vec![0; codec::MAX_SCHEMA_BYTES + 1];
    assert!(matches!(
        codec::decode_schema(&bytes),
        Err(DecodeError::TooLarge { .. })
    ));
}
