//! The game port's HTTP side (hyper): the WebSocket upgrade on `/ws` and `/ws/ROOM`, the
//! operations endpoints `/healthz`, `/readyz`, `/rooms` and `/metrics`, the lobby's `/lobby`, and
//! the browser pages' files (`web_files`) on every other path. One connection at a time per task; after an upgrade
//! the same task runs the session on the raw socket.
//!
//! `/rooms` and `/metrics` list every room and its figures, so they are not for everyone: with
//! an admin listener (`admin_bind`) they are served there ([`serve_admin`]) and not on the game
//! port; without one, the game port answers them to loopback peers only.

use crate::net::connection::Connection;
use crate::net::session::{self, SessionContext};
use crate::net::web_files;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tickwire_shared::room_path::{RoomPath, WS_PATH};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tracing::{debug, warn};

pub(crate) type Body = Full<Bytes>;

/// What one upgrade request asked for, kept until hyper hands the socket back.
struct Upgrade {
    on_upgrade: OnUpgrade,
    room: RoomPath,
    /// The upgrade and the Hello must both be done by then.
    deadline: tokio::time::Instant,
}

/// Serves one TCP connection (TLS first when configured): HTTP requests until it closes or
/// upgrades to a session.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, ctx: Arc<SessionContext>) {
    let limits = &ctx.limits;
    let _ = stream.set_nodelay(true);
    if limits.socket_send_buffer_bytes > 0 {
        // A small kernel buffer bounds per-client kernel memory and surfaces a stalled reader
        // sooner; 0 keeps Linux's autotuning.
        let _ = socket2::SockRef::from(&stream)
            .set_send_buffer_size(limits.socket_send_buffer_bytes as usize);
    }
    // The loop stops sending long before this (at `outbound_queue_snapshots` in flight); the
    // cap bounds what the client itself provokes, such as Pongs it never reads.
    let queue_cap = limits.write_queue_bytes;
    let budget = Arc::clone(&ctx.queue_budget);
    // Each HTTP phase is its own future, so none of hyper's state lives on into the session.
    let upgraded = match &ctx.tls {
        None => serve_http(stream, peer, &ctx)
            .await
            .map(|(io, read_buf, room, deadline)| {
                (
                    Connection::new(io, queue_cap, budget),
                    read_buf,
                    room,
                    deadline,
                )
            }),
        Some(tls) => {
            let handshake = TlsAcceptor::from(Arc::clone(tls)).accept(stream);
            let timeout = Duration::from_millis(limits.handshake_timeout_ms);
            let tls_stream = match tokio::time::timeout(timeout, handshake).await {
                Ok(Ok(tls_stream)) => tls_stream,
                Ok(Err(e)) => return debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return debug!(%peer, "TLS handshake timed out"),
            };
            serve_http(tls_stream, peer, &ctx)
                .await
                .map(|(io, read_buf, room, deadline)| {
                    let (stream, tls) = io.into_inner();
                    (
                        Connection::new_tls(stream, tls, queue_cap, budget),
                        read_buf,
                        room,
                        deadline,
                    )
                })
        }
    };
    if let Some((connection, read_buf, room, deadline)) = upgraded {
        session::serve(connection, read_buf, peer, room, ctx, deadline).await;
    }
}

/// Answers HTTP requests on `io` until the connection closes (`None`) or upgrades: then the
/// socket, the bytes read past the request, the room asked for, and the handshake deadline.
async fn serve_http<S>(
    io: S,
    peer: SocketAddr,
    ctx: &Arc<SessionContext>,
) -> Option<(S, Bytes, RoomPath, tokio::time::Instant)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let handshake_timeout = Duration::from_millis(ctx.limits.handshake_timeout_ms);
    let upgrade: Arc<Mutex<Option<Upgrade>>> = Arc::default();
    let service = {
        let ctx = Arc::clone(ctx);
        let upgrade = Arc::clone(&upgrade);
        service_fn(move |request| {
            let ctx = Arc::clone(&ctx);
            let upgrade = Arc::clone(&upgrade);
            async move { Ok::<_, Infallible>(route(request, peer, &ctx, &upgrade).await) }
        })
    };
    // A connection made while draining gets one answer (`/readyz`: 503) and is closed.
    let draining = ctx.draining.is_cancelled();
    let connection = http1::Builder::new()
        .keep_alive(!draining)
        .timer(TokioTimer::new())
        // Slowloris: a request head must arrive within the handshake timeout.
        .header_read_timeout(handshake_timeout)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = ctx.draining.cancelled(), if !draining => {
            // Draining: finish the request in progress, keep no connection alive.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        debug!(%peer, error = %e, "HTTP connection ended");
        return None;
    }
    let Upgrade {
        on_upgrade,
        room,
        deadline,
    } = take(&upgrade)?;
    let upgraded = match tokio::time::timeout_at(deadline, on_upgrade).await {
        Ok(Ok(upgraded)) => upgraded,
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "upgrade failed");
            return None;
        }
        Err(_) => {
            debug!(%peer, "upgrade timed out");
            return None;
        }
    };
    let Ok(parts) = upgraded.downcast::<TokioIo<S>>() else {
        debug!(%peer, "upgraded connection is not the socket it was");
        return None;
    };
    Some((parts.io.into_inner(), parts.read_buf, room, deadline))
}

