//! A room's core, sans I/O: time and events in, messages out. It owns the room's game, its
//! seats and its replication, and knows nothing of sockets, channels or threads; the tokio
//! shell ([`crate::room::game_loop`]) feeds it and delivers what it sends, and its unit tests
//! drive it directly.
//!
//! Events: [`RoomCore::join`], [`RoomCore::leave`], [`RoomCore::input`] and
//! [`RoomCore::request_full`], each naming a client; time: [`RoomCore::run_due`]. Out: each
//! client's messages and disconnects, through an [`Outlet`].
//!
//! This file holds the core's state, its clock and the order of a tick; the tick's parts are
//! `seats` (joins, the Welcome, seats kept for a resume, leaving), `intake` (queued inputs and
//! full-snapshot requests), `fan_out` (each client's snapshot) and `saving` (the room's save,
//! and a room restored from one on another node).

use crate::net::close_reason::CloseReason;
use crate::ops::config::Limits;
use crate::ops::metrics::RoomMetrics;
use crate::ops::status::{RoomStatus, SeatCounts};
use crate::ops::tick_stats::TickStats;
use crate::room::audience::Audience;
use crate::room::budget::{Allowance, Budget};
use crate::room::replication::{HeldView, Replication};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tickwire_game::{ConfigError, GameConfig, Games, HostedGame, Visibility};
use tickwire_shared::layout::Layout;
use tickwire_shared::{
    EntityId, InputMessage, RejectReason, Resume, ResumeToken, SchemaHash, SentAt, ServerMessage,
    Tick, Welcome, codec,
};
use tracing::{debug, info, warn};

mod fan_out;
mod intake;
mod saving;
pub(crate) use saving::RoomSave;
mod seats;
mod views;

/// A loop that fell this many ticks behind stops catching up: the missed ticks are dropped and
/// counted as overruns, so a stall does not turn into a burst of back-to-back ticks.
const MAX_CATCH_UP_TICKS: u32 = 3;

/// A client's id in its room.
pub(crate) type ClientId = u32;

/// Where a room's messages go. `P` is what the shell attaches to each client (its connection):
/// the core keeps it with the client and hands it back with every message.
pub(crate) trait Outlet<P> {
    /// Messages handed over to this client and not yet written out.
    fn in_flight(&self, peer: &P) -> usize;
    /// Queues `message` for the client; a tick's messages go out when the tick ends.
    fn send(&mut self, client: ClientId, peer: &P, message: Bytes);
    /// The room is done with this client. `reason`: why it closed the client (a kick); `None`
    /// when the client left or its connection was lost.
    fn disconnect(&mut self, client: ClientId, peer: P, reason: Option<CloseReason>);
}

/// A client's Hello, as the room sees it.
#[derive(Debug, Clone)]
pub(crate) struct Join {
    pub(crate) name: String,
    pub(crate) spectator: bool,
    /// A seat whose connection was lost, to take back.
    pub(crate) resume: Option<Resume>,
    /// The schema the client was built with: the Welcome carries the room's when it differs.
    pub(crate) schema_hash: Option<SchemaHash>,
    /// The client's address as per-address limits count it (IPv6 by prefix); `None` when it is
    /// exempt (a loopback peer).
    pub(crate) address: Option<IpAddr>,
}

/// What a join gets back when the room takes the client. A resumed seat keeps its own role, so
/// `spectator` may differ from what the Hello asked for.
#[derive(Debug, Clone)]
pub(crate) struct Seated {
    pub(crate) client_id: ClientId,
    pub(crate) spectator: bool,
    /// The room's game, for checking the client's inputs.
    pub(crate) layout: Arc<Layout>,
}

/// A client's place in the room: what survives a reconnect.
#[derive(Debug)]
struct Seat {
    name: String,
    /// Its entity; `None` for a spectator.
    player: Option<EntityId>,
    /// The last input sequence applied: a resumed session continues from it.
    last_input: u32,
    /// The single-use token of the latest Welcome.
    resume_token: ResumeToken,
    /// Where it joined from last (see [`Join::address`]).
    address: Option<IpAddr>,
    /// With per-client visibility: the view its last snapshot gave it, the baseline of its
    /// next one (kept across a resume).
    view: Option<HeldView>,
    /// With a budget: what it may still receive, and the changes waiting for it.
    allowance: Option<Allowance>,
    /// Restored from another node's save and not taken back yet: the ticks its client holds
    /// are that node's, so its resume starts from a full snapshot.
    from_save: bool,
}

