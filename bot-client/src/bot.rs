//! One headless client over a real WebSocket, driving the shared crate's [`ClientSession`] like a
//! game frontend does: handshake, snapshots applied with every checksum verified, its own player
//! predicted, the others interpolated, heartbeats and RTT; optionally through a
//! [`Link`] conditioner that delays both directions.

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tickwire_shared::component::Input;
use tickwire_shared::{
    ClientConfig, ClientError, ClientEvent, ClientMessage, ClientSession, ClientWorld, EntityId,
    Hello, InputMessage, PROTOCOL_VERSION, RejectReason, Tick, Welcome, codec,
};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::link_conditioner::{DelayLine, Link};

/// tungstenite zeroes up to this much of its read buffer on every read, so its 128 KiB default
/// would cost thousands of bots most of their CPU; snapshots are far smaller (larger messages
/// still arrive whole: the buffer grows as needed).
const READ_BUFFER_BYTES: usize = 4096;

/// How long a bot waits for the upgrade and Welcome.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects a connect or resume follows in a row before it gives up.
pub const MAX_REDIRECTS: u64 = 3;

/// What can go wrong for a bot.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The WebSocket connection failed or broke.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// No Welcome within the connect timeout.
    #[error("no Welcome within {0:?}")]
    ConnectTimeout(Duration),
    /// The server refused the Hello.
    #[error("rejected: {0}")]
    Rejected(RejectReason),
    /// The server closed the connection.
    #[error("closed by server: {code} {reason}")]
    Closed {
        /// The close code (1005 when the close frame had none).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The server sent something that is not a valid message.
    #[error("undecodable server message: {0}")]
    Decode(#[from] codec::DecodeError),
    /// The server sent a valid message at the wrong time.
    #[error("protocol violation by server: {0}")]
    Protocol(&'static str),
    /// Redirected more than [`MAX_REDIRECTS`] times in a row without a Welcome.
    #[error("more than {MAX_REDIRECTS} redirects in a row (last to {0})")]
    TooManyRedirects(String),
    /// Our own message did not encode.
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
}

impl From<ClientError> for BotError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Decode(e) => Self::Decode(e),
            ClientError::Protocol(what) => Self::Protocol(what),
            ClientError::Schema(_) => Self::Protocol("an invalid game schema"),
        }
    }
}

impl BotError {
    /// The connection broke without the server closing it (reset, or ended with no close
    /// frame), or the room stopped on its node of a cluster (1012) to go on elsewhere: worth a
    /// [`Bot::resume`].
    pub fn is_connection_lost(&self) -> bool {
        use tokio_tungstenite::tungstenite::Error as WsError;
        use tokio_tungstenite::tungstenite::error::ProtocolError;
        match self {
            Self::WebSocket(
                WsError::Io(_)
                | WsError::ConnectionClosed
                | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            ) => true,
            Self::Closed { code, .. } => {
                *code == 1006 || *code == tickwire_shared::close_code::SERVICE_RESTART
            }
            _ => false,
        }
    }
}

/// Counters of one bot's connection.
#[derive(Clone, Debug, Default)]
pub struct BotStats {
    /// Snapshots applied or counted.
    pub snapshots: u64,
    /// Snapshots whose checksum or baseline did not match.
    pub desyncs: u64,
    /// Bytes received in binary messages.
    pub bytes_down: u64,
    /// Round-trip times measured with Ping/Pong, in microseconds.
    pub rtt_us: Vec<u32>,
    /// Sessions resumed after a lost connection.
    pub resumes: u64,
    /// Redirects followed to the node that owns the room (on connects and resumes).
    pub redirects: u64,
    /// Resumes into a room that had gone back to its last save (its node died).
    pub rewinds: u64,
    /// Times the server's position of the bot's own player differed from its prediction.
    pub corrections: u64,
    /// Of those, jumps too long to smooth (respawns), shown at once.
    pub correction_snaps: u64,
    /// The largest of those corrections, in world units.
    pub prediction_error_max: f32,
    /// Times the interpolated world ran past the newest snapshot.
    pub interpolation_stalls: u64,
    /// When the first and the latest snapshot arrived.
    pub first_snapshot: Option<Instant>,
    /// See `first_snapshot`.
    pub last_snapshot: Option<Instant>,
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connected, welcomed client.
#[derive(Debug)]
pub struct Bot {
    name: String,
    /// The TLS client config for wss:// (`None`: the web's root certificates).
    tls: Option<Arc<rustls::ClientConfig>>,
    ws: Ws,
    session: ClientSession,
    welcome: Welcome,
    stats: BotStats,
    epoch: Instant,
    /// Both directions of the conditioned link, when there is one.
    link: Option<(DelayLine<Vec<u8>>, DelayLine<Bytes>)>,
    /// How the connection ended, held on a conditioned link until the frames before it are out.
    link_ended: Option<BotError>,
}

/// What one call to [`Bot::next_event`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotEvent {
    /// A snapshot was applied (or skipped while awaiting a full one) at this tick.
    Snapshot(Tick),
    /// A snapshot did not match; a full one was requested.
    Desync(Tick),
    /// A heartbeat or pong was handled.
    Heartbeat,
}

