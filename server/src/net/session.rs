//! One WebSocket session after the HTTP upgrade: Hello, join a room, then one `select!` over the socket, the
//! connection's backlog, the heartbeat timer, kicks from the loop and shutdown. The session never
//! sees snapshots: the loop's writers put them on the socket (see `connection`).

use crate::net::close_reason::CloseReason;
use crate::net::connection::{Connection, SessionIo};
use crate::net::message_rate::{MessageRate, Verdict};
use crate::net::per_ip;
use crate::net::queue_budget::QueueBudget;
use crate::net::used_tokens::{Refusal, UsedTokens};
use crate::ops::config::Limits;
use crate::ops::metrics::Metrics;
use crate::room::core::Seated;
use crate::room::directory::{JoinError, Rooms};
use crate::room::game_loop::{ClientEvent, ClientLink, Command};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use governor::Quota;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tickwire_shared::join_token::{self, JoinSecret, TokenError};
use tickwire_shared::layout::Layout;
use tickwire_shared::message::MAX_NAME_BYTES;
use tickwire_shared::room_path::RoomPath;
use tickwire_shared::{
    ClientMessage, Hello, PROTOCOL_VERSION, Redirect, RejectReason, ServerMessage, Tick,
    close_code, codec,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{MissedTickBehavior, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tracing::{debug, instrument, trace, warn};

/// Time allowed for a close frame to go out and for the client's close reply to come back.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// What every session shares.
#[derive(Debug)]
pub(crate) struct SessionContext {
    pub(crate) limits: Limits,
    /// See [`crate::ServerConfig::allowed_origins`].
    pub(crate) allowed_origins: Vec<String>,
    /// See [`crate::ServerConfig::join_secret`].
    pub(crate) join_secret: Option<JoinSecret>,
    /// See [`crate::ServerConfig::tls`].
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// See [`crate::ServerConfig::web_dir`].
    pub(crate) web_dir: Option<std::path::PathBuf>,
    pub(crate) rooms: Arc<Rooms>,
    pub(crate) metrics: Arc<Metrics>,
    /// Cancelled when the server starts draining: no new sessions, `/readyz` 503.
    pub(crate) draining: CancellationToken,
    /// Cancelled by `POST /drain`: the server drains and exits, as on SIGTERM.
    pub(crate) drain_requested: CancellationToken,
    /// Cancelled when the sessions still open are to close (1001): with the draining, or in a
    /// cluster once the rooms have been handed off (their clients were told 1012 then).
    pub(crate) shutdown: CancellationToken,
    /// The server's clock origin for Ping timestamps.
    pub(crate) started: Instant,
    /// `/rooms` and `/metrics` are served on an admin listener, not on the game port.
    pub(crate) admin_elsewhere: bool,
    /// Join tokens that opened a seat (each is good for one).
    pub(crate) used_tokens: UsedTokens,
    /// Bytes waiting for all sockets together.
    pub(crate) queue_budget: Arc<QueueBudget>,
}

/// Full-snapshot requests a client may send in a burst; past it, more than one per
/// `full_snapshot_interval_ms` closes the session with 1008. A client asks once per desync.
const FULL_REQUEST_BURST: u32 = 5;

type Ws = WebSocketStream<SessionIo>;

/// Runs one session on an upgraded socket (`read_buf`: bytes hyper read past the request)
/// until it ends. Never panics on anything the client sends.
#[instrument(skip_all, fields(peer = %peer, room = %request.room, client))]
pub(crate) async fn serve(
    connection: Arc<Connection>,
    read_buf: Bytes,
    peer: SocketAddr,
    request: RoomPath,
    ctx: Arc<SessionContext>,
    handshake_deadline: tokio::time::Instant,
) {
    let limits = &ctx.limits;
    // A copy of the few bytes read past the request: `read_buf` shares hyper's whole read
    // buffer, which must not live as long as the session.
    let read_past_request = read_buf.to_vec();
    drop(read_buf);
    let mut ws = WebSocketStream::from_partially_read(
        SessionIo(Arc::clone(&connection)),
        read_past_request,
        Role::Server,
        Some(ws_config(limits)),
    )
    .await;
    let hello = tokio::select! {
        hello = tokio::time::timeout_at(handshake_deadline, read_hello(&mut ws)) => {
            hello.unwrap_or(Err(Some(CloseReason::HANDSHAKE_TIMEOUT)))
        }
        () = ctx.shutdown.cancelled() => Err(Some(CloseReason::SHUTDOWN)),
    };
    let hello = match hello {
        Ok(hello) => hello,
        Err(reason) => return close(ws, reason, &ctx.metrics).await,
    };
    if let Err(reject) = check_hello(&hello) {
        return reject_and_close(ws, reject, &ctx.metrics).await;
    }
    let (hello, token_taken) = match admit(hello, &request, &ctx) {
        Ok(admitted) => admitted,
        Err(reject) => return reject_and_close(ws, reject, &ctx.metrics).await,
    };

    let (events_tx, events) = mpsc::channel(limits.input_queue_frames.max(1));
    let (kick_tx, mut kick) = oneshot::channel();
    let link = ClientLink {
        events,
        connection: Arc::clone(&connection),
        kick: kick_tx,
    };
    let address = per_ip::limited_address(peer.ip(), limits);
    let joined = ctx.rooms.join(&request, &hello, address, link).await;
    if joined.is_err()
        && let Some(token) = &token_taken
    {
        ctx.used_tokens.give_back(token);
    }
    let (seated, commands) = match joined {
        Ok(joined) => joined,
        Err(JoinError::Rejected(reject)) => {
            return reject_and_close(ws, reject, &ctx.metrics).await;
        }
        Err(JoinError::RoomStopped) => {
            return close(ws, Some(CloseReason::LOOP_STOPPED), &ctx.metrics).await;
        }
        Err(JoinError::Elsewhere(owner)) => {
            let redirect = Redirect {
                url: format!("{}{}", owner.url.trim_end_matches('/'), request.url_path()),
                epoch: owner.epoch,
            };
            return redirect_and_close(ws, redirect, &owner.node, &ctx.metrics).await;
        }
    };
    let Seated {
        client_id,
        spectator,
        layout,
    } = seated;
    tracing::Span::current().record("client", client_id);
    let mut shutdown: Shutdown = Box::pin(ctx.shutdown.clone().cancelled_owned());
    let (ended, resumable) = match guarded(&mut kick, &mut shutdown, connection.welcomed()).await {
        Err(end) => (end, false),
        Ok(()) => {
            ctx.metrics.connected_clients.increment(1.0);
            let mut joined = Joined {
                ws: &mut ws,
                connection: &connection,
                ctx: &ctx,
                shutdown,
                events: events_tx,
                kick,
                spectator,
                layout,
                input_rate: MessageRate::per_second(
                    NonZeroU32::new(limits.max_inputs_per_sec).unwrap_or(NonZeroU32::MIN),
                ),
                ping_rate: MessageRate::per_second(
                    NonZeroU32::new(limits.max_pings_per_sec).unwrap_or(NonZeroU32::MIN),
                ),
                full_request_rate: full_request_rate(limits),
                said_goodbye: false,
                last_acked: None,
                last_rtt_us: None,
            };
            let ended = joined.play().await;
            // A connection lost, not closed: the client may come back with its resume token.
            let lost = ended.is_none() || ended == Some(CloseReason::IDLE_TIMEOUT);
            let resumable = lost && !joined.said_goodbye;
            let code = ended.as_ref().map(|reason| reason.code);
            let acked = joined.last_acked.map(|tick| tick.0);
            debug!(?code, ?acked, rtt_us = ?joined.last_rtt_us, "session ending");
            ctx.metrics.connected_clients.decrement(1.0);
            (ended, resumable)
        }
    };
    connection.stop_messages();
    let leave = Command::Leave {
        id: client_id,
        resumable,
    };
    let _ = commands.send(leave).await;
    close(ws, ended, &ctx.metrics).await;
}

/// The server's shutdown signal as one pinned future per session.
type Shutdown = Pin<Box<WaitForCancellationFutureOwned>>;

/// How a session ends: the close to send, or `None` when the peer is already gone.
type End = Option<CloseReason>;

/// A session after the loop accepted it.
struct Joined<'a> {
    ws: &'a mut Ws,
    connection: &'a Connection,
    ctx: &'a SessionContext,
    /// Completes on server shutdown. Created once: a fresh `cancelled()` per wake-up would
    /// register with the token (under its lock) every time.
    shutdown: Shutdown,
    events: mpsc::Sender<ClientEvent>,
    kick: oneshot::Receiver<CloseReason>,
    /// Spectators may not send inputs. The seat's role, which a resume keeps whatever its
    /// Hello says.
    spectator: bool,
    /// The room's game: what its inputs must look like.
    layout: Arc<Layout>,
    input_rate: MessageRate,
    /// Client Pings (ours, answered with a Pong, and WebSocket pings, answered by tungstenite).
    ping_rate: MessageRate,
    full_request_rate: MessageRate,
    /// The client sent a close frame: it left on purpose, so its seat is not kept.
    said_goodbye: bool,
    /// The last tick the client said it applied (for the log when it leaves).
    last_acked: Option<Tick>,
    /// The last round trip measured with a server Ping, in microseconds.
    last_rtt_us: Option<u64>,
}

impl Joined<'_> {
    /// The main loop: one `select!` over kicks, shutdown, the connection's backlog, the socket
    /// and the heartbeat.
    async fn play(&mut self) -> End {
        let connection = self.connection;
        let drain = connection.drain_forever();
        tokio::pin!(drain);
        let limits = &self.ctx.limits;
        let idle_timeout = Duration::from_millis(limits.idle_timeout_ms);
        let mut heartbeat =
            tokio::time::interval(Duration::from_millis(limits.heartbeat_interval_ms.max(1)));
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            // Biased: kicks and shutdown come before reads, so a client flooding frames cannot
            // delay its own kick.
            let result = tokio::select! {
                biased;
                reason = &mut self.kick => Err(Some(reason.unwrap_or(CloseReason::LOOP_STOPPED))),
                () = &mut self.shutdown => Err(Some(CloseReason::SHUTDOWN)),
                error = &mut drain => Err(self.write_failed(&error)),
                frame = self.ws.next() => {
                    last_heard = Instant::now();
                    self.on_frame(frame).await
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > idle_timeout {
                        Err(Some(CloseReason::IDLE_TIMEOUT))
                    } else {
                        let server_time_us = micros_since(self.ctx.started);
                        self.send(&ServerMessage::Ping { server_time_us }).await
                    }
                }
            };
            if let Err(end) = result {
                return end;
            }
        }
    }

    /// One frame from the client.
    async fn on_frame(&mut self, frame: Option<Result<Message, WsError>>) -> Result<(), End> {
        let bytes = match frame.ok_or(None)? {
            Ok(Message::Binary(bytes)) => bytes,
            Ok(Message::Text(_)) => return Err(Some(CloseReason::TEXT_FRAME)),
            Ok(Message::Close(_)) => {
                self.said_goodbye = true;
                return Err(None);
            }
            // tungstenite queues the Pong reply itself: only the rate can be checked here.
            Ok(Message::Ping(_)) => return self.check_ping_rate().map(|_| ()),
            Ok(Message::Pong(_) | Message::Frame(_)) => return Ok(()),
            Err(e) => return Err(CloseReason::for_read_error(&e)),
        };
        let ctx = self.ctx;
        let metrics = &ctx.metrics;
        metrics.messages_in.increment(1);
        metrics.bytes_in.increment(bytes.len() as u64);
        let message = codec::decode_client(&bytes)
            .map_err(|e| Some(CloseReason::with_detail(close_code::MALFORMED, e)))?;
        match message {
            ClientMessage::Input(_) if self.spectator => {
                return Err(Some(CloseReason::new(
                    close_code::INVALID,
                    "spectators send no inputs",
                )));
            }
            ClientMessage::Input(input) if !self.layout.accepts_input(&input.lanes) => {
                return Err(Some(CloseReason::new(
                    close_code::INVALID,
                    "input does not fit the game's input schema",
                )));
            }
            ClientMessage::Input(input) => {
                match self.input_rate.check(Instant::now()) {
                    Verdict::Accept => {}
                    Verdict::Drop => {
                        metrics.inputs_dropped.increment(1);
                        return Ok(());
                    }
                    Verdict::Disconnect => return Err(Some(CloseReason::INPUT_FLOOD)),
                }
                // Full queue: the frame is dropped and the player misses that input.
                let sequence = input.sequence;
                if self.events.try_send(ClientEvent::Input(input)).is_err() {
                    debug!(sequence, "input queue full, frame dropped");
                    metrics.inputs_dropped.increment(1);
                }
            }
            ClientMessage::Ack(tick) => self.last_acked = Some(tick),
            // Waits for room (the loop drains every tick): a lost request would leave the
            // client waiting for a full snapshot forever.
            ClientMessage::RequestFull => {
                metrics.full_snapshot_requests.increment(1);
                if self.full_request_rate.check(Instant::now()) != Verdict::Accept {
                    return Err(Some(CloseReason::FULL_REQUEST_FLOOD));
                }
                let queued = guarded(
                    &mut self.kick,
                    &mut self.shutdown,
                    self.events.send(ClientEvent::RequestFull),
                )
                .await?;
                queued.map_err(|_| Some(CloseReason::LOOP_STOPPED))?;
            }
            ClientMessage::Ping { client_time_us } => {
                if self.check_ping_rate()? {
                    self.send(&ServerMessage::Pong { client_time_us }).await?;
                }
            }
            ClientMessage::Pong { server_time_us } => {
                let rtt_us = micros_since(self.ctx.started).saturating_sub(server_time_us);
                trace!(rtt_us, "pong");
                self.last_rtt_us = Some(rtt_us);
            }
            ClientMessage::Hello(_) => {
                return Err(Some(CloseReason::new(
                    close_code::INVALID,
                    "Hello sent twice",
                )));
            }
        }
        Ok(())
    }

    /// Whether a client Ping is within its rate (to be answered); a flood of them ends the
    /// session with 1008.
    fn check_ping_rate(&mut self) -> Result<bool, End> {
        match self.ping_rate.check(Instant::now()) {
            Verdict::Accept => Ok(true),
            Verdict::Drop => Ok(false),
            Verdict::Disconnect => Err(Some(CloseReason::PING_FLOOD)),
        }
    }

    /// Queues one message behind whatever waits for the socket; never waits itself (the
    /// backlog branch of [`Self::play`] drains the queue), so a client that stops reading
    /// cannot pin the session.
    async fn send(&mut self, message: &ServerMessage) -> Result<(), End> {
        let message = frame(message).map_err(Some)?;
        self.ctx.metrics.messages_out.increment(1);
        match self.ws.feed(message).await {
            Ok(()) => Ok(()),
            Err(WsError::Io(error)) => Err(self.write_failed(&error)),
            Err(_) => Err(None),
        }
    }

    /// How the session ends after a failed write.
    fn write_failed(&self, error: &std::io::Error) -> End {
        if self.connection.overflowed() {
            return Some(CloseReason::SLOW_CONSUMER);
        }
        debug!(%error, "write failed");
        None
    }
}

