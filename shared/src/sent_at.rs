//! When the server sent a tick's snapshots, for one-way latency where client and server share a
//! clock (a benchmark on one host). Across machines clocks differ: use Ping/Pong RTT instead.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::{Duration, SystemTime};

/// The server's wall clock (microseconds since the Unix epoch) modulo 2^32: it wraps about every
/// 71.6 minutes, which one-way latencies never approach. Travels as 4 little-endian bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SentAt(pub u32);

impl SentAt {
    /// The stamp for a wall-clock time in microseconds since the Unix epoch.
    #[must_use]
    pub fn from_unix_micros(micros: u64) -> Self {
        Self(micros as u32) // Keeps the low 32 bits: the documented wrap.
    }

    /// The stamp for a wall-clock time (a time before 1970 stamps 0). The caller reads the
    /// clock: this crate never does, so it runs where `SystemTime::now` is unavailable.
    #[must_use]
    pub fn from_system_time(time: SystemTime) -> Self {
        let since_epoch = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Self::from_unix_micros(u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX))
    }

    /// Time from this stamp to `received` (a stamp taken from the receiver's clock), or `None`
    /// when `received` is earlier, which only differing clocks explain.
    #[must_use]
    pub fn until(self, received: SentAt) -> Option<Duration> {
        let micros = received.0.wrapping_sub(self.0);
        (micros < 1 << 31).then(|| Duration::from_micros(u64::from(micros)))
    }
}

impl Serialize for SentAt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Fixed width: the low bits of a clock are effectively random, so a varint takes 5 bytes.
        self.0.to_le_bytes().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SentAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <[u8; 4]>::deserialize(deserializer).map(|b| Self(u32::from_le_bytes(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_survives_the_wrap_and_refuses_a_clock_running_backwards() {
        let sent = SentAt::from_unix_micros((1 << 32) - 100);
        let received = SentAt::from_unix_micros((1 << 32) + 400);
        assert_eq!(sent.until(received), Some(Duration::from_micros(500)));
        assert_eq!(received.until(sent), None);
    }
}
