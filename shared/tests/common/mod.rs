//! Helpers shared by the integration tests of the shared crate.
#![allow(dead_code)] // Each test binary uses its own part.

use tickwire_shared::schema::{
    Coding, ComponentDesc, Domain, FieldDesc, Interpolate, KindDesc, Schema,
};

/// A field of `lanes` lanes in `domain`, sent whole, not interpolated.
pub(crate) fn field(name: &str, lanes: u8, domain: Domain) -> FieldDesc {
    FieldDesc {
        name: name.into(),
        lanes,
        domain,
        coding: Coding::Absolute,
        interpolate: Interpolate::None,
        tolerance: 0,
    }
}

/// The example of docs/PROTOCOL.md: dots that move on a plane, steered by an angle.
pub(crate) fn dots() -> Schema {
    Schema {
        game: "dots".into(),
        version: 1,
        tick_rate: 30,
        components: vec![ComponentDesc {
            name: "pos".into(),
            fields: vec![FieldDesc {
                coding: Coding::Delta,
                interpolate: Interpolate::Linear,
                ..field(
                    "xy",
                    2,
                    Domain::Fixed {
                        frac_bits: 6,
                        min: -4096,
                        max: 4095,
                    },
                )
            }],
        }],
        kinds: vec![KindDesc {
            name: "dot".into(),
            components: vec![0],
        }],
        input: vec![field("dir", 1, Domain::Angle { bits: 8 })],
        owner_only: vec![],
        rules: vec![7],
    }
}
