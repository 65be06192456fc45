//! [`Cluster`]: this node's side of the room directory in Redis. It places each joining room
//! (here, taking the lease when no node holds it and loading the room's save if another node left
//! one, or on the node that does), renews the leases it holds and saves their rooms off the tick
//! threads, and gives them up when their rooms end (or hands them off, saved, on a drain).

use crate::cluster::lease_clock::LeaseClock;
use crate::cluster::lease_store::{Acquired, Lease, LeaseStore, Node, Owner, StoreError};
use crate::cluster::room_lease::RoomLease;
use crate::ops::metrics::ClusterMetrics;
use crate::room::core::RoomSave;
use crate::room::placement::{Answer, Placement, RoomDirectory};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tickwire_game::SavedRoom;
use tickwire_shared::codec::MAX_SAVED_STATE_BYTES;
use tokio::runtime::Handle;
use tracing::{info, warn};

/// The leases this node holds, by room.
#[derive(Debug)]
pub(crate) struct Cluster {
    store: LeaseStore,
    held: Mutex<HashMap<String, Held>>,
    /// One acquire at a time on this node, so two joins of a new room do not race each other
    /// (the loser would be sent to this very node).
    acquiring: tokio::sync::Mutex<()>,
    runtime: Handle,
    /// How often each room is saved.
    save_every: Duration,
    /// The most rooms this node owns at once (`max_rooms`).
    max_rooms: usize,
    /// Draining: no new rooms here.
    draining: AtomicBool,
    metrics: ClusterMetrics,
}

#[derive(Debug)]
struct Held {
    lease: Lease,
    clock: Arc<LeaseClock>,
    /// The room's save when the lease was taken (another node's), until the room opens.
    saved: Option<Arc<SavedRoom>>,
}

impl Cluster {
    /// Must be called on the tokio runtime that renews and releases the leases.
    /// Announces the node every third of the lease TTL while it runs.
    pub(crate) fn new(
        store: LeaseStore,
        save_every: Duration,
        max_rooms: usize,
        metrics: ClusterMetrics,
    ) -> Arc<Self> {
        let cluster = Arc::new(Self {
            store,
            held: Mutex::default(),
            acquiring: tokio::sync::Mutex::default(),
            runtime: Handle::current(),
            save_every,
            max_rooms,
            draining: AtomicBool::new(false),
            metrics,
        });
        let announcer = Arc::downgrade(&cluster);
        cluster.runtime.spawn(async move {
            let every = match announcer.upgrade() {
                Some(cluster) => cluster.store.ttl() / 3,
                None => return,
            };
            loop {
                match announcer.upgrade() {
                    Some(cluster) => cluster.announce().await,
                    None => return,
                }
                tokio::time::sleep(every).await;
            }
        });
        cluster
    }

    /// Writes this node's record: ready or draining, and its rooms.
    async fn announce(&self) {
        let ready = !self.draining.load(Ordering::Acquire);
        let rooms = lock(&self.held).len() as u64;
        if let Err(error) = self
            .store
            .announce(ready, rooms, self.max_rooms as u64)
            .await
        {
            warn!(%error, "node record not written");
        }
    }

    /// Whether this node takes a new room: not draining, and under `max_rooms`.
    fn takes_new_rooms(&self) -> bool {
        !self.draining.load(Ordering::Acquire) && lock(&self.held).len() < self.max_rooms
    }

    /// Where a room no node owns goes when this node takes none: the ready node with the most
    /// room to spare, as nodes last announced themselves.
    async fn place_elsewhere(&self, room: &str) -> Result<Placement, StoreError> {
        if let Some(owner) = self.store.locate(room).await? {
            return Ok(Placement::There(owner));
        }
        let me = &self.store.node().id;
        let target = (self.store.nodes().await?.into_iter())
            .filter(|n| n.has_room() && n.node.id != *me)
            .max_by_key(|n| (n.max_rooms - n.rooms, std::cmp::Reverse(n.node.id.clone())));
        Ok(match target {
            Some(target) => {
                info!(room, node = %target.node.id, "room placed on a less loaded node");
                Placement::There(Owner {
                    node: target.node.id,
                    url: target.node.url,
                    epoch: 0,
                })
            }
            None => Placement::Full,
        })
    }

