//! Tickwire's browser SDK, the Rust half: [`WebClient`], a session with a room of any game,
//! exported to JavaScript with wasm-bindgen. The JavaScript half (`assets/web/sdk/index.js`)
//! owns the WebSocket and the clock and wraps it in `connect()`; build both with
//! `bash assets/web/build.sh`.
//!
//! The module is sans-I/O like the session it wraps. It learns the game from the Welcome's
//! schema and speaks the game's own names and units ([`values`]), so one module serves every
//! game. A game that wants its own player predicted builds its own module: a `cdylib` crate
//! with [`game_step!`] naming its shared step (examples/arena/web, examples/race/web).

mod game_step;
pub mod values;
mod web_client;

pub use game_step::GameStep;
/// For [`game_step!`]: the wasm-bindgen this crate was built with.
pub use wasm_bindgen;
pub use web_client::{JoinOptions, WebClient, time_from_ms};
