//! [`ClientSession`]: everything a game frontend needs between its socket and its renderer, with
//! no I/O and no clock. The frontend passes in the bytes it received, the local player's controls
//! and the current time; it takes out the bytes to send and the state to draw.
//!
//! Inside: the handshake, snapshots applied to a [`ClientWorld`] with every checksum verified
//! (a mismatch asks for a full snapshot), acks, ping/pong, one input frame per server tick with
//! the local player predicted at once ([`Prediction`]), and the other entities drawn between
//! snapshots ([`Interpolation`]). docs/EMBEDDING.md shows a complete frontend loop.

use crate::client_world::Applied;
use crate::codec::{self, DecodeError, EncodeError};
use crate::entity::STEPS_PER_UNIT;
use crate::interpolation::{DrawnEntity, Interpolation};
use crate::layout::Layout;
use crate::prediction::Prediction;
use crate::schema::{Schema, SchemaError};
use crate::{
    ClientMessage, ClientWorld, Controls, EntityId, Hello, InputFrame, InputMessage, MovementRules,
    RejectReason, RenderedEntity, Resume, ServerMessage, Tick, Welcome,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Most input frames sent per input frame due: replayed ones catch up one per frame, as the
/// server applies 2 per tick by default and drops what overflows its per-client queue.
const MAX_INPUTS_PER_FRAME: usize = 2;

/// How a [`ClientSession`] predicts, smooths and interpolates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientConfig {
    /// Input frames over which a correction of the local player is faded in; 0 snaps.
    /// Default: 6 (200 ms at 30 Hz).
    pub smoothing_frames: u32,
    /// A correction of the local player longer than this, or a remote entity moving faster
    /// than this per tick, is a jump (a respawn): shown at once, not smoothed or interpolated.
    /// In world units. Default: 32.0 (the arena's projectiles move 20 per tick, players 6.7).
    pub snap_distance: f32,
    /// How far behind the newest snapshot remote entities are drawn, in snapshot intervals:
    /// it absorbs that much jitter without a stall. Default: 3.0 (100 ms at 30 Hz).
    pub interpolation_delay: f64,
    /// How far past the newest snapshot remote entities are extrapolated when snapshots stop,
    /// in snapshot intervals; then they are held. Default: 2.0.
    pub max_extrapolation: f64,
    /// Most input frames sent by one [`ClientSession::update`] after the frontend stalled (a
    /// hidden browser tab); later frames are skipped, not bunched. Default: 4.
    pub max_catch_up_frames: u32,
    /// Input frames sent but not yet confirmed by a snapshot beyond which no more are sent (the
    /// link is dead; they would all be replayed after a resume). Default: 60 (2 s at 30 Hz).
    pub max_unconfirmed_inputs: usize,
    /// Time between the client's pings (for the round-trip time). Default: 1 s.
    pub ping_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            smoothing_frames: 6,
            snap_distance: 32.0,
            interpolation_delay: 3.0,
            max_extrapolation: 2.0,
            max_catch_up_frames: 4,
            max_unconfirmed_inputs: 60,
            ping_interval: Duration::from_secs(1),
        }
    }
}

/// What one received message did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server accepted the Hello (or the resume).
    Welcomed,
    /// The server refused the Hello; it closes the connection next.
    Rejected(RejectReason),
    /// A snapshot was applied (or skipped while awaiting a full one).
    Snapshot(Tick),
    /// A snapshot did not match this world; a full one has been requested.
    Desync(Tick),
    /// The server's ping was answered.
    Heartbeat,
    /// A pong came back: the round trip of one of this client's pings.
    Pong(Duration),
}

