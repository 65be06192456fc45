//! [`GameStep`]: a game's shared step, handed to [`crate::WebClient`] so the own player is
//! predicted. A game's own wasm module makes one with [`crate::game_step!`]; the SDK's
//! generic module has none (interpolation only).

use tickwire_shared::{ClientSession, SharedStep};
use wasm_bindgen::prelude::*;

/// A game's shared step, for [`crate::WebClient::new`].
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub struct GameStep {
    predicting: fn(ClientSession) -> ClientSession,
}

impl GameStep {
    /// The step `S`.
    #[must_use]
    pub fn of<S: SharedStep>() -> Self {
        Self {
            predicting: ClientSession::predicting::<S>,
        }
    }

    /// `session`, predicting with this step.
    #[must_use]
    pub fn predict(&self, session: ClientSession) -> ClientSession {
        (self.predicting)(session)
    }
}

/// Exports `sharedStep()` from a game's own wasm module (a `cdylib` crate that depends on
/// `tickwire-web` and the game): the SDK passes it to every client it opens with that module,
/// so the own player is predicted with the game's step. See docs/EMBEDDING.md, "In the browser".
///
/// ```ignore
/// tickwire_web::game_step!(tickwire_race::RaceStep);
/// ```
#[macro_export]
macro_rules! game_step {
    ($step:ty) => {
        /// The game's shared step, for the SDK's `connect({ module })`.
        #[$crate::wasm_bindgen::prelude::wasm_bindgen(js_name = sharedStep, wasm_bindgen = $crate::wasm_bindgen)]
        pub fn shared_step() -> $crate::GameStep {
            $crate::GameStep::of::<$step>()
        }
    };
}