#[derive(Debug)]
struct Client<P> {
    seat: Seat,
    peer: P,
    /// Inputs received and not applied yet (at most `input_queue_frames`; at most
    /// `max_inputs_per_tick` are applied a tick).
    inputs: VecDeque<InputMessage>,
    /// The tick of the last snapshot handed over: the baseline of its next one.
    last_sent: Option<Tick>,
    /// Since when the client has had the most messages in flight it may have.
    behind_since: Option<Instant>,
    /// The client asked for a full snapshot that has not been sent yet.
    wants_full: bool,
    /// When the client's last full snapshot was handed over: the next one it asks for waits
    /// until `full_snapshot_interval_ms` after it.
    last_full: Option<Instant>,
}

/// Why a room ends (besides a panic, which the room threads catch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomEnd {
    /// No clients for `room_close_after_empty_ms`.
    Empty,
    /// Every tick took longer than the tick period for `slow_room_timeout_ms`.
    Slow,
}

/// One room's game, seats and replication.
#[derive(Debug)]
pub(crate) struct RoomCore<P> {
    config: GameConfig,
    limits: Limits,
    game: Box<dyn HostedGame>,
    /// What part of the world each client sees (from the game, asked once).
    views: views::Views,
    /// The world as clients that do not own an entity hold it.
    audience: Audience,
    /// The bytes each client may receive (the config's `budget_bytes_per_sec`).
    budget: Option<Budget>,
    replication: Replication,
    clients: BTreeMap<ClientId, Client<P>>,
    /// Seats whose connection was lost, by resume token, kept until the deadline.
    detached: HashMap<ResumeToken, (Seat, Instant)>,
    next_client_id: ClientId,
    stats: TickStats,
    /// Where this tick's player frames are written: one allocation per tick, not per client.
    frames: BytesMut,
    status: Arc<RoomStatus>,
    metrics: RoomMetrics,
    next_tick: Instant,
    next_summary: Instant,
    empty_since: Option<Instant>,
    /// A seat was taken or taken back (a new resume token) since the last save.
    seats_changed: bool,
    slow_since: Option<Instant>,
}

/// The most bytes reserved at once for a tick's player frames (3,000 deltas of parity-320 fit).
const FRAME_BUFFER_CAP: usize = 1 << 20;

/// How often the room logs its tick summary.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

impl<P> RoomCore<P> {
    /// A room playing `config`'s game from `games`, its first tick due at `now`; fails only if
    /// the game refuses the config (servers check every config when they start).
    pub(crate) fn new(
        config: GameConfig,
        games: &Games,
        limits: Limits,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        let game = games.start(&config, id_quarantine_ticks(&limits))?;
        Ok(Self::with_game(config, game, limits, status, metrics, now))
    }

    /// A room around `game`, its first tick due at `now`.
    fn with_game(
        config: GameConfig,
        game: Box<dyn HostedGame>,
        limits: Limits,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
        now: Instant,
    ) -> Self {
        let history = limits.history_ticks.max(1);
        Self {
            replication: Replication::new(history, Arc::clone(game.layout())),
            views: views::Views::new(game.visibility()),
            audience: Audience::new(&*game),
            budget: config
                .budget_bytes_per_sec
                .map(|bytes| Budget::new(bytes, config.tick_rate)),
            game,
            clients: BTreeMap::new(),
            detached: HashMap::new(),
            next_client_id: 1,
            stats: TickStats::default(),
            frames: BytesMut::new(),
            status,
            metrics,
            next_tick: now,
            next_summary: now + SUMMARY_EVERY,
            // A room starts empty: its first client is on its way.
            empty_since: Some(now),
            seats_changed: false,
            slow_since: None,
            config,
            limits,
        }
    }

