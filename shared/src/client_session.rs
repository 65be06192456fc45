//! [`ClientSession`]: everything a game frontend needs between its socket and its renderer, with
//! no I/O and no clock. The frontend passes in the bytes it received, the local player's controls
//! and the current time; it takes out the bytes to send and the state to draw.
//!
//! Inside: the handshake, snapshots applied to a [`ClientWorld`] with every checksum verified
//! (a mismatch asks for a full snapshot), acks, ping/pong, one input frame per server tick with
//! the local player predicted at once by the game's shared step when the frontend has it
//! compiled in ([`ClientSession::predicting`], [`Prediction`]), and the other entities drawn
//! between snapshots ([`Interpolation`]). docs/EMBEDDING.md shows a complete frontend loop.

use crate::client_world::Applied;
use crate::codec::{self, DecodeError, EncodeError};
use crate::component::Input;
use crate::interpolation::{DrawnEntity, Interpolation};
use crate::layout::Layout;
use crate::prediction::{Prediction, Predictor};
use crate::schema::{Schema, SchemaError};
use crate::shared_step::SharedStep;
use crate::{
    ClientMessage, ClientWorld, EntityId, Hello, InputMessage, Redirect, RejectReason, Resume,
    ServerMessage, Tick, Welcome,
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
    /// In world units (a fixed-point field's value, or an integer field's). Default: 32.0 (the
    /// arena's projectiles move 20 per tick, players 6.7).
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
    /// The room is on another node: open a new connection to the redirect's URL and send what
    /// [`ClientSession::poll_outgoing`] yields there (the same Hello, queued again).
    Redirected(Redirect),
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
    /// Times the server's state of the local player differed from the prediction (beyond the
    /// fields' tolerances).
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
    /// Redirects followed to the node that owns the room.
    pub redirects: u64,
    /// Times a resumed room went on from a save behind what this client had seen (its node
    /// died and another took it over): the render clock and prediction started over.
    pub rewinds: u64,
}

