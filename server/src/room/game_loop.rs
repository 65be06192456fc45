//! The fixed-tick game loop. It owns the arena on its own thread and never waits on a socket:
//! sessions -> [`Command`]s and per-client bounded [`ClientEvent`] queues -> loop -> each tick's
//! encoded messages, one batch per snapshot writer -> sockets.

use crate::net::close_reason::CloseReason;
use crate::net::connection::Connection;
use crate::net::writers::Outbox;
use crate::ops::config::Limits;
use crate::ops::metrics::RoomMetrics;
use crate::ops::status::{RoomStatus, SeatCounts};
use crate::ops::tick_stats::TickStats;
use crate::room::arena::Arena;
use crate::room::replication::Replication;
use crate::room::scenario::Scenario;
use crate::room::world::EntityKey;
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tickwire_shared::layout::Layout;
use tickwire_shared::{
    EntityId, InputFrame, InputMessage, RejectReason, Resume, ResumeToken, SchemaHash, SentAt,
    ServerMessage, Tick, Welcome, codec,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

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
    /// `None` for a spectator.
    player: Option<(EntityKey, EntityId)>,
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
    scenario: Scenario,
    limits: Limits,
    commands: mpsc::Receiver<Command>,
    arena: Arena,
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
    pub(crate) fn new(
        scenario: Scenario,
        limits: Limits,
        commands: mpsc::Receiver<Command>,
        outbox: Outbox,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
    ) -> Self {
        let history = limits.history_ticks.max(1);
        let now = Instant::now();
        let arena = Arena::new(&scenario, history as u32 + 1);
        Self {
            replication: Replication::new(history, Arc::clone(arena.layout())),
            arena,
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
            scenario,
            limits,
        }
    }

    /// Runs the tick that is due at `now`, if any. Returns when the next one is due, or why
    /// the room ends. Overruns: a room that fell more than [`MAX_CATCH_UP_TICKS`] behind skips
    /// the missed ticks and counts them.
    pub(crate) fn run_due(&mut self, now: Instant) -> Result<Instant, RoomEnd> {
        if now < self.next_tick {
            return Ok(self.next_tick);
        }
        let period = self.scenario.tick_period();
        let started = Instant::now();
        self.tick(started, wall_clock_stamp());
        let took = started.elapsed();
        self.stats.record_tick(took);
        self.status
            .record_tick(self.arena.tick(), self.seat_counts(), took);

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

    /// One tick: step the world, admit joins, apply inputs, record the state, send snapshots
    /// stamped `sent_at`.
    fn tick(&mut self, now: Instant, sent_at: SentAt) {
        self.arena.step();
        self.handle_commands(now);
        self.expire_detached(now);
        self.apply_client_events();
        let tick = self.arena.tick();
        let state = self.arena.replicated();
        self.replication.record(tick, state, sent_at);
        self.send_snapshots(now);
        self.outbox.flush();
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

    fn join(&mut self, request: JoinRequest) {
        let JoinRequest {
            name,
            spectator,
            resume,
            schema_hash: request_schema,
            address,
            link,
            reply,
        } = request;
        let (seat, baseline, resumed) = match resume {
            Some(resume) => match self.take_seat(resume.token) {
                // Deltas resume from the client's last tick while the history still has it.
                Some(seat) => {
                    let baseline = resume.last_applied.filter(|&t| self.replication.has(t));
                    (seat, baseline, true)
                }
                None => {
                    let _ = reply.send(Err(Refused::Rejected(RejectReason::ResumeExpired)));
                    return;
                }
            },
            // Seats kept for a resume count too: a client that joins and drops its connection
            // over and over must not grow the world past the cap.
            None if self.clients.len() + self.detached.len() >= self.limits.max_clients => {
                let _ = reply.send(Err(Refused::Rejected(RejectReason::RoomFull)));
                return;
            }
            None => {
                let seat = Seat {
                    name,
                    player: (!spectator).then(|| self.arena.spawn_player()),
                    last_input: 0,
                    resume_token: ResumeToken(0),
                    address,
                };
                (seat, None, false)
            }
        };
        let client_id = self.allocate_client_id();
        // A fresh single-use token with every Welcome, from a cryptographic generator.
        let seat = Seat {
            resume_token: ResumeToken(rand::random()),
            address,
            ..seat
        };
        let seated = Seated {
            client_id,
            spectator: seat.player.is_none(),
            layout: Arc::clone(self.arena.layout()),
        };
        let welcome = Welcome {
            client_id,
            player: seat.player.map(|(_, id)| id),
            tick_rate: self.scenario.tick_rate,
            schema: (request_schema != Some(self.arena.schema_hash()))
                .then(|| self.arena.layout().schema().clone()),
            resume_token: seat.resume_token,
        };
        let welcome = codec::encode_server(&ServerMessage::Welcome(welcome));
        let (Ok(welcome), Ok(())) = (welcome, reply.send(Ok(seated))) else {
            // The session gave up while waiting (or, never seen, the Welcome did not encode:
            // the session then finds the loop gone); nobody will play this seat.
            self.despawn(seat);
            return;
        };
        info!(client = client_id, name = %seat.name, spectator = seat.player.is_none(), resumed, ?baseline, "joined");
        if resumed {
            self.metrics.resumes.increment(1);
        }
        self.metrics.messages_out.increment(1);
        self.metrics.bytes_out.increment(welcome.len() as u64);
        self.outbox
            .push(client_id, &link.connection, Bytes::from(welcome));
        self.clients.insert(
            client_id,
            Client {
                seat,
                events: link.events,
                connection: link.connection,
                kick: link.kick,
                last_sent: baseline,
                behind_since: None,
                wants_full: false,
                last_full: None,
            },
        );
    }

    /// The next client id not in use (ids wrap after 2^32 - 1 joins; 0 is never used).
    fn allocate_client_id(&mut self) -> ClientId {
        loop {
            let id = self.next_client_id;
            self.next_client_id = self.next_client_id.wrapping_add(1).max(1);
            if !self.clients.contains_key(&id) {
                return id;
            }
        }
    }

    /// The seat with this resume token: a lost one, or one still connected (a client that
    /// reconnected before the server noticed the old connection die), whose session is then
    /// closed with 4005.
    fn take_seat(&mut self, token: ResumeToken) -> Option<Seat> {
        if let Some((seat, _)) = self.detached.remove(&token) {
            return Some(seat);
        }
        let id = self
            .clients
            .iter()
            .find(|(_, c)| c.seat.resume_token == token)
            .map(|(&id, _)| id)?;
        let client = self.clients.remove(&id)?;
        info!(client = id, name = %client.seat.name, "session resumed on another connection");
        let _ = client.kick.send(CloseReason::RESUMED_ELSEWHERE);
        Some(client.seat)
    }

    /// Keeps a client's seat for `resume_grace_ms` after its connection was lost. An address
    /// keeps at most `max_detached_seats_per_ip` such seats in the room: past it, its oldest
    /// one is given up.
    fn detach(&mut self, id: ClientId, now: Instant) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        if let Some(address) = client.seat.address {
            let mut kept: Vec<(Instant, ResumeToken)> = self
                .detached
                .iter()
                .filter(|(_, (seat, _))| seat.address == Some(address))
                .map(|(&token, (_, until))| (*until, token))
                .collect();
            let allowed = self.limits.max_detached_seats_per_ip.saturating_sub(1);
            if kept.len() > allowed {
                kept.sort_unstable_by_key(|(until, _)| *until);
                for (_, token) in &kept[..kept.len() - allowed] {
                    if let Some((seat, _)) = self.detached.remove(token) {
                        debug!(name = %seat.name, %address, "too many seats kept for this address; oldest given up");
                        self.despawn(seat);
                    }
                }
            }
        }
        info!(client = id, name = %client.seat.name, "connection lost; seat kept for a resume");
        let until = now + Duration::from_millis(self.limits.resume_grace_ms);
        self.detached
            .insert(client.seat.resume_token, (client.seat, until));
    }

    /// Despawns the seats whose grace window is over.
    fn expire_detached(&mut self, now: Instant) {
        let expired: Vec<ResumeToken> = self
            .detached
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(&token, _)| token)
            .collect();
        for token in expired {
            if let Some((seat, _)) = self.detached.remove(&token) {
                info!(name = %seat.name, "resume window over; left");
                self.despawn(seat);
            }
        }
    }

    fn despawn(&mut self, seat: Seat) {
        if let Some((player, _)) = seat.player {
            self.arena.remove_player(player);
        }
    }

    /// Removes a client and despawns its player; `kick` also tells its session why.
    fn remove(&mut self, id: ClientId, kick: Option<CloseReason>) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let name = client.seat.name.clone();
        self.despawn(client.seat);
        match kick {
            Some(reason) => {
                warn!(client = id, %name, code = reason.code, reason = %reason.reason, "kicked");
                let _ = client.kick.send(reason);
            }
            None => info!(client = id, %name, "left"),
        }
    }

    fn apply_client_events(&mut self) {
        let max_inputs = self.limits.max_inputs_per_tick;
        for client in self.clients.values_mut() {
            let mut inputs = 0;
            while inputs < max_inputs {
                match client.events.try_recv() {
                    Ok(ClientEvent::Input(input)) => {
                        // Stale or replayed frames are ignored: each sequence moves the player once.
                        // (Sessions refuse spectators' inputs before they get here.)
                        if let Some((player, _)) = client.seat.player
                            && input.sequence > client.seat.last_input
                            && let Some(frame) =
                                InputFrame::from_lanes(input.sequence, &input.lanes)
                        {
                            self.arena.apply_input(player, &frame);
                            client.seat.last_input = input.sequence;
                            inputs += 1;
                        }
                    }
                    Ok(ClientEvent::RequestFull) => {
                        debug!(name = %client.seat.name, "full snapshot requested");
                        client.wants_full = true;
                    }
                    Err(_) => break,
                }
            }
        }
    }

    fn send_snapshots(&mut self, now: Instant) {
        let slow_after = Duration::from_millis(self.limits.slow_consumer_timeout_ms);
        let full_interval = Duration::from_millis(self.limits.full_snapshot_interval_ms);
        let max_in_flight = self.limits.outbound_queue_snapshots;
        let client_count = self.clients.len();
        let mut to_remove = Vec::new();
        let (mut sent, mut sent_bytes, mut fulls_granted) = (0, 0, 0);
        for (index, (&id, client)) in self.clients.iter_mut().enumerate() {
            // Too many messages not yet in the kernel: skip this client for the tick; its next
            // snapshot is a delta from the last one handed over, so nothing is lost.
            if client.connection.messages_in_flight() >= max_in_flight {
                let since = *client.behind_since.get_or_insert(now);
                if now.duration_since(since) >= slow_after {
                    to_remove.push((id, Some(CloseReason::SLOW_CONSUMER)));
                }
                continue;
            }
            client.behind_since = None;
            // At most one requested full snapshot per interval: asking every tick must not turn
            // a client's one-byte requests into a full world each tick.
            if client.wants_full
                && client
                    .last_full
                    .is_none_or(|at| now.duration_since(at) >= full_interval)
            {
                client.wants_full = false;
                client.last_sent = None;
                fulls_granted += 1;
            }
            let snapshot = match self.replication.snapshot_for(client.last_sent) {
                Ok(Some(snapshot)) => snapshot,
                Ok(None) => continue,
                Err(e) => {
                    warn!(client = id, error = %e, "snapshot cannot be sent");
                    to_remove.push((id, Some(CloseReason::SNAPSHOT_TOO_LARGE)));
                    continue;
                }
            };
            if self.frames.capacity() < snapshot.max_frame_len() {
                // Room for the rest of the tick's frames in one allocation, up to a cap: a full
                // frame is far larger than the deltas most clients get.
                let rest = snapshot.max_frame_len() * (client_count - index);
                self.frames
                    .reserve(rest.min(FRAME_BUFFER_CAP.max(snapshot.max_frame_len())));
            }
            if client.last_sent.is_none() {
                client.last_full = Some(now);
            }
            let tick = snapshot.tick;
            let bytes = match snapshot.frame_for(client.seat.last_input, &mut self.frames) {
                Ok(bytes) => bytes,
                Err(e) => {
                    warn!(client = id, error = %e, "snapshot cannot be sent");
                    to_remove.push((id, Some(CloseReason::SNAPSHOT_TOO_LARGE)));
                    continue;
                }
            };
            self.stats.record_sent(bytes.len());
            sent += 1;
            sent_bytes += bytes.len() as u64;
            self.outbox.push(id, &client.connection, bytes);
            client.last_sent = Some(tick);
        }
        self.metrics.messages_out.increment(sent);
        self.metrics.bytes_out.increment(sent_bytes);
        self.metrics.desyncs_reported.increment(fulls_granted);
        for len in self.replication.encoded_lengths() {
            self.metrics.snapshot_bytes.record(len as f64);
        }
        for (id, kick) in to_remove {
            self.remove(id, kick);
        }
    }
}

