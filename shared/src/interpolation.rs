//! Snapshot interpolation for remote entities: they are drawn a little in the past, between two
//! snapshots already received, so they move smoothly however unevenly snapshots arrive.
//!
//! The render clock runs in ticks: `render tick = newest tick the local clock says the server has
//! reached - delay`. The local clock is tied to the server's ticks by the earliest arrival seen
//! (jitter only ever delays a snapshot), rising slowly so a longer path is followed too. An entity
//! appears when the render clock reaches the snapshot that created it and disappears when it
//! reaches the one that removed it. Past the newest snapshot, entities are extrapolated along
//! their last velocity for a capped time, then held: that is a *stall*, and it is counted.

use crate::entity::STEPS_PER_UNIT;
use crate::{EntityId, EntityKind, EntityState, Tick};
use glam::Vec2;
use std::collections::VecDeque;
use std::time::Duration;

/// How fast the estimate of the earliest arrival may rise, in seconds per second: it follows a
/// path that got slower within seconds, yet one late snapshot barely moves it.
const ARRIVAL_RISE_PER_SEC: f64 = 0.05;

/// Snapshots kept at most (also bounds memory when the render clock lags far behind).
const MAX_BUFFERED: usize = 64;

/// An entity as drawn this frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderedEntity {
    /// Its id.
    pub id: EntityId,
    /// What it is.
    pub kind: EntityKind,
    /// Position in world units.
    pub pos: Vec2,
    /// Aim as a fraction of a full turn, 0.0..1.0 (0 is +x, 0.25 is +y).
    pub aim: f32,
    /// Hit points.
    pub hp: u8,
    /// Score.
    pub score: u16,
}

impl RenderedEntity {
    /// An entity drawn exactly as replicated.
    #[must_use]
    pub fn from_state(id: EntityId, state: &EntityState) -> Self {
        Self {
            id,
            kind: state.kind,
            pos: state.pos.as_vec2() / STEPS_PER_UNIT,
            aim: f32::from(state.aim) / 65536.0,
            hp: state.hp,
            score: state.score,
        }
    }
}

/// Counters of the render clock.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InterpolationStats {
    /// Times the render clock ran past the newest snapshot (entities extrapolated, then held).
    pub stalls: u64,
    /// Total time spent past the newest snapshot.
    pub stalled: Duration,
}

/// One snapshot's entities, by tick counted without wrapping.
#[derive(Clone, Debug)]
struct Frame {
    tick: i64,
    entities: Vec<(EntityId, EntityState)>,
}

/// Received snapshots and the render clock that plays them back.
#[derive(Clone, Debug)]
pub struct Interpolation {
    tick_secs: f64,
    delay_ticks: f64,
    max_extrapolation_ticks: f64,
    /// Moves faster than this (1/64 units per tick) are jumps, such as respawns: not
    /// interpolated or extrapolated.
    jump_per_tick: f32,
    frames: VecDeque<Frame>,
    newest: Option<Tick>,
    /// Local time (seconds) at which tick 0 would have arrived by the earliest path seen.
    tick_zero_at: Option<f64>,
    last_arrival: f64,
    /// The render clock only moves forward.
    render_tick: f64,
    last_advance: Option<Duration>,
    stalled: bool,
    stats: InterpolationStats,
}

