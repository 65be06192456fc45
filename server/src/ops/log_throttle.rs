//! Warnings that an attacker can trigger at will (a connection dropped at accept, say) are
//! logged at most once per interval, with the count of those left out, so a flood cannot fill
//! a disk with log lines.

use std::time::{Duration, Instant};

/// One kind of warning's throttle.
#[derive(Debug)]
pub(crate) struct LogThrottle {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    pub(crate) const fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// Whether to log the warning happening at `now`: `Some(n)` with the number left out since
    /// the last one logged, or `None` to leave this one out.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_carries_the_count_left_out() {
        let mut throttle = LogThrottle::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(throttle.admit(t0), Some(0));
        for i in 1..=999 {
            assert_eq!(throttle.admit(t0 + Duration::from_micros(i)), None);
        }
        assert_eq!(throttle.admit(t0 + Duration::from_secs(1)), Some(999));
        assert_eq!(throttle.admit(t0 + Duration::from_millis(1500)), None);
        assert_eq!(throttle.admit(t0 + Duration::from_secs(2)), Some(1));
    }
}
