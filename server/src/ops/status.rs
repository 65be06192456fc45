//! What `/rooms` and the room's `/metrics` series show of one room, updated by its loop every
//! tick.

use crate::ops::metrics::RoomSeries;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tickwire_shared::Tick;

/// Tick times kept for the p99 (ten seconds at 30 Hz).
const RECENT_TICKS: usize = 300;

/// A room's name, game, config and latest figures.
#[derive(Debug)]
pub(crate) struct RoomStatus {
    room: String,
    game: String,
    scenario: String,
    figures: Mutex<Figures>,
}

#[derive(Debug, Default)]
struct Figures {
    players: usize,
    spectators: usize,
    detached: usize,
    tick: u32,
    recent_tick_us: VecDeque<u32>,
    series: RoomSeries,
}

/// One room in `/rooms`.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct RoomSummary {
    pub(crate) room: String,
    pub(crate) game: String,
    /// The name of its config.
    pub(crate) scenario: String,
    pub(crate) players: usize,
    pub(crate) spectators: usize,
    /// Seats whose connection was lost, kept for a resume (they count toward `max_clients`).
    pub(crate) detached: usize,
    pub(crate) tick: u32,
    /// Over the last [`RECENT_TICKS`] ticks.
    pub(crate) tick_ms_p99: f64,
    /// Ticks skipped after falling behind, since the room opened.
    pub(crate) overruns: u64,
}

/// A room's seats by kind, as the loop counts them each tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SeatCounts {
    pub(crate) players: usize,
    pub(crate) spectators: usize,
    pub(crate) detached: usize,
}

impl RoomStatus {
    pub(crate) fn new(room: &str, game: &str, scenario: &str) -> Self {
        Self {
            room: room.to_owned(),
            game: game.to_owned(),
            scenario: scenario.to_owned(),
            figures: Mutex::default(),
        }
    }

    pub(crate) fn record_tick(&self, tick: Tick, seats: SeatCounts, took: Duration) {
        let mut figures = self.lock();
        figures.players = seats.players;
        figures.spectators = seats.spectators;
        figures.detached = seats.detached;
        figures.tick = tick.0;
        figures.series.record_tick(took);
        if figures.recent_tick_us.len() == RECENT_TICKS {
            figures.recent_tick_us.pop_front();
        }
        figures
            .recent_tick_us
            .push_back(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
    }

    pub(crate) fn record_overruns(&self, skipped: u64) {
        self.lock().series.overruns += skipped;
    }

    /// The room's name and its `/metrics` series.
    pub(crate) fn series(&self) -> (String, RoomSeries) {
        (self.room.clone(), self.lock().series.clone())
    }

    pub(crate) fn summary(&self) -> RoomSummary {
        let figures = self.lock();
        let mut ticks: Vec<u32> = figures.recent_tick_us.iter().copied().collect();
        ticks.sort_unstable();
        let p99 = ticks
            .get(((ticks.len() as f64 - 1.0) * 0.99).round() as usize)
            .map_or(0.0, |&us| f64::from(us) / 1000.0);
        RoomSummary {
            room: self.room.clone(),
            game: self.game.clone(),
            scenario: self.scenario.clone(),
            players: figures.players,
            spectators: figures.spectators,
            detached: figures.detached,
            tick: figures.tick,
            tick_ms_p99: p99,
            overruns: figures.series.overruns,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Figures> {
        self.figures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
