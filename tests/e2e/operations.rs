//! The operations endpoints on the game port: /healthz, /readyz (503 while draining) and
//! /metrics (Prometheus text whose counters move while bots play).

use crate::util::{SOON, TestServer, get_from, raw_joined};
use futures_util::SinkExt;
use prometheus_parse::{Scrape, Value};
use std::time::Duration;
use tickwire_bot::Bot;
use tokio::time::timeout;

fn scrape(body: &str) -> Scrape {
    Scrape::parse(body.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text parses")
}

/// The value of an unlabelled counter or gauge.
fn value(scrape: &Scrape, metric: &str) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric)
        .unwrap_or_else(|| panic!("{metric} missing"));
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) => v,
        ref other => panic!("{metric} is not a counter or gauge: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_and_move_while_bots_play() {
    let server = TestServer::start().await;
    let mut bots = Vec::new();
    for name in ["a", "b", "c"] {
        let mut bot = Bot::connect(&server.url, name).await.expect("joins");
        bot.next_snapshot().await.expect("snapshot");
        bots.push(bot);
    }
    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, 200);
    let before = scrape(&body);
    for bot in &mut bots {
        for _ in 0..15 {
            bot.next_snapshot().await.expect("snapshot");
        }
    }
    let after = scrape(&server.get("/metrics").await.1);

    assert_eq!(value(&after, "tickwire_connected_clients"), 3.0);
    assert_eq!(value(&after, "tickwire_rooms"), 1.0);
    for counter in [
        "tickwire_bytes_out_total",
        "tickwire_messages_out_total",
        "tickwire_bytes_in_total",
        "tickwire_messages_in_total",
    ] {
        let (was, is) = (value(&before, counter), value(&after, counter));
        assert!(is > was, "{counter} did not move: {was} -> {is}");
    }
    assert_eq!(value(&after, "tickwire_desyncs_reported_total"), 0.0);
    let histogram_count = |metric: &str| {
        after
            .samples
            .iter()
            .find(|s| s.metric == metric)
            .map(|s| match &s.value {
                Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
                other => panic!("{metric} is not a histogram: {other:?}"),
            })
            .unwrap_or_else(|| panic!("{metric} missing"))
    };
    assert!(histogram_count("tickwire_tick_duration_seconds") >= 15.0);
    assert!(histogram_count("tickwire_snapshot_bytes") >= 15.0);
    let tick_series = after
        .samples
        .iter()
        .find(|s| s.metric == "tickwire_tick_duration_seconds")
        .expect("tick histogram");
    assert_eq!(tick_series.labels.get("room"), Some("default"));
    assert!(
        after.docs.contains_key("tickwire_connected_clients"),
        "HELP lines"
    );
    for bot in bots {
        bot.close().await;
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_503_while_draining_and_healthz_stays_200() {
    let mut server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.get("/readyz").await, (200, "ready\n".into()));
    // A client that never reads keeps the drain open for the close linger (about a second).
    let _stalled = raw_joined(&server.url).await;
    server.begin_shutdown();
    timeout(SOON, async {
        while server.get("/readyz").await.0 != 503 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("/readyz turns 503 on shutdown");
    assert_eq!(server.get("/healthz").await.0, 200, "alive while draining");
    let (status, _) = server.get("/ws").await;
    assert_eq!(status, 503, "no new sessions while draining");
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn post_drain_drains_and_stops_the_server_like_sigterm() {
    let server = TestServer::start().await;
    let mut ws = raw_joined(&server.url).await;
    assert_eq!(
        crate::util::request_from(server.addr, "GET", "/drain")
            .await
            .0,
        405,
        "a drain is a POST"
    );
    assert_eq!(
        crate::util::request_from(server.addr, "POST", "/drain").await,
        (202, "draining\n".into())
    );
    assert_eq!(crate::util::expect_close(&mut ws).await.0, 1001);
    server.exited().await.expect("a clean stop");
}

#[tokio::test]
async fn every_metric_the_grafana_dashboard_queries_is_exported() {
    let server = TestServer::start().await;
    // One kick, so the kick counter exists (it is created per close code on first use).
    let mut kicked = raw_joined(&server.url).await;
    kicked
        .send(tokio_tungstenite::tungstenite::Message::text("hi"))
        .await
        .expect("send");
    let _ = crate::util::expect_close(&mut kicked).await;
    let exported = scrape(&server.get("/metrics").await.1);
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/grafana/tickwire-dashboard.json"
    ))
    .expect("dashboard file");
    let mut queried: Vec<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("tickwire_"))
        .collect();
    queried.sort_unstable();
    queried.dedup();
    assert!(queried.len() >= 10, "{queried:?}");
    for metric in queried {
        // Histograms are queried by their `_bucket` series.
        let name = metric.strip_suffix("_bucket").unwrap_or(metric);
        assert!(
            exported.samples.iter().any(|s| s.metric == name),
            "the dashboard queries {metric}, which /metrics does not export"
        );
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_listener_rooms_and_metrics_leave_the_game_port() {
    let server = TestServer::start_with_admin(crate::util::test_config()).await;
    let admin = server.admin.expect("an admin listener");
    let mut bot = Bot::connect(&server.url, "a").await.expect("joins");
    bot.next_snapshot().await.expect("snapshot");
    for path in ["/rooms", "/metrics"] {
        assert_eq!(server.get(path).await.0, 404, "{path} on the game port");
        let (status, body) = get_from(admin, path).await;
        assert_eq!(status, 200, "{path} on the admin listener");
        assert!(body.contains("default"), "{path}: {body}");
    }
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            server.get(path).await.0,
            200,
            "{path} stays on the game port"
        );
        assert_eq!(
            get_from(admin, path).await.0,
            200,
            "{path} on the admin listener"
        );
    }
    assert_eq!(
        get_from(admin, "/ws").await.0,
        404,
        "no sessions on the admin listener"
    );
    assert_eq!(
        get_from(admin, "/index.html").await.0,
        404,
        "no web files there"
    );
    bot.close().await;
    server.stop().await.expect("clean stop");
}
