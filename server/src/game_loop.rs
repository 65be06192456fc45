//! The fixed-tick game loop. It owns the arena on its own thread and never waits on a socket:
//! sessions -> [`Command`]s and per-client bounded [`ClientEvent`] queues -> loop -> each tick's
//! encoded messages, one batch per snapshot writer -> sockets.

use crate::arena::Arena;
use crate::close_reason::CloseReason;
use crate::config::ServerConfig;
use crate::connection::Connection;
use crate::metrics::RoomMetrics;
use crate::replication::Replication;
use crate::room_status::RoomStatus;
use crate::snapshot_writers::Outbox;
use crate::tick_stats::TickStats;
use crate::world::EntityKey;
use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tickwire_shared::{InputFrame, RejectReason, SentAt, ServerMessage, Tick, Welcome, codec};
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
    /// A client sent an acceptable Hello: spawn its player (none for a spectator). The loop
    /// replies with the client's id and sends the Welcome itself, ahead of the first snapshot.
    Join {
        name: String,
        spectator: bool,
        link: ClientLink,
        reply: oneshot::Sender<Result<ClientId, Refused>>,
    },
    /// The session ended: despawn the player.
    Leave(ClientId),
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
    Input(InputFrame),
    RequestFull,
}

#[derive(Debug)]
struct Client {
    name: String,
    /// `None` for a spectator.
    player: Option<EntityKey>,
    events: mpsc::Receiver<ClientEvent>,
    connection: Arc<Connection>,
    kick: oneshot::Sender<CloseReason>,
    /// The tick of the last snapshot handed to a writer: the baseline of its next one.
    last_sent: Option<Tick>,
    last_input: u32,
    /// Since when the client has had the most messages in flight it may have.
    behind_since: Option<Instant>,
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
    config: ServerConfig,
    commands: mpsc::Receiver<Command>,
    arena: Arena,
    replication: Replication,
    clients: BTreeMap<ClientId, Client>,
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

/// How often the loop logs its tick summary.
const SUMMARY_EVERY: Duration = Duration::from_secs(10);

impl GameLoop {
    pub(crate) fn new(
        config: ServerConfig,
        commands: mpsc::Receiver<Command>,
        outbox: Outbox,
        status: Arc<RoomStatus>,
        metrics: RoomMetrics,
    ) -> Self {
        let history = config.limits.history_ticks.max(1);
        let now = Instant::now();
        Self {
            arena: Arena::new(&config.scenario, history as u32 + 1),
            replication: Replication::new(history),
            clients: BTreeMap::new(),
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
        }
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
        self.metrics.tick_seconds.record(took.as_secs_f64());
        let (players, spectators) = self.clients_by_role();
        self.status
            .record_tick(self.arena.tick(), players, spectators, took);

        self.next_tick += period;
        let now = Instant::now();
        if now > self.next_tick + period * MAX_CATCH_UP_TICKS {
            let behind = ((now - self.next_tick).as_secs_f64() / period.as_secs_f64()) as u64;
            self.stats.record_overruns(behind);
            self.metrics.overruns.increment(behind);
            self.next_tick = now;
        }
        if now >= self.next_summary {
            self.stats.log_and_reset(self.clients.len(), SUMMARY_EVERY);
            self.next_summary = now + SUMMARY_EVERY;
        }
        let limits = &self.config.limits;
        if self.clients.is_empty() {
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
            if let Command::Join { link, reply, .. } = command {
                let _ = reply.send(Err(Refused::RoomClosed(link)));
            }
        }
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.remove(id, reason.clone());
        }
    }

    /// (players, spectators)
    fn clients_by_role(&self) -> (usize, usize) {
        let players = self.clients.values().filter(|c| c.player.is_some()).count();
        (players, self.clients.len() - players)
    }

    /// One tick: step the world, admit joins, apply inputs, record the state, send snapshots
    /// stamped `sent_at`.
    fn tick(&mut self, now: Instant, sent_at: SentAt) {
        self.arena.step();
        self.handle_commands();
        self.apply_client_events();
        let tick = self.arena.tick();
        let state = self.arena.replicated();
        self.replication.record(tick, state, sent_at);
        self.send_snapshots(now);
        self.outbox.flush();
    }

