//! Client-side prediction of the local player for any game, and reconciliation with the
//! server's snapshots.
//!
//! Each input moves the predicted player the instant it is sent, with the game's
//! [`SharedStep`], the very function the server's room runs. When a snapshot says which input
//! the server applied last, the prediction made after that input is compared with the server's
//! state component, field by field: within each field's `tolerance` it was right (integer steps
//! make that exact); beyond it is a *correction*. The prediction then restarts from the server's
//! state and replays the inputs the server has not applied yet. The visible jump of the linear
//! fields (positions) is spread over a few input frames, or snapped past `snap_distance`.

use crate::codec;
use crate::component::{Component, Input};
use crate::layout::Layout;
use crate::message::InputMessage;
use crate::schema::{Domain, Interpolate};
use crate::shared_step::SharedStep;
use crate::world::Lanes;
use std::collections::VecDeque;
use std::sync::Arc;

/// A shared step over lanes, its rules decoded: the state after one input, or `None` when the
/// state or the input does not read.
type LaneStep = Arc<dyn Fn(&[i32], &[i32]) -> Option<Lanes> + Send + Sync>;

/// How a client predicts one room's game: its shared step, and the fields of the state
/// component it moves.
#[derive(Clone)]
pub struct Predictor {
    step: LaneStep,
    /// The state component's index in the room's layout.
    component: usize,
    /// Shared by clones: reconciling clones the predictor once per snapshot.
    fields: Arc<[PredictedField]>,
}

impl std::fmt::Debug for Predictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Predictor")
            .field("component", &self.component)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

/// One field of the predicted component: where its lanes are, and how a difference is judged.
#[derive(Clone, Copy, Debug)]
struct PredictedField {
    first_lane: usize,
    lanes: usize,
    /// Lane units per world unit (see [`crate::layout`]): distances are in world units.
    unit: f32,
    /// A difference up to this many lane units is not a correction.
    tolerance: i64,
    /// For an angle: the lanes of a full turn (differences wrap).
    turn: Option<i64>,
    /// Drawn on a line between input frames, and its corrections smoothed.
    linear: bool,
}

impl PredictedField {
    /// `server - predicted` in lane `i` of this field (the short way round for an angle).
    fn difference(&self, predicted: &[i32], server: &[i32], i: usize) -> i64 {
        let d = i64::from(server[i]) - i64::from(predicted[i]);
        match self.turn {
            Some(turn) => (d + turn / 2).rem_euclid(turn) - turn / 2,
            None => d,
        }
    }
}

impl Predictor {
    /// The predictor of the shared step `S` for the room `layout` describes; `None` when the
    /// room does not declare `S`'s state component and input exactly as `S` does (another
    /// version of the game), or its rules are not `S`'s. The state component has no strings.
    #[must_use]
    pub fn new<S: SharedStep>(layout: &Layout) -> Option<Self> {
        let component = layout.typed_index(std::any::TypeId::of::<S::State>(), S::State::desc)?;
        if layout.schema().input != S::Input::fields() {
            return None;
        }
        let rules: S::Rules = codec::decode_rules(&layout.schema().rules).ok()?;
        let step: LaneStep = Arc::new(move |state, input| {
            let mut state = S::State::read(state, &[])?;
            S::step(&rules, &mut state, &S::Input::read(input)?);
            let (mut lanes, mut strings) = (Vec::new(), Vec::new());
            state.write(&mut lanes, &mut strings);
            Some(Lanes::from_vec(lanes))
        });
        let mut first_lane = 0;
        let fields = layout.schema().components[component]
            .fields
            .iter()
            .map(|field| {
                let lanes = usize::from(field.lanes);
                let (unit, turn) = match field.domain {
                    Domain::Fixed { frac_bits, .. } => ((1u32 << frac_bits) as f32, None),
                    Domain::Angle { bits } => (1.0, Some(1i64 << bits)),
                    _ => (1.0, None),
                };
                let placed = PredictedField {
                    first_lane,
                    lanes,
                    unit,
                    tolerance: i64::from(field.tolerance),
                    turn,
                    linear: field.interpolate == Interpolate::Linear,
                };
                first_lane += lanes;
                placed
            })
            .collect();
        Some(Self {
            step,
            component,
            fields,
        })
    }

