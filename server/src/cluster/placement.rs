//! [`Cluster`]: this node's side of the room directory in Redis. It places each joining room
//! (here, taking the lease when no node holds it, or on the node that does), renews the leases it
//! holds off the tick threads, and gives them up when their rooms end.

use crate::cluster::lease_clock::LeaseClock;
use crate::cluster::lease_store::{Acquired, Lease, LeaseStore, Owner, StoreError};
use crate::ops::metrics::ClusterMetrics;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tracing::{info, warn};

/// Where a room is.
#[derive(Debug)]
pub(crate) enum Placement {
    /// On this node, which holds its lease: tick it while the clock allows.
    Here(Arc<LeaseClock>),
    /// On another node.
    There(Owner),
}

/// The leases this node holds, by room.
#[derive(Debug)]
pub(crate) struct Cluster {
    store: LeaseStore,
    held: Mutex<HashMap<String, Held>>,
    /// One acquire at a time on this node, so two joins of a new room do not race each other
    /// (the loser would be sent to this very node).
    acquiring: tokio::sync::Mutex<()>,
    runtime: Handle,
    metrics: ClusterMetrics,
}

#[derive(Debug)]
struct Held {
    lease: Lease,
    clock: Arc<LeaseClock>,
}

impl Cluster {
    /// Must be called on the tokio runtime that renews and releases the leases.
    pub(crate) fn new(store: LeaseStore, metrics: ClusterMetrics) -> Arc<Self> {
        Arc::new(Self {
            store,
            held: Mutex::default(),
            acquiring: tokio::sync::Mutex::default(),
            runtime: Handle::current(),
            metrics,
        })
    }

    /// Where `room` is: here when this node holds its lease or takes it now, else its owner.
    pub(crate) async fn place(self: &Arc<Self>, room: &str) -> Result<Placement, StoreError> {
        if let Some(clock) = self.held_clock(room) {
            return Ok(Placement::Here(clock));
        }
        let _one_at_a_time = self.acquiring.lock().await;
        if let Some(clock) = self.held_clock(room) {
            return Ok(Placement::Here(clock));
        }
        let asked = Instant::now();
        match self.store.acquire(room).await? {
            Acquired::Mine(lease) => {
                info!(room, epoch = lease.epoch, "lease taken");
                self.metrics.leases_taken.increment(1);
                if lease.epoch > 1 {
                    self.metrics.takeovers.increment(1);
                }
                self.metrics.leases_held.increment(1.0);
                let clock = Arc::new(LeaseClock::until(self.deadline_after(asked)));
                let held = Held {
                    lease: lease.clone(),
                    clock: Arc::clone(&clock),
                };
                if let Some(old) = lock(&self.held).insert(room.to_owned(), held) {
                    old.clock.revoke();
                    self.metrics.leases_held.decrement(1.0);
                }
                self.runtime
                    .spawn(Arc::clone(self).renew(lease, Arc::clone(&clock)));
                Ok(Placement::Here(clock))
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

    /// The clock of this node's lease of `room`, while it allows ticking.
    fn held_clock(&self, room: &str) -> Option<Arc<LeaseClock>> {
        let held = lock(&self.held);
        let held = held.get(room)?;
        held.clock
            .allows(Instant::now())
            .then(|| Arc::clone(&held.clock))
    }

    /// `room`'s owner, from Redis.
    pub(crate) async fn locate(&self, room: &str) -> Result<Option<Owner>, StoreError> {
        self.store.locate(room).await
    }

    /// The room ended on this node: its lease (the one whose clock is `clock`) is given up.
    pub(crate) fn room_ended(self: &Arc<Self>, room: &str, clock: &Arc<LeaseClock>) {
        let mut held = lock(&self.held);
        if !held.get(room).is_some_and(|h| Arc::ptr_eq(&h.clock, clock)) {
            return; // already gone, or a newer lease of the room
        }
        let Some(Held { lease, clock }) = held.remove(room) else {
            return;
        };
        clock.revoke();
        self.metrics.leases_held.decrement(1.0);
        let cluster = Arc::clone(self);
        self.runtime.spawn(async move {
            match cluster.store.release(&lease).await {
                Ok(true) => info!(room = %lease.room, epoch = lease.epoch, "lease released"),
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