impl Interpolation {
    /// A render clock for snapshots every `tick` that draws `delay_ticks` behind the newest,
    /// extrapolates at most `max_extrapolation_ticks` past it, and treats moves faster than
    /// `jump_per_tick` (1/64 units per tick) as jumps. Negative or NaN tick counts count as 0.
    #[must_use]
    pub fn new(
        tick: Duration,
        delay_ticks: f64,
        max_extrapolation_ticks: f64,
        jump_per_tick: f32,
    ) -> Self {
        Self {
            tick_secs: tick.as_secs_f64().max(1e-6),
            // `max` also turns NaN into 0.
            delay_ticks: delay_ticks.max(0.0),
            max_extrapolation_ticks: max_extrapolation_ticks.max(0.0),
            jump_per_tick,
            frames: VecDeque::new(),
            newest: None,
            tick_zero_at: None,
            last_arrival: 0.0,
            render_tick: f64::NEG_INFINITY,
            last_advance: None,
            stalled: false,
            stats: InterpolationStats::default(),
        }
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> InterpolationStats {
        self.stats
    }

    /// Buffers the world as of snapshot `tick`, which arrived at `now`.
    pub fn push(
        &mut self,
        tick: Tick,
        entities: impl Iterator<Item = (EntityId, EntityState)>,
        now: Duration,
    ) {
        let unwrapped = match (self.newest, self.frames.back()) {
            (Some(newest), Some(back)) => back.tick + i64::from(tick.since(newest) as i32),
            _ => i64::from(tick.0),
        };
        if self
            .frames
            .back()
            .is_some_and(|back| unwrapped <= back.tick)
        {
            return; // Not newer: nothing to add (snapshots arrive in order).
        }
        self.newest = Some(tick);
        let arrival = now.as_secs_f64();
        let sample = arrival - unwrapped as f64 * self.tick_secs;
        let estimate = match self.tick_zero_at {
            Some(at) => {
                let risen = at + (arrival - self.last_arrival).max(0.0) * ARRIVAL_RISE_PER_SEC;
                // A path slower by more than the delay would starve the clock: follow it at once.
                if sample - risen > self.delay_ticks * self.tick_secs {
                    sample
                } else {
                    risen.min(sample)
                }
            }
            None => sample,
        };
        self.tick_zero_at = Some(estimate);
        self.last_arrival = arrival;
        self.frames.push_back(Frame {
            tick: unwrapped,
            entities: entities.collect(),
        });
        while self.frames.len() > MAX_BUFFERED {
            self.frames.pop_front();
        }
    }

    /// The render tick at `now` (fractional), or `None` before the first snapshot.
    fn render_tick_at(&self, now: Duration) -> Option<f64> {
        let at = self.tick_zero_at?;
        let target = (now.as_secs_f64() - at) / self.tick_secs - self.delay_ticks;
        Some(target.max(self.render_tick))
    }

    /// Moves the render clock to `now`: drops snapshots it has passed and counts stalls.
    pub fn advance(&mut self, now: Duration) {
        let Some(render_tick) = self.render_tick_at(now) else {
            return;
        };
        self.render_tick = render_tick;
        let elapsed = self
            .last_advance
            .map_or(Duration::ZERO, |last| now.saturating_sub(last));
        self.last_advance = Some(now);
        while self.frames.len() > 2 && self.frames[1].tick as f64 <= render_tick {
            self.frames.pop_front();
        }
        let past_newest = self
            .frames
            .back()
            .is_some_and(|newest| render_tick > newest.tick as f64);
        if past_newest {
            if !self.stalled {
                self.stats.stalls += 1;
            }
            self.stats.stalled += elapsed;
        }
        self.stalled = past_newest;
    }

    /// Whether the render clock is past the newest snapshot (as of the last
    /// [`Interpolation::advance`]).
    #[must_use]
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// The entities to draw at `now`, except `skip` (the locally predicted player).
    pub fn sample(&self, now: Duration, skip: Option<EntityId>, out: &mut Vec<RenderedEntity>) {
        out.clear();
        let Some(render_tick) = self.render_tick_at(now) else {
            return;
        };
        let Some(newest) = self.frames.back() else {
            return;
        };
        let keep = |id: &EntityId| Some(*id) != skip;
        // The last snapshot at or before the render tick; before the first, the first is held.
        let from_index = self
            .frames
            .iter()
            .rposition(|f| f.tick as f64 <= render_tick)
            .unwrap_or(0);
        let from = &self.frames[from_index];
        match self.frames.get(from_index + 1) {
            Some(to) if render_tick >= from.tick as f64 => {
                let t = ((render_tick - from.tick as f64) / (to.tick - from.tick) as f64) as f32;
                // Entities only in `from` were removed by `to` and stay until it; entities only
                // in `to` were created by it and wait for it.
                let ticks = (to.tick - from.tick) as f32;
                for ((id, a), b) in pairs(&from.entities, &to.entities) {
                    if keep(&id) {
                        out.push(self.between(id, &a, b.as_ref(), t, ticks));
                    }
                }
            }
            Some(_) => out.extend(
                from.entities
                    .iter()
                    .filter(|(id, _)| keep(id))
                    .map(|(id, s)| RenderedEntity::from_state(*id, s)),
            ),
            None => {
                let ahead =
                    (render_tick - newest.tick as f64).clamp(0.0, self.max_extrapolation_ticks);
                let before = self.frames.len().checked_sub(2).map(|i| &self.frames[i]);
                for (id, state) in newest.entities.iter().filter(|(id, _)| keep(id)) {
                    let mut drawn = RenderedEntity::from_state(*id, state);
                    if let Some(before) = before
                        && let Ok(i) = before.entities.binary_search_by_key(id, |(id, _)| *id)
                    {
                        let step = state.pos.as_vec2() - before.entities[i].1.pos.as_vec2();
                        let per_tick = step / (newest.tick - before.tick) as f32;
                        if per_tick.length() <= self.jump_per_tick {
                            drawn.pos += per_tick * ahead as f32 / STEPS_PER_UNIT;
                        }
                    }
                    out.push(drawn);
                }
            }
        }
    }

    /// An entity `t` (0..1) of the way from `a` to `b`, `ticks` later (held at `a` without `b`,
    /// or when the move is a jump).
    fn between(
        &self,
        id: EntityId,
        a: &EntityState,
        b: Option<&EntityState>,
        t: f32,
        ticks: f32,
    ) -> RenderedEntity {
        let mut drawn = RenderedEntity::from_state(id, a);
        let Some(b) = b else {
            return drawn;
        };
        // In floats: positions from the network may be anywhere in i32.
        let step = b.pos.as_vec2() - a.pos.as_vec2();
        if step.length() <= self.jump_per_tick * ticks {
            drawn.pos = (a.pos.as_vec2() + step * t) / STEPS_PER_UNIT;
        }
        // The short way round the circle.
        let turn = f32::from(b.aim.wrapping_sub(a.aim) as i16) / 65536.0;
        drawn.aim = (drawn.aim + turn * t).rem_euclid(1.0);
        drawn
    }
}

/// Each entity of `from` (sorted by id) with its state in `to` (sorted by id), if any.
fn pairs<'a>(
    from: &'a [(EntityId, EntityState)],
    to: &'a [(EntityId, EntityState)],
) -> impl Iterator<Item = ((EntityId, EntityState), Option<EntityState>)> + 'a {
    let mut rest = to;
    from.iter().map(move |&(id, state)| {
        let skip = rest.partition_point(|(other, _)| *other < id);
        rest = &rest[skip..];
        let matched = rest
            .first()
            .filter(|(other, _)| *other == id)
            .map(|(_, s)| *s);
        ((id, state), matched)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorldState;
    use glam::IVec2;

    const TICK: Duration = Duration::from_micros(33_333);

    fn world(entities: &[(u32, i32)]) -> WorldState {
        let mut world = WorldState::new();
        for &(id, x) in entities {
            world.insert(
                EntityId(id),
                EntityState::new(EntityKind::Drone, IVec2::new(x, 0)),
            );
        }
        world
    }

    fn at_ms(ms: f64) -> Duration {
        Duration::from_secs_f64(ms / 1000.0)
    }

    fn drawn(interpolation: &Interpolation, now: Duration) -> Vec<(u32, f32)> {
        let mut out = Vec::new();
        interpolation.sample(now, None, &mut out);
        out.iter().map(|e| (e.id.0, e.pos.x)).collect()
    }

    /// Ticks 0..n, one every 33.3 ms, arriving 50 ms after they were made plus `jitter(i)`:
    /// entity 1 moves 64 steps (1 unit) per tick.
    fn received(n: u32, jitter: impl Fn(u32) -> f64) -> Interpolation {
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 64.0 * 8.0);
        for i in 0..n {
            let arrival = 50.0 + f64::from(i) * 33.333 + jitter(i);
            interpolation.push(
                Tick(i),
                world(&[(1, 64 * i as i32)]).iter().map(|(id, s)| (id, *s)),
                at_ms(arrival),
            );
        }
        interpolation
    }

    #[test]
    fn entities_are_drawn_three_ticks_behind_the_newest_and_between_snapshots() {
        let mut interpolation = received(10, |_| 0.0);
        // Tick 9 arrived at 350 ms; 16.7 ms later the clock says tick 9.5, drawn at 6.5.
        let now = at_ms(350.0 + 16.667);
        interpolation.advance(now);
        let [(1, x)] = drawn(&interpolation, now)[..] else {
            panic!("one entity");
        };
        assert!((x - 6.5).abs() < 0.01, "drawn at {x}");
        assert_eq!(interpolation.stats().stalls, 0);
    }

    #[test]
    fn jitter_below_the_delay_causes_no_stall_and_motion_never_goes_back() {
        // Up to 40 ms late, in a pattern.
        let mut interpolation = received(0, |_| 0.0);
        let mut last_x = f32::MIN;
        for i in 0..300u32 {
            let arrival = 50.0 + f64::from(i) * 33.333 + f64::from((i * 7919) % 41);
            interpolation.push(
                Tick(i),
                world(&[(1, 64 * i as i32)]).iter().map(|(id, s)| (id, *s)),
                at_ms(arrival),
            );
            for frame in 0..2 {
                let now = at_ms(arrival + f64::from(frame) * 8.0);
                interpolation.advance(now);
                if let [(1, x)] = drawn(&interpolation, now)[..] {
                    assert!(x >= last_x, "went back from {last_x} to {x}");
                    last_x = x;
                }
            }
        }
        assert_eq!(interpolation.stats().stalls, 0);
        assert!(last_x > 290.0 - 5.0, "kept up: {last_x}");
    }

    #[test]
    fn created_and_removed_entities_appear_and_vanish_when_the_clock_reaches_them() {
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 512.0);
        interpolation.push(
            Tick(0),
            world(&[(1, 0)]).iter().map(|(id, s)| (id, *s)),
            at_ms(0.0),
        );
        interpolation.push(
            Tick(1),
            world(&[(1, 0), (2, 0)]).iter().map(|(id, s)| (id, *s)),
            at_ms(33.333),
        );
        interpolation.push(
            Tick(2),
            world(&[(2, 0)]).iter().map(|(id, s)| (id, *s)),
            at_ms(66.667),
        );
        let ids = |ms: f64| -> Vec<u32> {
            drawn(&interpolation, at_ms(ms))
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        // The clock reaches tick 0.5 at 116.7 ms (3.5 ticks after tick 0 arrived).
        assert_eq!(ids(116.7), vec![1], "2 is not created yet");
        assert_eq!(
            ids(150.0),
            vec![1, 2],
            "between ticks 1 and 2: 1 is still there"
        );
        assert_eq!(ids(166.67 + 20.0), vec![2], "tick 2 removed 1");
    }

    #[test]
    fn fast_movers_are_interpolated_and_only_teleports_are_held() {
        // Per tick: a running player 427 steps, a projectile 1280, a respawn 40000 in one tick.
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 64.0 * 32.0);
        let at = |tick: i32, respawned: bool| {
            let mut world = world(&[(1, 427 * tick), (2, 1280 * tick)]);
            let x = if respawned { 40_000 } else { 0 };
            world.insert(
                EntityId(3),
                EntityState::new(EntityKind::Player, IVec2::new(x, 0)),
            );
            world
        };
        interpolation.push(
            Tick(0),
            at(0, false).iter().map(|(id, s)| (id, *s)),
            at_ms(0.0),
        );
        interpolation.push(
            Tick(1),
            at(1, true).iter().map(|(id, s)| (id, *s)),
            at_ms(33.333),
        );
        // Half way between ticks 0 and 1.
        let now = at_ms(33.333 * 3.5);
        let xs = drawn(&interpolation, now);
        assert_eq!(xs[0], (1, 427.0 / 2.0 / 64.0));
        assert_eq!(xs[1], (2, 1280.0 / 2.0 / 64.0));
        assert_eq!(
            xs[2],
            (3, 0.0),
            "a respawn is not drawn flying across the arena"
        );
    }

    #[test]
    fn extrapolation_is_capped_and_a_stall_is_counted() {
        let mut interpolation = received(10, |_| 0.0);
        // Snapshots stop at tick 9 (arrived at 350 ms). At 500 ms the clock is at 9.5 + ...
        let now = at_ms(350.0 + 33.333 * 6.0);
        interpolation.advance(at_ms(350.0));
        interpolation.advance(now);
        let [(1, x)] = drawn(&interpolation, now)[..] else {
            panic!("one entity");
        };
        assert_eq!(x, 9.0 + 2.0, "two ticks past the newest, no further");
        assert!(interpolation.is_stalled());
        assert_eq!(interpolation.stats().stalls, 1);
        interpolation.advance(now + TICK);
        assert_eq!(interpolation.stats().stalls, 1, "one stall, however long");
    }
}
