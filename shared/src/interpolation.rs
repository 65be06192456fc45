//! Snapshot interpolation for remote entities: they are drawn a little in the past, between two
//! snapshots already received, so they move smoothly however unevenly snapshots arrive.
//!
//! The render clock runs in ticks: `render tick = newest tick the local clock says the server has
//! reached - delay`. The local clock is tied to the server's ticks by the earliest arrival seen
//! (jitter only ever delays a snapshot), rising slowly so a longer path is followed too. An entity
//! appears when the render clock reaches the snapshot that created it and disappears when it
//! reaches the one that removed it. Past the newest snapshot, entities are extrapolated along
//! their last velocity for a capped time, then held: that is a *stall*, and it is counted.
//!
//! Each field is drawn as the game's schema declares it: `linear` fields on a straight line
//! (held when they move faster than a jump, such as a respawn), `angle` fields the short way
//! round, the rest as the older snapshot has them. A [`Trajectory`] is drawn where it is at the
//! render tick: its `origin` lanes hold that position.

use crate::component::Component;
use crate::layout::{KindField, KindLayout, Layout};
use crate::schema::Interpolate;
use crate::{EntityData, EntityId, Tick, Trajectory, World};
use std::collections::VecDeque;
use std::time::Duration;

/// How fast the estimate of the earliest arrival may rise, in seconds per second: it follows a
/// path that got slower within seconds, yet one late snapshot barely moves it.
const ARRIVAL_RISE_PER_SEC: f64 = 0.05;

/// Snapshots kept at most (also bounds memory when the render clock lags far behind).
const MAX_BUFFERED: usize = 64;

/// An entity of any game as drawn this frame: its lanes (in lane units, as the schema lays them
/// out) interpolated as its fields declare. Its strings are the replicated ones
/// ([`crate::ClientWorld`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnEntity {
    /// Its id.
    pub id: EntityId,
    /// Its kind: an index into the schema's kinds.
    pub kind: u16,
    /// Its lanes, fractional between snapshots.
    pub lanes: Vec<f64>,
}

/// Counters of the render clock.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InterpolationStats {
    /// Times the render clock ran past the newest snapshot (entities extrapolated, then held).
    pub stalls: u64,
    /// Total time spent past the newest snapshot.
    pub stalled: Duration,
}

/// One snapshot's world, by tick counted without wrapping. (A clone of the client's world:
/// it shares every entity, so a frame costs a pointer per entity.)
#[derive(Clone, Debug)]
struct Frame {
    tick: i64,
    world: World,
}

