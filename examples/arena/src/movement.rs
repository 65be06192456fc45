//! The arena's movement rules: its shared step's arithmetic, run identically by the server and
//! by client-side prediction.
//!
//! Integer-only (positions are 1/64-unit fixed point), so native and wasm32 builds agree bit for
//! bit and a predicted position equals the server's exactly when nothing else moved the player.

use crate::input::InputFrame;
use glam::IVec2;
use serde::{Deserialize, Serialize};

/// Full-strength length of a move vector.
const FULL_MOVE: i64 = 127;

/// How far a player may move per input frame and where it may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementRules {
    /// Distance moved by one input frame at full strength, in 1/64 units.
    pub step_per_tick: i32,
    /// Lowest position a player may occupy, in 1/64 units.
    pub min: IVec2,
    /// Highest position a player may occupy, in 1/64 units.
    pub max: IVec2,
}

impl MovementRules {
    /// Where a player at `pos` ends up after one input frame. The move vector's length is capped
    /// at full strength, so no input moves a player further than `step_per_tick`.
    #[must_use]
    pub fn step(&self, pos: IVec2, input: &InputFrame) -> IVec2 {
        let mx = i64::from(input.move_x.max(-127));
        let my = i64::from(input.move_y.max(-127));
        let len_sq = mx * mx + my * my;
        if len_sq == 0 {
            return pos.clamp(self.min, self.max);
        }
        // Dividing by the length rounded up keeps a capped vector at or under full strength.
        let divisor = if len_sq <= FULL_MOVE * FULL_MOVE {
            FULL_MOVE
        } else {
            ceil_sqrt(len_sq)
        };
        let step = i64::from(self.step_per_tick);
        // Truncating division rounds toward zero the same way on every axis and sign.
        let dx = (mx * step / divisor) as i32;
        let dy = (my * step / divisor) as i32;
        IVec2::new(pos.x.saturating_add(dx), pos.y.saturating_add(dy)).clamp(self.min, self.max)
    }
}

/// The smallest `x` with `x * x >= n`, computed exactly in integers.
fn ceil_sqrt(n: i64) -> i64 {
    let mut x = (n as f64).sqrt() as i64;
    while x * x < n {
        x += 1;
    }
    while x > 0 && (x - 1) * (x - 1) >= n {
        x -= 1;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RULES: MovementRules = MovementRules {
        step_per_tick: 427,
        min: IVec2::new(0, 0),
        max: IVec2::new(64_000, 64_000),
    };

    fn input(move_x: i8, move_y: i8) -> InputFrame {
        InputFrame {
            move_x,
            move_y,
            ..InputFrame::default()
        }
    }

    #[test]
    fn full_input_moves_exactly_one_step_and_walls_stop_the_player() {
        let start = IVec2::new(1000, 1000);
        assert_eq!(RULES.step(start, &input(127, 0)), IVec2::new(1427, 1000));
        assert_eq!(RULES.step(start, &input(0, -128)), IVec2::new(1000, 573));
        assert_eq!(
            RULES.step(IVec2::new(10, 10), &input(-127, -127)),
            IVec2::ZERO
        );
    }

    proptest! {
        #[test]
        fn no_input_moves_faster_than_the_rules_allow(x in 0..64_000i32, y in 0..64_000i32, mx: i8, my: i8) {
            let start = IVec2::new(x, y);
            let moved = (RULES.step(start, &input(mx, my)) - start).as_dvec2().length();
            prop_assert!(moved <= f64::from(RULES.step_per_tick) + 1e-9);
        }
    }
}