/// Runs `work` unless the loop kicks the client or the server shuts down first.
async fn guarded<T>(
    kick: &mut oneshot::Receiver<CloseReason>,
    shutdown: &mut Shutdown,
    work: impl Future<Output = T>,
) -> Result<T, End> {
    // `work` first: it usually completes on its first poll, and only a waiting one needs the
    // other two.
    tokio::select! {
        biased;
        out = work => Ok(out),
        reason = kick => Err(Some(reason.unwrap_or(CloseReason::LOOP_STOPPED))),
        () = shutdown => Err(Some(CloseReason::SHUTDOWN)),
    }
}

/// Waits for the opening Hello. `Err(None)`: the peer left; `Err(Some)`: close with that.
async fn read_hello(ws: &mut Ws) -> Result<Hello, Option<CloseReason>> {
    loop {
        let bytes = match ws.next().await {
            None => return Err(None),
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Text(_))) => return Err(Some(CloseReason::TEXT_FRAME)),
            Some(Ok(Message::Close(_))) => return Err(None),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(CloseReason::for_read_error(&e)),
        };
        return match codec::decode_client(&bytes) {
            Ok(ClientMessage::Hello(hello)) => Ok(hello),
            Ok(_) => Err(Some(CloseReason::new(
                close_code::INVALID,
                "the first message must be Hello",
            ))),
            Err(e) => Err(Some(CloseReason::with_detail(close_code::MALFORMED, e))),
        };
    }
}

