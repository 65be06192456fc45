//! Each client's input rate limit: a token bucket (governor's GCRA) of `max_inputs_per_sec`
//! with a burst of one second's worth. Inputs over it are dropped and counted; a client that
//! keeps sending at least twice the allowed rate for a second is disconnected.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// What to do with one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    /// Over the rate: drop this input.
    Drop,
    /// Over the rate for a whole second's worth of extra inputs: disconnect.
    Disconnect,
}

/// One client's input budget.
#[derive(Debug)]
pub(crate) struct InputRate {
    bucket: DefaultDirectRateLimiter,
    /// Drops allowed within [`FLOOD_WINDOW`] before the client is disconnected.
    max_drops: u32,
    window_start: Instant,
    drops_in_window: u32,
}

/// The window in which drops are counted.
const FLOOD_WINDOW: Duration = Duration::from_secs(1);

impl InputRate {
    pub(crate) fn new(max_inputs_per_sec: NonZeroU32) -> Self {
        Self {
            bucket: RateLimiter::direct(Quota::per_second(max_inputs_per_sec)),
            max_drops: max_inputs_per_sec.get(),
            window_start: Instant::now(),
            drops_in_window: 0,
        }
    }

    /// Judges one input arriving at `now`.
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
        let mut rate = InputRate::new(NonZeroU32::new(10).expect("nonzero"));
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
        let mut rate = InputRate::new(NonZeroU32::new(10).expect("nonzero"));
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
