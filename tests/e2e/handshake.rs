//! Hello/Welcome, rejections, and what may come before Hello.

use crate::util::{TestServer, expect_close, next_server_message, raw_connect, send_client};
use futures_util::{SinkExt, StreamExt};
use tickwire_bot::{Bot, BotError};
use tickwire_shared::{
    ClientMessage, Hello, PROTOCOL_VERSION, RejectReason, ServerMessage, close_code,
};

#[tokio::test]
async fn hello_gets_welcome_then_a_full_snapshot_with_the_own_player() {
    let server = TestServer::start().await;
    let mut bot = Bot::connect(&server.url, "alice").await.expect("welcomed");
    assert_eq!(bot.welcome().tick_rate, 30);
    let schema = bot
        .welcome()
        .schema
        .as_ref()
        .expect("a generic client gets the schema");
    assert_eq!(schema.game, "arena");
    let movement = tickwire_arena::client::movement(bot.session()).expect("the arena's rules");
    assert!(movement.step_per_tick > 0);
    bot.next_snapshot().await.expect("a snapshot");
    let me = tickwire_arena::client::entity(bot.world(), bot.player().expect("joined as a player"))
        .expect("own player in the first snapshot");
    assert_eq!(me.kind, tickwire_arena::EntityKind::Player);
    assert!(me.hp > 0);
    assert!(
        bot.world().tick().is_some(),
        "the first snapshot applied and its checksum matched"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_version_mismatch_gets_a_typed_rejection_and_close_4001() {
    let server = TestServer::start().await;
    let wrong = PROTOCOL_VERSION + 1;
    match Bot::connect_with_version(&server.url, "old-client", wrong).await {
        Err(BotError::Rejected(RejectReason::VersionMismatch { server: s, client })) => {
            assert_eq!((s, client), (PROTOCOL_VERSION, wrong));
        }
        other => panic!("expected a version rejection, got {other:?}"),
    }
    let mut ws = raw_connect(&server.url).await;
    send_client(
        &mut ws,
        &ClientMessage::Hello(Hello {
            protocol_version: wrong,
            name: "x".into(),
            spectator: false,
            resume: None,
            token: None,
            schema_hash: None,
        }),
    )
    .await;
    assert!(matches!(
        next_server_message(&mut ws).await,
        Some(ServerMessage::Rejected(
            RejectReason::VersionMismatch { .. }
        ))
    ));
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, close_code::REJECTED);
    assert!(reason.contains("version"), "{reason}");
}

#[tokio::test]
async fn an_empty_or_overlong_name_is_rejected() {
    let server = TestServer::start().await;
    for name in ["", &"n".repeat(33)] {
        let result = Bot::connect(&server.url, name).await;
        assert!(
            matches!(result, Err(BotError::Rejected(RejectReason::InvalidName))),
            "{name:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn input_before_hello_is_closed_with_4004() {
    let server = TestServer::start().await;
    let mut ws = raw_connect(&server.url).await;
    send_client(
        &mut ws,
        &ClientMessage::Input(tickwire_arena::InputFrame::default().message()),
    )
    .await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (close_code::INVALID, "the first message must be Hello")
    );
}

#[tokio::test]
async fn an_upgrade_on_another_path_is_refused() {
    let server = TestServer::start().await;
    let url = server.url.replace("/ws", "/other");
    let err = tokio_tungstenite::connect_async(&url)
        .await
        .expect_err("no endpoint there");
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn connections_past_the_limit_are_dropped_at_accept() {
    let mut config = crate::util::test_config();
    config.limits.max_connections = 1;
    let server = TestServer::start_with(config).await;
    let mut first = Bot::connect(&server.url, "first")
        .await
        .expect("the one allowed connection");
    assert!(
        tokio_tungstenite::connect_async(&server.url).await.is_err(),
        "second connection refused"
    );
    first
        .next_snapshot()
        .await
        .expect("the first client is unaffected");
    drop(first);
}

#[tokio::test]
async fn a_spectator_gets_snapshots_without_a_player_and_may_not_send_inputs() {
    let server = TestServer::start().await;
    let mut watcher = Bot::spectate(&server.url, "watcher")
        .await
        .expect("welcomed");
    assert_eq!(watcher.player(), None);
    let mut player = Bot::connect(&server.url, "player").await.expect("welcomed");
    let player_id = player.player().expect("joined as a player");
    player.next_snapshot().await.expect("a snapshot");
    // The watcher sees the player and the drones, and nobody of its own.
    let mut seen = false;
    for _ in 0..30 {
        watcher.next_snapshot().await.expect("a snapshot");
        seen |= tickwire_arena::client::entity(watcher.world(), player_id).is_some();
    }
    assert!(seen, "the player appears in the spectator's world");
    let players = tickwire_arena::client::entities(watcher.world())
        .filter(|(_, s)| s.kind == tickwire_arena::EntityKind::Player)
        .count();
    assert_eq!(players, 1, "only the player, no entity for the spectator");
    assert_eq!(watcher.stats().desyncs, 0);

    let mut ws = raw_connect(&server.url).await;
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "sneaky".into(),
        spectator: true,
        resume: None,
        token: None,
        schema_hash: None,
    };
    send_client(&mut ws, &ClientMessage::Hello(hello)).await;
    assert!(matches!(
        next_server_message(&mut ws).await,
        Some(ServerMessage::Welcome(w)) if w.player.is_none()
    ));
    let input = tickwire_arena::InputFrame {
        sequence: 1,
        ..tickwire_arena::InputFrame::default()
    };
    send_client(&mut ws, &ClientMessage::Input(input.message())).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (close_code::INVALID, "spectators send no inputs")
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_client_built_with_the_rooms_schema_gets_a_welcome_without_it_and_decodes_by_its_own() {
    let server = TestServer::start().await;
    // A generic client learns the room's schema (the arena, with this server's rules).
    let generic = Bot::connect(&server.url, "generic")
        .await
        .expect("welcomed");
    let schema = generic.welcome().schema.clone().expect("the schema");
    let hash = schema.hash().expect("hashes");

    // A client built with that schema sends its hash: the Welcome then carries none.
    let mut ws = raw_connect(&server.url).await;
    let hello = Hello {
        schema_hash: Some(hash),
        ..Bot::hello("built-with", false)
    };
    send_client(&mut ws, &ClientMessage::Hello(hello.clone())).await;
    match next_server_message(&mut ws).await {
        Some(ServerMessage::Welcome(w)) => assert_eq!(w.schema, None),
        other => panic!("expected a Welcome, got {other:?}"),
    }

    // Through ClientSession::for_game, that client decodes and verifies with its own schema.
    let mut session = tickwire_shared::ClientSession::for_game(
        hello,
        tickwire_shared::ClientConfig::default(),
        schema,
    )
    .expect("a valid schema");
    let hello_bytes = session.poll_outgoing().expect("the Hello");
    let mut ws = raw_connect(&server.url).await;
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        hello_bytes.into(),
    ))
    .await
    .expect("sent");
    let mut snapshots = 0;
    while snapshots < 3 {
        let frame = match tokio::time::timeout(crate::util::SOON, ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes)))) => bytes,
            Ok(Some(Ok(_))) => continue,
            other => panic!("the connection ended: {other:?}"),
        };
        let event = session
            .receive(&frame, std::time::Duration::ZERO)
            .expect("a valid message");
        if let tickwire_shared::ClientEvent::Snapshot(_) = event {
            snapshots += 1;
        }
    }
    assert_eq!(session.welcome().and_then(|w| w.schema.as_ref()), None);
    assert_eq!(
        session.stats().desyncs,
        0,
        "decoded and verified by its own schema"
    );
    assert!(session.world().tick().is_some());
    server.stop().await.expect("clean stop");
}