/// Received snapshots and the render clock that plays them back.
#[derive(Clone, Debug)]
pub struct Interpolation {
    tick_secs: f64,
    delay_ticks: f64,
    max_extrapolation_ticks: f64,
    /// Moves faster than this (world units per tick) are jumps, such as respawns: not
    /// interpolated or extrapolated.
    jump_per_tick: f64,
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
    /// `jump_per_tick` (world units per tick) as jumps. Negative or NaN tick counts count as 0.
    #[must_use]
    pub fn new(
        tick: Duration,
        delay_ticks: f64,
        max_extrapolation_ticks: f64,
        jump_per_tick: f64,
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
    pub fn push(&mut self, tick: Tick, world: &World, now: Duration) {
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
            world: world.clone(),
        });
        while self.frames.len() > MAX_BUFFERED {
            self.frames.pop_front();
        }
    }

    /// The tick of the newest snapshot pushed.
    #[must_use]
    pub fn newest(&self) -> Option<Tick> {
        self.newest
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

    /// The entities to draw at `now`, except `skip` (the locally predicted player), their
    /// fields interpolated as `layout` declares them.
    pub fn sample(
        &self,
        now: Duration,
        skip: Option<EntityId>,
        layout: &Layout,
        out: &mut Vec<DrawnEntity>,
    ) {
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
        let Some(to) = self.frames.get(from_index + 1) else {
            // Past the newest: along the last move, as far as the cap allows.
            let ahead = (render_tick - newest.tick as f64).clamp(0.0, self.max_extrapolation_ticks);
            let before = self.frames.len().checked_sub(2).map(|i| &self.frames[i]);
            for (id, data) in newest.world.iter().filter(|(id, _)| keep(id)) {
                let mut drawn = drawn(id, data);
                if let (Some(before), Some(kind)) = (before, layout.kind(data.kind))
                    && let Some(old) = before.world.get(id).filter(|old| old.kind == data.kind)
                {
                    let ticks = (newest.tick - before.tick) as f64;
                    for field in linear_fields(kind) {
                        self.extrapolate(field, &old.lanes, &mut drawn.lanes, ticks, ahead);
                    }
                }
                out.push(drawn);
            }
            draw_trajectories(layout, out, render_tick, newest.tick);
            return;
        };
        // Before the first snapshot its state is held; entities only in `from` were removed by
        // `to` and stay until it; entities only in `to` were created by it and wait for it.
        let started = render_tick >= from.tick as f64;
        let ticks = (to.tick - from.tick) as f64;
        let t = (render_tick - from.tick as f64) / ticks;
        for (id, a) in from.world.iter().filter(|(id, _)| keep(id)) {
            let mut drawn = drawn(id, a);
            let b = to.world.get(id).filter(|b| b.kind == a.kind && started);
            if let (Some(b), Some(kind)) = (b, layout.kind(a.kind)) {
                for field in &kind.fields {
                    self.between(field, &b.lanes, &mut drawn.lanes, t, ticks);
                }
            }
            out.push(drawn);
        }
        draw_trajectories(layout, out, render_tick, from.tick);
    }

    /// Moves `field` of `drawn` (holding the older lanes) `t` (0..1) of the way to `b`, `ticks`
    /// later, as the field declares (held when a linear move is a jump).
    fn between(&self, field: &KindField, b: &[i32], drawn: &mut [f64], t: f64, ticks: f64) {
        let lanes = field.at as usize..(field.at + field.lanes) as usize;
        let (Some(b), Some(a)) = (b.get(lanes.clone()), drawn.get_mut(lanes)) else {
            return;
        };
        match field.interpolate {
            Interpolate::None => {}
            Interpolate::Linear => {
                let steps: Vec<f64> = a.iter().zip(b).map(|(a, &b)| f64::from(b) - a).collect();
                if length(&steps) <= self.jump_per_tick * field.unit * ticks {
                    for (a, step) in a.iter_mut().zip(steps) {
                        *a += step * t;
                    }
                }
            }
            Interpolate::Angle => {
                // The short way round a turn of `unit` steps.
                let turn = field.unit;
                for (a, &b) in a.iter_mut().zip(b) {
                    let step = (f64::from(b) - *a + turn / 2.0).rem_euclid(turn) - turn / 2.0;
                    *a = (*a + step * t).rem_euclid(turn);
                }
            }
        }
    }

    /// Moves linear `field` of `drawn` (the newest lanes) `ahead` ticks further along its move
    /// from `old`, `ticks` before (nothing when the move is a jump).
    fn extrapolate(
        &self,
        field: &KindField,
        old: &[i32],
        drawn: &mut [f64],
        ticks: f64,
        ahead: f64,
    ) {
        let lanes = field.at as usize..(field.at + field.lanes) as usize;
        let (Some(old), Some(new)) = (old.get(lanes.clone()), drawn.get_mut(lanes)) else {
            return;
        };
        let steps: Vec<f64> = new
            .iter()
            .zip(old)
            .map(|(n, &o)| n - f64::from(o))
            .collect();
        if length(&steps) <= self.jump_per_tick * field.unit * ticks {
            for (n, step) in new.iter_mut().zip(steps) {
                *n += step / ticks * ahead;
            }
        }
    }
}

