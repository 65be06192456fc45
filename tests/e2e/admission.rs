//! Who may connect: connections per IP address, and the browser origin allowlist.

use crate::util::{SOON, TestServer, test_config};
use std::time::Duration;
use tickwire_bot::Bot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test]
async fn connections_past_the_per_ip_limit_are_dropped_until_one_closes() {
    let mut config = test_config();
    config.limits.max_connections_per_ip = 2;
    // The test's clients are on loopback, which is exempt by default.
    config.limits.limit_loopback_per_ip = true;
    let server = TestServer::start_with(config).await;
    let first = Bot::connect(&server.url, "first").await.expect("first");
    let mut second = Bot::connect(&server.url, "second").await.expect("second");
    assert!(
        tokio_tungstenite::connect_async(&server.url).await.is_err(),
        "a third connection from 127.0.0.1 is dropped"
    );
    second
        .next_snapshot()
        .await
        .expect("the others are unaffected");
    first.close().await;
    tokio::time::timeout(SOON, async {
        while Bot::connect(&server.url, "third").await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a freed slot lets the next one in");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn an_upgrade_from_an_origin_not_on_the_allowlist_gets_403() {
    let mut config = test_config();
    config.allowed_origins = vec!["https://game.example".into()];
    let server = TestServer::start_with(config).await;
    let with_origin = |origin: &'static str| {
        let mut request = server.url.as_str().into_client_request().expect("request");
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_static(origin));
        request
    };
    let refused = tokio_tungstenite::connect_async(with_origin("https://evil.example"))
        .await
        .expect_err("refused");
    assert!(refused.to_string().contains("403"), "{refused}");
    tokio_tungstenite::connect_async(with_origin("https://GAME.example"))
        .await
        .expect("the allowed origin (ASCII case-insensitive)");
    // Clients that send no Origin (bots, native games) are not browsers: not affected.
    Bot::connect(&server.url, "native")
        .await
        .expect("no Origin header");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn an_oversized_request_head_gets_431_and_another_websocket_version_426() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = crate::util::TestServer::start().await;
    let exchange = |request: Vec<u8>| async move {
        let mut stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        stream.write_all(&request).await.expect("request");
        let mut response = vec![0; 64];
        let n = stream.read(&mut response).await.expect("response");
        String::from_utf8_lossy(&response[..n]).into_owned()
    };
    let mut huge = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 9000));
    huge.extend_from_slice(b"\r\n\r\n");
    let response = exchange(huge).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    let version_8 = b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
        Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let response = exchange(version_8.to_vec()).await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    server.stop().await.expect("clean stop");
}
