//! Client-side prediction of the local player, and reconciliation with the server's snapshots.
//!
//! Each input moves the predicted player the instant it is sent, with the same
//! [`MovementRules`] the server runs. When a snapshot says which input the server applied last,
//! the prediction made after that input is compared with the server's position: equal means the
//! prediction was right (integer rules make that exact); different is a *correction*. The
//! prediction then restarts from the server's position and replays the inputs the server has not
//! applied yet. The visible jump is spread over a few input frames (or snapped, for teleports).

use crate::{InputFrame, MovementRules};
use glam::{IVec2, Vec2};
use std::collections::VecDeque;

/// One server correction of the local player's predicted position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The last input the server had applied.
    pub sequence: u32,
    /// Where this client predicted the player after that input, in 1/64 units.
    pub predicted: IVec2,
    /// Where the server had it, in 1/64 units.
    pub server: IVec2,
}

impl Correction {
    /// How far the prediction was off, in 1/64 units.
    #[must_use]
    pub fn distance(&self) -> f32 {
        // In floats: positions from the network may be anywhere in i32.
        (self.server.as_vec2() - self.predicted.as_vec2()).length()
    }
}

/// Counters of how well prediction matched the server.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PredictionStats {
    /// Snapshots whose position for the local player differed from the prediction.
    pub corrections: u64,
    /// Of those, the ones too large to smooth (a teleport, such as a respawn): shown at once.
    pub snaps: u64,
    /// The largest correction, in 1/64 units.
    pub error_max: f32,
    /// The sum of all corrections, in 1/64 units.
    pub error_total: f32,
}

/// An input sent and the position predicted after it.
#[derive(Clone, Copy, Debug)]
struct Predicted {
    input: InputFrame,
    after: IVec2,
}

/// The local player's predicted position and the inputs not yet confirmed by the server.
#[derive(Clone, Debug)]
pub struct Prediction {
    /// Frames a correction is spread over; 0 snaps.
    smoothing_frames: u32,
    /// Corrections longer than this (1/64 units) snap instead of being smoothed.
    snap_distance: f32,
    /// The newest input the server has confirmed and the position it confirmed after it; `None`
    /// until a snapshot first showed the player.
    confirmed: Option<(u32, IVec2)>,
    /// Inputs sent after `confirmed`, oldest first.
    pending: VecDeque<Predicted>,
    /// The predicted position before the latest input, for drawing between input frames.
    previous: IVec2,
    /// Added to the predicted position when drawing: what is left of the last correction.
    offset: Vec2,
    /// Input frames until `offset` reaches zero.
    offset_frames_left: u32,
    stats: PredictionStats,
}

impl Prediction {
    /// A prediction that spreads corrections over `smoothing_frames` input frames (0 snaps)
    /// and snaps those longer than `snap_distance` (1/64 units).
    #[must_use]
    pub fn new(smoothing_frames: u32, snap_distance: f32) -> Self {
        Self {
            smoothing_frames,
            snap_distance,
            confirmed: None,
            pending: VecDeque::new(),
            previous: IVec2::ZERO,
            offset: Vec2::ZERO,
            offset_frames_left: 0,
            stats: PredictionStats::default(),
        }
    }

    /// The predicted position after every input sent, in 1/64 units; `None` until a snapshot
    /// has shown the player.
    #[must_use]
    pub fn position(&self) -> Option<IVec2> {
        let (_, confirmed) = self.confirmed?;
        Some(self.pending.back().map_or(confirmed, |p| p.after))
    }

    /// Where to draw the player, in 1/64 units: `alpha` (0..=1) of the way from the position
    /// before the latest input to the predicted one, plus what is left of the last correction.
    #[must_use]
    pub fn render_position(&self, alpha: f32) -> Option<Vec2> {
        let now = self.position()?.as_vec2();
        Some(self.previous.as_vec2().lerp(now, alpha.clamp(0.0, 1.0)) + self.offset)
    }

    /// The part of the last correction not yet shown, in 1/64 units.
    #[must_use]
    pub fn offset(&self) -> Vec2 {
        self.offset
    }