/// One client's session with a Tickwire server: see the module docs.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    hello: Hello,
    /// The Hello of the connection being opened (a resume's after `reconnect`): what a
    /// Redirect sends again.
    pending_hello: Hello,
    welcome: Option<Welcome>,
    awaiting_welcome: bool,
    world: ClientWorld,
    /// The schema this client was built with, if any (its hash went in the Hello).
    own_layout: Option<Arc<Layout>>,
    /// The shared steps compiled into this client: the first that fits the room's game (its
    /// state component and input declared exactly so) predicts the local player.
    predictors: Vec<fn(&Layout) -> Option<Predictor>>,
    prediction: Prediction,
    interpolation: Option<Interpolation>,
    /// Resumed, and no snapshot since: the room may have gone back to its last save.
    may_rewind: bool,
    outgoing: VecDeque<Vec<u8>>,
    next_sequence: u32,
    /// Input frames not yet queued to send: after a resume, the ones to replay.
    unsent_inputs: VecDeque<InputMessage>,
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

    /// Predicts the local player with the game's shared step `S` (its rules come from the
    /// room's schema): each input moves it at once, and snapshots correct it. Without this,
    /// the local player is drawn like every other entity. A room that declares `S`'s state or
    /// input otherwise (another version of the game) is not predicted. A client that may join
    /// rooms of several games (a bot) names each game's step: the first that fits is used.
    #[must_use]
    pub fn predicting<S: SharedStep>(mut self) -> Self {
        self.predictors.push(Predictor::new::<S>);
        self
    }

    fn open(
        hello: Hello,
        config: ClientConfig,
        own_layout: Option<Arc<Layout>>,
    ) -> Result<Self, EncodeError> {
        let mut session = Self {
            config,
            hello: hello.clone(),
            pending_hello: hello.clone(),
            welcome: None,
            awaiting_welcome: true,
            world: ClientWorld::new(),
            own_layout,
            predictors: Vec::new(),
            prediction: Prediction::new(config.smoothing_frames, config.snap_distance),
            interpolation: None,
            may_rewind: false,
            outgoing: VecDeque::new(),
            next_sequence: 1,
            unsent_inputs: VecDeque::new(),
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
                ServerMessage::Welcome(_) | ServerMessage::Rejected(_) | ServerMessage::Redirect(_)
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
            ServerMessage::Redirect(redirect) => {
                if !self.awaiting_welcome {
                    return Err(ClientError::Protocol("a Redirect after Welcome"));
                }
                if !redirect.is_valid() {
                    return Err(ClientError::Protocol("a Redirect to an invalid URL"));
                }
                self.stats.redirects += 1;
                self.outgoing.clear();
                self.queue(&ClientMessage::Hello(self.pending_hello.clone()));
                Ok(ClientEvent::Redirected(redirect))
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
        let resumed = self.welcome.is_some();
        if let Some(before) = &self.welcome
            && before.player != welcome.player
        {
            // A resume takes back the same seat, wherever the room now runs.
            return Err(ClientError::Protocol(
                "a resumed session with another player",
            ));
        }
        if !resumed {
            let predictor = self.predictors.iter().find_map(|new| new(&layout));
            self.prediction.set_predictor(predictor);
        }
        self.world.set_layout(layout);
        self.awaiting_welcome = false;
        if self.interpolation.is_none() {
            self.interpolation = Some(self.new_interpolation(&welcome));
        }
        self.welcome = Some(welcome);
        self.may_rewind = resumed;
        if resumed {
            // Inputs the old connection may have lost go out again, ahead of new ones and a few
            // per frame (see `send_lanes`); the server ignores any it has already applied.
            self.unsent_inputs = self.prediction.unconfirmed().cloned().collect();
        }
        Ok(ClientEvent::Welcomed)
    }

    fn new_interpolation(&self, welcome: &Welcome) -> Interpolation {
        Interpolation::new(
            tick_period(welcome),
            self.config.interpolation_delay,
            self.config.max_extrapolation,
            f64::from(self.config.snap_distance),
        )
    }

    fn on_snapshot_applied(&mut self, tick: Tick, now: Duration) {
        if std::mem::take(&mut self.may_rewind)
            && let (Some(interpolation), Some(welcome)) = (&self.interpolation, &self.welcome)
            && interpolation
                .newest()
                .is_some_and(|newest| tick.wrapping_cmp(newest).is_le())
        {
            // The room moved to another node and went on from its last save, behind what this
            // client had seen: the render clock and the prediction start over from it.
            self.interpolation = Some(self.new_interpolation(welcome));
            let predictor = self.prediction.predictor().cloned();
            self.prediction.set_predictor(predictor);
            self.stats.rewinds += 1;
        }
        let server = self.player().and_then(|me| self.predicted_lanes(me));
        self.prediction
            .reconcile(server.as_deref(), self.world.last_input());
        if let Some(interpolation) = &mut self.interpolation {
            interpolation.push(tick, self.world.state(), now);
        }
    }

    /// The lanes of the predicted component of entity `id` as the world holds it.
    fn predicted_lanes(&self, id: EntityId) -> Option<Vec<i32>> {
        let entity = self.world.state().get(id)?;
        let range = self.predicted_range(self.world.layout()?, entity.kind)?;
        entity.lanes.get(range).map(<[i32]>::to_vec)
    }

    /// Where the predicted component's lanes sit in an entity of `kind`.
    fn predicted_range(&self, layout: &Layout, kind: u16) -> Option<std::ops::Range<usize>> {
        let component = self.prediction.predictor()?.component();
        let (first, _) = layout.component_offsets(kind, component)?;
        Some(first..first + layout.components()[component].lanes as usize)
    }

    /// Once per rendered frame: sends the input frames due by `now` (one per server tick), each
    /// carrying `lanes`, the game's input in its schema's order (an `Input`'s `write`; see also
    /// [`crate::layout::Layout::input_ranges`]) and predicted at once when the session is
    /// [`ClientSession::predicting`]; then [`ClientSession::advance`]s. Input starts once a
    /// snapshot has shown the local player.
    pub fn update_lanes(&mut self, now: Duration, lanes: &[i32]) {
        let shown = self
            .player()
            .is_some_and(|me| self.world.state().get(me).is_some());
        // While the server confirms nothing (a dead link), stop piling up inputs to replay.
        let unconfirmed = self
            .next_sequence
            .saturating_sub(1)
            .saturating_sub(self.world.last_input()) as usize;
        if let Some(tick) = self.tick_if_welcomed()
            && shown
            && unconfirmed < self.config.max_unconfirmed_inputs
        {
            let mut due = *self.next_input_at.get_or_insert(now);
            let mut sent = 0;
            while due <= now && sent < self.config.max_catch_up_frames {
                self.send_lanes(lanes.to_vec(), due);
                due += tick;
                sent += 1;
            }
            self.next_input_at = Some(if due <= now { now + tick } else { due });
        }
        self.advance(now);
    }

    /// [`ClientSession::update_lanes`] with a typed input.
    pub fn update<I: Input>(&mut self, now: Duration, input: &I) {
        let mut lanes = Vec::new();
        input.write(&mut lanes);
        self.update_lanes(now, &lanes);
    }

    /// Everything [`ClientSession::update_lanes`] does but input (for spectators, or a player who
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

    /// Sends one input with the game's input `lanes` now, and predicts it (see
    /// [`ClientSession::predicting`]); returns its sequence, or `None` when there is no player
    /// (not welcomed, or a spectator). [`ClientSession::update_lanes`] calls this once per
    /// tick; call it directly only if the frontend keeps its own fixed-rate input clock.
    pub fn send_lanes(&mut self, lanes: Vec<i32>, now: Duration) -> Option<u32> {
        let welcome = self.welcome.as_ref().filter(|_| !self.awaiting_welcome)?;
        welcome.player?;
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.last_input_at = now;
        self.stats.inputs_sent += 1;
        let input = InputMessage { sequence, lanes };
        self.prediction.apply_input(input.clone());
        // In sequence order: the server skips a sequence older than one it applied.
        self.unsent_inputs.push_back(input);
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
        self.queue(&ClientMessage::Hello(hello.clone()));
        self.pending_hello = hello;
        true
    }

    /// The entities of any game to draw at `now` into `out`, interpolated as the game's schema
    /// declares each field; the local player, when predicted, as its latest world state with
    /// the predicted component drawn between input frames (see [`Prediction::render_lanes`]).
    pub fn draw(&self, now: Duration, out: &mut Vec<DrawnEntity>) {
        out.clear();
        let (Some(interpolation), Some(layout)) = (&self.interpolation, self.world.layout()) else {
            return;
        };
        let me = self.predicted_me(now, layout);
        interpolation.sample(now, me.as_ref().map(|me| me.id), layout, out);
        out.extend(me);
    }

    /// The local player as drawn, when it is predicted.
    fn predicted_me(&self, now: Duration, layout: &Layout) -> Option<DrawnEntity> {
        let id = self.player()?;
        // How far between the latest input frame and the next one `now` is.
        let tick = self.tick_if_welcomed().unwrap_or(Duration::from_secs(1));
        let alpha = now.saturating_sub(self.last_input_at).as_secs_f32() / tick.as_secs_f32();
        let predicted = self.prediction.render_lanes(alpha)?;
        let entity = self.world.state().get(id)?;
        let range = self.predicted_range(layout, entity.kind)?;
        let mut lanes: Vec<f64> = entity.lanes.iter().map(|&l| f64::from(l)).collect();
        lanes
            .get_mut(range)
            .filter(|slots| slots.len() == predicted.len())?
            .copy_from_slice(&predicted);
        Some(DrawnEntity {
            id,
            kind: entity.kind,
            lanes,
        })
    }

    /// The server's Welcome, once received.
    #[must_use]
    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
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
            prediction_error_max: prediction.error_max,
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