/// The wall clock as a snapshot stamp.
fn wall_clock_stamp() -> SentAt {
    SentAt::from_system_time(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::writers::{Delivery, Writers};
    use crate::ops::metrics::Metrics;
    use crate::room::scenario::Scenario;
    use tickwire_shared::client_world::Applied;
    use tickwire_shared::{Buttons, ClientWorld, ServerMessage, codec};

    /// The test plays the snapshot writer: it decodes what the loop hands over, and writes it to
    /// a real socket (whose other end is never read) so the in-flight counts are the real ones.
    struct TestClient {
        events: mpsc::Sender<ClientEvent>,
        kick: oneshot::Receiver<CloseReason>,
        seated: Seated,
        welcome: Welcome,
        world: ClientWorld,
        /// The baseline of the first snapshot after the Welcome (`None`: full).
        first_baseline: Option<Tick>,
        _peer: tokio::net::TcpStream,
    }

    /// What a Hello asks for and where it comes from.
    #[derive(Default, Clone, Copy)]
    struct JoinAs {
        spectator: bool,
        address: Option<IpAddr>,
    }

    struct TestGame {
        game: GameLoop,
        commands: mpsc::Sender<Command>,
        batches: mpsc::UnboundedReceiver<Vec<Delivery>>,
    }

    impl TestGame {
        fn new(slow_consumer_timeout_ms: u64, max_in_flight: usize) -> Self {
            Self::with_limits(Limits {
                slow_consumer_timeout_ms,
                outbound_queue_snapshots: max_in_flight,
                ..Limits::default()
            })
        }

        fn with_limits(limits: Limits) -> Self {
            let scenario = Scenario {
                seed: Some(1),
                ..Scenario::arena()
            };
            let (writers, mut receivers) = Writers::new(1);
            let (commands, command_rx) = mpsc::channel(8);
            let game = GameLoop::new(
                scenario,
                limits,
                command_rx,
                writers.outbox(),
                Arc::new(RoomStatus::new("test", "arena")),
                Metrics::new().room(),
            );
            Self {
                game,
                commands,
                batches: receivers.pop().expect("one writer"),
            }
        }

        fn tick(&mut self, now: Instant) {
            self.game.tick(now, SentAt(0));
        }

        /// Writes and decodes every handed-over message.
        fn deliver(&mut self) -> Vec<ServerMessage> {
            self.deliver_to(None)
        }

        /// Writes every handed-over message; decodes those for `only` (all without it).
        fn deliver_to(&mut self, only: Option<&Arc<Connection>>) -> Vec<ServerMessage> {
            let mut messages = Vec::new();
            while let Ok(batch) = self.batches.try_recv() {
                for delivery in batch {
                    delivery.connection.write_message(&delivery.message);
                    if only.is_none_or(|c| Arc::ptr_eq(c, &delivery.connection)) {
                        messages.push(codec::decode_server(&delivery.message).expect("decodes"));
                    }
                }
            }
            messages
        }

        async fn join(&mut self, now: Instant) -> TestClient {
            self.try_join(now, None, ClientWorld::new())
                .await
                .expect("accepted")
        }

        /// Joins (or resumes, keeping `world`), and applies the first snapshot.
        async fn try_join(
            &mut self,
            now: Instant,
            resume: Option<Resume>,
            world: ClientWorld,
        ) -> Result<TestClient, RejectReason> {
            self.try_join_as(now, resume, world, JoinAs::default())
                .await
        }

        /// [`Self::try_join`] with the Hello's role and the client's address.
        async fn try_join_as(
            &mut self,
            now: Instant,
            resume: Option<Resume>,
            world: ClientWorld,
            join_as: JoinAs,
        ) -> Result<TestClient, RejectReason> {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let peer = tokio::net::TcpStream::connect(listener.local_addr().expect("addr"))
                .await
                .expect("connect");
            let (stream, _) = listener.accept().await.expect("accept");
            let (events, events_rx) = mpsc::channel(16);
            let (kick_tx, kick) = oneshot::channel();
            let (reply, mut reply_rx) = oneshot::channel();
            let budget = Arc::new(crate::net::queue_budget::QueueBudget::new(
                usize::MAX,
                metrics::Gauge::noop(),
            ));
            let connection = Connection::new(stream, 1 << 20, budget);
            let link = ClientLink {
                events: events_rx,
                connection: Arc::clone(&connection),
                kick: kick_tx,
            };
            self.commands
                .try_send(Command::Join(JoinRequest {
                    name: "t".into(),
                    spectator: join_as.spectator,
                    resume,
                    schema_hash: None,
                    address: join_as.address,
                    link,
                    reply,
                }))
                .expect("command queue has room");
            self.tick(now);
            let seated = match reply_rx.try_recv().expect("answered within the tick") {
                Ok(seated) => seated,
                Err(Refused::Rejected(reason)) => return Err(reason),
                Err(Refused::RoomClosed(_)) => panic!("the room is open"),
            };
            let messages = self.deliver_to(Some(&connection));
            let Some(ServerMessage::Welcome(welcome)) = messages.first() else {
                panic!("the Welcome comes first: {messages:?}");
            };
            let first_baseline = match messages.get(1) {
                Some(ServerMessage::Snapshot(s)) => s.baseline,
                other => panic!("then a snapshot: {other:?}"),
            };
            let mut world = world;
            world.set_layout(Arc::clone(self.game.arena.layout()));
            let mut client = TestClient {
                events,
                kick,
                seated,
                welcome: welcome.clone(),
                world,
                first_baseline,
                _peer: peer,
            };
            assert_eq!(client.apply(&messages[1..]), 1, "then the first snapshot");
            Ok(client)
        }
    }

    impl TestClient {
        /// Applies snapshots; returns how many there were.
        fn apply(&mut self, messages: &[ServerMessage]) -> usize {
            for message in messages {
                let ServerMessage::Snapshot(s) = message else {
                    panic!("not a snapshot: {message:?}")
                };
                assert_eq!(self.world.apply(s), Ok(Applied::Updated));
            }
            messages.len()
        }
    }

    #[tokio::test]
    async fn a_client_that_is_behind_is_skipped_and_too_long_behind_kicked() {
        let mut test = TestGame::new(1000, 2);
        let t0 = Instant::now();
        let mut client = test.join(t0).await;
        test.tick(t0);
        test.tick(t0);
        test.tick(t0); // Two in flight (the writer has not run): skipped.
        let messages = test.deliver();
        assert_eq!(client.apply(&messages), 2, "the skipped tick was not sent");
        // Two ticks passed since the last snapshot sent: the next is a delta against it.
        test.tick(t0 + Duration::from_millis(100));
        assert_eq!(client.apply(&test.deliver()), 1);

        test.tick(t0 + Duration::from_millis(200));
        test.tick(t0 + Duration::from_millis(300));
        test.tick(t0 + Duration::from_millis(400)); // Behind since 400 ms.
        test.tick(t0 + Duration::from_millis(1300));
        assert!(client.kick.try_recv().is_err(), "behind for 900 ms only");
        test.tick(t0 + Duration::from_millis(1400));
        assert_eq!(client.kick.try_recv(), Ok(CloseReason::SLOW_CONSUMER));
        assert!(
            test.game
                .arena
                .replicated()
                .get(client.welcome.player.expect("a player"))
                .is_none(),
            "player despawned"
        );
    }

    #[tokio::test]
    async fn many_inputs_in_one_tick_move_the_player_no_faster_than_the_cap() {
        let mut test = TestGame::new(1000, 64);
        let now = Instant::now();
        let mut client = test.join(now).await;
        let start = client
            .world
            .entity(client.welcome.player.expect("a player"))
            .expect("own player")
            .pos;
        for sequence in 1..=10 {
            let input = InputFrame {
                sequence,
                move_x: 127,
                move_y: 0,
                aim: 0,
                buttons: Buttons::default(),
            };
            client
                .events
                .try_send(ClientEvent::Input(input.message()))
                .expect("queue has room");
        }
        test.tick(now);
        client.apply(&test.deliver());
        let moved = client
            .world
            .entity(client.welcome.player.expect("a player"))
            .expect("own player")
            .pos
            - start;
        let schema = client.welcome.schema.as_ref().expect("the schema");
        let rules: tickwire_shared::MovementRules =
            codec::decode_rules(&schema.rules).expect("the arena's rules");
        let step = rules.step_per_tick;
        assert_eq!(moved.x, step * test.game.limits.max_inputs_per_tick as i32);
        assert_eq!(client.world.last_input(), 2);
    }

    fn input(sequence: u32) -> ClientEvent {
        ClientEvent::Input(
            InputFrame {
                sequence,
                move_x: 127,
                move_y: 0,
                aim: 0,
                buttons: Buttons::default(),
            }
            .message(),
        )
    }

    #[tokio::test]
    async fn a_lost_connection_resumes_the_same_player_with_a_delta_within_the_grace_window() {
        let mut test = TestGame::new(1000, 64);
        let t0 = Instant::now();
        let mut client = test.join(t0).await;
        let player = client.welcome.player.expect("a player");
        for sequence in 1..=2 {
            client.events.try_send(input(sequence)).expect("room");
        }
        test.tick(t0);
        client.apply(&test.deliver());
        let id = client.welcome.client_id;
        let token = client.welcome.resume_token;
        let last_applied = client.world.tick();
        test.commands
            .try_send(Command::Leave {
                id,
                resumable: true,
            })
            .expect("room");
        test.tick(t0);
        test.tick(t0);
        assert!(
            test.game.arena.replicated().get(player).is_some(),
            "the seat is kept"
        );

        let resume = Resume {
            token,
            last_applied,
        };
        let mut resumed = test
            .try_join(t0, Some(resume.clone()), client.world)
            .await
            .expect("resumed");
        assert_eq!(resumed.welcome.player, Some(player), "the same player");
        assert!(last_applied.is_some());
        assert_eq!(
            resumed.first_baseline, last_applied,
            "a delta from the last tick applied"
        );
        assert_ne!(resumed.welcome.resume_token, token, "a fresh token");
        assert_eq!(
            resumed.world.last_input(),
            2,
            "the input sequence continues"
        );
        resumed.events.try_send(input(3)).expect("room");
        test.tick(t0);
        resumed.apply(&test.deliver());
        assert_eq!(resumed.world.last_input(), 3);

        assert_eq!(
            test.try_join(t0, Some(resume), ClientWorld::new())
                .await
                .err(),
            Some(RejectReason::ResumeExpired),
            "a token works once"
        );
    }

    #[tokio::test]
    async fn a_seat_is_despawned_when_the_grace_window_ends() {
        let mut test = TestGame::new(1000, 64);
        let t0 = Instant::now();
        let client = test.join(t0).await;
        let player = client.welcome.player.expect("a player");
        let grace = Duration::from_millis(test.game.limits.resume_grace_ms);
        test.commands
            .try_send(Command::Leave {
                id: client.welcome.client_id,
                resumable: true,
            })
            .expect("room");
        test.tick(t0);
        test.tick(t0 + grace);
        assert!(
            test.game.arena.replicated().get(player).is_none(),
            "despawned"
        );
        let resume = Resume {
            token: client.welcome.resume_token,
            last_applied: client.world.tick(),
        };
        assert_eq!(
            test.try_join(t0 + grace, Some(resume), ClientWorld::new())
                .await
                .err(),
            Some(RejectReason::ResumeExpired)
        );
    }

    impl TestGame {
        /// The client's session reports its connection lost.
        fn lose(&mut self, client: &TestClient, now: Instant) {
            self.commands
                .try_send(Command::Leave {
                    id: client.seated.client_id,
                    resumable: true,
                })
                .expect("room");
            self.tick(now);
        }

        fn player_exists(&mut self, client: &TestClient) -> bool {
            let player = client.welcome.player.expect("a player");
            self.game.arena.replicated().get(player).is_some()
        }
    }

    /// A resume that asks for a full snapshot (these tests resume with an empty world).
    fn resume_of(client: &TestClient) -> Option<Resume> {
        Some(Resume {
            token: client.welcome.resume_token,
            last_applied: None,
        })
    }

    #[tokio::test]
    async fn seats_kept_for_a_resume_count_toward_max_clients() {
        let mut test = TestGame::with_limits(Limits {
            max_clients: 2,
            ..Limits::default()
        });
        let t0 = Instant::now();
        let (a, b) = (test.join(t0).await, test.join(t0).await);
        test.lose(&a, t0);
        test.lose(&b, t0);
        assert_eq!(
            test.game.seat_counts(),
            SeatCounts {
                players: 0,
                spectators: 0,
                detached: 2
            }
        );
        assert_eq!(
            test.try_join(t0, None, ClientWorld::new()).await.err(),
            Some(RejectReason::RoomFull),
            "two seats wait for a resume in a room of two"
        );
        let a = test
            .try_join(t0, resume_of(&a), ClientWorld::new())
            .await
            .expect("a resume still fits: its seat is already counted");
        assert!(test.player_exists(&a));
        let grace = Duration::from_millis(test.game.limits.resume_grace_ms);
        test.tick(t0 + grace);
        assert!(!test.player_exists(&b), "b's seat expired");
        test.join(t0 + grace).await;
    }

    #[tokio::test]
    async fn an_address_keeps_a_bounded_number_of_seats_for_a_resume_giving_up_its_oldest() {
        let mut test = TestGame::with_limits(Limits {
            max_detached_seats_per_ip: 2,
            ..Limits::default()
        });
        let t0 = Instant::now();
        let churner = JoinAs {
            spectator: false,
            address: Some([203, 0, 113, 7].into()),
        };
        let neighbour = JoinAs {
            address: Some([203, 0, 113, 8].into()),
            ..churner
        };
        let mut churned = Vec::new();
        for i in 0..4 {
            let now = t0 + Duration::from_millis(i);
            let client = test
                .try_join_as(now, None, ClientWorld::new(), churner)
                .await
                .expect("joins");
            test.lose(&client, now);
            churned.push(client);
        }
        let other = test
            .try_join_as(t0, None, ClientWorld::new(), neighbour)
            .await
            .expect("joins");
        test.lose(&other, t0 + Duration::from_millis(5));
        assert_eq!(
            test.game.seat_counts().detached,
            3,
            "two of the churner's, one other"
        );
        let kept: Vec<bool> = churned
            .iter()
            .map(|c| test.player_exists(c))
            .collect::<Vec<_>>();
        assert_eq!(
            kept,
            [false, false, true, true],
            "the oldest two were given up"
        );
        assert!(
            test.player_exists(&other),
            "another address is not affected"
        );
        assert_eq!(
            test.try_join(t0, resume_of(&churned[0]), ClientWorld::new())
                .await
                .err(),
            Some(RejectReason::ResumeExpired)
        );
        test.try_join(t0, resume_of(&churned[3]), ClientWorld::new())
            .await
            .expect("a kept seat resumes");
    }

    #[tokio::test]
    async fn a_resume_keeps_the_seats_role_whatever_its_hello_says() {
        let mut test = TestGame::new(1000, 64);
        let t0 = Instant::now();
        let spectator = test
            .try_join_as(
                t0,
                None,
                ClientWorld::new(),
                JoinAs {
                    spectator: true,
                    address: None,
                },
            )
            .await
            .expect("joins");
        assert!(spectator.seated.spectator);
        test.lose(&spectator, t0);
        let resumed = test
            .try_join_as(
                t0,
                resume_of(&spectator),
                ClientWorld::new(),
                JoinAs::default(),
            )
            .await
            .expect("resumes");
        assert!(resumed.seated.spectator, "still a spectator");
        assert_eq!(resumed.welcome.player, None, "no player spawned");

        let player = test.join(t0).await;
        test.lose(&player, t0);
        let resumed = test
            .try_join_as(
                t0,
                resume_of(&player),
                ClientWorld::new(),
                JoinAs {
                    spectator: true,
                    address: None,
                },
            )
            .await
            .expect("resumes");
        assert!(!resumed.seated.spectator, "still a player");
        assert_eq!(resumed.welcome.player, player.welcome.player);
    }

    #[tokio::test]
    async fn requested_full_snapshots_are_sent_at_most_once_per_interval() {
        let mut test = TestGame::new(1000, 64);
        let t0 = Instant::now();
        let client = test.join(t0).await;
        let interval = Duration::from_millis(test.game.limits.full_snapshot_interval_ms);
        let mut fulls_at = Vec::new();
        // A request every tick for 2.5 intervals.
        let ticks = (interval.as_millis() * 5 / 2 / 33) as u64;
        for i in 1..=ticks {
            let now = t0 + Duration::from_millis(33 * i);
            client
                .events
                .try_send(ClientEvent::RequestFull)
                .expect("room");
            test.tick(now);
            for message in test.deliver() {
                let ServerMessage::Snapshot(snapshot) = message else {
                    panic!("a snapshot");
                };
                if snapshot.baseline.is_none() {
                    fulls_at.push(now - t0);
                }
            }
        }
        // The join's full snapshot went out at t0: the next ones wait a whole interval each.
        assert_eq!(fulls_at.len(), 2, "{fulls_at:?}");
        assert!(fulls_at[0] >= interval && fulls_at[0] < interval + Duration::from_millis(34));
        assert!(fulls_at[1] - fulls_at[0] >= interval);
    }
}
