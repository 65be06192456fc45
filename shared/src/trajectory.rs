//! Ballistic motion: an entity that flies in a straight line at a constant integer velocity
//! (a projectile) carries a [`Trajectory`] instead of a position that changes every tick. Its
//! fields are spawn-only, so it costs bytes when the entity appears (or comes into a client's
//! view) and when it goes, never in between; server and clients compute where it is at any
//! tick exactly, and [`crate::ClientSession::draw`] draws it there.

use crate::Tick;

/// Where an entity was at tick `launched` and how far it moves each tick, in the game's
/// integer units. Its position at tick `t` is `origin + velocity * (t - launched)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, crate::component::Component)]
pub struct Trajectory {
    /// Its position at `launched`.
    #[net(int(min = -1073741824, max = 1073741823), spawn_only)]
    pub origin: [i32; 2],
    /// Its move per tick.
    #[net(int(min = -1048576, max = 1048575), spawn_only)]
    pub velocity: [i32; 2],
    /// The tick of `origin`, as its bits ([`Tick`]'s `u32` cast to `i32`).
    #[net(int(min = -2147483648, max = 2147483647), spawn_only)]
    pub launched: i32,
}

impl Trajectory {
    /// A flight from `origin` at tick `launched`.
    #[must_use]
    pub fn new(origin: [i32; 2], velocity: [i32; 2], launched: Tick) -> Self {
        Self {
            origin,
            velocity,
            launched: launched.0 as i32,
        }
    }

    /// Ticks from `launched` to `tick`: negative before it (wrap-aware, within 2^31 ticks).
    #[must_use]
    pub fn elapsed(&self, tick: Tick) -> i64 {
        i64::from(tick.0.wrapping_sub(self.launched as u32) as i32)
    }

    /// Where it is at `tick` (saturating at the `i32` range).
    #[must_use]
    pub fn at(&self, tick: Tick) -> [i32; 2] {
        let elapsed = self.elapsed(tick);
        let axis = |i: usize| {
            let p = i64::from(self.origin[i]) + i64::from(self.velocity[i]) * elapsed;
            p.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        };
        [axis(0), axis(1)]
    }

    /// Where it is `elapsed` ticks (fractional) after `launched`: for drawing between ticks.
    #[must_use]
    pub fn at_elapsed(&self, elapsed: f64) -> [f64; 2] {
        let axis = |i: usize| f64::from(self.origin[i]) + f64::from(self.velocity[i]) * elapsed;
        [axis(0), axis(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;
    use proptest::prelude::*;

    #[test]
    fn it_moves_by_its_velocity_each_tick_across_the_tick_wrap() {
        let launched = Tick(u32::MAX - 1);
        let flight = Trajectory::new([100, -50], [7, 3], launched);
        assert_eq!(flight.at(launched), [100, -50]);
        assert_eq!(
            flight.at(Tick(3)),
            [100 + 5 * 7, -50 + 5 * 3],
            "5 ticks later, wrapped"
        );
        assert_eq!(
            flight.at(Tick(u32::MAX - 3)),
            [86, -56],
            "before its launch"
        );
        assert_eq!(flight.at_elapsed(2.5), [117.5, -42.5]);
    }

    proptest! {
        #[test]
        fn its_lanes_round_trip(
            x in -1073741824i32..=1073741823,
            y in -1073741824i32..=1073741823,
            vx in -1048576i32..=1048575,
            vy in -1048576i32..=1048575,
            tick in any::<u32>(),
        ) {
            let flight = Trajectory::new([x, y], [vx, vy], Tick(tick));
            let (mut lanes, mut strings) = (Vec::new(), Vec::new());
            flight.write(&mut lanes, &mut strings);
            prop_assert_eq!(Trajectory::read(&lanes, &strings), Some(flight));
            prop_assert_eq!(flight.at(Tick(tick)), [x, y]);
        }
    }
}