    /// How often each room is saved.
    pub(crate) fn save_every(&self) -> Duration {
        self.save_every
    }

    /// The runtime the leases' tasks run on.
    pub(crate) fn runtime(&self) -> &Handle {
        &self.runtime
    }

    /// Where `room` is: here when this node holds its lease or takes it now, else its owner.
    async fn place_room(self: &Arc<Self>, room: &str) -> Result<Placement, StoreError> {
        if let Some(here) = self.held_here(room) {
            return Ok(here);
        }
        let _one_at_a_time = self.acquiring.lock().await;
        if let Some(here) = self.held_here(room) {
            return Ok(here);
        }
        if !self.takes_new_rooms() {
            return self.place_elsewhere(room).await;
        }
        let asked = Instant::now();
        match self.store.acquire(room).await? {
            Acquired::Mine(lease) => {
                let saved = match self.load_save(room).await {
                    Ok(saved) => saved,
                    Err(error) => {
                        // Without its save the room cannot open here: give the lease back.
                        let _ = self.store.release_keeping_save(&lease).await;
                        return Err(error);
                    }
                };
                info!(
                    room,
                    epoch = lease.epoch,
                    saved = saved.is_some(),
                    "lease taken"
                );
                self.metrics.leases_taken.increment(1);
                if lease.epoch > 1 {
                    self.metrics.takeovers.increment(1);
                }
                self.metrics.leases_held.increment(1.0);
                let clock = Arc::new(LeaseClock::until(self.deadline_after(asked)));
                let held = Held {
                    lease: lease.clone(),
                    clock: Arc::clone(&clock),
                    saved: saved.clone(),
                };
                if let Some(old) = lock(&self.held).insert(room.to_owned(), held) {
                    old.clock.revoke();
                    self.metrics.leases_held.decrement(1.0);
                }
                self.runtime
                    .spawn(Arc::clone(self).renew(lease, Arc::clone(&clock)));
                Ok(Placement::Here {
                    lease: Some(clock),
                    saved,
                })
            }
            Acquired::Held(owner) if owner.node == self.store.node().id => {
                // A lease of this node's id it does not know: from before a restart. It expires
                // within a TTL; until then the room is nowhere.
                Err(StoreError::Unexpected(format!(
                    "this node's id holds {room} at epoch {} from before; it expires soon",
                    owner.epoch
                )))
            }
            Acquired::Held(owner) => Ok(Placement::There(owner)),
        }
    }

    /// `room` here, while this node's lease of it allows ticking.
    fn held_here(&self, room: &str) -> Option<Placement> {
        let held = lock(&self.held);
        let held = held.get(room)?;
        held.clock.allows(Instant::now()).then(|| Placement::Here {
            lease: Some(Arc::clone(&held.clock)),
            saved: held.saved.clone(),
        })
    }

    /// The room's save, if another node left one that this node can read (one it cannot read
    /// is logged and ignored: the room starts afresh).
    async fn load_save(&self, room: &str) -> Result<Option<Arc<SavedRoom>>, StoreError> {
        let Some(bytes) = self.store.saved(room).await? else {
            return Ok(None);
        };
        match SavedRoom::decode(&bytes) {
            Ok(saved) => Ok(Some(Arc::new(saved))),
            Err(error) => {
                warn!(room, %error, bytes = bytes.len(), "the room's save cannot be read; it starts afresh");
                Ok(None)
            }
        }
    }

