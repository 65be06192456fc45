//! One headless client over a real WebSocket: handshake, snapshots into a [`ClientWorld`] with
//! every checksum verified, inputs, heartbeats and RTT.

use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickwire_shared::client_world::Applied;
use tickwire_shared::{
    ClientMessage, ClientWorld, EntityId, Hello, InputFrame, PROTOCOL_VERSION, RejectReason,
    Resume, ServerMessage, Tick, Welcome, codec,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::behaviour::Intent;

/// tungstenite zeroes up to this much of its read buffer on every read, so its 128 KiB default
/// would cost thousands of bots most of their CPU; snapshots are far smaller (larger messages
/// still arrive whole: the buffer grows as needed).
const READ_BUFFER_BYTES: usize = 4096;

/// How long a bot waits for the upgrade and Welcome.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Our own message did not encode.
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
}

impl BotError {
    /// The connection broke without the server closing it (reset, or ended with no close
    /// frame): worth a [`Bot::resume`].
    pub fn is_connection_lost(&self) -> bool {
        use tokio_tungstenite::tungstenite::Error as WsError;
        use tokio_tungstenite::tungstenite::error::ProtocolError;
        match self {
            Self::WebSocket(
                WsError::Io(_)
                | WsError::ConnectionClosed
                | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            ) => true,
            Self::Closed { code, .. } => *code == 1006,
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
    /// When the first and the latest snapshot arrived.
    pub first_snapshot: Option<Instant>,
    /// See `first_snapshot`.
    pub last_snapshot: Option<Instant>,
}

/// A connected, welcomed client.
#[derive(Debug)]
pub struct Bot {
    name: String,
    /// The signed join token it joined with, if any: a resume presents it again.
    join_token: Option<String>,
    /// The TLS client config for wss:// (`None`: the web's root certificates).
    tls: Option<Arc<rustls::ClientConfig>>,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    welcome: Welcome,
    world: ClientWorld,
    stats: BotStats,
    next_sequence: u32,
    epoch: Instant,
}

/// A server message as read from the socket, not yet handled.
#[derive(Debug)]
pub struct Received {
    message: ServerMessage,
    len: usize,
}

impl Received {
    /// Decodes one binary frame from the server.
    pub fn decode(frame: &[u8]) -> Result<Self, BotError> {
        Ok(Self {
            message: codec::decode_server(frame)?,
            len: frame.len(),
        })
    }

    /// The decoded message.
    pub fn message(&self) -> &ServerMessage {
        &self.message
    }
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
        }
    }

    /// Resumes this bot's session on a new connection to `url` after its connection was lost:
    /// the same player, its world and input sequence kept, the next snapshot a delta from the
    /// last tick it applied (when the server still has it). Fails with
    /// `BotError::Rejected(ResumeExpired)` after the server's grace window.
    pub async fn resume(&mut self, url: &str) -> Result<(), BotError> {
        let hello = Hello {
            resume: Some(Resume {
                token: self.welcome.resume_token,
                last_applied: self.world.tick(),
            }),
            token: self.join_token.clone(),
            ..Self::hello(&self.name, self.welcome.player.is_none())
        };
        let resumed = Self::connect_with_tls(url, hello, self.tls.clone()).await?;
        self.ws = resumed.ws;
        self.welcome = resumed.welcome;
        self.stats.resumes += 1;
        Ok(())
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
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(Some(codec::MAX_SERVER_MESSAGE_BYTES))
            .max_frame_size(Some(codec::MAX_SERVER_MESSAGE_BYTES));
        let connector = tls.clone().map(Connector::Rustls);
        let (mut ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, connector)
                .await?;
        let name = hello.name.clone();
        let join_token = hello.token.clone();
        let hello = ClientMessage::Hello(hello);
        ws.send(Message::Binary(codec::encode_client(&hello)?.into()))
            .await?;
        let welcome = read_frame(&mut ws).await?;
        match Received::decode(&welcome)?.message {
            ServerMessage::Welcome(welcome) => {
                let (world, stats) = (ClientWorld::new(), BotStats::default());
                Ok(Self {
                    name,
                    join_token,
                    tls,
                    ws,
                    welcome,
                    world,
                    stats,
                    next_sequence: 1,
                    epoch: Instant::now(),
                })
            }
            ServerMessage::Rejected(reason) => Err(BotError::Rejected(reason)),
            _ => Err(BotError::Protocol("a message before Welcome")),
        }
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
        &self.world
    }

