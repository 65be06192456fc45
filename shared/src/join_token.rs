//! Signed join tokens: who may join which room until when, signed with a secret the server and
//! the game's backend share (HMAC-SHA256). When the server has a secret, every `Hello` must carry
//! a valid token for the room it joins. A Rust backend mints them with [`mint`]; the time is an
//! argument of [`verify`], as everywhere in this crate.
//!
//! Format (any language can mint one): `EXPIRES.ROOM.PLAYER.MAC`, where `EXPIRES` is the expiry
//! in Unix seconds (decimal), `ROOM` and `PLAYER` are 1 to 32 of `A-Z a-z 0-9 - _`, and `MAC` is
//! the unpadded base64url HMAC-SHA256, keyed with the secret, of
//! `tickwire-join-v1\nPLAYER\nROOM\nEXPIRES`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// The shared secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinSecret(Vec<u8>);

impl JoinSecret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_BYTES: usize = 16;

    /// A secret from its bytes; `None` when it is shorter than [`Self::MIN_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = bytes.into();
        (bytes.len() >= Self::MIN_BYTES).then_some(Self(bytes))
    }

    fn mac(&self, claims: &JoinClaims) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(
            format!(
                "tickwire-join-v1\n{}\n{}\n{}",
                claims.player, claims.room, claims.expires_unix
            )
            .as_bytes(),
        );
        mac
    }
}

impl fmt::Debug for JoinSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinSecret(..)")
    }
}

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinClaims {
    /// The player's id in the game's backend; the server uses it as the player's name.
    pub player: String,
    /// The room the token admits to.
    pub room: String,
    /// Not valid at or after this Unix time, in seconds.
    pub expires_unix: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not in the token format, or a name out of range.
    #[error("malformed join token")]
    Malformed,
    /// The signature does not match (forged, another secret, or altered).
    #[error("join token signature does not match")]
    BadSignature,
    /// Signed for another room.
    #[error("join token is for another room")]
    WrongRoom,
    /// Past its expiry.
    #[error("join token expired")]
    Expired,
}

/// Mints a token for `claims`. Player and room must be valid names (1 to 32 of
/// `A-Z a-z 0-9 - _`).
pub fn mint(secret: &JoinSecret, claims: &JoinClaims) -> Result<String, TokenError> {
    if !valid_name(&claims.player) || !valid_name(&claims.room) {
        return Err(TokenError::Malformed);
    }
    let mac = URL_SAFE_NO_PAD.encode(secret.mac(claims).finalize().into_bytes());
    Ok(format!(
        "{}.{}.{}.{mac}",
        claims.expires_unix, claims.room, claims.player
    ))
}

/// Checks a token for `room` at time `now`; returns its claims.
pub fn verify(
    secret: &JoinSecret,
    token: &str,
    room: &str,
    now: SystemTime,
) -> Result<JoinClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(expires), Some(token_room), Some(player), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenError::Malformed);
    };
    let expires_unix: u64 = expires.parse().map_err(|_| TokenError::Malformed)?;
    if expires_unix.to_string() != expires {
        // One spelling per token: no sign, no leading zeros.
        return Err(TokenError::Malformed);
    }
    if !valid_name(token_room) || !valid_name(player) {
        return Err(TokenError::Malformed);
    }
    let mac = URL_SAFE_NO_PAD
        .decode(mac)
        .map_err(|_| TokenError::Malformed)?;
    let claims = JoinClaims {
        player: player.to_owned(),
        room: token_room.to_owned(),
        expires_unix,
    };
    // Constant-time comparison.
    secret
        .mac(&claims)
        .verify_slice(&mac)
        .map_err(|_| TokenError::BadSignature)?;
    if claims.room != room {
        return Err(TokenError::WrongRoom);
    }
    let now_unix = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    if now_unix >= claims.expires_unix {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

fn valid_name(name: &str) -> bool {
    crate::room_path::is_valid_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn secret() -> JoinSecret {
        JoinSecret::new(*b"0123456789abcdef0123456789abcdef").expect("long enough")
    }

    fn claims() -> JoinClaims {
        JoinClaims {
            player: "ann-42".into(),
            room: "duel_7".into(),
            expires_unix: 2_000_000_000,
        }
    }

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn a_minted_token_verifies_for_its_room_until_it_expires() {
        let token = mint(&secret(), &claims()).expect("mints");
        assert!(token.starts_with("2000000000.duel_7.ann-42."), "{token}");
        assert_eq!(
            verify(&secret(), &token, "duel_7", at(1_999_999_999)),
            Ok(claims())
        );
        assert_eq!(
            verify(&secret(), &token, "duel_7", at(2_000_000_000)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&secret(), &token, "other", at(0)),
            Err(TokenError::WrongRoom)
        );
    }

    #[test]
    fn forged_or_altered_tokens_are_refused() {
        let token = mint(&secret(), &claims()).expect("mints");
        let other = JoinSecret::new(*b"another secret, just as long....").expect("long enough");
        assert_eq!(
            verify(&other, &token, "duel_7", at(0)),
            Err(TokenError::BadSignature)
        );
        let later = token.replacen("2000000000", "2000000001", 1);
        assert_eq!(
            verify(&secret(), &later, "duel_7", at(0)),
            Err(TokenError::BadSignature),
            "a longer expiry is not signed"
        );
        let impostor = token.replacen("ann-42", "bob-1", 1);
        assert_eq!(
            verify(&secret(), &impostor, "duel_7", at(0)),
            Err(TokenError::BadSignature)
        );
        assert!(
            JoinSecret::new(*b"short").is_none(),
            "secrets are 16 bytes or more"
        );
    }

    proptest! {
        #[test]
        fn verify_never_panics_and_accepts_only_what_was_signed(token in ".{0,200}") {
            let verified = verify(&secret(), &token, "duel_7", at(0));
            if let Ok(claims) = verified {
                prop_assert_eq!(mint(&secret(), &claims), Ok(token));
            }
        }
    }
}