/// An entity drawn exactly as replicated.
/// Puts each drawn [`Trajectory`] where it is at `render_tick` (its `origin` lanes; `reference`
/// is an unwrapped tick near the render tick, to unwrap the launch tick against).
fn draw_trajectories(layout: &Layout, out: &mut [DrawnEntity], render_tick: f64, reference: i64) {
    let Some(component) =
        layout.typed_index(std::any::TypeId::of::<Trajectory>(), Trajectory::desc)
    else {
        return;
    };
    for entity in out {
        let Some((at, _)) = layout.component_offsets(entity.kind, component) else {
            continue;
        };
        // The five lanes are origin, velocity and launched, as declared.
        let Some(&[x, y, vx, vy, launched]) = entity.lanes.get(at..at + 5) else {
            continue;
        };
        let since = (reference as u32).wrapping_sub(launched as i32 as u32) as i32;
        let elapsed = render_tick - (reference - i64::from(since)) as f64;
        let flight = Trajectory {
            origin: [x as i32, y as i32],
            velocity: [vx as i32, vy as i32],
            launched: launched as i32,
        };
        let [px, py] = flight.at_elapsed(elapsed);
        entity.lanes[at] = px;
        entity.lanes[at + 1] = py;
    }
}

fn drawn(id: EntityId, data: &EntityData) -> DrawnEntity {
    DrawnEntity {
        id,
        kind: data.kind,
        lanes: data.lanes.iter().map(|&v| f64::from(v)).collect(),
    }
}

/// The linear fields of a kind.
fn linear_fields(kind: &KindLayout) -> impl Iterator<Item = &KindField> {
    kind.fields
        .iter()
        .filter(|f| f.interpolate == Interpolate::Linear)
}

