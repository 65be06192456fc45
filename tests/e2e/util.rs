//! Shared helpers: an in-process server on a free port, and raw WebSocket clients for the cases
//! a well-behaved bot never produces.

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tickwire_server::{GameConfig, Games, ServerConfig, ServerError};
use tickwire_shared::{
    ClientMessage, Hello, PROTOCOL_VERSION, ServerMessage, Tick, Welcome, codec,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type RawWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Generous bound for anything that should happen "soon" on a loaded 2-core machine.
pub(crate) const SOON: Duration = Duration::from_secs(10);

/// A server running in this process on 127.0.0.1 with an OS-chosen port.
pub(crate) struct TestServer {
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    /// The admin listener's address, when the server has one.
    pub(crate) admin: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

/// The stock server's games, rooms playing the arena with a fixed seed so runs are repeatable.
pub(crate) fn test_config() -> ServerConfig {
    // The stock binary's games (server/bin/main.rs), the arena first.
    let games = Games::new()
        .with::<tickwire_arena::Arena>()
        .with::<tickwire_parity::Parity>()
        .with::<tickwire_race::Race>();
    let mut arena = games.default_config("arena").expect("the arena's config");
    set(&mut arena, &["seed"], 42);
    ServerConfig::new(games, arena)
}

/// Sets the game setting at `path` (a TOML key path, such as `["drones", "count"]`).
pub(crate) fn set(config: &mut GameConfig, path: &[&str], value: impl Into<toml::Value>) {
    let (last, tables) = path.split_last().expect("a key");
    let mut table = &mut config.settings;
    for key in tables {
        table = table
            .get_mut(*key)
            .and_then(toml::Value::as_table_mut)
            .unwrap_or_else(|| panic!("the config has a table {key}"));
    }
    table.insert((*last).to_owned(), value.into());
}

/// The game setting at `path`, as a float.
pub(crate) fn setting(config: &GameConfig, path: &[&str]) -> f64 {
    let (last, tables) = path.split_last().expect("a key");
    let mut table = &config.settings;
    for key in tables {
        table = table[*key].as_table().expect("a table");
    }
    match &table[*last] {
        toml::Value::Float(v) => *v,
        toml::Value::Integer(v) => *v as f64,
        other => panic!("{path:?} is not a number: {other}"),
    }
}

impl TestServer {
    /// Each room on `/rooms` with its player count.
    pub(crate) async fn room_players(&self) -> Vec<(String, u64)> {
        let (status, body) = self.get("/rooms").await;
        assert_eq!(status, 200, "{body}");
        let rooms: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        rooms
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| {
                (
                    r["room"].as_str().unwrap_or("").to_owned(),
                    r["players"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    pub(crate) async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    pub(crate) async fn start_with(config: ServerConfig) -> Self {
        Self::start_serving(config, false).await
    }

    /// A server whose operations endpoints are on an admin listener of their own.
    pub(crate) async fn start_with_admin(config: ServerConfig) -> Self {
        Self::start_serving(config, true).await
    }

    async fn start_serving(config: ServerConfig, with_admin: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        Self::start_on(listener, config, with_admin).await
    }

    /// A server on a listener bound already (so its config may name its own address).
    pub(crate) async fn start_on(
        listener: tokio::net::TcpListener,
        config: ServerConfig,
        with_admin: bool,
    ) -> Self {
        let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
        let addr: SocketAddr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = rx.await;
        };
        let (task, admin) = if with_admin {
            let admin = bind().await.expect("bind port 0");
            let admin_addr = admin.local_addr().expect("local addr");
            let run = tickwire_server::run_with_admin(listener, admin, config, shutdown);
            (tokio::spawn(run), Some(admin_addr))
        } else {
            let run = tickwire_server::run(listener, config, shutdown);
            (tokio::spawn(run), None)
        };
        Self {
            url: format!("ws://{addr}/ws"),
            addr,
            admin,
            shutdown: Some(tx),
            task,
        }
    }

    /// The URL of a named room, optionally with `?scenario=NAME`.
    pub(crate) fn room_url(&self, room: &str, scenario: Option<&str>) -> String {
        match scenario {
            Some(scenario) => format!("ws://{}/ws/{room}?scenario={scenario}", self.addr),
            None => format!("ws://{}/ws/{room}", self.addr),
        }
    }

    /// `GET path` over a fresh connection: the status code and the body.
    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        get_from(self.addr, path).await
    }
}

/// `GET path` from `addr` over a fresh connection: the status code and the body.
pub(crate) async fn get_from(addr: SocketAddr, path: &str) -> (u16, String) {
    request_from(addr, "GET", path).await
}

/// `METHOD path` (no body) from `addr` over a fresh connection: the status code and the body.
pub(crate) async fn request_from(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("read response");
        response
    };
    let response = tokio::time::timeout(SOON, exchange)
        .await
        .expect("an HTTP response in time");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

impl TestServer {
    /// Triggers the same shutdown as SIGTERM, without waiting for it to finish.
    pub(crate) fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for the server to stop on its own (a drain asked over HTTP) and returns what `run`
    /// returned.
    pub(crate) async fn exited(mut self) -> Result<(), ServerError> {
        tokio::time::timeout(SOON, &mut self.task)
            .await
            .expect("server stops in time")
            .expect("server task did not panic")
    }

    /// Shuts down and returns what `run` returned.
    pub(crate) async fn stop(mut self) -> Result<(), ServerError> {
        self.begin_shutdown();
        tokio::time::timeout(SOON, &mut self.task)
            .await
            .expect("server stops in time")
            .expect("server task did not panic")
    }
}

/// A raw WebSocket connection with no Hello sent yet.
pub(crate) async fn raw_connect(url: &str) -> RawWs {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket upgrade")
        .0
}

/// A raw connection that has completed Hello/Welcome.
pub(crate) async fn raw_joined(url: &str) -> RawWs {
    let mut ws = raw_connect(url).await;
    join(&mut ws, "raw").await;
    ws
}

/// Sends Hello on an upgraded connection and returns the Welcome.
pub(crate) async fn join(ws: &mut RawWs, name: &str) -> Welcome {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: name.into(),
        spectator: false,
        resume: None,
        token: None,
        schema_hash: None,
    };
    send_client(ws, &ClientMessage::Hello(hello)).await;
    match next_server_message(ws).await {
        Some(ServerMessage::Welcome(welcome)) => welcome,
        other => panic!("expected Welcome, got {other:?}"),
    }
}

pub(crate) async fn send_client(ws: &mut RawWs, message: &ClientMessage) {
    let bytes = codec::encode_client(message).expect("encodes");
    ws.send(Message::Binary(bytes.into())).await.expect("send");
}

/// The next server message, or `None` at a close.
pub(crate) async fn next_server_message(ws: &mut RawWs) -> Option<ServerMessage> {
    loop {
        match tokio::time::timeout(SOON, ws.next())
            .await
            .expect("a message in time")?
        {
            Ok(Message::Binary(bytes)) => {
                return Some(codec::decode_server(&bytes).expect("server sends valid messages"));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads until the server's close frame; returns its code and reason.
pub(crate) async fn expect_close(ws: &mut RawWs) -> (u16, String) {
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("connection failed before a close frame: {e}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    };
    tokio::time::timeout(SOON, read)
        .await
        .expect("a close frame in time")
}

/// Checks that a series of ticks has no gaps.
pub(crate) fn assert_contiguous(ticks: &[Tick]) {
    assert!(!ticks.is_empty(), "no snapshots received");
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1].since(pair[0]),
            1,
            "tick {} followed by {}: a snapshot was skipped",
            pair[0],
            pair[1]
        );
    }
}

/// A TCP proxy in front of the server whose connections can all be cut at once, the way a
/// network drop does it: no close frame, the sockets just end.
pub(crate) struct CutProxy {
    pub(crate) url: String,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    pub(crate) async fn start(server: &TestServer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let upstream = server.addr;
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let connections = std::sync::Arc::clone(&connections);
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let forward = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections
                        .lock()
                        .expect("lock")
                        .push(forward.abort_handle());
                }
            }
        });
        Self {
            url: format!("ws://{addr}/ws"),
            connections,
            accept,
        }
    }

    /// Drops every connection through the proxy; new ones still get through.
    pub(crate) fn cut(&self) {
        for connection in self.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Reads from `bot` after its connection was cut until the loss shows: frames it had already
/// received before the cut may still come first.
pub(crate) async fn until_lost(bot: &mut tickwire_bot::Bot) -> tickwire_bot::BotError {
    tokio::time::timeout(SOON, async {
        loop {
            if let Err(e) = bot.next_snapshot().await {
                return e;
            }
        }
    })
    .await
    .expect("the cut shows within SOON")
}
