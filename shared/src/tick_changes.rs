//! One tick's changes, diffed once for every client. A server whose clients each hold their own
//! view (interest management, budgets) moves each view on with [`World::follow_known`]; most
//! clients hold most entities as they were the tick before, so their change is the same for
//! all of them: worked out here once, and copied into each client's delta.

use crate::EntityId;
use crate::checksum::entity_hash;
use crate::layout::Layout;
use crate::world::{EntityData, World};
use crate::world_diff::{Delta, diff_entity};
use std::sync::Arc;

/// The changes between two consecutive states of a world, by entity. Entities are recognised
/// by the address of their data, which names the same data only while both states live: use
/// it while they do (a server keeps them in its history), and make a new one each tick.
#[derive(Debug, Default)]
pub struct TickChanges {
    /// Every entity in both states whose components changed.
    delta: Delta,
    /// By entity id: the addresses of its data before and after, and its change in `delta`.
    by_id: Vec<Option<Known>>,
}

#[derive(Debug, Clone, Copy)]
struct Known {
    before: usize,
    after: usize,
    change: u32,
    /// What the change adds to a world's checksum.
    checksum_shift: u32,
}

impl TickChanges {
    /// The changes from `before` to `after` (consecutive states sharing unchanged entities).
    #[must_use]
    pub fn between(before: &World, after: &World, layout: &Layout) -> Self {
        let mut changes = Self::default();
        before.walk_to(after.iter_shared(), |id, old, new| {
            let (Some(old), Some(new)) = (old, new) else {
                return;
            };
            let count = changes.delta.changed.len();
            if diff_entity(&mut changes.delta, layout, id, old, new)
                && changes.delta.changed.len() > count
            {
                let slot = id.0 as usize;
                if changes.by_id.len() <= slot {
                    changes.by_id.resize(slot + 1, None);
                }
                changes.by_id[slot] = Some(Known {
                    before: std::ptr::from_ref(old) as usize,
                    after: Arc::as_ptr(new) as usize,
                    change: count as u32,
                    checksum_shift: entity_hash(id, new).wrapping_sub(entity_hash(id, old)),
                });
            }
        });
        changes
    }

    /// Adds to `delta` the change of entity `id` from `old` to `new`, if it is the one worked
    /// out here (the same data before and after, by address), and returns what it adds to a
    /// checksum. `None`: not known.
    pub(crate) fn copy_into(
        &self,
        delta: &mut Delta,
        layout: &Layout,
        id: EntityId,
        old: &EntityData,
        new: &Arc<EntityData>,
    ) -> Option<u32> {
        let known = self.by_id.get(id.0 as usize).copied().flatten()?;
        let same = known.before == std::ptr::from_ref(old) as usize
            && known.after == Arc::as_ptr(new) as usize;
        (same && delta.copy_change(&self.delta, known.change as usize, layout))
            .then_some(known.checksum_shift)
    }
}