impl Bot {
    /// Connects as a player: sends Hello with `name`, and waits for Welcome.
    pub async fn connect(url: &str, name: &str) -> Result<Self, BotError> {
        Self::connect_with(url, Self::hello(name, false)).await
    }

    /// Connects as a spectator (no player entity, no inputs).
    pub async fn spectate(url: &str, name: &str) -> Result<Self, BotError> {
        Self::connect_with(url, Self::hello(name, true)).await
    }

    /// [`Bot::connect`] claiming another protocol version (to test rejections).
    pub async fn connect_with_version(
        url: &str,
        name: &str,
        protocol_version: u16,
    ) -> Result<Self, BotError> {
        let hello = Hello {
            protocol_version,
            ..Self::hello(name, false)
        };
        Self::connect_with(url, hello).await
    }

    /// A Hello for a new session (no resume, no join token).
    pub fn hello(name: &str, spectator: bool) -> Hello {
        Hello {
            protocol_version: PROTOCOL_VERSION,
            name: name.to_owned(),
            spectator,
            resume: None,
            token: None,
            schema_hash: None,
        }
    }

    /// Resumes this bot's session on a new connection to `url` after its connection was lost:
    /// the same player, its world and input sequence kept, the next snapshot a delta from the
    /// last tick it applied (when the server still has it), inputs the server never confirmed
    /// sent again. Fails with `BotError::Rejected(ResumeExpired)` after the server's grace window.
    pub async fn resume(&mut self, url: &str) -> Result<(), BotError> {
        if !self.session.reconnect() {
            return Err(BotError::Protocol("nothing to resume"));
        }
        if let Some((outgoing, incoming)) = &mut self.link {
            outgoing.clear();
            incoming.clear();
        }
        self.link_ended = None;
        let opened = open_welcomed(url, self.tls.clone(), &mut self.session, self.epoch);
        let (ws, welcome, redirects) = tokio::time::timeout(CONNECT_TIMEOUT, opened)
            .await
            .unwrap_or(Err(BotError::ConnectTimeout(CONNECT_TIMEOUT)))?;
        (self.ws, self.welcome) = (ws, welcome);
        self.stats.resumes += 1;
        self.stats.redirects += redirects;
        self.flush().await
    }

    /// Connects with any Hello and waits for Welcome. A `wss://` URL trusts the web's root
    /// certificates; see [`Bot::connect_with_tls`] for others.
    pub async fn connect_with(url: &str, hello: Hello) -> Result<Self, BotError> {
        Self::connect_with_tls(url, hello, None).await
    }

