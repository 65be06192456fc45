//! Saving: what a room's save takes on its thread (cheap: the world is shared, not copied), and
//! a room restored from a save on another node, its seats kept for their resumes.

use super::*;
use tickwire_game::{GameState, SaveError, SavedRoom, SavedSeat};

/// A room's state taken for a save; [`RoomSave::encode`] packs it, off the room's thread.
#[derive(Debug)]
pub(crate) struct RoomSave {
    config: GameConfig,
    game: GameState,
    seats: Vec<SavedSeat>,
}

impl RoomSave {
    /// The save's bytes (see [`SavedRoom`]).
    pub(crate) fn encode(self) -> Result<Vec<u8>, SaveError> {
        SavedRoom {
            config: self.config.to_toml(),
            game: self.game.pack()?,
            seats: self.seats,
        }
        .encode()
    }
}

impl<P> RoomCore<P> {
    /// Whether a seat was taken or taken back since the last save: its client's resume token
    /// is not saved yet.
    pub(crate) fn seats_changed(&self) -> bool {
        self.seats_changed
    }

    /// The room now, for its save: the game and every seat, connected or kept for a resume.
    pub(crate) fn save_state(&mut self) -> RoomSave {
        self.seats_changed = false;
        let connected = self.clients.values().map(|c| &c.seat);
        let detached = self.detached.values().map(|(seat, _)| seat);
        RoomSave {
            config: self.config.clone(),
            game: GameState::of(&*self.game),
            seats: connected
                .chain(detached)
                .map(|seat| SavedSeat {
                    name: seat.name.clone(),
                    player: seat.player.map(|p| p.0),
                    last_input: seat.last_input,
                    resume_token: seat.resume_token.0,
                })
                .collect(),
        }
    }

    /// A room that moved here, from its save (`config`: the save's, parsed): the game goes on from the save's tick, and every
    /// seat is kept for `resume_grace_ms` for its player to resume (with a full snapshot).
    /// `Ok(None)`: the game's rooms cannot move (see `Game::resume`).
    pub(crate) fn restore(
        saved: &SavedRoom,
        config: GameConfig,
        games: &Games,
        limits: Limits,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
        now: Instant,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(game) = games.resume(&config, id_quarantine_ticks(&limits), &saved.game)? else {
            return Ok(None);
        };
        let mut core = Self::with_game(config, game, limits, status, metrics, now);
        let until = now + Duration::from_millis(core.limits.resume_grace_ms);
        for seat in &saved.seats {
            let player = seat.player();
            if player.is_some_and(|p| core.game.world().get(p).is_none()) {
                warn!(name = %seat.name, "a saved seat's player is not in the saved world; left out");
                continue;
            }
            let seat = Seat {
                name: seat.name.clone(),
                player,
                last_input: seat.last_input,
                resume_token: seat.resume_token(),
                address: None,
                view: None,
                allowance: None,
                from_save: true,
            };
            core.detached.insert(seat.resume_token, (seat, until));
        }
        info!(
            tick = core.game.tick().0,
            seats = core.detached.len(),
            "room restored from its save"
        );
        Ok(Some(core))
    }
}