    /// Saves the room whose lease has `clock`, off the room's thread; `saving` is cleared when
    /// done. A refused save (another node owns the room) revokes the clock: the room stops
    /// before its next tick.
    pub(crate) fn save(
        self: &Arc<Self>,
        room: &str,
        clock: &Arc<LeaseClock>,
        state: RoomSave,
        saving: Arc<AtomicBool>,
    ) {
        let Some(lease) = self.lease_of(room, clock) else {
            saving.store(false, Ordering::Release);
            return;
        };
        let (cluster, clock) = (Arc::clone(self), Arc::clone(clock));
        self.runtime.spawn(async move {
            let started = Instant::now();
            match cluster.write_state(&lease, state, false).await {
                Ok(true) => {}
                Ok(false) => {
                    warn!(room = %lease.room, epoch = lease.epoch, "save refused: another node owns the room");
                    clock.revoke();
                }
                Err(error) => warn!(room = %lease.room, %error, "save failed"),
            }
            cluster.metrics.save_seconds.record(started.elapsed().as_secs_f64());
            saving.store(false, Ordering::Release);
        });
    }

    /// Hands the room whose lease has `clock` off: its last state saved and its lease given
    /// up in one step, so the next node to take it goes on from exactly this state. Waits for
    /// Redis (the server is stopping: the room's clients are told to move once it is done).
    pub(crate) async fn hand_off(&self, room: &str, clock: &Arc<LeaseClock>, state: RoomSave) {
        let Some(lease) = self.give_up(room, clock) else {
            return;
        };
        match self.write_state(&lease, state, true).await {
            Ok(true) => info!(room, epoch = lease.epoch, "room handed off"),
            Ok(false) => warn!(
                room,
                epoch = lease.epoch,
                "hand-off refused: another node owns the room"
            ),
            Err(error) => {
                warn!(room, %error, "hand-off failed; the room moves from its last save when its lease expires")
            }
        }
    }

    /// Encodes and writes `state` (a save, or a hand-off); `Ok(false)`: fenced.
    async fn write_state(
        &self,
        lease: &Lease,
        state: RoomSave,
        hand_off: bool,
    ) -> Result<bool, StoreError> {
        let bytes = match state.encode() {
            Ok(bytes) if bytes.len() <= MAX_SAVED_STATE_BYTES => bytes,
            Ok(bytes) => {
                self.metrics.saves_failed.increment(1);
                return Err(StoreError::Unexpected(format!(
                    "the room's save is {} bytes, over {MAX_SAVED_STATE_BYTES}",
                    bytes.len()
                )));
            }
            Err(error) => {
                self.metrics.saves_failed.increment(1);
                return Err(StoreError::Unexpected(format!(
                    "the room does not save: {error}"
                )));
            }
        };
        let written = if hand_off {
            self.store.hand_off(lease, &bytes).await
        } else {
            self.store.save(lease, &bytes).await
        };
        match written {
            Ok(true) => {
                self.metrics.saves.increment(1);
                self.metrics.save_bytes.record(bytes.len() as f64);
            }
            Ok(false) => self.metrics.saves_refused.increment(1),
            Err(_) => self.metrics.saves_failed.increment(1),
        }
        written
    }

    /// This node's lease of `room`, if `clock` is still its clock.
    fn lease_of(&self, room: &str, clock: &Arc<LeaseClock>) -> Option<Lease> {
        let held = lock(&self.held);
        let held = held.get(room).filter(|h| Arc::ptr_eq(&h.clock, clock))?;
        Some(held.lease.clone())
    }

    /// The room ended on this node: its lease (the one whose clock is `clock`) is given up.
    /// `keep_save`: the room goes on elsewhere from its save (its lease ran out, or it never
    /// opened here); otherwise it is over, and its save goes too.
    pub(crate) fn room_ended(
        self: &Arc<Self>,
        room: &str,
        clock: &Arc<LeaseClock>,
        keep_save: bool,
    ) {
        let Some(lease) = self.give_up(room, clock) else {
            return; // already gone, or a newer lease of the room
        };
        let cluster = Arc::clone(self);
        self.runtime.spawn(async move {
            let released = if keep_save {
                cluster.store.release_keeping_save(&lease).await
            } else {
                cluster.store.release(&lease).await
            };
            match released {
                Ok(true) => {
                    info!(room = %lease.room, epoch = lease.epoch, keep_save, "lease released")
                }
                Ok(false) => {
                    info!(room = %lease.room, epoch = lease.epoch, "lease was already gone")
                }
                Err(error) => warn!(room = %lease.room, %error, "lease not released; it expires"),
            }
        });
    }

