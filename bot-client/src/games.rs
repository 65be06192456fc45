//! The games the stock bots know beyond their schema: their shared steps (so a bot's own player
//! is predicted, and every correction counted) and their own behaviours. Any other game is
//! played by the schema alone.

use tickwire_shared::ClientSession;
use tickwire_shared::bot_behaviour::BotBehaviour;

/// `session`, predicting the local player in the example games.
pub(crate) fn predicting(session: ClientSession) -> ClientSession {
    session
        .predicting::<tickwire_arena::ArenaStep>()
        .predicting::<tickwire_race::RaceStep>()
}

/// The behaviour called `name` of `game`, if the bots know one.
pub(crate) fn behaviour(game: &str, name: &str, seed: u64) -> Option<Box<dyn BotBehaviour>> {
    match game {
        "arena" => tickwire_arena::bots::behaviour(name, seed),
        _ => None,
    }
}