/// With a join secret, the Hello must carry a valid token for this room; the player then plays
/// under the token's player id. A new seat uses the token up (returned, to give it back if the
/// room refuses the seat); a resume does not, as its resume token proves the seat.
fn admit(
    mut hello: Hello,
    request: &RoomPath,
    ctx: &SessionContext,
) -> Result<(Hello, Option<String>), RejectReason> {
    let Some(secret) = ctx.join_secret.as_ref() else {
        return Ok((hello, None));
    };
    let token = hello.token.take().ok_or(RejectReason::TokenRequired)?;
    let now = SystemTime::now();
    let claims = match join_token::verify(secret, &token, &request.room, now) {
        Ok(claims) => claims,
        Err(TokenError::Expired) => return Err(RejectReason::TokenExpired),
        Err(e) => {
            debug!(error = %e, "join token refused");
            return Err(RejectReason::TokenInvalid);
        }
    };
    hello.name = claims.player;
    if hello.resume.is_some() {
        return Ok((hello, None));
    }
    let now_unix = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    match ctx.used_tokens.take(&token, claims.expires_unix, now_unix) {
        Ok(()) => Ok((hello, Some(token))),
        Err(Refusal::Replayed) => Err(RejectReason::TokenReplayed),
        Err(Refusal::Full) => Err(RejectReason::ServerBusy),
    }
}