    /// Renews `lease` every third of its TTL until its room ends or it is lost. A refused
    /// renewal (another node took the room) revokes the clock at once; while Redis cannot be
    /// reached, the room ticks on until the deadline of its last renewal, then stops.
    async fn renew(self: Arc<Self>, lease: Lease, clock: Arc<LeaseClock>) {
        let every = self.store.ttl() / 3;
        loop {
            tokio::time::sleep(every).await;
            if !clock.allows(Instant::now()) {
                self.forget(&lease.room, &clock);
                return;
            }
            let asked = Instant::now();
            match self.store.renew(&lease).await {
                Ok(true) => {
                    clock.extend_to(self.deadline_after(asked));
                    self.metrics.renewals.increment(1);
                    self.metrics
                        .renewal_seconds
                        .record(asked.elapsed().as_secs_f64());
                }
                Ok(false) => {
                    self.metrics.renewals_refused.increment(1);
                    warn!(room = %lease.room, epoch = lease.epoch, "lease renewal refused: another node owns the room");
                    clock.revoke();
                    self.forget(&lease.room, &clock);
                    return;
                }
                Err(error) => {
                    self.metrics.renewals_failed.increment(1);
                    warn!(room = %lease.room, %error, "lease renewal failed; the room stops at its deadline unless one succeeds");
                }
            }
        }
    }

    /// This node's lease of `room`, if `clock` is still its clock, taken out of the leases it
    /// holds: the clock is revoked and nothing renews or saves under it any more.
    fn give_up(&self, room: &str, clock: &Arc<LeaseClock>) -> Option<Lease> {
        let mut held = lock(&self.held);
        if !held.get(room).is_some_and(|h| Arc::ptr_eq(&h.clock, clock)) {
            return None;
        }
        let Held { lease, clock, .. } = held.remove(room)?;
        clock.revoke();
        self.metrics.leases_held.decrement(1.0);
        Some(lease)
    }

    /// Drops the record of a lease that is gone.
    fn forget(&self, room: &str, clock: &Arc<LeaseClock>) {
        let mut held = lock(&self.held);
        if held.get(room).is_some_and(|h| Arc::ptr_eq(&h.clock, clock)) {
            held.remove(room);
            self.metrics.leases_held.decrement(1.0);
        }
    }

    /// Until when a lease asked for at `asked` may be used: its TTL from then, less a margin,
    /// so this node stops before Redis lets another node take the room.
    fn deadline_after(&self, asked: Instant) -> Instant {
        let ttl = self.store.ttl();
        let margin = (ttl / 5).max(Duration::from_millis(50)).min(ttl / 2);
        asked + ttl - margin
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RoomDirectory for Cluster {
    fn node(&self) -> Option<&Node> {
        Some(self.store.node())
    }

    fn place(self: Arc<Self>, room: String) -> Answer<Placement> {
        Box::pin(async move { self.place_room(&room).await })
    }

    fn locate(self: Arc<Self>, room: String) -> Answer<Option<Owner>> {
        Box::pin(async move { self.store.locate(&room).await })
    }

    /// The save is not needed any more once the room is open.
    fn opened(
        self: Arc<Self>,
        room: &str,
        lease: Option<&Arc<LeaseClock>>,
        restored: bool,
    ) -> Option<RoomLease> {
        let clock = lease?;
        if restored {
            self.metrics.restores.increment(1);
        }
        if let Some(held) = lock(&self.held).get_mut(room)
            && Arc::ptr_eq(&held.clock, clock)
        {
            held.saved = None;
        }
        Some(RoomLease::new(self, room.to_owned(), Arc::clone(clock)))
    }

    fn not_opened(self: Arc<Self>, room: &str, lease: &Arc<LeaseClock>) {
        self.room_ended(room, lease, true);
    }

    /// It says so in its record at once.
    fn start_draining(self: Arc<Self>) -> bool {
        self.draining.store(true, Ordering::Release);
        let cluster = Arc::clone(&self);
        self.runtime.spawn(async move { cluster.announce().await });
        true
    }
}