    fn handle_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Join {
                    name,
                    spectator,
                    link,
                    reply,
                } => self.join(name, spectator, link, reply),
                Command::Leave(id) => self.remove(id, None),
            }
        }
    }

    fn join(
        &mut self,
        name: String,
        spectator: bool,
        link: ClientLink,
        reply: oneshot::Sender<Result<ClientId, Refused>>,
    ) {
        if self.clients.len() >= self.config.limits.max_clients {
            let _ = reply.send(Err(Refused::Rejected(RejectReason::RoomFull)));
            return;
        }
        let player = (!spectator).then(|| self.arena.spawn_player());
        let client_id = self.next_client_id;
        self.next_client_id = self.next_client_id.wrapping_add(1).max(1);
        let welcome = Welcome {
            client_id,
            player: player.map(|(_, id)| id),
            tick_rate: self.config.scenario.tick_rate,
            movement: self.arena.movement_rules(),
        };
        let player = player.map(|(key, _)| key);
        let welcome = codec::encode_server(&ServerMessage::Welcome(welcome));
        let (Ok(welcome), Ok(())) = (welcome, reply.send(Ok(client_id))) else {
            // The session gave up while waiting (or, never seen, the Welcome did not encode:
            // the session then finds the loop gone); nobody will play this player.
            if let Some(player) = player {
                self.arena.remove_player(player);
            }
            return;
        };
        info!(client = client_id, %name, spectator, "joined");
        self.metrics.messages_out.increment(1);
        self.metrics.bytes_out.increment(welcome.len() as u64);
        self.outbox
            .push(client_id, &link.connection, Bytes::from(welcome));
        self.clients.insert(
            client_id,
            Client {
                name,
                player,
                events: link.events,
                connection: link.connection,
                kick: link.kick,
                last_sent: None,
                last_input: 0,
                behind_since: None,
            },
        );
    }

    /// Removes a client and despawns its player; `kick` also tells its session why.
    fn remove(&mut self, id: ClientId, kick: Option<CloseReason>) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        if let Some(player) = client.player {
            self.arena.remove_player(player);
        }
        match kick {
            Some(reason) => {
                warn!(client = id, name = %client.name, code = reason.code, reason = %reason.reason, "kicked");
                let _ = client.kick.send(reason);
            }
            None => info!(client = id, name = %client.name, "left"),
        }
    }

    fn apply_client_events(&mut self) {
        let max_inputs = self.config.limits.max_inputs_per_tick;
        for client in self.clients.values_mut() {
            let mut inputs = 0;
            while inputs < max_inputs {
                match client.events.try_recv() {
                    Ok(ClientEvent::Input(input)) => {
                        // Stale or replayed frames are ignored: each sequence moves the player once.
                        // (Sessions refuse spectators' inputs before they get here.)
                        if let Some(player) = client.player
                            && input.sequence > client.last_input
                        {
                            self.arena.apply_input(player, &input);
                            client.last_input = input.sequence;
                            inputs += 1;
                        }
                    }
                    Ok(ClientEvent::RequestFull) => {
                        debug!(name = %client.name, "full snapshot requested");
                        client.last_sent = None;
                    }
                    Err(_) => break,
                }
            }
        }
    }

    fn send_snapshots(&mut self, now: Instant) {
        let slow_after = Duration::from_millis(self.config.limits.slow_consumer_timeout_ms);
        let max_in_flight = self.config.limits.outbound_queue_snapshots;
        let client_count = self.clients.len();
        let mut to_remove = Vec::new();
        let (mut sent, mut sent_bytes) = (0, 0);
        for (&id, client) in &mut self.clients {
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
                // Room for every client's frame this tick in one allocation.
                self.frames.reserve(snapshot.max_frame_len() * client_count);
            }
            let tick = snapshot.tick;
            let bytes = match snapshot.frame_for(client.last_input, &mut self.frames) {
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
    use crate::metrics::Metrics;
    use crate::scenario::Scenario;
    use crate::snapshot_writers::{Delivery, Writers};
    use tickwire_shared::client_world::Applied;
    use tickwire_shared::{Buttons, ClientWorld, ServerMessage, codec};

    /// The test plays the snapshot writer: it decodes what the loop hands over, and writes it to
    /// a real socket (whose other end is never read) so the in-flight counts are the real ones.
    struct TestClient {
        events: mpsc::Sender<ClientEvent>,
        kick: oneshot::Receiver<CloseReason>,
        welcome: Welcome,
        world: ClientWorld,
        _peer: tokio::net::TcpStream,
    }

    struct TestGame {
        game: GameLoop,
        commands: mpsc::Sender<Command>,
        batches: mpsc::UnboundedReceiver<Vec<Delivery>>,
    }

    impl TestGame {
        fn new(slow_consumer_timeout_ms: u64, max_in_flight: usize) -> Self {
            let mut config = ServerConfig::new(Scenario {
                seed: Some(1),
                ..Scenario::arena()
            });
            config.limits.slow_consumer_timeout_ms = slow_consumer_timeout_ms;
            config.limits.outbound_queue_snapshots = max_in_flight;
            let (writers, mut receivers) = Writers::new(1);
            let (commands, command_rx) = mpsc::channel(8);
            let game = GameLoop::new(
                config,
                command_rx,
                writers.outbox(),
                Arc::new(RoomStatus::new("test", "arena")),
                Metrics::new().room("test"),
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
            let mut messages = Vec::new();
            while let Ok(batch) = self.batches.try_recv() {
                for delivery in batch {
                    delivery.connection.write_message(&delivery.message);
                    messages.push(codec::decode_server(&delivery.message).expect("decodes"));
                }
            }
            messages
        }

        async fn join(&mut self, now: Instant) -> TestClient {
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
            let link = ClientLink {
                events: events_rx,
                connection: Arc::new(Connection::new(stream, 1 << 20)),
                kick: kick_tx,
            };
            self.commands
                .try_send(Command::Join {
                    name: "t".into(),
                    spectator: false,
                    link,
                    reply,
                })
                .expect("command queue has room");
            self.tick(now);
            reply_rx
                .try_recv()
                .expect("answered within the tick")
                .expect("accepted");
            let messages = self.deliver();
            let Some(ServerMessage::Welcome(welcome)) = messages.first() else {
                panic!("the Welcome comes first: {messages:?}");
            };
            let mut client = TestClient {
                events,
                kick,
                welcome: welcome.clone(),
                world: ClientWorld::new(),
                _peer: peer,
            };
            assert_eq!(client.apply(&messages[1..]), 1, "then the first snapshot");
            client
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
                .try_send(ClientEvent::Input(input))
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
        let step = client.welcome.movement.step_per_tick;
        assert_eq!(
            moved.x,
            step * test.game.config.limits.max_inputs_per_tick as i32
        );
        assert_eq!(client.world.last_input(), 2);
    }
}
