//! [`BotBehaviour`]: how a game's own bot behaviours plug into the stock `tickwire-bot`. A bot
//! that knows the room's game asks its behaviour for each tick's input; one that does not walks
//! at random through the input the game's schema declares.

use crate::{ClientSession, EntityId};

/// One bot's way of playing a game (it keeps its own memory and randomness).
pub trait BotBehaviour: Send {
    /// The input for this tick as the game's input lanes (an `Input`'s `write`), or `None` to
    /// send nothing. `me` is the bot's own entity; `session` holds the world as replicated.
    fn input(&mut self, session: &ClientSession, me: EntityId) -> Option<Vec<i32>>;
}
