//! The shared step: the one function that moves a player by one input, run by the server's room
//! for every input it applies and replayed by client prediction, so a predicted player lands
//! exactly where the server puts it (integers in, integers out, on every platform).

use crate::component::{Component, Input};
use crate::schema::ComponentDesc;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A game's shared step. The room runs it on the player's [`SharedStep::State`] component for
/// each input, before the game's own input hook and the next tick's rules; a client replays it
/// over the inputs the server has not confirmed yet.
pub trait SharedStep: 'static {
    /// What a player sends each tick.
    type Input: Input;
    /// The component of a player's entity the step moves (the part of it a client predicts).
    type State: Component;
    /// What the step needs besides the state and the input (speeds, bounds), sent to clients in
    /// the schema's `rules` bytes.
    type Rules: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Moves `state` by one `input`. Must depend on nothing else (no clock, no randomness), so
    /// the server and every client compute the same result.
    fn step(rules: &Self::Rules, state: &mut Self::State, input: &Self::Input);
}

/// The step of a game whose players send nothing (a world only watched, such as a benchmark):
/// no input fields, no predicted state.
#[derive(Debug)]
pub struct NoStep;

/// An input with no fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoInput;

/// A component with no fields; no kind holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoState;

impl Input for NoInput {
    fn fields() -> Vec<crate::schema::FieldDesc> {
        Vec::new()
    }
    fn write(&self, _lanes: &mut Vec<i32>) {}
    fn read(_lanes: &[i32]) -> Option<Self> {
        Some(Self)
    }
}

impl Component for NoState {
    fn desc() -> ComponentDesc {
        ComponentDesc {
            name: "NoState".into(),
            fields: Vec::new(),
        }
    }
    fn write(&self, _lanes: &mut Vec<i32>, _strings: &mut Vec<String>) {}
    fn read(_lanes: &[i32], _strings: &[String]) -> Option<Self> {
        Some(Self)
    }
}

impl SharedStep for NoStep {
    type Input = NoInput;
    type State = NoState;
    type Rules = ();
    fn step(_rules: &(), _state: &mut NoState, _input: &NoInput) {}
}