/// A message the frontend should answer by closing the connection (code 1002 or 4000).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The bytes are not a valid server message.
    #[error("undecodable server message: {0}")]
    Decode(#[from] DecodeError),
    /// A valid message at the wrong time.
    #[error("protocol violation by server: {0}")]
    Protocol(&'static str),
    /// The game schema (the server's, or the one the session was built with) breaks a rule.
    #[error("invalid game schema: {0}")]
    Schema(#[from] SchemaError),
}

/// Counters of one session, for a HUD or a bot's report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClientStats {
    /// Snapshots received.
    pub snapshots: u64,
    /// Snapshots that did not match (each asked for a full snapshot).
    pub desyncs: u64,
    /// Times the server's position of the local player differed from the prediction.
    pub corrections: u64,
    /// Of those, jumps longer than [`ClientConfig::snap_distance`], shown at once.
    pub correction_snaps: u64,
    /// The largest correction, in world units.
    pub prediction_error_max: f32,
    /// Times remote entities ran past the newest snapshot (extrapolated, then held).
    pub interpolation_stalls: u64,
    /// Total time spent past the newest snapshot.
    pub stalled: Duration,
    /// The latest ping round trip.
    pub rtt: Option<Duration>,
    /// Bytes received (message payloads).
    pub bytes_in: u64,
    /// Bytes queued to send (message payloads).
    pub bytes_out: u64,
    /// Input frames sent.
    pub inputs_sent: u64,
}

/// What to draw this frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderState {
    /// The newest snapshot's tick applied.
    pub tick: Option<Tick>,
    /// The local player: predicted position, local aim, replicated hp and score.
    pub me: Option<RenderedEntity>,
    /// Every other entity, interpolated.
    pub others: Vec<RenderedEntity>,
}

/// One client's session with a Tickwire server: see the module docs.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    hello: Hello,
    welcome: Option<Welcome>,
    awaiting_welcome: bool,
    world: ClientWorld,
    /// The schema this client was built with, if any (its hash went in the Hello).
    own_layout: Option<Arc<Layout>>,
    /// The arena's movement rules from the room's schema, when the room plays the arena: what
    /// the local player is predicted with. (Prediction generic over any game's shared step
    /// replaces this.)
    movement: Option<MovementRules>,
    prediction: Prediction,
    interpolation: Option<Interpolation>,
    outgoing: VecDeque<Vec<u8>>,
    next_sequence: u32,
    /// Input frames not yet queued to send: after a resume, the ones to replay.
    unsent_inputs: VecDeque<InputMessage>,
    controls: Controls,
    /// When the next input frame is due, and when the latest one was sent.
    next_input_at: Option<Duration>,
    last_input_at: Duration,
    next_ping_at: Option<Duration>,
    stats: ClientStats,
}

impl ClientSession {
    /// A session that opens with `hello` (queued to send as soon as the socket is open) and
    /// learns the game's schema from the Welcome if `hello.schema_hash` is `None`.
    /// Fails only if the Hello cannot be encoded (a name far too long).
    pub fn new(hello: Hello, config: ClientConfig) -> Result<Self, EncodeError> {
        Self::open(hello, config, None)
    }

    /// A session of a client built with the game's `schema`: its hash goes in the Hello, and the
    /// server sends its own schema only when they differ (another version, or other rules).
    pub fn for_game(
        hello: Hello,
        config: ClientConfig,
        schema: Schema,
    ) -> Result<Self, ClientError> {
        let hash = schema
            .hash()
            .map_err(|_| ClientError::Protocol("the schema does not encode"))?;
        let layout = Arc::new(Layout::new(schema)?);
        let hello = Hello {
            schema_hash: Some(hash),
            ..hello
        };
        Self::open(hello, config, Some(layout))
            .map_err(|_| ClientError::Protocol("the Hello does not encode"))
    }

    fn open(
        hello: Hello,
        config: ClientConfig,
        own_layout: Option<Arc<Layout>>,
    ) -> Result<Self, EncodeError> {
        let snap_distance = config.snap_distance * STEPS_PER_UNIT;
        let mut session = Self {
            config,
            hello: hello.clone(),
            welcome: None,
            awaiting_welcome: true,
            world: ClientWorld::new(),
            own_layout,
            movement: None,
            prediction: Prediction::new(config.smoothing_frames, snap_distance),
            interpolation: None,
            outgoing: VecDeque::new(),
            next_sequence: 1,
            unsent_inputs: VecDeque::new(),
            controls: Controls::default(),
            next_input_at: None,
            last_input_at: Duration::ZERO,
            next_ping_at: None,
            stats: ClientStats::default(),
        };
        session.queue_bytes(codec::encode_client(&ClientMessage::Hello(hello))?);
        Ok(session)
    }