    /// [`Bot::connect_with`] over `wss://` with this TLS client config (e.g. one trusting a
    /// private CA); resumes use it too.
    pub async fn connect_with_tls(
        url: &str,
        hello: Hello,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Self, BotError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::handshake(url, hello, tls))
            .await
            .unwrap_or(Err(BotError::ConnectTimeout(CONNECT_TIMEOUT)))
    }

    async fn handshake(
        url: &str,
        hello: Hello,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Self, BotError> {
        let name = hello.name.clone();
        let session = ClientSession::new(hello, ClientConfig::default())?;
        let mut session = crate::games::predicting(session);
        let epoch = Instant::now();
        let (ws, welcome, redirects) = open_welcomed(url, tls.clone(), &mut session, epoch).await?;
        Ok(Self {
            name,
            tls,
            ws,
            session,
            welcome,
            stats: BotStats {
                redirects,
                ..BotStats::default()
            },
            epoch,
            link: None,
            link_ended: None,
        })
    }

    /// From now on, delays every message in each direction by `link` (order kept).
    pub fn condition_link(&mut self, link: Link) {
        self.link = (!link.is_instant()).then(|| (DelayLine::new(link), DelayLine::new(link)));
    }

    /// The name this bot joined with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's Welcome.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// This bot's player entity (`None` for a spectator).
    pub fn player(&self) -> Option<EntityId> {
        self.welcome.player
    }

    /// The world as rebuilt from snapshots.
    pub fn world(&self) -> &ClientWorld {
        self.session.world()
    }

    /// The client session (prediction, interpolation, render state).
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// Counters so far.
    pub fn stats(&self) -> &BotStats {
        &self.stats
    }

    /// Reads and handles one server message: snapshots are applied and verified, Pings answered.
    pub async fn next_event(&mut self) -> Result<BotEvent, BotError> {
        let frame = self.receive_frame().await?;
        self.handle_frame(&frame).await
    }

    /// Reads the next binary frame without handling it (cancel-safe: use this inside `select!`
    /// and pass the frame to [`Bot::handle_frame`] outside it). A close frame becomes
    /// [`BotError::Closed`]. On a conditioned link, frames come out when due, and messages
    /// waiting to be sent go out when due while this waits.
    pub async fn receive_frame(&mut self) -> Result<Bytes, BotError> {
        let Some((outgoing, incoming)) = &mut self.link else {
            return read_frame(&mut self.ws).await;
        };
        loop {
            if let Some(frame) = incoming.pop_due(Instant::now()) {
                return Ok(frame);
            }
            // The connection's end comes out after the frames that were on the line before it.
            if incoming.next_due().is_none()
                && let Some(ended) = self.link_ended.take()
            {
                return Err(ended);
            }
            let far = Instant::now() + Duration::from_secs(3600);
            let (deliver_at, send_at) = (
                incoming.next_due().unwrap_or(far),
                outgoing.next_due().unwrap_or(far),
            );
            tokio::select! {
                frame = read_frame(&mut self.ws), if self.link_ended.is_none() => match frame {
                    Ok(frame) => incoming.push(Instant::now(), frame),
                    Err(ended) => self.link_ended = Some(ended),
                },
                () = tokio::time::sleep_until(deliver_at) => {}
                () = tokio::time::sleep_until(send_at) => {
                    // Taken off the line only once the socket accepted it: a cancelled send
                    // loses nothing.
                    while let Some(bytes) = outgoing.front().filter(|_| outgoing.next_due() <= Some(Instant::now())) {
                        self.ws.feed(Message::Binary(bytes.clone().into())).await?;
                        outgoing.pop_due(Instant::now());
                    }
                    self.ws.flush().await?;
                }
            }
        }
    }

    /// Acts on a received frame: applies and verifies a snapshot (asking for a full one on a
    /// mismatch) and reconciles the prediction, answers a Ping, records a Pong's round trip.
    pub async fn handle_frame(&mut self, frame: &[u8]) -> Result<BotEvent, BotError> {
        let event = self.session.receive(frame, self.now())?;
        self.stats.bytes_down += frame.len() as u64;
        let event = match event {
            ClientEvent::Snapshot(tick) | ClientEvent::Desync(tick) => {
                let now = Instant::now();
                self.stats.snapshots += 1;
                self.stats.first_snapshot.get_or_insert(now);
                self.stats.last_snapshot = Some(now);
                if matches!(event, ClientEvent::Desync(_)) {
                    tracing::warn!(bot = %self.name, %tick, "desync");
                    self.stats.desyncs += 1;
                    BotEvent::Desync(tick)
                } else {
                    BotEvent::Snapshot(tick)
                }
            }
            ClientEvent::Pong(rtt) => {
                let rtt = u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX);
                self.stats.rtt_us.push(rtt);
                BotEvent::Heartbeat
            }
            ClientEvent::Heartbeat => BotEvent::Heartbeat,
            ClientEvent::Welcomed | ClientEvent::Rejected(_) | ClientEvent::Redirected(_) => {
                return Err(BotError::Protocol("handshake message after Welcome"));
            }
        };
        self.record_session_stats();
        self.flush().await?;
        Ok(event)
    }

    /// Reads until the next snapshot has been handled; returns its tick.
    pub async fn next_snapshot(&mut self) -> Result<Tick, BotError> {
        loop {
            match self.next_event().await? {
                BotEvent::Snapshot(tick) | BotEvent::Desync(tick) => return Ok(tick),
                BotEvent::Heartbeat => {}
            }
        }
    }

    /// Sends one input with the next sequence number now (predicted when the bots know the
    /// game's step, once a snapshot has shown the player); returns the sequence.
    pub async fn send_input(&mut self, input: &impl Input) -> Result<u32, BotError> {
        let mut lanes = Vec::new();
        input.write(&mut lanes);
        let sequence = self
            .session
            .send_lanes(lanes, self.now())
            .ok_or(BotError::Protocol("a spectator has no player to move"))?;
        self.flush().await?;
        Ok(sequence)
    }

    /// Sends one input frame as it is, neither predicted nor kept for a resume: for load
    /// generators that do not apply snapshots, whose session would otherwise keep every input
    /// waiting for a confirmation it never reads. `sequence` must grow from one call to the next.
    pub async fn send_input_unpredicted(
        &mut self,
        sequence: u32,
        lanes: Vec<i32>,
    ) -> Result<(), BotError> {
        let message = ClientMessage::Input(InputMessage { sequence, lanes });
        let bytes = codec::encode_client(&message)?;
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    /// Once per frame, like a game frontend: sends the inputs due (one per server tick,
    /// predicted when the bots know the game's step) with `input`; pings when due; moves the
    /// render clock.
    pub async fn update(&mut self, input: &impl Input) -> Result<(), BotError> {
        let mut lanes = Vec::new();
        input.write(&mut lanes);
        self.update_lanes(Some(&lanes)).await
    }

    /// [`Bot::update`] with the game's input `lanes`, or no input for `None` (pings and the
    /// render clock only).
    pub async fn update_lanes(&mut self, lanes: Option<&[i32]>) -> Result<(), BotError> {
        let now = self.now();
        match lanes {
            Some(lanes) => self.session.update_lanes(now, lanes),
            None => self.session.advance(now),
        }
        self.record_session_stats();
        self.flush().await
    }

    /// Closes with 1000 and waits briefly for the server's close reply.
    pub async fn close(mut self) -> BotStats {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            if self.ws.close(Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = self.ws.next().await {}
            }
        })
        .await;
        self.stats
    }

    fn record_session_stats(&mut self) {
        let session = self.session.stats();
        self.stats.corrections = session.corrections;
        self.stats.correction_snaps = session.correction_snaps;
        self.stats.prediction_error_max = session.prediction_error_max;
        self.stats.interpolation_stalls = session.interpolation_stalls;
        self.stats.rewinds = session.rewinds;
    }

    /// Sends what the session has queued (onto the link, when conditioned).
    async fn flush(&mut self) -> Result<(), BotError> {
        while let Some(bytes) = self.session.poll_outgoing() {
            match &mut self.link {
                Some((outgoing, _)) => outgoing.push(Instant::now(), bytes),
                None => self.ws.send(Message::Binary(bytes.into())).await?,
            }
        }
        Ok(())
    }

    /// The session's clock: time since this bot connected.
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
}

