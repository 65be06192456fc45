//! A client's rate limit for one kind of message (inputs, pings, full-snapshot requests): a
//! token bucket (governor's GCRA). Messages over it are dropped; a client with `max_drops`
//! dropped within a second is disconnected (1008). For inputs and pings the bucket holds a
//! second's worth and `max_drops` is a second's worth too, so a client that keeps sending at
//! least twice the allowed rate for a second is disconnected.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    /// Over the rate: drop this message.
    Drop,
    /// `max_drops` dropped within a second: disconnect.
    Disconnect,
}

/// One client's budget for one kind of message.
#[derive(Debug)]
pub(crate) struct MessageRate {
    bucket: DefaultDirectRateLimiter,
    /// Drops allowed within [`FLOOD_WINDOW`] before the client is disconnected.
    max_drops: u32,
    window_start: Instant,
    drops_in_window: u32,
}

/// The window in which drops are counted.
const FLOOD_WINDOW: Duration = Duration::from_secs(1);

impl MessageRate {
    /// `per_sec` a second, a burst of a second's worth, and as many drops before a disconnect.
    pub(crate) fn per_second(per_sec: NonZeroU32) -> Self {
        Self::new(Quota::per_second(per_sec), per_sec.get())
    }

    pub(crate) fn new(quota: Quota, max_drops: u32) -> Self {
        Self {
            bucket: RateLimiter::direct(quota),
            max_drops,
            window_start: Instant::now(),
            drops_in_window: 0,
        }
    }

    /// Judges one message arriving at `now`.
    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        if self.bucket.check().is_ok() {
            return Verdict::Accept;
        }
        if now.duration_since(self.window_start) >= FLOOD_WINDOW {
            self.window_start = now;
            self.drops_in_window = 0;
        }
        self.drops_in_window += 1;
        if self.drops_in_window >= self.max_drops {
            Verdict::Disconnect
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_excess_is_dropped_and_a_flood_disconnects() {
        let mut rate = MessageRate::per_second(NonZeroU32::new(10).expect("nonzero"));
        let now = Instant::now();
        let verdicts: Vec<Verdict> = (0..25).map(|_| rate.check(now)).collect();
        assert!(
            verdicts[..10].iter().all(|v| *v == Verdict::Accept),
            "{verdicts:?}"
        );
        assert!(
            verdicts[10..19].iter().all(|v| *v == Verdict::Drop),
            "{verdicts:?}"
        );
        assert_eq!(
            verdicts[19],
            Verdict::Disconnect,
            "ten drops within a second"
        );
    }

    #[test]
    fn drops_spread_over_seconds_do_not_disconnect() {
        let mut rate = MessageRate::per_second(NonZeroU32::new(10).expect("nonzero"));
        let start = Instant::now();
        for _ in 0..10 {
            assert_eq!(rate.check(start), Verdict::Accept);
        }
        for second in 1..=5 {
            let later = start + Duration::from_secs(second) + Duration::from_millis(1);
            // Five drops a second: dropped, never disconnected.
            for _ in 0..5 {
                assert_ne!(rate.check(later), Verdict::Disconnect);
            }
        }
    }
}