/// One full snapshot per `full_snapshot_interval_ms`, with a small burst; the first request
/// past it ends the session.
fn full_request_rate(limits: &Limits) -> MessageRate {
    let interval = Duration::from_millis(limits.full_snapshot_interval_ms.max(1));
    let quota = Quota::with_period(interval)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(FULL_REQUEST_BURST).unwrap_or(NonZeroU32::MIN));
    MessageRate::new(quota, 1)
}

fn check_hello(hello: &Hello) -> Result<(), RejectReason> {
    if hello.protocol_version != PROTOCOL_VERSION {
        return Err(RejectReason::VersionMismatch {
            server: PROTOCOL_VERSION,
            client: hello.protocol_version,
        });
    }
    let name = &hello.name;
    if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(RejectReason::InvalidName);
    }
    Ok(())
}

/// Sends the typed rejection, then closes with [`close_code::REJECTED`].
async fn reject_and_close(mut ws: Ws, reason: RejectReason, metrics: &Metrics) {
    debug!(%reason, "rejected");
    let close_reason = CloseReason::with_detail(close_code::REJECTED, &reason);
    let Ok(rejected) = frame(&ServerMessage::Rejected(reason)) else {
        return;
    };
    if ws.send(rejected).await.is_ok() {
        close(ws, Some(close_reason), metrics).await;
    }
}

