//! The simulation tick counter.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// A simulation tick number.
///
/// Wrap rule: ticks count up by one per step and wrap from `u32::MAX` to 0 (at 30 Hz that is after
/// about 4.5 years). Comparisons are wrap-aware: `a` is newer than `b` when `a - b` (wrapping) is
/// in `1..2^31`, so any two ticks less than 2^31 apart compare correctly across the wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick(pub u32);

impl Tick {
    /// The tick after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// How many ticks `self` is ahead of `earlier` (wrapping).
    #[must_use]
    pub fn since(self, earlier: Tick) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// Wrap-aware ordering: see the type's wrap rule.
    #[must_use]
    pub fn wrapping_cmp(self, other: Tick) -> Ordering {
        match self.since(other) {
            0 => Ordering::Equal,
            d if d < 1 << 31 => Ordering::Greater,
            _ => Ordering::Less,
        }
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_survives_the_wrap() {
        let before_wrap = Tick(u32::MAX - 1);
        let after_wrap = before_wrap.next().next().next();
        assert_eq!(after_wrap, Tick(1));
        assert_eq!(after_wrap.wrapping_cmp(before_wrap), Ordering::Greater);
        assert_eq!(before_wrap.wrapping_cmp(after_wrap), Ordering::Less);
        assert_eq!(after_wrap.since(before_wrap), 3);
        assert_eq!(Tick(7).wrapping_cmp(Tick(7)), Ordering::Equal);
    }
}