/// The largest request head accepted (hyper answers 431 past it).
const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;

fn take(upgrade: &Mutex<Option<Upgrade>>) -> Option<Upgrade> {
    upgrade
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

async fn route(
    mut request: Request<Incoming>,
    peer: SocketAddr,
    ctx: &SessionContext,
    upgrade: &Mutex<Option<Upgrade>>,
) -> Response<Body> {
    let path = request.uri().path();
    if path == WS_PATH || path.starts_with("/ws/") {
        return match websocket_upgrade(&mut request, ctx) {
            Ok((response, room)) => {
                let handshake_timeout = Duration::from_millis(ctx.limits.handshake_timeout_ms);
                let on_upgrade = hyper::upgrade::on(&mut request);
                *upgrade
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Upgrade {
                    on_upgrade,
                    room,
                    deadline: tokio::time::Instant::now() + handshake_timeout,
                });
                response
            }
            Err(response) => response,
        };
    }
    let method = request.method();
    if let Some(room) = path
        .strip_prefix("/rooms/")
        .and_then(|p| p.strip_suffix("/locate"))
    {
        return if method == Method::GET {
            locate(room, ctx).await
        } else {
            method_not_allowed("GET")
        };
    }
    match Operation::at(path) {
        Some(operation) => match operations_access(operation, peer, ctx.admin_elsewhere) {
            Access::Allowed => operation.answer(method, ctx),
            Access::OnAdminListener => not_found(),
            Access::LoopbackOnly => text(
                StatusCode::FORBIDDEN,
                "operations endpoints answer loopback peers only (see admin_bind)\n",
            ),
        },
        // Every other path is a file of the browser client (404 when there is no web dir).
        None if method == Method::GET || method == Method::HEAD => {
            web_files::serve(ctx.web_dir.as_deref(), path, method == Method::HEAD).await
        }
        None => method_not_allowed("GET, HEAD"),
    }
}

/// The operations endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Health,
    Ready,
    Rooms,
    Metrics,
    /// The games and the open rooms, for the browser's lobby page: public, unlike `/rooms`.
    Lobby,
    /// `POST /drain`: the server drains and exits, as on SIGTERM.
    Drain,
}

/// Whether a peer may see an operations endpoint on the game port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Allowed,
    /// Served on the admin listener instead.
    OnAdminListener,
    /// Only loopback peers may see it (there is no admin listener).
    LoopbackOnly,
}

/// `/healthz` and `/readyz` are public (load balancers probe them); `/rooms`, `/metrics` and
/// `/drain` are for operators.
fn operations_access(operation: Operation, peer: SocketAddr, admin_elsewhere: bool) -> Access {
    match operation {
        Operation::Health | Operation::Ready | Operation::Lobby => Access::Allowed,
        Operation::Rooms | Operation::Metrics | Operation::Drain if admin_elsewhere => {
            Access::OnAdminListener
        }
        _ if peer.ip().to_canonical().is_loopback() => Access::Allowed,
        _ => Access::LoopbackOnly,
    }
}

impl Operation {
    fn at(path: &str) -> Option<Self> {
        match path {
            "/healthz" => Some(Self::Health),
            "/readyz" => Some(Self::Ready),
            "/rooms" => Some(Self::Rooms),
            "/metrics" => Some(Self::Metrics),
            "/lobby" => Some(Self::Lobby),
            "/drain" => Some(Self::Drain),
            _ => None,
        }
    }

    fn answer(self, method: &Method, ctx: &SessionContext) -> Response<Body> {
        match (self, method) {
            (Self::Drain, &Method::POST) => {
                ctx.drain_requested.cancel();
                return text(StatusCode::ACCEPTED, "draining\n");
            }
            (Self::Drain, _) => return method_not_allowed("POST"),
            (_, &Method::GET) => {}
            _ => return method_not_allowed("GET"),
        }
        match self {
            Self::Health => text(StatusCode::OK, "ok\n"),
            Self::Ready if ctx.draining.is_cancelled() => {
                text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
            }
            Self::Ready => text(StatusCode::OK, "ready\n"),
            Self::Drain => method_not_allowed("POST"),
            Self::Rooms => json(&ctx.rooms.list()),
            Self::Lobby => json(&ctx.rooms.lobby()),
            Self::Metrics => {
                let body = ctx.metrics.render(&ctx.rooms.series());
                let mut response = Response::new(Full::new(Bytes::from(body)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                response
            }
        }
    }
}

/// Serves the operations endpoints to anyone on the admin listener (plain HTTP; bind it to a
/// private address), until the task is aborted.
pub(crate) async fn serve_admin(listener: TcpListener, ctx: Arc<SessionContext>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                debug!(error = %e, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let service = service_fn(|request: Request<Incoming>| {
                let ctx = Arc::clone(&ctx);
                async move {
                    let answer = match Operation::at(request.uri().path()) {
                        Some(operation) => operation.answer(request.method(), &ctx),
                        None => not_found(),
                    };
                    Ok::<_, Infallible>(answer)
                }
            });
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(ctx.limits.handshake_timeout_ms))
                .max_buf_size(MAX_REQUEST_HEAD_BYTES)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                debug!(%peer, error = %e, "admin HTTP connection ended");
            }
        });
    }
}