/// The Euclidean length of a vector of lane differences.
fn length(steps: &[f64]) -> f64 {
    steps.iter().map(|s| s * s).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;
    use crate::{EntityData, Schema, World};

    /// A position in 1/64 units, interpolated on a line.
    #[derive(Clone, Debug, PartialEq, Component)]
    struct Mover {
        #[net(
            fixed(frac_bits = 6, min = -1000000, max = 1000000),
            delta,
            interpolate = "linear"
        )]
        pos: [i32; 2],
    }

    /// A direction, interpolated the short way round.
    #[derive(Clone, Debug, PartialEq, Component)]
    struct Facing {
        #[net(angle(bits = 16), interpolate = "angle")]
        aim: u16,
    }

    /// Hit points, held until changed.
    #[derive(Clone, Debug, PartialEq, Component)]
    struct Hp {
        #[net(int(min = 0, max = 255))]
        hp: u8,
    }

    fn layout() -> Layout {
        let schema = Schema::new("things", 1, 30)
            .component::<Mover>()
            .component::<Facing>()
            .component::<Hp>()
            .kind("thing", &["Mover", "Facing", "Hp"]);
        Layout::new(schema).expect("valid")
    }

    /// A thing at `x` (1/64 units) on the x axis; its lanes are x, y, aim, hp.
    fn thing(x: i32, aim: u16, hp: u8) -> EntityData {
        let layout = layout();
        let mut data = EntityData::new(&layout, 0).expect("a kind");
        data.set_component(&layout, &Mover { pos: [x, 0] });
        data.set_component(&layout, &Facing { aim });
        data.set_component(&layout, &Hp { hp });
        data
    }

    const TICK: Duration = Duration::from_micros(33_333);

    fn world(entities: &[(u32, i32)]) -> World {
        let mut world = World::new();
        for &(id, x) in entities {
            world.insert(EntityId(id), thing(x, 0, 0));
        }
        world
    }

    fn at_ms(ms: f64) -> Duration {
        Duration::from_secs_f64(ms / 1000.0)
    }

    /// Each drawn entity's id and x in world units.
    fn drawn(interpolation: &Interpolation, now: Duration) -> Vec<(u32, f32)> {
        let (layout, mut out) = (layout(), Vec::new());
        interpolation.sample(now, None, &layout, &mut out);
        out.iter()
            .map(|e| (e.id.0, (e.lanes[0] / 64.0) as f32))
            .collect()
    }

    /// Ticks 0..n, one every 33.3 ms, arriving 50 ms after they were made plus `jitter(i)`:
    /// entity 1 moves 64 steps (1 unit) per tick.
    fn received(n: u32, jitter: impl Fn(u32) -> f64) -> Interpolation {
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 8.0);
        for i in 0..n {
            let arrival = 50.0 + f64::from(i) * 33.333 + jitter(i);
            interpolation.push(Tick(i), &world(&[(1, 64 * i as i32)]), at_ms(arrival));
        }
        interpolation
    }

    #[test]
    fn a_trajectory_is_drawn_where_it_is_at_the_render_tick_across_the_tick_wrap() {
        let schema = Schema::new("shots", 1, 30)
            .component::<Trajectory>()
            .kind("shot", &["Trajectory"]);
        let layout = Layout::new(schema).expect("valid");
        let first = u32::MAX - 4;
        // Launched 2 ticks before the first snapshot, moving 10 a tick on x, -3 on y.
        let flight = Trajectory::new([1000, 500], [10, -3], Tick(first.wrapping_sub(2)));
        let mut shot = EntityData::new(&layout, 0).expect("a kind");
        shot.set_component(&layout, &flight);
        let mut world = World::new();
        world.insert(EntityId(1), shot);
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 8.0);
        for i in 0..10u32 {
            let arrival = 50.0 + f64::from(i) * 33.333;
            interpolation.push(Tick(first.wrapping_add(i)), &world, at_ms(arrival));
        }
        // As in the test below: the render tick is 6.5 ticks after the first snapshot.
        let now = at_ms(350.0 + 16.667);
        interpolation.advance(now);
        let mut out = Vec::new();
        interpolation.sample(now, None, &layout, &mut out);
        let [drawn] = &out[..] else {
            panic!("one shot: {out:?}");
        };
        let elapsed = 2.0 + 6.5;
        assert!(
            (drawn.lanes[0] - (1000.0 + 10.0 * elapsed)).abs() < 0.01,
            "{drawn:?}"
        );
        assert!(
            (drawn.lanes[1] - (500.0 - 3.0 * elapsed)).abs() < 0.01,
            "{drawn:?}"
        );
        assert_eq!(
            &drawn.lanes[2..4],
            &[10.0, -3.0],
            "the velocity as replicated"
        );
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
            interpolation.push(Tick(i), &world(&[(1, 64 * i as i32)]), at_ms(arrival));
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
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 8.0);
        interpolation.push(Tick(0), &world(&[(1, 0)]), at_ms(0.0));
        interpolation.push(Tick(1), &world(&[(1, 0), (2, 0)]), at_ms(33.333));
        interpolation.push(Tick(2), &world(&[(2, 0)]), at_ms(66.667));
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
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 32.0);
        let at = |tick: i32, respawned: bool| {
            let mut world = world(&[(1, 427 * tick), (2, 1280 * tick)]);
            let x = if respawned { 40_000 } else { 0 };
            world.insert(EntityId(3), thing(x, 0, 0));
            world
        };
        interpolation.push(Tick(0), &at(0, false), at_ms(0.0));
        interpolation.push(Tick(1), &at(1, true), at_ms(33.333));
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

    #[test]
    fn angles_take_the_short_way_round_and_plain_fields_hold_until_the_next_snapshot() {
        let mut interpolation = Interpolation::new(TICK, 3.0, 2.0, 32.0);
        let drone = |aim: u16, hp: u8| {
            let mut world = World::new();
            world.insert(EntityId(1), thing(0, aim, hp));
            world
        };
        interpolation.push(Tick(0), &drone(65_000, 60), at_ms(0.0));
        interpolation.push(Tick(1), &drone(500, 40), at_ms(33.333));
        // Half way between ticks 0 and 1.
        let (layout, mut out) = (layout(), Vec::new());
        interpolation.sample(at_ms(33.333 * 3.5), None, &layout, &mut out);
        let [_, _, aim, hp] = out[0].lanes[..] else {
            panic!("four lanes: {:?}", out[0]);
        };
        // 65000 -> 500 is +1036 through 0, not -64500: half way is 65518.
        assert!((aim - 65_518.0).abs() < 1.0, "aim {aim}");
        assert_eq!(
            hp, 60.0,
            "hit points hold until the snapshot that changed them"
        );
    }
}
