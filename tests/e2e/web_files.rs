//! The browser pages on the game port: `/` (and any folder path ending in `/`) is index.html,
//! files get the types browsers insist on (application/wasm), nothing outside the web dir or
//! hidden is served, the operations endpoints and the upgrade are untouched, and the lobby's
//! `/lobby` is public but tells only names, games and seats.

use crate::tls::tls_server_with;
use crate::util::{SOON, TestServer, test_config};
use rustls_pki_types::ServerName;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const INDEX: &[u8] =
    b"<!doctype html><title>Tickwire</title><script type=module src=pkg/x.js></script>\n";
/// A wasm header and bytes that are not UTF-8, so the body is compared byte for byte.
const WASM: &[u8] = b"\0asm\x01\0\0\0\xff\xfe\x80 not text";
const SECRET: &[u8] = b"outside the web dir\n";
const GAME_PAGE: &[u8] = b"<!doctype html><title>arena</title>\n";
const NOT_FOUND: &[u8] = b"not found; WebSocket clients use /ws or /ws/ROOM\n";

/// A fresh folder holding `web/` (index.html, pkg/x.wasm, .hidden) and, beside it, secret.txt;
/// removed on drop.
struct Site {
    root: PathBuf,
}

impl Site {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "tickwire-web-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let web = root.join("web");
        std::fs::create_dir_all(web.join("pkg")).expect("create the web dir");
        std::fs::write(web.join("index.html"), INDEX).expect("write index.html");
        std::fs::write(web.join("pkg/x.wasm"), WASM).expect("write x.wasm");
        std::fs::write(web.join(".hidden"), SECRET).expect("write .hidden");
        std::fs::create_dir_all(web.join("games/arena")).expect("create games/arena");
        std::fs::write(web.join("games/arena/index.html"), GAME_PAGE).expect("write a page");
        std::fs::write(root.join("secret.txt"), SECRET).expect("write secret.txt");
        Self { root }
    }

    fn web_dir(&self) -> PathBuf {
        self.root.join("web")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on `stream` with `Connection: close`, the whole answer read back.
async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    method: &str,
    path: &str,
) -> Answer {
    let exchange = async {
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send request");
        let mut response = Vec::new();
        // A TLS peer may close without close_notify after the answer; what arrived is enough.
        let _ = stream.read_to_end(&mut response).await;
        response
    };
    let response = tokio::time::timeout(SOON, exchange)
        .await
        .expect("an HTTP response in time");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head and a body");
    let head = std::str::from_utf8(&response[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: response[split + 4..].to_vec(),
    }
}

async fn request(server: &TestServer, method: &str, path: &str) -> Answer {
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    exchange(stream, method, path).await
}

async fn web_server(site: &Site) -> TestServer {
    let mut config = test_config();
    config.web_dir = Some(site.web_dir());
    TestServer::start_with(config).await
}

#[tokio::test]
async fn the_page_and_its_wasm_are_served_with_their_types() {
    let site = Site::new();
    let server = web_server(&site).await;

    let index = request(&server, "GET", "/").await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert_eq!(index.body, INDEX);
    assert_eq!(request(&server, "GET", "/index.html").await.body, INDEX);
    // A folder's path ending in `/` is its index.html; without the `/` it is no file.
    let page = request(&server, "GET", "/games/arena/").await;
    assert_eq!((page.status, page.body.as_slice()), (200, GAME_PAGE));
    assert_eq!(request(&server, "GET", "/games/arena").await.status, 404);

    let wasm = request(&server, "GET", "/pkg/x.wasm").await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.body, WASM);

    let head = request(&server, "HEAD", "/pkg/x.wasm").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/wasm"));
    let length = WASM.len().to_string();
    assert_eq!(head.header("content-length"), Some(length.as_str()));
    assert!(head.body.is_empty(), "HEAD has no body");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn nothing_outside_the_web_dir_hidden_or_missing_is_served() {
    let site = Site::new();
    let server = web_server(&site).await;
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/pkg/../../secret.txt",
        "/pkg%2f..%2f..%2fsecret.txt",
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/.hidden",
        "/nope.js",
        "/pkg",
        "/pkg/",
        "/pkg//x.wasm",
    ] {
        let answer = request(&server, "GET", path).await;
        assert!(
            answer.status == 404 || answer.status == 400,
            "{path}: {}",
            answer.status
        );
        assert!(
            !answer.body.windows(SECRET.len()).any(|w| w == SECRET),
            "{path} leaked a file"
        );
    }
    assert_eq!(request(&server, "GET", "/nope.js").await.body, NOT_FOUND);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_endpoints_and_the_upgrade_are_unaffected() {
    let site = Site::new();
    let server = web_server(&site).await;
    assert_eq!(server.get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.get("/readyz").await, (200, "ready\n".into()));
    let rooms = request(&server, "GET", "/rooms").await;
    assert_eq!(rooms.status, 200);
    assert_eq!(rooms.header("content-type"), Some("application/json"));
    assert_eq!(server.get("/metrics").await.0, 200);
    // Not an upgrade: still the WebSocket route's 400, never a file lookup.
    assert_eq!(server.get("/ws").await.0, 400);
    assert_eq!(server.get("/ws/index.html").await.0, 400);
    let post = request(&server, "POST", "/").await;
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    let post = request(&server, "POST", "/healthz").await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));
    drop(crate::util::raw_joined(&server.url).await);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn without_a_web_dir_every_other_path_is_404() {
    let server = TestServer::start().await;
    let answer = request(&server, "GET", "/").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, NOT_FOUND);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_page_is_served_over_https_when_tls_is_on() {
    let site = Site::new();
    let mut config = test_config();
    config.web_dir = Some(site.web_dir());
    let (server, tls) = tls_server_with(config).await;
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let wasm = exchange(stream, "GET", "/pkg/x.wasm").await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.body, WASM);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_lobby_lists_games_and_rooms_publicly_without_figures() {
    // With an admin listener, /rooms leaves the game port; the lobby stays, for the pages.
    let server = TestServer::start_with_admin(test_config()).await;
    let mut player = tickwire_bot::Bot::connect(&server.room_url("lobby-a", None), "ann")
        .await
        .expect("joins");
    player.next_snapshot().await.expect("plays");
    let parity = format!("ws://{}/ws/lobby-b?game=parity", server.addr);
    let mut watcher = tickwire_bot::Bot::spectate(&parity, "eve")
        .await
        .expect("watches");
    watcher.next_snapshot().await.expect("watches");

    assert_eq!(
        server.get("/rooms").await.0,
        404,
        "/rooms is on the admin listener"
    );
    let (status, body) = server.get("/lobby").await;
    assert_eq!(status, 200, "{body}");
    let lobby: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        lobby["games"],
        serde_json::json!(["arena", "parity", "race"])
    );
    assert_eq!(lobby["default_game"], "arena");
    assert_eq!(
        lobby["rooms"],
        serde_json::json!([
            {"room": "lobby-a", "game": "arena", "scenario": "arena", "players": 1, "spectators": 0},
            {"room": "lobby-b", "game": "parity", "scenario": "parity-320", "players": 0, "spectators": 1},
        ]),
        "names, games and seats only: no ticks, timings or addresses"
    );
    drop((player, watcher));
    server.stop().await.expect("clean stop");
}