    /// Counters so far.
    pub fn stats(&self) -> &BotStats {
        &self.stats
    }

    /// Reads and handles one server message: snapshots are applied and verified, Pings answered.
    pub async fn next_event(&mut self) -> Result<BotEvent, BotError> {
        let received = self.receive().await?;
        self.handle(received).await
    }

    /// Reads the next server message without acting on it. Cancel-safe: use this inside
    /// `select!` and pass the result to [`Bot::handle`] outside it.
    pub async fn receive(&mut self) -> Result<Received, BotError> {
        Received::decode(&self.receive_frame().await?)
    }

    /// Reads the next binary frame without decoding it (cancel-safe). A close frame becomes
    /// [`BotError::Closed`].
    pub async fn receive_frame(&mut self) -> Result<Bytes, BotError> {
        read_frame(&mut self.ws).await
    }

    /// Acts on a received message: applies and verifies a snapshot (asking for a full one on a
    /// mismatch), answers a Ping, records a Pong's round trip.
    pub async fn handle(&mut self, received: Received) -> Result<BotEvent, BotError> {
        self.stats.bytes_down += received.len as u64;
        match received.message {
            ServerMessage::Snapshot(snapshot) => {
                let now = Instant::now();
                self.stats.snapshots += 1;
                self.stats.first_snapshot.get_or_insert(now);
                self.stats.last_snapshot = Some(now);
                match self.world.apply(&snapshot) {
                    Ok(Applied::Updated) => {
                        self.send(&ClientMessage::Ack(snapshot.tick)).await?;
                        Ok(BotEvent::Snapshot(snapshot.tick))
                    }
                    Ok(Applied::AwaitingFull) => Ok(BotEvent::Snapshot(snapshot.tick)),
                    Err(e) => {
                        tracing::warn!(error = %e, "desync");
                        self.stats.desyncs += 1;
                        self.send(&ClientMessage::RequestFull).await?;
                        Ok(BotEvent::Desync(snapshot.tick))
                    }
                }
            }
            ServerMessage::Ping { server_time_us } => {
                self.send(&ClientMessage::Pong { server_time_us }).await?;
                Ok(BotEvent::Heartbeat)
            }
            ServerMessage::Pong { client_time_us } => {
                let rtt = self.micros().saturating_sub(client_time_us);
                self.stats
                    .rtt_us
                    .push(u32::try_from(rtt).unwrap_or(u32::MAX));
                Ok(BotEvent::Heartbeat)
            }
            ServerMessage::Welcome(_) | ServerMessage::Rejected(_) => {
                Err(BotError::Protocol("handshake message after Welcome"))
            }
        }
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

    /// Sends one input frame with the next sequence number; returns the sequence.
    pub async fn send_input(&mut self, intent: Intent) -> Result<u32, BotError> {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let Intent {
            move_x,
            move_y,
            aim,
            buttons,
        } = intent;
        self.send(&ClientMessage::Input(InputFrame {
            sequence,
            move_x,
            move_y,
            aim,
            buttons,
        }))
        .await?;
        Ok(sequence)
    }

    /// Sends a Ping; the Pong's round trip lands in [`BotStats::rtt_us`].
    pub async fn ping(&mut self) -> Result<(), BotError> {
        let client_time_us = self.micros();
        self.send(&ClientMessage::Ping { client_time_us }).await
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

    async fn send(&mut self, message: &ClientMessage) -> Result<(), BotError> {
        let bytes = codec::encode_client(message)?;
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// The next binary frame; a close frame becomes [`BotError::Closed`].
async fn read_frame(
    ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
) -> Result<Bytes, BotError> {
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
