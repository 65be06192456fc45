//! The race's browser module: the web SDK (every export of `tickwire-web`) with the race's
//! shared step, and where cars may drive, for the page to draw the track.

use tickwire_race::RaceRules;
use tickwire_shared::codec;
use wasm_bindgen::prelude::*;

tickwire_web::game_step!(tickwire_race::RaceStep);

/// Where cars may drive, in world units (`[min_x, min_y, max_x, max_y]`), from the schema's
/// `rules`; empty when they are not the race's.
#[wasm_bindgen(js_name = worldBounds)]
#[must_use]
pub fn world_bounds(rules: &[u8]) -> Vec<f32> {
    codec::decode_rules::<RaceRules>(rules).map_or_else(
        |_| Vec::new(),
        |r| {
            [r.min[0], r.min[1], r.max[0], r.max[1]]
                .map(|v| v as f32 / 64.0)
                .to_vec()
        },
    )
}
