//! What the server checks in every Hello of a server with a join secret: never panics, and a
//! token it accepts is exactly the one `mint` makes for its claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};
use tickwire_shared::join_token::{JoinSecret, mint, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let secret = JoinSecret::new(*b"fuzzing secret, long enough").expect("long enough");
    let room = token.split('.').nth(1).unwrap_or("default");
    if let Ok(claims) = verify(&secret, token, room, UNIX_EPOCH + Duration::from_secs(1)) {
        assert_eq!(mint(&secret, &claims).as_deref(), Ok(token));
    }
});
