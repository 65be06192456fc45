//! The arena's browser module: the web SDK (every export of `tickwire-web`) with the arena's
//! shared step, and where players may move, for the page to draw the arena.

use tickwire_arena::entities::STEPS_PER_UNIT;
use tickwire_arena::movement::MovementRules;
use tickwire_shared::codec;
use wasm_bindgen::prelude::*;

tickwire_web::game_step!(tickwire_arena::ArenaStep);

/// Where players may move, in world units (`[min_x, min_y, max_x, max_y]`), from the schema's
/// `rules`; empty when they are not the arena's.
#[wasm_bindgen(js_name = worldBounds)]
#[must_use]
pub fn world_bounds(rules: &[u8]) -> Vec<f32> {
    codec::decode_rules::<MovementRules>(rules).map_or_else(
        |_| Vec::new(),
        |r| {
            [r.min.x, r.min.y, r.max.x, r.max.y]
                .map(|v| v as f32 / STEPS_PER_UNIT)
                .to_vec()
        },
    )
}
