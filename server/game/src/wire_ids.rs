//! Hands out compact wire ids and recycles them only once no baseline can still name them.

use std::collections::{BTreeSet, VecDeque};
use tickwire_shared::{EntityId, Tick};

/// Allocates the smallest free [`EntityId`]. A released id waits out a quarantine (the history
/// length) before reuse, so no client can hold a baseline in which the id meant another entity.
#[derive(Debug)]
pub(crate) struct WireIds {
    free: BTreeSet<u32>,
    quarantined: VecDeque<(Tick, u32)>,
    next_fresh: u32,
    quarantine_ticks: u32,
}

impl WireIds {
    pub(crate) fn new(quarantine_ticks: u32) -> Self {
        Self {
            free: BTreeSet::new(),
            quarantined: VecDeque::new(),
            next_fresh: 0,
            quarantine_ticks,
        }
    }

    /// Ids with `used` taken and every other id free.
    pub(crate) fn in_use(quarantine_ticks: u32, used: impl Iterator<Item = EntityId>) -> Self {
        let used: BTreeSet<u32> = used.map(|id| id.0).collect();
        let next_fresh = used.last().map_or(0, |&last| last + 1);
        Self {
            free: (0..next_fresh).filter(|id| !used.contains(id)).collect(),
            quarantined: VecDeque::new(),
            next_fresh,
            quarantine_ticks,
        }
    }

    pub(crate) fn allocate(&mut self) -> EntityId {
        match self.free.pop_first() {
            Some(id) => EntityId(id),
            None => {
                let id = self.next_fresh;
                self.next_fresh += 1;
                EntityId(id)
            }
        }
    }

    pub(crate) fn release(&mut self, id: EntityId, now: Tick) {
        self.quarantined.push_back((now, id.0));
    }

    /// Frees the ids whose quarantine is over at tick `now`.
    pub(crate) fn advance(&mut self, now: Tick) {
        while let Some(&(released, id)) = self.quarantined.front() {
            if now.since(released) <= self.quarantine_ticks {
                break;
            }
            self.quarantined.pop_front();
            self.free.insert(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_small_and_reused_only_after_the_quarantine() {
        let mut ids = WireIds::new(3);
        let (a, b) = (ids.allocate(), ids.allocate());
        assert_eq!((a, b), (EntityId(0), EntityId(1)));
        ids.release(a, Tick(10));
        ids.advance(Tick(13));
        assert_eq!(ids.allocate(), EntityId(2), "still quarantined");
        ids.advance(Tick(14));
        assert_eq!(ids.allocate(), EntityId(0));
    }

    #[test]
    fn ids_of_a_restored_world_skip_the_ones_in_use() {
        let mut ids = WireIds::in_use(3, [EntityId(1), EntityId(3)].into_iter());
        let allocated: Vec<_> = (0..4).map(|_| ids.allocate().0).collect();
        assert_eq!(allocated, [0, 2, 4, 5]);
    }
}
