//! A link conditioner: every message waits `latency ± jitter` before it goes on, in each
//! direction, so bots on one machine feel a real network. Order is kept, as TCP keeps it: a
//! message that drew a short delay still waits for a slower one ahead of it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// One direction's delay: uniform in `latency - jitter ..= latency + jitter` (never below 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Mean one-way delay.
    pub latency: Duration,
    /// Largest deviation from `latency`, either way.
    pub jitter: Duration,
}

impl Link {
    /// Whether the link delays anything.
    pub fn is_instant(&self) -> bool {
        self.latency.is_zero() && self.jitter.is_zero()
    }
}

/// Messages in flight on one direction of a conditioned link.
#[derive(Debug)]
pub(crate) struct DelayLine<T> {
    link: Link,
    rng: StdRng,
    in_flight: VecDeque<(Instant, T)>,
}

impl<T> DelayLine<T> {
    pub(crate) fn new(link: Link) -> Self {
        Self {
            link,
            rng: StdRng::from_os_rng(),
            in_flight: VecDeque::new(),
        }
    }

    /// Sends `item` into the line at `now`.
    pub(crate) fn push(&mut self, now: Instant, item: T) {
        let jitter = self.link.jitter.as_secs_f64();
        let delay = self.link.latency.as_secs_f64() + self.rng.random_range(-jitter..=jitter);
        let mut due = now + Duration::from_secs_f64(delay.max(0.0));
        if let Some(&(ahead, _)) = self.in_flight.back() {
            due = due.max(ahead);
        }
        self.in_flight.push_back((due, item));
    }

    /// When the next item comes out, if any is in flight.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.in_flight.front().map(|&(due, _)| due)
    }

    /// The next item if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.next_due()? <= now {
            self.in_flight.pop_front().map(|(_, item)| item)
        } else {
            None
        }
    }

    /// The next item whether due or not (it is about to be sent).
    pub(crate) fn front(&self) -> Option<&T> {
        self.in_flight.front().map(|(_, item)| item)
    }

    /// Forgets everything in flight (the connection it was for is gone).
    pub(crate) fn clear(&mut self) {
        self.in_flight.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delays_stay_within_latency_and_jitter_and_order_is_kept() {
        let link = Link {
            latency: Duration::from_millis(80),
            jitter: Duration::from_millis(20),
        };
        let mut line = DelayLine::new(link);
        let start = Instant::now();
        for i in 0..1000u32 {
            line.push(start + Duration::from_millis(u64::from(i)), i);
        }
        let mut dues = Vec::new();
        let mut expected = 0;
        while let Some(due) = line.next_due() {
            let item = line.pop_due(due).expect("due");
            assert_eq!(item, expected, "in order");
            let sent = start + Duration::from_millis(u64::from(expected));
            dues.push(due - sent);
            expected += 1;
        }
        assert_eq!(expected, 1000);
        let (min, max) = (dues.iter().min(), dues.iter().max());
        assert!(min >= Some(&Duration::from_millis(60)), "{min:?}");
        assert!(max <= Some(&Duration::from_millis(100)), "{max:?}");
        assert!(
            max > Some(&Duration::from_millis(95)),
            "jitter is applied: {max:?}"
        );
    }

    #[tokio::test]
    async fn nothing_comes_out_before_it_is_due() {
        let mut line = DelayLine::new(Link {
            latency: Duration::from_millis(50),
            jitter: Duration::ZERO,
        });
        let now = Instant::now();
        line.push(now, "x");
        assert_eq!(line.pop_due(now + Duration::from_millis(49)), None);
        assert_eq!(line.pop_due(now + Duration::from_millis(50)), Some("x"));
    }
}
