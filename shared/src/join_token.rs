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

    /// A valid name: 1 to 32 of `A-Z a-z 0-9 - _`.
    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,32}"
    }

    /// Claims with valid names, expiring at `expires`.
    fn claims_expiring(expires: impl Strategy<Value = u64>) -> impl Strategy<Value = JoinClaims> {
        (name(), name(), expires).prop_map(|(player, room, expires_unix)| JoinClaims {
            player,
            room,
            expires_unix,
        })
    }

    /// A minted token presented for a room at a time (Unix seconds).
    #[derive(Clone, Debug)]
    struct Presented {
        claims: JoinClaims,
        token: String,
        room: String,
        now: u64,
    }

    impl Presented {
        fn new(claims: JoinClaims, room: String, now: u64) -> Self {
            let token = mint(&secret(), &claims).expect("valid names mint");
            Self {
                claims,
                token,
                room,
                now,
            }
        }

        fn verify(&self) -> Result<JoinClaims, TokenError> {
            verify(&secret(), &self.token, &self.room, at(self.now))
        }

        /// What the format says: the signed room only, strictly before the expiry.
        fn expected(&self) -> Result<JoinClaims, TokenError> {
            if self.room != self.claims.room {
                Err(TokenError::WrongRoom)
            } else if self.now >= self.claims.expires_unix {
                Err(TokenError::Expired)
            } else {
                Ok(self.claims.clone())
            }
        }
    }

    /// Minted tokens presented for their own room (mostly) or another one, at any time or right
    /// around the expiry: valid, expired and wrong-room cases all come up.
    fn presented() -> impl Strategy<Value = Presented> {
        claims_expiring(0..=10_000_000_000u64)
            .prop_flat_map(|claims| {
                let expires = claims.expires_unix;
                let room = prop_oneof![3 => Just(claims.room.clone()), 1 => name()];
                let now = prop_oneof![
                    0..=20_000_000_000u64,
                    expires.saturating_sub(2)..=expires.saturating_add(2),
                ];
                (Just(claims), room, now)
            })
            .prop_map(|(claims, room, now)| Presented::new(claims, room, now))
    }

    /// A minted token with one character replaced by a different one.
    fn tampered() -> impl Strategy<Value = (JoinClaims, String)> {
        (
            claims_expiring(1..=10_000_000_000u64),
            any::<prop::sample::Index>(),
            prop_oneof![
                4 => prop::char::ranges(vec!['0'..='9', 'A'..='Z', 'a'..='z'].into()),
                1 => prop::sample::select(vec!['-', '_', '.', '+', '/', '=']),
                1 => any::<char>(),
            ],
        )
            .prop_filter_map(
                "the replacement is the same character",
                |(claims, at, new)| {
                    let token = mint(&secret(), &claims).expect("valid names mint");
                    let chars: Vec<char> = token.chars().collect();
                    let i = at.index(chars.len());
                    (chars[i] != new).then(|| {
                        let mut altered = chars;
                        altered[i] = new;
                        (claims, altered.into_iter().collect())
                    })
                },
            )
    }

    #[derive(Clone, Debug)]
    enum Candidate {
        /// Any string at all: almost never in the token format.
        Random(String),
        /// A genuine token, valid or expired or for another room.
        Minted(Presented),
        /// A genuine token with one character changed.
        Tampered(JoinClaims, String),
    }

    proptest! {
        /// Every case is a token minted for the room it is presented for, before its expiry.
        #[test]
        fn a_minted_token_verifies_for_its_room_before_expiry_with_exactly_its_claims(
            (claims, now) in claims_expiring(1..=10_000_000_000u64)
                .prop_flat_map(|claims| {
                    let expires = claims.expires_unix;
                    (Just(claims), 0..expires)
                })
        ) {
            let token = mint(&secret(), &claims).expect("valid names mint");
            let room = claims.room.clone();
            prop_assert_eq!(verify(&secret(), &token, &room, at(now)), Ok(claims));
        }

        #[test]
        fn verify_never_panics_and_accepts_only_what_was_signed(
            candidate in prop_oneof![
                ".{0,200}".prop_map(Candidate::Random),
                presented().prop_map(Candidate::Minted),
                tampered().prop_map(|(claims, token)| Candidate::Tampered(claims, token)),
            ]
        ) {
            match candidate {
                Candidate::Random(token) => {
                    if let Ok(claims) = verify(&secret(), &token, "duel_7", at(0)) {
                        prop_assert_eq!(mint(&secret(), &claims), Ok(token));
                    }
                }
                Candidate::Minted(presented) => {
                    prop_assert_eq!(presented.verify(), presented.expected(), "{:?}", presented);
                }
                Candidate::Tampered(claims, token) => {
                    // Presented where and when the original would be accepted.
                    let verified = verify(&secret(), &token, &claims.room, at(0));
                    prop_assert!(verified.is_err(), "{token:?} was accepted as {verified:?}");
                }
            }
        }
    }
}