    /// Handles one binary frame from the server, received at `now`.
    pub fn receive(&mut self, frame: &[u8], now: Duration) -> Result<ClientEvent, ClientError> {
        self.stats.bytes_in += frame.len() as u64;
        let message = codec::decode_server(frame)?;
        if self.awaiting_welcome
            && !matches!(
                message,
                ServerMessage::Welcome(_) | ServerMessage::Rejected(_)
            )
        {
            return Err(ClientError::Protocol("a message before Welcome"));
        }
        match message {
            ServerMessage::Welcome(welcome) => self.on_welcome(welcome),
            ServerMessage::Rejected(reason) => Ok(ClientEvent::Rejected(reason)),
            ServerMessage::Snapshot(snapshot) => {
                self.stats.snapshots += 1;
                match self.world.apply(&snapshot) {
                    Ok(Applied::Updated) => {
                        self.queue(&ClientMessage::Ack(snapshot.tick));
                        self.on_snapshot_applied(snapshot.tick, now);
                        Ok(ClientEvent::Snapshot(snapshot.tick))
                    }
                    Ok(Applied::AwaitingFull) => Ok(ClientEvent::Snapshot(snapshot.tick)),
                    Err(_) => {
                        self.stats.desyncs += 1;
                        self.queue(&ClientMessage::RequestFull);
                        Ok(ClientEvent::Desync(snapshot.tick))
                    }
                }
            }
            ServerMessage::Ping { server_time_us } => {
                self.queue(&ClientMessage::Pong { server_time_us });
                Ok(ClientEvent::Heartbeat)
            }
            ServerMessage::Pong { client_time_us } => {
                let rtt = now.saturating_sub(Duration::from_micros(client_time_us));
                self.stats.rtt = Some(rtt);
                Ok(ClientEvent::Pong(rtt))
            }
        }
    }

    fn on_welcome(&mut self, welcome: Welcome) -> Result<ClientEvent, ClientError> {
        if !self.awaiting_welcome {
            return Err(ClientError::Protocol("a second Welcome"));
        }
        let layout = match &welcome.schema {
            Some(schema) => Arc::new(Layout::new(schema.clone())?),
            None => self
                .own_layout
                .clone()
                .ok_or(ClientError::Protocol("a Welcome without the schema"))?,
        };
        self.movement = (layout.schema().game == "arena")
            .then(|| codec::decode_rules(&layout.schema().rules).ok())
            .flatten();
        self.world.set_layout(layout);
        self.awaiting_welcome = false;
        let resumed = self.welcome.is_some();
        self.interpolation.get_or_insert_with(|| {
            Interpolation::new(
                tick_period(&welcome),
                self.config.interpolation_delay,
                self.config.max_extrapolation,
                f64::from(self.config.snap_distance),
            )
        });
        self.welcome = Some(welcome);
        if resumed {
            // Inputs the old connection may have lost go out again, ahead of new ones and a few
            // per frame (see `send_input`); the server ignores any it has already applied.
            self.unsent_inputs = self
                .prediction
                .unconfirmed()
                .map(InputFrame::message)
                .collect();
        }
        Ok(ClientEvent::Welcomed)
    }

    fn on_snapshot_applied(&mut self, tick: Tick, now: Duration) {
        if let (Some(me), Some(movement)) = (self.player(), &self.movement)
            && let Some(state) = self.world.entity(me)
        {
            self.prediction
                .reconcile(movement, state.pos, self.world.last_input());
        }
        if let Some(interpolation) = &mut self.interpolation {
            interpolation.push(tick, self.world.state(), now);
        }
    }

    /// Once per rendered frame: sends the input frames due by `now` (one per server tick, each
    /// carrying `controls` and predicted at once), then [`ClientSession::advance`]s. Input
    /// starts once a snapshot has shown the local player.
    pub fn update(&mut self, now: Duration, controls: Controls) {
        self.controls = controls;
        self.send_due_inputs(now, |session, due| {
            session.send_input(controls, due);
        });
    }

    /// [`ClientSession::update`] for any game: the input frames due by `now` carry `lanes`, the
    /// game's input lanes in its schema's order (see [`crate::layout::Layout::input_ranges`]).
    /// Not predicted (prediction for any game's shared step is yet to come).
    pub fn update_lanes(&mut self, now: Duration, lanes: &[i32]) {
        self.send_due_inputs(now, |session, due| {
            session.send_lanes(lanes.to_vec(), due);
        });
    }

