//! Join tokens are good for one seat: a token that opened a seat is remembered until it
//! expires, and a second Hello with it is refused (`TokenReplayed`). The memory is bounded
//! (`max_used_join_tokens`); when it is full of tokens that have not expired yet, new tokens are
//! refused (`ServerBusy`) rather than forgotten, since a forgotten token could be replayed.
//! A Hello that resumes a seat is exempt: the seat's resume token already proves who it is.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Mutex, PoisonError};

/// The tokens that opened a seat and have not expired, by their signature.
#[derive(Debug)]
pub(crate) struct UsedTokens {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    signatures: HashSet<String>,
    /// The same signatures, soonest expiry first, to forget them when they expire.
    by_expiry: BinaryHeap<Reverse<(u64, String)>>,
}

/// Why a token cannot open a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It opened one already.
    Replayed,
    /// `capacity` unexpired tokens are remembered already.
    Full,
}

impl UsedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// Marks the token with this signature, expiring at `expires_unix`, as used at `now_unix`.
    pub(crate) fn take(
        &self,
        signature: &str,
        expires_unix: u64,
        now_unix: u64,
    ) -> Result<(), Refusal> {
        let mut inner = self.lock();
        inner.forget_expired(now_unix);
        if inner.signatures.contains(signature) {
            return Err(Refusal::Replayed);
        }
        if inner.signatures.len() >= self.capacity {
            return Err(Refusal::Full);
        }
        inner.signatures.insert(signature.to_owned());
        inner
            .by_expiry
            .push(Reverse((expires_unix, signature.to_owned())));
        Ok(())
    }

    /// Makes a token usable again: its seat was refused (a full room, say) after `take`.
    pub(crate) fn give_back(&self, signature: &str) {
        // Its `by_expiry` entry stays until the expiry and then finds nothing to remove.
        self.lock().signatures.remove(signature);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn forget_expired(&mut self, now_unix: u64) {
        while let Some(Reverse((expires, _))) = self.by_expiry.peek() {
            if *expires > now_unix {
                break;
            }
            if let Some(Reverse((_, signature))) = self.by_expiry.pop() {
                self.signatures.remove(&signature);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_one_seat_until_it_expires() {
        let used = UsedTokens::new(10);
        assert_eq!(used.take("a", 100, 50), Ok(()));
        assert_eq!(used.take("a", 100, 60), Err(Refusal::Replayed));
        assert_eq!(used.take("b", 100, 60), Ok(()), "another token");
        used.give_back("b");
        assert_eq!(
            used.take("b", 100, 61),
            Ok(()),
            "given back after a refused seat"
        );
        // Expired tokens are refused by their signature check before they get here; their
        // memory is freed.
        assert_eq!(used.take("c", 200, 100), Ok(()));
        assert_eq!(used.lock().signatures.len(), 1, "a and b forgotten at 100");
    }

    #[test]
    fn a_full_memory_refuses_new_tokens_until_some_expire() {
        let used = UsedTokens::new(2);
        assert_eq!(used.take("a", 100, 0), Ok(()));
        assert_eq!(used.take("b", 200, 0), Ok(()));
        assert_eq!(used.take("c", 300, 50), Err(Refusal::Full));
        assert_eq!(used.take("c", 300, 100), Ok(()), "a expired");
        assert_eq!(
            used.take("d", 300, 100),
            Err(Refusal::Full),
            "b and c still hold"
        );
    }
}
