//! [`LeaseClock`]: until when this node may tick a room whose lease it holds, on its own
//! monotonic clock. The room loop asks it before every tick; the renewer moves it on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The deadline of one lease: ticking stops at it unless a renewal moved it on first.
#[derive(Debug)]
pub(crate) struct LeaseClock {
    origin: Instant,
    /// Milliseconds after `origin` until which the room may tick; 0 once revoked.
    until_ms: AtomicU64,
}

impl LeaseClock {
    /// A clock that allows ticking until `deadline`.
    pub(crate) fn until(deadline: Instant) -> Self {
        let origin = Instant::now();
        Self {
            origin,
            until_ms: AtomicU64::new(ms_after(origin, deadline)),
        }
    }

    /// Whether the room may still tick at `now`.
    pub(crate) fn allows(&self, now: Instant) -> bool {
        let until = self.until_ms.load(Ordering::Acquire);
        until != 0 && now < self.origin + Duration::from_millis(until)
    }

    /// After a renewal: ticking may go on until `deadline`. Never moves a revoked clock.
    pub(crate) fn extend_to(&self, deadline: Instant) {
        let ms = ms_after(self.origin, deadline);
        let _ = self
            .until_ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |until| {
                (until != 0).then_some(ms)
            });
    }

    /// The lease is gone (fenced, released): no more ticks.
    pub(crate) fn revoke(&self) {
        self.until_ms.store(0, Ordering::Release);
    }
}

/// Milliseconds from `origin` to `deadline`, at least 1 (0 means revoked).
fn ms_after(origin: Instant, deadline: Instant) -> u64 {
    let ms = deadline.saturating_duration_since(origin).as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_allows_ticks_until_its_deadline_and_none_once_revoked() {
        let now = Instant::now();
        let clock = LeaseClock::until(now + Duration::from_secs(2));
        assert!(clock.allows(now + Duration::from_millis(1900)));
        assert!(!clock.allows(now + Duration::from_millis(2100)));
        clock.extend_to(now + Duration::from_secs(5));
        assert!(clock.allows(now + Duration::from_millis(4900)));
        clock.revoke();
        assert!(!clock.allows(now));
        clock.extend_to(now + Duration::from_secs(9));
        assert!(!clock.allows(now), "a revoked lease stays revoked");
    }
}
