//! Signed join tokens: with a secret configured, a Hello needs a valid token for its room;
//! missing, forged, wrong-room and expired tokens get typed rejections (then close 4001).

use crate::util::{TestServer, test_config};
use std::time::{SystemTime, UNIX_EPOCH};
use tickwire_bot::{Bot, BotError};
use tickwire_server::join_token::mint;
use tickwire_server::{JoinClaims, JoinSecret};
use tickwire_shared::{Hello, RejectReason};

fn secret(bytes: &[u8]) -> JoinSecret {
    JoinSecret::new(bytes).expect("16 bytes or more")
}

fn token(secret: &JoinSecret, room: &str, expires_in: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = JoinClaims {
        player: "player-7".into(),
        room: room.into(),
        expires_unix: now.saturating_add_signed(expires_in),
    };
    mint(secret, &claims).expect("mints")
}

async fn join_with(url: &str, token: Option<String>) -> Result<Bot, BotError> {
    let hello = Hello {
        token,
        ..Bot::hello("ann", false)
    };
    Bot::connect_with(url, hello).await
}

#[tokio::test]
async fn a_valid_token_admits_and_every_bad_one_gets_its_typed_rejection() {
    let key = secret(b"a secret that is long enough");
    let mut config = test_config();
    config.join_secret = Some(key.clone());
    let server = TestServer::start_with(config).await;

    let mut admitted = join_with(&server.url, Some(token(&key, "default", 60)))
        .await
        .expect("a valid token for /ws (the default room)");
    admitted.next_snapshot().await.expect("plays");

    let forged = token(&secret(b"some other secret, also long"), "default", 60);
    let cases = [
        (None, RejectReason::TokenRequired),
        (Some(forged), RejectReason::TokenInvalid),
        (
            Some(token(&key, "another-room", 60)),
            RejectReason::TokenInvalid,
        ),
        (Some(token(&key, "default", -1)), RejectReason::TokenExpired),
        (Some("not.a.token".into()), RejectReason::TokenInvalid),
    ];
    for (token, expected) in cases {
        match join_with(&server.url, token.clone()).await {
            Err(BotError::Rejected(reason)) => assert_eq!(reason, expected, "{token:?}"),
            other => panic!("{token:?}: expected {expected:?}, got {other:?}"),
        }
    }
    // A room's own token works in that room.
    let url = server.room_url("another-room", None);
    join_with(&url, Some(token(&key, "another-room", 60)))
        .await
        .expect("admitted to its room");
    server.stop().await.expect("clean stop");
}