    /// Inputs sent that the server has not confirmed yet, oldest first.
    pub fn unconfirmed(&self) -> impl ExactSizeIterator<Item = &InputFrame> {
        self.pending.iter().map(|p| &p.input)
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> PredictionStats {
        self.stats
    }

    /// Moves the predicted player by one input the moment it is sent, and lets the last
    /// correction fade by one frame. Returns `false` (and predicts nothing) before a snapshot
    /// has shown the player.
    pub fn apply_input(&mut self, rules: &MovementRules, input: InputFrame) -> bool {
        let Some(before) = self.position() else {
            return false;
        };
        self.previous = before;
        self.pending.push_back(Predicted {
            input,
            after: rules.step(before, &input),
        });
        if self.offset_frames_left > 0 {
            // Linear fade: after k of n frames, (n - k) / n of the correction is left.
            let left = self.offset_frames_left as f32;
            self.offset *= (left - 1.0) / left;
            self.offset_frames_left -= 1;
        }
        true
    }

    /// Takes the server's position of the player after input `last_input` (0: none yet), and
    /// re-predicts from it. Returns the correction if the prediction for that input was wrong.
    pub fn reconcile(
        &mut self,
        rules: &MovementRules,
        server: IVec2,
        last_input: u32,
    ) -> Option<Correction> {
        let Some((confirmed_sequence, confirmed_position)) = self.confirmed else {
            self.confirmed = Some((last_input, server));
            self.pending.clear();
            self.previous = server;
            return None;
        };
        // Snapshots arrive in order, so the confirmed input never goes back; one that does
        // belongs to an older session and tells nothing about this prediction.
        if last_input < confirmed_sequence {
            return None;
        }
        // Where the player was drawn from: the prediction after every input sent, taken before
        // the confirmed inputs leave `pending`.
        let old_position = self.position();
        let predicted = if last_input == confirmed_sequence {
            Some(confirmed_position)
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
                    self.pending.pop_front().map(|p| p.after)
                }
                // An input this client never predicted (sent before the player was seen).
                _ => None,
            }
        };
        self.confirmed = Some((last_input, server));
        let mut position = server;
        for pending in &mut self.pending {
            position = rules.step(position, &pending.input);
            pending.after = position;
        }
        let correction = predicted
            .filter(|&p| p != server)
            .map(|predicted| Correction {
                sequence: last_input,
                predicted,
                server,
            })?;
        self.record(&correction);
        if let Some(old) = old_position {
            self.smooth(old, position);
        }
        Some(correction)
    }

    fn record(&mut self, correction: &Correction) {
        let distance = correction.distance();
        self.stats.corrections += 1;
        self.stats.error_max = self.stats.error_max.max(distance);
        self.stats.error_total += distance;
    }

    /// Keeps the drawn position where it was (the jump becomes an offset that fades), unless
    /// the jump is a teleport or smoothing is off.
    fn smooth(&mut self, old: IVec2, new: IVec2) {
        let jump = new.as_vec2() - old.as_vec2();
        self.previous = self.previous.saturating_add(new.saturating_sub(old));
        let offset = self.offset - jump;
        if self.smoothing_frames == 0 || offset.length() > self.snap_distance {
            if offset.length() > self.snap_distance {
                self.stats.snaps += 1;
            }
            self.offset = Vec2::ZERO;
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
    use proptest::prelude::*;

    const RULES: MovementRules = MovementRules {
        step_per_tick: 427,
        min: IVec2::new(0, 0),
        max: IVec2::new(64_000, 64_000),
    };

    fn input(sequence: u32, move_x: i8, move_y: i8) -> InputFrame {
        InputFrame {
            sequence,
            move_x,
            move_y,
            ..InputFrame::default()
        }
    }

    /// The server's side of the same rules: applies inputs in order from `start`.
    fn server_after(start: IVec2, inputs: &[InputFrame]) -> IVec2 {
        inputs.iter().fold(start, |pos, i| RULES.step(pos, i))
    }

    #[test]
    fn nothing_is_predicted_before_a_snapshot_shows_the_player() {
        let mut prediction = Prediction::new(6, 256.0);
        assert!(!prediction.apply_input(&RULES, input(1, 127, 0)));
        assert_eq!(prediction.position(), None);
        assert_eq!(prediction.reconcile(&RULES, IVec2::new(500, 500), 0), None);
        assert_eq!(prediction.position(), Some(IVec2::new(500, 500)));
    }

    #[test]
    fn an_input_moves_the_player_at_once() {
        let mut prediction = Prediction::new(6, 256.0);
        prediction.reconcile(&RULES, IVec2::new(1000, 1000), 0);
        assert!(prediction.apply_input(&RULES, input(1, 127, 0)));
        assert_eq!(prediction.position(), Some(IVec2::new(1427, 1000)));
        assert_eq!(
            prediction.render_position(0.5),
            Some(Vec2::new(1213.5, 1000.0))
        );
    }

    #[test]
    fn a_forced_correction_is_smoothed_within_the_configured_frames() {
        let frames = 5;
        let mut prediction = Prediction::new(frames, 64.0 * 100.0);
        let start = IVec2::new(10_000, 10_000);
        prediction.reconcile(&RULES, start, 0);
        for sequence in 1..=3 {
            prediction.apply_input(&RULES, input(sequence, 127, 0));
        }
        let drawn_before = prediction.render_position(1.0).expect("predicting");
        // The server moved the player 640 units (10 world units) sideways after input 1.
        let shove = IVec2::new(0, 640);
        let server = server_after(start, &[input(1, 127, 0)]) + shove;
        let correction = prediction
            .reconcile(&RULES, server, 1)
            .expect("a correction");
        assert_eq!(correction.distance(), 640.0);
        assert_eq!(
            prediction.position(),
            Some(server_after(server, &[input(2, 127, 0), input(3, 127, 0)])),
            "re-predicted from the server's position"
        );
        assert_eq!(
            prediction.render_position(1.0),
            Some(drawn_before),
            "no snap"
        );
        let mut left = Vec::new();
        for sequence in 4..4 + frames {
            prediction.apply_input(&RULES, input(sequence, 0, 0));
            left.push(prediction.offset().length());
        }
        assert!(
            left.windows(2).all(|w| w[1] < w[0]),
            "fades every frame: {left:?}"
        );
        assert_eq!(
            prediction.offset(),
            Vec2::ZERO,
            "gone after {frames} frames"
        );
        let stats = prediction.stats();
        assert_eq!((stats.corrections, stats.snaps), (1, 0));
        assert_eq!(stats.error_max, 640.0);
    }

    #[test]
    fn a_correction_of_the_last_input_sent_keeps_the_drawn_player_in_place() {
        // A round trip under one tick: the snapshot confirms every input sent.
        let mut prediction = Prediction::new(6, 64.0 * 100.0);
        prediction.reconcile(&RULES, IVec2::new(10_000, 0), 0);
        prediction.apply_input(&RULES, input(1, 127, 0));
        let drawn_before = prediction.render_position(1.0).expect("predicting");
        let server = IVec2::new(10_427, 20);
        assert!(prediction.reconcile(&RULES, server, 1).is_some());
        assert_eq!(prediction.stats().snaps, 0, "20 steps is no teleport");
        assert_eq!(prediction.render_position(1.0), Some(drawn_before));
        assert_eq!(prediction.offset(), Vec2::new(0.0, -20.0));
    }

    #[test]
    fn a_teleport_snaps() {
        let mut prediction = Prediction::new(6, 256.0);
        prediction.reconcile(&RULES, IVec2::new(1000, 1000), 0);
        prediction.apply_input(&RULES, input(1, 127, 0));
        let respawned = IVec2::new(40_000, 9_000);
        prediction.reconcile(&RULES, respawned, 1);
        assert_eq!(prediction.render_position(1.0), Some(respawned.as_vec2()));
        assert_eq!(prediction.stats().snaps, 1);
    }

    #[test]
    fn a_snapshot_before_any_new_input_compares_with_the_confirmed_position() {
        let mut prediction = Prediction::new(6, 256.0);
        prediction.reconcile(&RULES, IVec2::new(1000, 1000), 0);
        assert_eq!(
            prediction.reconcile(&RULES, IVec2::new(1000, 1000), 0),
            None
        );
        assert!(
            prediction
                .reconcile(&RULES, IVec2::new(1001, 1000), 0)
                .is_some()
        );
    }

    proptest! {
        /// Whatever the inputs and however the server's confirmations lag behind them (latency,
        /// jitter, several inputs applied in one tick), a server that only runs the same rules
        /// never causes a correction, and the prediction always equals the server's position
        /// after every input sent.
        #[test]
        fn prediction_equals_the_server_exactly_without_outside_influence(
            moves in proptest::collection::vec((any::<i8>(), any::<i8>()), 1..200),
            lags in proptest::collection::vec(0usize..8, 1..200),
        ) {
            let start = IVec2::new(32_000, 32_000);
            let inputs: Vec<InputFrame> = moves
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| input(i as u32 + 1, x, y))
                .collect();
            let mut prediction = Prediction::new(6, 256.0);
            prediction.reconcile(&RULES, start, 0);
            let mut applied = 0;
            for (sent, lag) in (1..=inputs.len()).zip(lags.iter().cycle()) {
                prop_assert!(prediction.apply_input(&RULES, inputs[sent - 1]));
                // The server has applied all but the last `lag` inputs sent (never fewer than before).
                applied = applied.max(sent.saturating_sub(*lag));
                let server = server_after(start, &inputs[..applied]);
                prop_assert_eq!(prediction.reconcile(&RULES, server, applied as u32), None);
                prop_assert_eq!(prediction.position(), Some(server_after(start, &inputs[..sent])));
            }
            prop_assert_eq!(prediction.stats().corrections, 0);
        }
    }
}