/// Sends the Redirect to the room's owner, then closes with [`close_code::REDIRECTED`].
async fn redirect_and_close(mut ws: Ws, redirect: Redirect, node: &str, metrics: &Metrics) {
    debug!(url = %redirect.url, epoch = redirect.epoch, "redirected");
    metrics.redirects.increment(1);
    let close_reason =
        CloseReason::with_detail(close_code::REDIRECTED, format!("room is on node {node}"));
    let Ok(message) = frame(&ServerMessage::Redirect(redirect)) else {
        return;
    };
    if ws.send(message).await.is_ok() {
        close(ws, Some(close_reason), metrics).await;
    }
}

/// Sends the close frame (if any), then waits briefly for the client's close reply so the frame
/// is delivered before the socket is dropped.
async fn close(mut ws: Ws, reason: Option<CloseReason>, metrics: &Metrics) {
    let Some(reason) = reason else {
        // The client closed (or vanished): send the close reply tungstenite queued, if any
        // (an echo, or 1002 for a close frame with an invalid code).
        let _ = timeout(CLOSE_LINGER, ws.flush()).await;
        return;
    };
    metrics.kicked(reason.code);
    debug!(code = reason.code, reason = %reason.reason, "closing");
    let linger = async {
        if ws.close(Some(reason.frame())).await.is_err() {
            return;
        }
        while let Some(Ok(_)) = ws.next().await {}
    };
    let _ = timeout(CLOSE_LINGER, linger).await;
}

/// A server message as a binary frame.
fn frame(message: &ServerMessage) -> Result<Message, CloseReason> {
    match codec::encode_server(message) {
        Ok(bytes) => Ok(Message::Binary(bytes.into())),
        Err(e) => {
            warn!(error = %e, "message did not encode");
            Err(CloseReason::new(
                close_code::INTERNAL_ERROR,
                "message did not encode",
            ))
        }
    }
}

fn ws_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        // Snapshots go out as soon as they are written: every send is followed by a flush anyway.
        .write_buffer_size(0)
        // Each send is flushed before the next, so the buffer holds at most the message being
        // written: the cap only has to admit the largest message the protocol allows.
        .max_write_buffer_size(codec::MAX_SERVER_MESSAGE_BYTES + 64 * 1024)
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes))
}

fn micros_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX)
}
