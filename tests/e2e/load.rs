//! Many bots for hundreds of ticks.

use crate::util::{TestServer, test_config};
use std::time::Duration;
use tickwire_bot::{Behaviour, BotConfig, run_bots};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_for_hundreds_of_ticks_match_every_checksum() {
    let mut config = test_config();
    config.scenario.tick_rate = 60;
    let server = TestServer::start_with(config).await;
    let summary = run_bots(&BotConfig {
        url: server.url.clone(),
        bots: 20,
        duration: Duration::from_secs(6),
        behaviour: Behaviour::Fire,
        progress: false,
    })
    .await;
    assert_eq!(summary.connected, 20, "{summary}");
    assert_eq!(summary.errors, 0, "{summary}");
    assert_eq!(summary.desyncs, 0, "{summary}");
    // 6 s at 60 Hz is 360 ticks per bot; "hundreds of ticks" with wide slack for a busy machine.
    assert!(summary.snapshots >= 20 * 200, "{summary}");
    assert!(summary.success());
    server.stop().await.expect("clean stop");
}
