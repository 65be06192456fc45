//! wss:// built in: with a certificate (made here, at test time) the port speaks TLS: bots play
//! and resume over it, the HTTP endpoints answer over https, and plain ws:// is refused.

use crate::util::{CutProxy, TestServer, test_config};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use std::sync::Arc;
use tickwire_bot::Bot;
use tickwire_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server with a fresh self-signed certificate for 127.0.0.1, and a client config trusting it.
async fn tls_server() -> (TestServer, Arc<rustls::ClientConfig>) {
    tls_server_with(test_config()).await
}

/// [`tls_server`] with the given settings.
pub(crate) async fn tls_server_with(
    mut config: ServerConfig,
) -> (TestServer, Arc<rustls::ClientConfig>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("certificate");
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    config.tls =
        Some(tickwire_server::tls::server_config_from_der(vec![cert.clone()], key).expect("tls"));
    let server = TestServer::start_with(config).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("trusted");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    (server, Arc::new(client))
}

fn wss(url: &str) -> String {
    url.replacen("ws://", "wss://", 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_plays_over_wss_and_resumes_after_a_cut() {
    let (server, tls) = tls_server().await;
    let proxy = CutProxy::start(&server).await;
    let hello = Bot::hello("secure", false);
    let mut bot = Bot::connect_with_tls(&wss(&proxy.url), hello, Some(tls))
        .await
        .expect("joins over wss");
    for _ in 0..30 {
        bot.next_snapshot().await.expect("snapshots over TLS");
    }
    let player = bot.player();
    proxy.cut();
    assert!(crate::util::until_lost(&mut bot).await.is_connection_lost());
    bot.resume(&wss(&proxy.url))
        .await
        .expect("resumed over wss");
    assert_eq!(bot.player(), player);
    for _ in 0..30 {
        bot.next_snapshot().await.expect("snapshots again");
    }
    assert_eq!(bot.stats().desyncs, 0);
    bot.close().await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_http_endpoints_answer_over_https_and_plain_websocket_is_refused() {
    let (server, tls) = tls_server().await;
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok\n"), "{response}");

    assert!(
        tokio_tungstenite::connect_async(&server.url).await.is_err(),
        "plain ws:// to a TLS port"
    );
    server.stop().await.expect("clean stop");
}