    /// When the next tick is due.
    pub(crate) fn next_tick(&self) -> Instant {
        self.next_tick
    }

    /// Runs the tick that is due at `now`, if any. Returns when the next one is due, or why
    /// the room ends. Overruns: a room that fell more than [`MAX_CATCH_UP_TICKS`] behind skips
    /// the missed ticks and counts them.
    pub(crate) fn run_due(
        &mut self,
        now: Instant,
        out: &mut impl Outlet<P>,
    ) -> Result<Instant, RoomEnd> {
        if now < self.next_tick {
            return Ok(self.next_tick);
        }
        let period = self.config.tick_period();
        let started = Instant::now();
        self.tick(started, wall_clock_stamp(), out);
        let took = started.elapsed();
        self.stats.record_tick(self.game.tick(), took);
        self.status
            .record_tick(self.game.tick(), self.seat_counts(), took);

        self.next_tick += period;
        let now = Instant::now();
        if now > self.next_tick + period * MAX_CATCH_UP_TICKS {
            let behind = ((now - self.next_tick).as_secs_f64() / period.as_secs_f64()) as u64;
            self.stats.record_overruns(behind);
            self.status.record_overruns(behind);
            self.next_tick = now;
        }
        if now >= self.next_summary {
            self.stats.log_and_reset(self.clients.len(), SUMMARY_EVERY);
            self.next_summary = now + SUMMARY_EVERY;
        }
        let limits = &self.limits;
        if self.clients.is_empty() && self.detached.is_empty() {
            let since = *self.empty_since.get_or_insert(now);
            if now - since >= Duration::from_millis(limits.room_close_after_empty_ms) {
                return Err(RoomEnd::Empty);
            }
        } else {
            self.empty_since = None;
        }
        if took >= period {
            let since = *self.slow_since.get_or_insert(now);
            if now - since >= Duration::from_millis(limits.slow_room_timeout_ms) {
                return Err(RoomEnd::Slow);
            }
        } else {
            self.slow_since = None;
        }
        Ok(self.next_tick)
    }

    /// Ends the room: every client is disconnected with `reason`.
    pub(crate) fn close(&mut self, reason: Option<CloseReason>, out: &mut impl Outlet<P>) {
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.remove(id, reason.clone(), out);
        }
    }

    fn seat_counts(&self) -> SeatCounts {
        let players = self
            .clients
            .values()
            .filter(|c| c.seat.player.is_some())
            .count();
        SeatCounts {
            players,
            spectators: self.clients.len() - players,
            detached: self.detached.len(),
        }
    }

    /// One tick: the game's rules, seats whose resume window ended, inputs (each through the
    /// shared step), then the world recorded and snapshots sent stamped `sent_at`.
    fn tick(&mut self, now: Instant, sent_at: SentAt, out: &mut impl Outlet<P>) {
        let tick = self.game.step();
        self.inject_faults(tick);
        self.expire_detached(now);
        self.apply_inputs();
        self.audience.prepare(&*self.game);
        let public = self.audience.public(self.game.world());
        self.replication.record(tick, public, sent_at);
        if self.views.may_differ(self.budget.is_some(), &self.audience) {
            self.replication.work_out_changes();
        }
        self.views.prepare(&*self.game, public);
        self.send_snapshots(now, out);
    }

    /// The config's fault injection, for tests of room isolation.
    fn inject_faults(&self, tick: Tick) {
        if self.config.panic_at_tick == Some(tick.0) {
            panic!("fault injection: the config panics at tick {}", tick.0);
        }
        if let Some(delay) = self.config.tick_delay {
            std::thread::sleep(delay);
        }
    }
}

/// How long a despawned entity's wire id waits before reuse: longer than any baseline a client
/// can hold.
fn id_quarantine_ticks(limits: &Limits) -> u32 {
    limits.history_ticks.max(1) as u32 + 1
}

/// The wall clock as a snapshot stamp.
fn wall_clock_stamp() -> SentAt {
    SentAt::from_system_time(SystemTime::now())
}

#[cfg(test)]
mod tests;