    /// Sends, through `send`, one input per server tick due by `now` once a snapshot has shown
    /// the local player, then [`ClientSession::advance`]s.
    fn send_due_inputs(&mut self, now: Duration, mut send: impl FnMut(&mut Self, Duration)) {
        let shown = self
            .player()
            .is_some_and(|me| self.world.state().get(me).is_some());
        let predicted = self.movement.is_none() || self.prediction.position().is_some();
        // While the server confirms nothing (a dead link), stop piling up inputs to replay.
        let unconfirmed = self
            .next_sequence
            .saturating_sub(1)
            .saturating_sub(self.world.last_input()) as usize;
        if let Some(tick) = self.tick_if_welcomed()
            && shown
            && predicted
            && unconfirmed < self.config.max_unconfirmed_inputs
        {
            let mut due = *self.next_input_at.get_or_insert(now);
            let mut sent = 0;
            while due <= now && sent < self.config.max_catch_up_frames {
                send(self, due);
                due += tick;
                sent += 1;
            }
            self.next_input_at = Some(if due <= now { now + tick } else { due });
        }
        self.advance(now);
    }

    /// Everything [`ClientSession::update`] does but input (for spectators, or a player who
    /// sends none): pings when due, and moves the render clock.
    pub fn advance(&mut self, now: Duration) {
        if self.tick_if_welcomed().is_some() && self.next_ping_at.is_none_or(|at| at <= now) {
            self.ping(now);
            self.next_ping_at = Some(now + self.config.ping_interval);
        }
        if let Some(interpolation) = &mut self.interpolation {
            interpolation.advance(now);
        }
    }

    /// The server's tick period, once welcomed on the current connection.
    fn tick_if_welcomed(&self) -> Option<Duration> {
        let welcome = self.welcome.as_ref().filter(|_| !self.awaiting_welcome)?;
        Some(tick_period(welcome))
    }

    /// Sends one input frame with `controls` now and predicts it (once a snapshot has shown
    /// the player); returns its sequence, or `None` when there is no player to move (not
    /// welcomed, or a spectator). [`ClientSession::update`] calls this once per tick; call it
    /// directly only if the frontend keeps its own fixed-rate input clock.
    pub fn send_input(&mut self, controls: Controls, now: Duration) -> Option<u32> {
        let welcome = self.welcome.as_ref().filter(|_| !self.awaiting_welcome)?;
        welcome.player?;
        let frame = controls.frame(self.next_sequence);
        if let Some(movement) = &self.movement {
            self.prediction.apply_input(movement, frame);
        }
        self.controls = controls;
        self.send_lanes(frame.to_lanes(), now)
    }

    /// Sends one input with the game's input `lanes` now, unpredicted; returns its sequence, or
    /// `None` when there is no player (not welcomed, or a spectator).
    pub fn send_lanes(&mut self, lanes: Vec<i32>, now: Duration) -> Option<u32> {
        let welcome = self.welcome.as_ref().filter(|_| !self.awaiting_welcome)?;
        welcome.player?;
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.last_input_at = now;
        self.stats.inputs_sent += 1;
        // In sequence order: the server skips a sequence older than one it applied.
        self.unsent_inputs
            .push_back(InputMessage { sequence, lanes });
        for _ in 0..MAX_INPUTS_PER_FRAME {
            let Some(input) = self.unsent_inputs.pop_front() else {
                break;
            };
            self.queue(&ClientMessage::Input(input));
        }
        Some(sequence)
    }

    /// Sends a ping stamped with `now`; its pong sets [`ClientStats::rtt`].
    pub fn ping(&mut self, now: Duration) {
        let client_time_us = u64::try_from(now.as_micros()).unwrap_or(u64::MAX);
        self.queue(&ClientMessage::Ping { client_time_us });
    }

