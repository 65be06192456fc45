//! The fixed-tick game loop. It owns a room's game on its own thread and never waits on a socket:
//! sessions -> [`Command`]s and per-client bounded [`ClientEvent`] queues -> loop -> each tick's
//! encoded messages, one batch per snapshot writer -> sockets.
//!
//! This file holds the loop's state, its clock (`run_due`) and the order of a tick; the tick's
//! parts are `seats` (joins, the Welcome, seats kept for a resume, leaving), `intake` (inputs and
//! full-snapshot requests) and `fan_out` (each client's snapshot into the outbox).

use crate::net::close_reason::CloseReason;
use crate::net::connection::Connection;
use crate::net::writers::Outbox;
use crate::ops::config::Limits;
use crate::ops::metrics::RoomMetrics;
use crate::ops::status::{RoomStatus, SeatCounts};
use crate::ops::tick_stats::TickStats;
use crate::room::replication::Replication;
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tickwire_game::{ConfigError, GameConfig, Games, HostedGame};
use tickwire_shared::layout::Layout;
use tickwire_shared::{
    EntityId, InputMessage, RejectReason, Resume, ResumeToken, SchemaHash, SentAt, ServerMessage,
    Tick, Welcome, codec,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

mod fan_out;
mod intake;
mod seats;

/// A loop that fell this many ticks behind stops catching up: the missed ticks are dropped and
/// counted as overruns, so a stall does not turn into a burst of back-to-back ticks.
const MAX_CATCH_UP_TICKS: u32 = 3;

/// A session's server-side id.
pub(crate) type ClientId = u32;

/// What sessions ask of the loop.
#[derive(Debug)]
pub(crate) enum Command {
    /// A client sent an acceptable Hello.
    Join(JoinRequest),
    /// The session ended. `resumable`: its connection was lost (not closed, not kicked), so the
    /// seat is kept for `resume_grace_ms`; otherwise the player is despawned.
    Leave { id: ClientId, resumable: bool },
}

/// A join: a new seat (a player, or none for a spectator), or with `resume` a seat whose
/// connection was lost. The loop replies with the client's id and sends the Welcome itself,
/// ahead of the first snapshot.
#[derive(Debug)]
pub(crate) struct JoinRequest {
    pub(crate) name: String,
    pub(crate) spectator: bool,
    pub(crate) resume: Option<Resume>,
    /// The schema the client was built with: the Welcome carries the room's when it differs.
    pub(crate) schema_hash: Option<SchemaHash>,
    /// The client's address as per-address limits count it (IPv6 by prefix); `None` when it is
    /// exempt (a loopback peer).
    pub(crate) address: Option<IpAddr>,
    pub(crate) link: ClientLink,
    pub(crate) reply: oneshot::Sender<Result<Seated, Refused>>,
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

/// The loop's ends of one session's channels.
#[derive(Debug)]
pub(crate) struct ClientLink {
    /// Inputs and full-snapshot requests from the client (bounded: the session drops inputs
    /// that do not fit).
    pub(crate) events: mpsc::Receiver<ClientEvent>,
    /// The client's socket, written by the snapshot writers.
    pub(crate) connection: Arc<Connection>,
    /// Fired when the loop disconnects the client.
    pub(crate) kick: oneshot::Sender<CloseReason>,
}

/// A decoded, validated message from a joined client.
#[derive(Debug)]
pub(crate) enum ClientEvent {
    /// Checked against the game's input schema by the session.
    Input(InputMessage),
    RequestFull,
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
    /// Where it joined from last (see [`JoinRequest::address`]).
    address: Option<IpAddr>,
}

#[derive(Debug)]
struct Client {
    seat: Seat,
    events: mpsc::Receiver<ClientEvent>,
    connection: Arc<Connection>,
    kick: oneshot::Sender<CloseReason>,
    /// The tick of the last snapshot handed to a writer: the baseline of its next one.
    last_sent: Option<Tick>,
    /// Since when the client has had the most messages in flight it may have.
    behind_since: Option<Instant>,
    /// The client asked for a full snapshot that has not been sent yet.
    wants_full: bool,
    /// When the client's last full snapshot was handed over: the next one it asks for waits
    /// until `full_snapshot_interval_ms` after it.
    last_full: Option<Instant>,
}

/// Why a room's loop ends (besides a panic, which the room threads catch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomEnd {
    /// No clients for `room_close_after_empty_ms`.
    Empty,
    /// Every tick took longer than the tick period for `slow_room_timeout_ms`.
    Slow,
}

/// What a join command gets back when the room does not take the client.
#[derive(Debug)]
pub(crate) enum Refused {
    Rejected(RejectReason),
    /// The room closed before it read the join: the link comes back for another room.
    RoomClosed(ClientLink),
}

/// One room's fixed-tick loop and everything it owns. The room threads call [`Self::run_due`].
#[derive(Debug)]
pub(crate) struct GameLoop {
    config: GameConfig,
    limits: Limits,
    commands: mpsc::Receiver<Command>,
    game: Box<dyn HostedGame>,
    replication: Replication,
    clients: BTreeMap<ClientId, Client>,
    /// Seats whose connection was lost, by resume token, kept until the deadline.
    detached: HashMap<ResumeToken, (Seat, Instant)>,
    next_client_id: ClientId,
    stats: TickStats,
    /// Where this tick's player frames are written: one allocation per tick, not per client.
    frames: BytesMut,
    /// This tick's messages, by snapshot writer.
    outbox: Outbox,
    status: Arc<RoomStatus>,
    metrics: RoomMetrics,
    next_tick: Instant,
    next_summary: Instant,
    empty_since: Option<Instant>,
    slow_since: Option<Instant>,
}

/// The most bytes reserved at once for a tick's player frames (3,000 deltas of parity-320 fit).
const FRAME_BUFFER_CAP: usize = 1 << 20;

/// How often the loop logs its tick summary.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

impl GameLoop {
    /// A room playing `config`'s game from `games`; fails only if the game refuses the config
    /// (servers check every config when they start).
    pub(crate) fn new(
        config: GameConfig,
        games: &Games,
        limits: Limits,
        commands: mpsc::Receiver<Command>,
        outbox: Outbox,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
    ) -> Result<Self, ConfigError> {
        let history = limits.history_ticks.max(1);
        let now = Instant::now();
        // Wire ids outlive every baseline that could name them.
        let game = games.start(&config, history as u32 + 1)?;
        Ok(Self {
            replication: Replication::new(history, Arc::clone(game.layout())),
            game,
            clients: BTreeMap::new(),
            detached: HashMap::new(),
            next_client_id: 1,
            stats: TickStats::default(),
            frames: BytesMut::new(),
            commands,
            outbox,
            status,
            metrics,
            next_tick: now,
            next_summary: now + SUMMARY_EVERY,
            // A room starts empty: its first client is on its way.
            empty_since: Some(now),
            slow_since: None,
            config,
            limits,
        })
    }

    /// Runs the tick that is due at `now`, if any. Returns when the next one is due, or why
    /// the room ends. Overruns: a room that fell more than [`MAX_CATCH_UP_TICKS`] behind skips
    /// the missed ticks and counts them.
    pub(crate) fn run_due(&mut self, now: Instant) -> Result<Instant, RoomEnd> {
        if now < self.next_tick {
            return Ok(self.next_tick);
        }
        let period = self.config.tick_period();
        let started = Instant::now();
        self.tick(started, wall_clock_stamp());
        let took = started.elapsed();
        self.stats.record_tick(took);
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

    /// Ends the room: joins still queued get their link back (to try another room), and every
    /// client is kicked with `reason`.
    pub(crate) fn close(&mut self, reason: Option<CloseReason>) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Join(JoinRequest { link, reply, .. }) = command {
                let _ = reply.send(Err(Refused::RoomClosed(link)));
            }
        }
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.remove(id, reason.clone());
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

    /// One tick: the game's rules, joins and leaves, inputs (each through the shared step),
    /// then the world recorded and snapshots sent stamped `sent_at`.
    fn tick(&mut self, now: Instant, sent_at: SentAt) {
        let tick = self.game.step();
        self.inject_faults(tick);
        self.handle_commands(now);
        self.expire_detached(now);
        self.apply_client_events();
        self.replication.record(tick, self.game.world(), sent_at);
        self.send_snapshots(now);
        self.outbox.flush();
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

    fn handle_commands(&mut self, now: Instant) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Join(request) => self.join(request),
                Command::Leave { id, resumable } if resumable => self.detach(id, now),
                Command::Leave { id, .. } => self.remove(id, None),
            }
        }
    }
}

/// The wall clock as a snapshot stamp.
fn wall_clock_stamp() -> SentAt {
    SentAt::from_system_time(SystemTime::now())
}

#[cfg(test)]
mod tests;