    /// The index of the predicted component in the room's layout.
    #[must_use]
    pub fn component(&self) -> usize {
        self.component
    }

    /// Whether `predicted` and `server` differ beyond some field's tolerance.
    fn mismatch(&self, predicted: &[i32], server: &[i32]) -> bool {
        predicted.len() != server.len()
            || self.fields.iter().any(|f| {
                (f.first_lane..f.first_lane + f.lanes)
                    .any(|i| f.difference(predicted, server, i).abs() > f.tolerance)
            })
    }

    /// How far `server` is from `predicted`, in world units: the longest difference of a linear
    /// field (a position), or of any field when none is linear.
    fn distance(&self, predicted: &[i32], server: &[i32]) -> f32 {
        if predicted.len() != server.len() {
            return f32::INFINITY;
        }
        let length = |f: &PredictedField| {
            (f.first_lane..f.first_lane + f.lanes)
                .map(|i| f.difference(predicted, server, i) as f32 / f.unit)
                .map(|d| d * d)
                .sum::<f32>()
                .sqrt()
        };
        let linear = self.fields.iter().filter(|f| f.linear).map(length);
        let longest = linear.fold(None, |m: Option<f32>, d| Some(m.map_or(d, |m| m.max(d))));
        longest.unwrap_or_else(|| self.fields.iter().map(length).fold(0.0, f32::max))
    }

    fn is_linear_lane(&self, lane: usize) -> bool {
        self.fields
            .iter()
            .any(|f| f.linear && (f.first_lane..f.first_lane + f.lanes).contains(&lane))
    }
}

/// One server correction of the local player's predicted state.
#[derive(Clone, Debug, PartialEq)]
pub struct Correction {
    /// The last input the server had applied.
    pub sequence: u32,
    /// The state component's lanes this client predicted after that input.
    pub predicted: Lanes,
    /// The server's.
    pub server: Lanes,
    /// How far off, in world units (see [`Predictor`]).
    pub distance: f32,
}

/// Counters of how well prediction matched the server.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PredictionStats {
    /// Snapshots whose state for the local player differed from the prediction.
    pub corrections: u64,
    /// Of those, the ones too large to smooth (a teleport, such as a respawn): shown at once.
    pub snaps: u64,
    /// The largest correction, in world units.
    pub error_max: f32,
    /// The sum of all corrections, in world units.
    pub error_total: f32,
}

/// An input sent, and the state predicted after it (`None` when not predicted).
#[derive(Clone, Debug)]
struct Pending {
    input: InputMessage,
    after: Option<Lanes>,
}

/// The local player's predicted state and the inputs not yet confirmed by the server.
#[derive(Clone, Debug)]
pub struct Prediction {
    /// Frames a correction is spread over; 0 snaps.
    smoothing_frames: u32,
    /// Corrections longer than this (world units) snap instead of being smoothed.
    snap_distance: f32,
    /// `None`: inputs are only kept until confirmed (to send again after a resume).
    predictor: Option<Predictor>,
    /// The newest input the server has confirmed and the state it confirmed after it; `None`
    /// until a snapshot first showed the player.
    confirmed: Option<(u32, Lanes)>,
    /// Inputs sent after `confirmed`, oldest first.
    pending: VecDeque<Pending>,
    /// The predicted state before the latest input, for drawing between input frames.
    previous: Lanes,
    /// Added to the predicted linear lanes when drawing: what is left of the last correction.
    offset: Vec<f32>,
    /// Input frames until `offset` reaches zero.
    offset_frames_left: u32,
    stats: PredictionStats,
}

impl Prediction {
    /// A prediction that spreads corrections over `smoothing_frames` input frames (0 snaps)
    /// and snaps those longer than `snap_distance` world units. It predicts nothing until
    /// given a [`Predictor`].
    #[must_use]
    pub fn new(smoothing_frames: u32, snap_distance: f32) -> Self {
        Self {
            smoothing_frames,
            snap_distance,
            predictor: None,
            confirmed: None,
            pending: VecDeque::new(),
            previous: Lanes::new(),
            offset: Vec::new(),
            offset_frames_left: 0,
            stats: PredictionStats::default(),
        }
    }

