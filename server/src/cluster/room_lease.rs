//! [`RoomLease`]: a room's lease as its room thread sees it. Before every tick: may it tick?
//! After a tick: is a save due? When the room ends: release the lease (the room is over), or
//! hand it off with a last save (a drain), or nothing (the lease is lost already).

use crate::cluster::lease_clock::LeaseClock;
use crate::cluster::placement::Cluster;
use crate::room::core::RoomSave;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::warn;

/// The longest a drain waits for one room's hand-off before it closes the room anyway (its
/// clients then resume from its last periodic save once the lease expires).
const HAND_OFF_TIMEOUT: Duration = Duration::from_secs(5);

/// One room's lease, held by the room's task.
#[derive(Debug)]
pub(crate) struct RoomLease {
    cluster: Arc<Cluster>,
    room: String,
    clock: Arc<LeaseClock>,
    /// A save is on its way to Redis: the next waits for it (saves never queue up).
    saving: Arc<AtomicBool>,
    last_save: Instant,
    next_save: Instant,
}

/// The least time between a save and one made because seats changed (many clients resuming
/// at once make one save, not one each).
const SEAT_SAVE_GAP: Duration = Duration::from_millis(100);

impl RoomLease {
    pub(crate) fn new(cluster: Arc<Cluster>, room: String, clock: Arc<LeaseClock>) -> Self {
        let now = Instant::now();
        Self {
            next_save: now + cluster.save_every(),
            last_save: now,
            cluster,
            room,
            clock,
            saving: Arc::default(),
        }
    }

    /// Whether the room may tick at `now`.
    pub(crate) fn allows(&self, now: Instant) -> bool {
        self.clock.allows(now)
    }

    /// Whether the room should be saved now, no save being in flight: the interval is over,
    /// or a client took a seat (back) at least [`SEAT_SAVE_GAP`] after the last save, so a
    /// client that just resumed can resume again should this node die now.
    pub(crate) fn save_due(&self, now: Instant, seats_changed: bool) -> bool {
        let due = now >= self.next_save || (seats_changed && now >= self.last_save + SEAT_SAVE_GAP);
        due && !self.saving.load(Ordering::Acquire)
    }

    /// Saves `state` off the room's thread.
    pub(crate) fn save(&mut self, state: RoomSave, now: Instant) {
        self.last_save = now;
        self.next_save = now + self.cluster.save_every();
        self.saving.store(true, Ordering::Release);
        let saving = Arc::clone(&self.saving);
        self.cluster.save(&self.room, &self.clock, state, saving);
    }

    /// The room is over: its lease is given up and its save dropped.
    pub(crate) fn release(self) {
        self.cluster.room_ended(&self.room, &self.clock, false);
    }

    /// The room stopped here because its lease ran out or was taken: the lease is given up if
    /// Redis still has it as this node's, and the save is kept for the next owner.
    pub(crate) fn let_go(self) {
        self.cluster.room_ended(&self.room, &self.clock, true);
    }

    /// The node is draining: `state` is saved and the lease given up in one step, before the
    /// room's clients are told to move. Blocks the calling thread (a room thread, or the
    /// thread stopping them) until Redis answers, at most [`HAND_OFF_TIMEOUT`].
    pub(crate) fn hand_off(self, state: RoomSave) {
        let handed_off = tokio::time::timeout(
            HAND_OFF_TIMEOUT,
            self.cluster.hand_off(&self.room, &self.clock, state),
        );
        if self.cluster.runtime().block_on(handed_off).is_err() {
            warn!(room = %self.room, "hand-off timed out; the room moves from its last save when its lease expires");
        }
    }
}
