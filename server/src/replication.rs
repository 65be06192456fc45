//! Per-client delta snapshots: a ring of recent world states, and deltas against whichever of
//! them a client last received.

use std::collections::{HashMap, VecDeque};
use tickwire_shared::{Snapshot, Tick, WorldDelta, WorldState};

/// Recent replicated states by tick, newest last, and this tick's deltas by baseline.
#[derive(Debug)]
pub(crate) struct Replication {
    history: VecDeque<(Tick, WorldState)>,
    capacity: usize,
    /// Deltas to the newest state, computed once per baseline per tick and shared by every
    /// client on that baseline (`None`: the full state).
    deltas: HashMap<Option<Tick>, WorldDelta>,
}

impl Replication {
    /// `history_ticks` must be at least 1 (the loop guarantees it).
    pub(crate) fn new(history_ticks: usize) -> Self {
        Self {
            history: VecDeque::with_capacity(history_ticks + 1),
            capacity: history_ticks,
            deltas: HashMap::new(),
        }
    }

    /// Records the state of a new tick.
    pub(crate) fn record(&mut self, tick: Tick, state: &WorldState) {
        if self.history.len() == self.capacity {
            self.history.pop_front();
        }
        self.history.push_back((tick, state.clone()));
        self.deltas.clear();
    }

    /// The newest tick's snapshot for a client whose last snapshot was `baseline`. A baseline that
    /// has left the history (or `None`) gives a full snapshot.
    pub(crate) fn snapshot_for(
        &mut self,
        baseline: Option<Tick>,
        last_input: u32,
    ) -> Option<Snapshot> {
        let (tick, newest) = self.history.back()?;
        // History ticks are consecutive, so a baseline's place is its distance from the newest.
        let base_state = baseline.and_then(|b| {
            let age = usize::try_from(tick.since(b)).ok()?;
            let index = self.history.len().checked_sub(1 + age)?;
            self.history
                .get(index)
                .filter(|(t, _)| *t == b)
                .map(|(_, s)| s)
        });
        let baseline = base_state.and(baseline);
        let delta = self
            .deltas
            .entry(baseline)
            .or_insert_with(|| match base_state {
                Some(base) => base.diff(newest),
                None => WorldState::new().diff(newest),
            })
            .clone();
        Some(Snapshot {
            tick: *tick,
            baseline,
            last_input,
            checksum: newest.checksum(),
            delta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::IVec2;
    use tickwire_shared::{ClientWorld, EntityId, EntityKind, EntityState};

    fn world_with(n: u32) -> WorldState {
        let mut w = WorldState::new();
        for id in 0..n {
            w.insert(
                EntityId(id),
                EntityState::new(EntityKind::Prop, IVec2::new(id as i32, 0)),
            );
        }
        w
    }

    #[test]
    fn a_client_follows_deltas_and_falls_back_to_full_when_its_baseline_is_gone() {
        let mut replication = Replication::new(2);
        let mut client = ClientWorld::new();
        replication.record(Tick(1), &world_with(1));
        let first = replication.snapshot_for(None, 0).expect("history");
        assert_eq!(first.baseline, None);
        client.apply(&first).expect("full snapshot applies");

        replication.record(Tick(2), &world_with(2));
        let second = replication.snapshot_for(Some(Tick(1)), 0).expect("history");
        assert_eq!(second.baseline, Some(Tick(1)));
        assert_eq!(second.delta.created.len(), 1);
        client.apply(&second).expect("delta applies");

        replication.record(Tick(3), &world_with(3));
        replication.record(Tick(4), &world_with(4));
        let stale = replication.snapshot_for(Some(Tick(2)), 0).expect("history");
        assert_eq!(stale.baseline, None, "tick 2 left the 2-tick history");
        client.apply(&stale).expect("full snapshot applies");
        assert_eq!(client.state(), &world_with(4));
    }
}