    /// Predicts with `predictor` from the next snapshot that shows the player on.
    pub fn set_predictor(&mut self, predictor: Option<Predictor>) {
        self.predictor = predictor;
        self.confirmed = None;
        self.offset.clear();
        self.offset_frames_left = 0;
    }

    /// What it predicts with, if anything.
    #[must_use]
    pub fn predictor(&self) -> Option<&Predictor> {
        self.predictor.as_ref()
    }

    /// The predicted state component's lanes after every input sent; `None` until a snapshot
    /// has shown the player, when there is no predictor, and after an input the step could not
    /// read (until the next snapshot re-predicts).
    #[must_use]
    pub fn state(&self) -> Option<&[i32]> {
        let (_, confirmed) = self.confirmed.as_ref()?;
        match self.pending.back() {
            Some(latest) => latest.after.as_deref(),
            None => Some(confirmed),
        }
    }

    /// The state to draw: linear lanes `alpha` (0..=1) of the way from the state before the
    /// latest input to the predicted one, plus what is left of the last correction; the other
    /// lanes as predicted.
    #[must_use]
    pub fn render_lanes(&self, alpha: f32) -> Option<Vec<f64>> {
        let predictor = self.predictor.as_ref()?;
        let now = self.state()?;
        let alpha = f64::from(alpha.clamp(0.0, 1.0));
        Some(
            now.iter()
                .enumerate()
                .map(|(i, &lane)| {
                    let lane = f64::from(lane);
                    if !predictor.is_linear_lane(i) {
                        return lane;
                    }
                    let before = self.previous.get(i).map_or(lane, |&p| f64::from(p));
                    let offset = self.offset.get(i).map_or(0.0, |&o| f64::from(o));
                    before + (lane - before) * alpha + offset
                })
                .collect(),
        )
    }

    /// The part of the last correction not yet shown, per lane of the state (lane units).
    #[must_use]
    pub fn offset(&self) -> &[f32] {
        &self.offset
    }