    /// The next frame to send as one binary WebSocket message, oldest first.
    pub fn poll_outgoing(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// After the connection was lost: drops what was waiting for the old socket and queues the
    /// Hello that resumes this session on a new one (same player, same world, unconfirmed
    /// inputs sent again after the Welcome, in order, alongside new ones). Returns `false` if there is nothing to resume
    /// (never welcomed), and the frontend should start a new session.
    pub fn reconnect(&mut self) -> bool {
        let Some(welcome) = &self.welcome else {
            return false;
        };
        let hello = Hello {
            resume: Some(Resume {
                token: welcome.resume_token,
                last_applied: self.world.tick(),
            }),
            ..self.hello.clone()
        };
        self.outgoing.clear();
        self.awaiting_welcome = true;
        self.next_input_at = None;
        self.next_ping_at = None;
        self.queue(&ClientMessage::Hello(hello));
        true
    }

    /// What to draw at `now`, for the arena: the local player predicted, the others
    /// interpolated. (Any game: [`ClientSession::draw`].)
    #[must_use]
    pub fn render(&self, now: Duration) -> RenderState {
        let me = self.player();
        let mut drawn = Vec::new();
        self.draw(now, &mut drawn);
        let others = match self.world.layout() {
            Some(layout) => drawn
                .iter()
                .filter_map(|d| RenderedEntity::from_drawn(d, layout))
                .collect(),
            None => Vec::new(),
        };
        RenderState {
            tick: self.world.tick(),
            me: me.and_then(|id| self.render_me(id, now)),
            others,
        }
    }

    /// The entities of any game to draw at `now` into `out`, interpolated as the game's schema
    /// declares each field: every entity but the local player when it is predicted (the arena),
    /// every entity otherwise.
    pub fn draw(&self, now: Duration, out: &mut Vec<DrawnEntity>) {
        out.clear();
        let (Some(interpolation), Some(layout)) = (&self.interpolation, self.world.layout()) else {
            return;
        };
        let predicted = self.movement.as_ref().and(self.player());
        interpolation.sample(now, predicted, layout, out);
    }

    fn render_me(&self, id: EntityId, now: Duration) -> Option<RenderedEntity> {
        let mut me = RenderedEntity::from_state(id, &self.world.entity(id)?);
        // How far between the latest input frame and the next one `now` is.
        let tick = self
            .welcome
            .as_ref()
            .map_or(Duration::from_secs(1), tick_period);
        let alpha = now.saturating_sub(self.last_input_at).as_secs_f32() / tick.as_secs_f32();
        if let Some(pos) = self.prediction.render_position(alpha) {
            me.pos = pos / STEPS_PER_UNIT;
            me.aim = f32::from(self.controls.aim) / 65536.0;
        }
        Some(me)
    }

    /// The server's Welcome, once received.
    #[must_use]
    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
    }

    /// The arena's movement rules, when the room plays the arena (from its schema's rules).
    #[must_use]
    pub fn movement(&self) -> Option<&MovementRules> {
        self.movement.as_ref()
    }

    /// The local player's entity (`None` before the Welcome and for spectators).
    #[must_use]
    pub fn player(&self) -> Option<EntityId> {
        self.welcome.as_ref()?.player
    }

    /// The world as replicated (the server's view, not the prediction).
    #[must_use]
    pub fn world(&self) -> &ClientWorld {
        &self.world
    }

    /// The local player's prediction.
    #[must_use]
    pub fn prediction(&self) -> &Prediction {
        &self.prediction
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> ClientStats {
        let prediction = self.prediction.stats();
        let interpolation = self
            .interpolation
            .as_ref()
            .map(Interpolation::stats)
            .unwrap_or_default();
        ClientStats {
            corrections: prediction.corrections,
            correction_snaps: prediction.snaps,
            prediction_error_max: prediction.error_max / STEPS_PER_UNIT,
            interpolation_stalls: interpolation.stalls,
            stalled: interpolation.stalled,
            ..self.stats
        }
    }

    fn queue(&mut self, message: &ClientMessage) {
        // Only the Hello carries variable-length data (checked in `new`); the rest are small.
        let bytes = codec::encode_client(message).expect("fixed-size client messages encode");
        self.queue_bytes(bytes);
    }

    fn queue_bytes(&mut self, bytes: Vec<u8>) {
        self.stats.bytes_out += bytes.len() as u64;
        self.outgoing.push_back(bytes);
    }
}

/// The time between the server's ticks (and so between input frames).
fn tick_period(welcome: &Welcome) -> Duration {
    Duration::from_secs_f64(1.0 / f64::from(welcome.tick_rate.max(1)))
}
