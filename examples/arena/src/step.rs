//! The arena's shared step: a player's body moved by one input with the movement rules, on the
//! server and in client prediction alike.

use crate::entities::Body;
use crate::input::InputFrame;
use crate::movement::MovementRules;
use glam::IVec2;
use tickwire_shared::SharedStep;

/// Moves a player's [`Body`] by one [`InputFrame`] (aiming and firing are the game's
/// [`tickwire_game::Game::input`]).
#[derive(Debug)]
pub struct ArenaStep;

impl SharedStep for ArenaStep {
    type Input = InputFrame;
    type State = Body;
    type Rules = MovementRules;

    fn step(rules: &MovementRules, body: &mut Body, input: &InputFrame) {
        body.pos = rules.step(IVec2::from_array(body.pos), input).to_array();
    }
}