    /// Inputs sent that the server has not confirmed yet, oldest first: what a resumed session
    /// sends again.
    pub fn unconfirmed(&self) -> impl ExactSizeIterator<Item = &InputMessage> {
        self.pending.iter().map(|p| &p.input)
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> PredictionStats {
        self.stats
    }

    /// Keeps an input until the server confirms it and, once a snapshot has shown the player,
    /// moves the predicted state by it at once and lets the last correction fade by one frame.
    /// Returns whether it was predicted.
    pub fn apply_input(&mut self, input: InputMessage) -> bool {
        let before = self.state().map(Lanes::from_slice);
        let after = match (&self.predictor, &before) {
            (Some(predictor), Some(before)) => (predictor.step)(before, &input.lanes),
            _ => None,
        };
        let predicted = after.is_some();
        if let (true, Some(before)) = (predicted, before) {
            self.previous = before;
            if self.offset_frames_left > 0 {
                // Linear fade: after k of n frames, (n - k) / n of the correction is left.
                let left = self.offset_frames_left as f32;
                self.offset
                    .iter_mut()
                    .for_each(|o| *o *= (left - 1.0) / left);
                self.offset_frames_left -= 1;
            }
        }
        self.pending.push_back(Pending { input, after });
        predicted
    }

    /// Takes the server's word that it applied every input up to `last_input` (0: none yet),
    /// with the player's state component after it (`None` when not predicting), and re-predicts
    /// from it. Returns the correction if the prediction for that input was wrong.
    pub fn reconcile(&mut self, server: Option<&[i32]>, last_input: u32) -> Option<Correction> {
        let (Some(predictor), Some(server)) = (self.predictor.clone(), server) else {
            // Nothing to compare: confirmed inputs are simply forgotten.
            self.pending.retain(|p| p.input.sequence > last_input);
            return None;
        };
        let server = Lanes::from_slice(server);
        let Some((confirmed_sequence, confirmed_state)) = self.confirmed.clone() else {
            self.pending.retain(|p| p.input.sequence > last_input);
            self.previous = server.clone();
            self.offset = vec![0.0; server.len()];
            self.confirmed = Some((last_input, server));
            self.replay(&predictor);
            return None;
        };
        // Snapshots arrive in order, so the confirmed input never goes back; one that does
        // belongs to an older session and tells nothing about this prediction.
        if last_input < confirmed_sequence {
            return None;
        }
        // Where the player was drawn from: the prediction after every input sent, taken before
        // the confirmed inputs leave `pending`.
        let old_state = self.state().map(Lanes::from_slice);
        let predicted = if last_input == confirmed_sequence {
            Some(confirmed_state)
        } else {
            while self
                .pending
                .front()
                .is_some_and(|p| p.input.sequence < last_input)
            {
                self.pending.pop_front();
            }
            match self.pending.front() {
                Some(p) if p.input.sequence == last_input => {
                    self.pending.pop_front().and_then(|p| p.after)
                }
                // An input this client never predicted (sent before the player was seen).
                _ => None,
            }
        };
        self.confirmed = Some((last_input, server.clone()));
        self.replay(&predictor);
        let predicted = predicted.filter(|p| predictor.mismatch(p, &server))?;
        let correction = Correction {
            sequence: last_input,
            distance: predictor.distance(&predicted, &server),
            predicted,
            server,
        };
        self.record(&correction);
        if let (Some(old), Some(new)) = (old_state, self.state().map(Lanes::from_slice)) {
            self.smooth(&predictor, &old, &new);
        }
        Some(correction)
    }

    /// Re-predicts every pending input from the confirmed state.
    fn replay(&mut self, predictor: &Predictor) {
        let Some((_, confirmed)) = &self.confirmed else {
            return;
        };
        let mut state = Some(confirmed.clone());
        for pending in &mut self.pending {
            state = state.and_then(|s| (predictor.step)(&s, &pending.input.lanes));
            pending.after = state.clone();
        }
    }

    fn record(&mut self, correction: &Correction) {
        self.stats.corrections += 1;
        self.stats.error_max = self.stats.error_max.max(correction.distance);
        self.stats.error_total += correction.distance;
    }

    /// Keeps the drawn linear lanes where they were (the jump becomes an offset that fades),
    /// unless the jump is a teleport or smoothing is off.
    fn smooth(&mut self, predictor: &Predictor, old: &[i32], new: &[i32]) {
        let jump: Vec<f32> = old
            .iter()
            .zip(new)
            .map(|(&o, &n)| (i64::from(n) - i64::from(o)) as f32)
            .collect();
        for (i, previous) in self.previous.iter_mut().enumerate() {
            *previous = previous.saturating_add(jump.get(i).map_or(0, |&j| j as i32));
        }
        self.offset.resize(new.len(), 0.0);
        let offset: Vec<f32> = self
            .offset
            .iter()
            .zip(&jump)
            .enumerate()
            .map(|(i, (&o, &j))| {
                if predictor.is_linear_lane(i) {
                    o - j
                } else {
                    0.0
                }
            })
            .collect();
        // The drawn offset's length, measured like a correction.
        let zero = vec![0; offset.len()];
        let rounded: Vec<i32> = offset.iter().map(|&o| o.round() as i32).collect();
        let length = predictor.distance(&zero, &rounded);
        if self.smoothing_frames == 0 || length > self.snap_distance {
            if length > self.snap_distance {
                self.stats.snaps += 1;
            }
            self.offset.iter_mut().for_each(|o| *o = 0.0);
            self.offset_frames_left = 0;
        } else {
            self.offset = offset;
            self.offset_frames_left = self.smoothing_frames;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::{Component, Input};
    use crate::schema::Schema;
    use proptest::prelude::*;

    /// A dot on a plane in 1/64 units; an input moves it `step` per unit of push, inside a box.
    #[derive(Clone, Debug, PartialEq, Component)]
    struct Dot {
        #[net(fixed(frac_bits = 6, min = 0, max = 64000), interpolate = "linear")]
        pos: [i32; 2],
        #[net(angle(bits = 8), tolerance = 1)]
        facing: u8,
    }

    #[derive(Clone, Debug, Default, PartialEq, Input)]
    struct Push {
        #[net(int(min = -3, max = 3))]
        x: i8,
        #[net(int(min = -3, max = 3))]
        y: i8,
    }

    struct DotStep;

    impl SharedStep for DotStep {
        type Input = Push;
        type State = Dot;
        type Rules = i32;
        fn step(step: &i32, dot: &mut Dot, push: &Push) {
            dot.pos[0] = (dot.pos[0] + step * i32::from(push.x)).clamp(0, 64000);
            dot.pos[1] = (dot.pos[1] + step * i32::from(push.y)).clamp(0, 64000);
        }
    }

    const STEP: i32 = 100;

    fn prediction(smoothing_frames: u32, snap_distance: f32) -> Prediction {
        let schema = Schema::new("dots", 1, 30)
            .component::<Dot>()
            .kind("dot", &["Dot"])
            .input::<Push>()
            .rules(codec::encode_rules(&STEP).expect("encodes"));
        let layout = Layout::new(schema).expect("valid");
        let mut prediction = Prediction::new(smoothing_frames, snap_distance);
        prediction.set_predictor(Some(Predictor::new::<DotStep>(&layout).expect("declared")));
        prediction
    }

    fn push(sequence: u32, x: i8, y: i8) -> InputMessage {
        let mut lanes = Vec::new();
        Push { x, y }.write(&mut lanes);
        InputMessage { sequence, lanes }
    }

    fn at(x: i32, y: i32) -> Vec<i32> {
        vec![x, y, 0]
    }

    /// The server's side of the same step: applies inputs in order from `start`.
    fn server_after(start: &[i32], inputs: &[InputMessage]) -> Vec<i32> {
        inputs.iter().fold(start.to_vec(), |state, input| {
            let mut dot = Dot::read(&state, &[]).expect("a dot");
            DotStep::step(&STEP, &mut dot, &Push::read(&input.lanes).expect("a push"));
            let mut lanes = Vec::new();
            dot.write(&mut lanes, &mut Vec::new());
            lanes
        })
    }

    fn drawn(prediction: &Prediction) -> Vec<f64> {
        prediction.render_lanes(1.0).expect("predicting")
    }

    #[test]
    fn a_room_declaring_the_state_otherwise_is_not_predicted() {
        let schema = Schema::new("dots", 2, 30)
            .component::<Dot>()
            .kind("dot", &["Dot"])
            .rules(codec::encode_rules(&STEP).expect("encodes"));
        let layout = Layout::new(schema).expect("valid");
        assert!(
            Predictor::new::<DotStep>(&layout).is_none(),
            "another input"
        );
    }

    #[test]
    fn nothing_is_predicted_before_a_snapshot_shows_the_player() {
        let mut prediction = prediction(6, 4.0);
        assert!(!prediction.apply_input(push(1, 3, 0)));
        assert_eq!(prediction.state(), None);
        assert_eq!(prediction.reconcile(Some(&at(500, 500)), 0), None);
        // The unconfirmed input is predicted from the first state seen.
        assert_eq!(prediction.state(), Some(&at(800, 500)[..]));
    }

    #[test]
    fn an_input_moves_the_player_at_once() {
        let mut prediction = prediction(6, 4.0);
        prediction.reconcile(Some(&at(1000, 1000)), 0);
        assert!(prediction.apply_input(push(1, 3, 0)));
        assert_eq!(prediction.state(), Some(&at(1300, 1000)[..]));
        assert_eq!(
            prediction.render_lanes(0.5),
            Some(vec![1150.0, 1000.0, 0.0])
        );
    }

    #[test]
    fn a_forced_correction_is_smoothed_within_the_configured_frames() {
        let frames = 5;
        let mut prediction = prediction(frames, 100.0);
        let start = at(10_000, 10_000);
        prediction.reconcile(Some(&start), 0);
        for sequence in 1..=3 {
            prediction.apply_input(push(sequence, 3, 0));
        }
        let drawn_before = drawn(&prediction);
        // The server moved the player 640 lanes (10 world units) sideways after input 1.
        let mut server = server_after(&start, &[push(1, 3, 0)]);
        server[1] += 640;
        let correction = prediction
            .reconcile(Some(&server), 1)
            .expect("a correction");
        assert_eq!(correction.distance, 10.0);
        assert_eq!(
            prediction.state(),
            Some(&server_after(&server, &[push(2, 3, 0), push(3, 3, 0)])[..]),
            "re-predicted from the server's state"
        );
        assert_eq!(drawn(&prediction), drawn_before, "no snap");
        let mut left = Vec::new();
        for sequence in 4..4 + frames {
            prediction.apply_input(push(sequence, 0, 0));
            left.push(prediction.offset()[1].abs());
        }
        assert!(left.windows(2).all(|w| w[1] < w[0]), "fades: {left:?}");
        assert!(
            prediction.offset().iter().all(|&o| o == 0.0),
            "gone after {frames} frames"
        );
        let stats = prediction.stats();
        assert_eq!((stats.corrections, stats.snaps), (1, 0));
        assert_eq!(stats.error_max, 10.0);
    }

    #[test]
    fn a_teleport_snaps() {
        let mut prediction = prediction(6, 4.0);
        prediction.reconcile(Some(&at(1000, 1000)), 0);
        prediction.apply_input(push(1, 3, 0));
        let respawned = at(40_000, 9_000);
        prediction.reconcile(Some(&respawned), 1);
        assert_eq!(drawn(&prediction), vec![40_000.0, 9_000.0, 0.0]);
        assert_eq!(prediction.stats().snaps, 1);
    }

    #[test]
    fn a_difference_within_a_fields_tolerance_is_no_correction() {
        let mut prediction = prediction(6, 4.0);
        prediction.reconcile(Some(&at(1000, 1000)), 0);
        // `facing` tolerates 1, the short way round its 256 steps.
        assert_eq!(prediction.reconcile(Some(&[1000, 1000, 255]), 0), None);
        assert_eq!(
            prediction.state(),
            Some(&[1000, 1000, 255][..]),
            "the server's, still"
        );
        assert!(prediction.reconcile(Some(&[1000, 1000, 1]), 0).is_some());
        assert!(
            prediction.reconcile(Some(&[1001, 1000, 1]), 0).is_some(),
            "none on pos"
        );
    }

    #[test]
    fn without_a_predictor_inputs_are_kept_until_confirmed() {
        let mut prediction = Prediction::new(6, 4.0);
        for sequence in 1..=3 {
            assert!(!prediction.apply_input(push(sequence, 1, 0)));
        }
        assert_eq!(prediction.reconcile(None, 2), None);
        let left: Vec<u32> = prediction.unconfirmed().map(|i| i.sequence).collect();
        assert_eq!(left, [3], "what a resumed session sends again");
    }

    proptest! {
        /// Whatever the inputs and however the server's confirmations lag behind them (latency,
        /// jitter, several inputs applied in one tick), a server that only runs the same step
        /// never causes a correction, and the prediction always equals the server's state after
        /// every input sent.
        #[test]
        fn prediction_equals_the_server_exactly_without_outside_influence(
            moves in proptest::collection::vec((-3i8..=3, -3i8..=3), 1..200),
            lags in proptest::collection::vec(0usize..8, 1..200),
        ) {
            let start = at(32_000, 32_000);
            let inputs: Vec<InputMessage> = moves
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| push(i as u32 + 1, x, y))
                .collect();
            let mut prediction = prediction(6, 4.0);
            prediction.reconcile(Some(&start), 0);
            let mut applied = 0;
            for (sent, lag) in (1..=inputs.len()).zip(lags.iter().cycle()) {
                prop_assert!(prediction.apply_input(inputs[sent - 1].clone()));
                // The server has applied all but the last `lag` inputs sent (never fewer).
                applied = applied.max(sent.saturating_sub(*lag));
                let server = server_after(&start, &inputs[..applied]);
                prop_assert_eq!(prediction.reconcile(Some(&server), applied as u32), None);
                let expected = server_after(&start, &inputs[..sent]);
                prop_assert_eq!(prediction.state(), Some(&expected[..]));
            }
            prop_assert_eq!(prediction.stats().corrections, 0);
        }
    }
}