/// 405 with the `Allow` header RFC 9110 asks for.
fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("only {allow} here\n"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The 404 for any path the port does not serve.
pub(crate) fn not_found() -> Response<Body> {
    text(
        StatusCode::NOT_FOUND,
        "not found; WebSocket clients use /ws or /ws/ROOM\n",
    )
}

/// Checks an upgrade request (RFC 6455 section 4.2.1) and answers 101, or says what is wrong.
#[allow(clippy::result_large_err)]
fn websocket_upgrade(
    request: &mut Request<Incoming>,
    ctx: &SessionContext,
) -> Result<(Response<Body>, RoomPath), Response<Body>> {
    if ctx.draining.is_cancelled() {
        return Err(text(StatusCode::SERVICE_UNAVAILABLE, "draining\n"));
    }
    let room = RoomPath::parse(request.uri().path(), request.uri().query())
        .map_err(|e| text(StatusCode::BAD_REQUEST, format!("{e}\n")))?;
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN)
        && !ctx.allowed_origins.is_empty()
        && !ctx
            .allowed_origins
            .iter()
            .any(|allowed| origin.as_bytes().eq_ignore_ascii_case(allowed.as_bytes()))
    {
        return Err(text(StatusCode::FORBIDDEN, "origin not allowed\n"));
    }
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if request.method() != Method::GET
        || !has_token(header::CONNECTION, "upgrade")
        || !has_token(header::UPGRADE, "websocket")
    {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade (GET with Connection: Upgrade, Upgrade: websocket)\n",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        let mut response = text(StatusCode::UPGRADE_REQUIRED, "WebSocket version 13 only\n");
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(response);
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n"));
    };
    let accept = derive_accept_key(key.as_bytes());
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok((response, room))
}

pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `GET /rooms/ROOM/locate`: 200 with the node that owns the room (`room`, `node`, `url`,
/// `epoch`), or 404 when none does. Public, for matchmakers: it tells what a client's Redirect
/// would. Without a cluster directory the node is this server (`node` and `url` null) when the
/// room is open here.
async fn locate(room: &str, ctx: &SessionContext) -> Response<Body> {
    if !tickwire_shared::room_path::is_valid_name(room) {
        return text(
            StatusCode::NOT_FOUND,
            "a room name is 1 to 32 of A-Z a-z 0-9 - _\n",
        );
    }
    let nobody = || text(StatusCode::NOT_FOUND, "no node owns the room\n");
    let placement = ctx.rooms.placement();
    if placement.node().is_none() {
        // One process: the room is here if it is open.
        return if ctx.rooms.is_open(room) {
            json(&serde_json::json!({ "room": room, "node": null, "url": null, "epoch": 0 }))
        } else {
            nobody()
        };
    }
    match Arc::clone(placement).locate(room.to_owned()).await {
        Ok(Some(owner)) => json(&serde_json::json!({
            "room": room,
            "node": owner.node,
            "url": format!("{}{WS_PATH}/{room}", owner.url),
            "epoch": owner.epoch,
        })),
        Ok(None) => nobody(),
        Err(error) => {
            warn!(room, %error, "the cluster directory did not answer a locate");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the cluster directory did not answer\n",
            )
        }
    }
}

fn json(value: &impl serde::Serialize) -> Response<Body> {
    let Ok(body) = serde_json::to_vec_pretty(value) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode JSON\n");
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_and_metrics_answer_loopback_only_or_only_on_the_admin_listener() {
        let outside: SocketAddr = "203.0.113.9:5000".parse().expect("addr");
        let mapped_outside: SocketAddr = "[::ffff:203.0.113.9]:5000".parse().expect("addr");
        let local: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let local_v6: SocketAddr = "[::1]:5000".parse().expect("addr");
        let mapped_local: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().expect("addr");
        for operation in [Operation::Rooms, Operation::Metrics] {
            for peer in [outside, mapped_outside] {
                assert_eq!(
                    operations_access(operation, peer, false),
                    Access::LoopbackOnly
                );
            }
            for peer in [local, local_v6, mapped_local] {
                assert_eq!(operations_access(operation, peer, false), Access::Allowed);
                assert_eq!(
                    operations_access(operation, peer, true),
                    Access::OnAdminListener
                );
            }
        }
        for operation in [Operation::Health, Operation::Ready] {
            for admin_elsewhere in [false, true] {
                assert_eq!(
                    operations_access(operation, outside, admin_elsewhere),
                    Access::Allowed,
                    "{operation:?} stays public"
                );
            }
        }
    }
}