/// Opens the WebSocket (no Hello yet).
async fn open(url: &str, tls: Option<Arc<rustls::ClientConfig>>) -> Result<Ws, BotError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(codec::MAX_SERVER_MESSAGE_BYTES))
        .max_frame_size(Some(codec::MAX_SERVER_MESSAGE_BYTES));
    let connector = tls.map(Connector::Rustls);
    let (ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, connector)
            .await?;
    Ok(ws)
}

/// Sends the session's Hello and waits for the Welcome (the handshake is not conditioned).
/// Opens a connection to `url`, sends the session's Hello and waits for the Welcome, following
/// up to [`MAX_REDIRECTS`] redirects to the node that owns the room. Returns the connection, the
/// Welcome and how many redirects it followed.
async fn open_welcomed(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    session: &mut ClientSession,
    epoch: Instant,
) -> Result<(Ws, Welcome, u64), BotError> {
    let mut url = url.to_owned();
    for redirects in 0..=MAX_REDIRECTS {
        let mut ws = open(&url, tls.clone()).await?;
        while let Some(bytes) = session.poll_outgoing() {
            ws.send(Message::Binary(bytes.into())).await?;
        }
        let frame = read_frame(&mut ws).await?;
        match session.receive(&frame, epoch.elapsed())? {
            ClientEvent::Welcomed => {
                let welcome = session
                    .welcome()
                    .cloned()
                    .ok_or(BotError::Protocol("no Welcome"))?;
                return Ok((ws, welcome, redirects));
            }
            ClientEvent::Rejected(reason) => return Err(BotError::Rejected(reason)),
            ClientEvent::Redirected(redirect) => {
                tracing::debug!(from = %url, to = %redirect.url, epoch = redirect.epoch, "redirected");
                // The server closes with REDIRECTED; nothing more is read from it.
                drop(ws);
                url = redirect.url;
            }
            _ => return Err(BotError::Protocol("a message before Welcome")),
        }
    }
    Err(BotError::TooManyRedirects(url))
}

/// The next binary frame; a close frame becomes [`BotError::Closed`].
async fn read_frame(ws: &mut Ws) -> Result<Bytes, BotError> {
    loop {
        match ws.next().await {
            None => {
                return Err(BotError::Closed {
                    code: 1006,
                    reason: "connection ended without a close frame".into(),
                });
            }
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Binary(bytes))) => return Ok(bytes),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return Err(BotError::Closed { code, reason });
            }
            Some(Ok(Message::Text(_))) => return Err(BotError::Protocol("text frame")),
            Some(Ok(_)) => {}
        }
    }
}
