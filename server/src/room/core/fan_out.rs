//! Fan-out: each client's snapshot for this tick to the outlet, with the per-client backlog,
//! slow-consumer and full-snapshot rules. Shared snapshots are encoded once per baseline;
//! clients' own snapshots (per-client views, budgets, owner-only components) are made on every
//! core at once, then everything is sent in client order.

use super::*;
use crate::room::replication::{EncodedSnapshot, SnapshotError};
use rayon::prelude::*;
use views::{Sight, Views};

/// A client's own snapshot, if it has one this tick (see `Views::sight`); shared by the
/// clients whose views coincide.
type Own = Option<Result<Option<Arc<EncodedSnapshot>>, SnapshotError>>;

/// Below this many clients a tick's own snapshots are made on the room's thread alone.
const PARALLEL_FROM_CLIENTS: usize = 16;

impl<P> RoomCore<P> {
    pub(super) fn send_snapshots(&mut self, now: Instant, out: &mut impl Outlet<P>) {
        let mut to_remove = Vec::new();
        let (due, fulls_granted) = self.clients_due(now, out, &mut to_remove);
        let own = self.own_snapshots(&due);
        let client_count = due.len();
        let (mut sent, mut sent_bytes) = (0, 0);
        for (index, (id, own)) in due.into_iter().zip(own).enumerate() {
            let Some(client) = self.clients.get_mut(&id) else {
                continue;
            };
            let own_snapshot;
            let snapshot = match own {
                None => self.replication.snapshot_for(client.last_sent),
                Some(Ok(Some(snapshot))) => {
                    let len = snapshot.encoded_len() as f64;
                    self.metrics.snapshot_bytes.record(len);
                    own_snapshot = snapshot;
                    Ok(Some(&*own_snapshot))
                }
                Some(other) => other.map(|_| None),
            };
            let snapshot = match snapshot {
                Ok(Some(snapshot)) => snapshot,
                Ok(None) => continue,
                Err(e) => {
                    warn!(client = id, error = %e, "snapshot cannot be sent");
                    to_remove.push((id, Some(CloseReason::SNAPSHOT_TOO_LARGE)));
                    continue;
                }
            };
            if self.frames.capacity() < snapshot.max_frame_len() {
                // Room for the rest of the tick's frames in one allocation, up to a cap: a full
                // frame is far larger than the deltas most clients get.
                let rest = snapshot.max_frame_len() * (client_count - index);
                self.frames
                    .reserve(rest.min(FRAME_BUFFER_CAP.max(snapshot.max_frame_len())));
            }
            if client.last_sent.is_none() {
                client.last_full = Some(now);
            }
            let tick = snapshot.tick;
            let bytes = match snapshot.frame_for(client.seat.last_input, &mut self.frames) {
                Ok(bytes) => bytes,
                Err(e) => {
                    warn!(client = id, error = %e, "snapshot cannot be sent");
                    to_remove.push((id, Some(CloseReason::SNAPSHOT_TOO_LARGE)));
                    continue;
                }
            };
            self.stats.record_sent(bytes.len());
            sent += 1;
            sent_bytes += bytes.len() as u64;
            out.send(id, &client.peer, bytes);
            client.last_sent = Some(tick);
        }
        self.metrics.messages_out.increment(sent);
        self.metrics.bytes_out.increment(sent_bytes);
        self.metrics.desyncs_reported.increment(fulls_granted);
        for len in self.replication.encoded_lengths() {
            self.metrics.snapshot_bytes.record(len as f64);
        }
        for (id, kick) in to_remove {
            self.remove(id, kick, out);
        }
    }

    /// The clients that get a snapshot this tick, ascending, and how many full snapshots were
    /// granted. A client with too many messages not yet in the kernel is skipped for the tick
    /// (its next snapshot is a delta from the last one handed over, so nothing is lost), and
    /// kicked when it stays behind too long.
    fn clients_due(
        &mut self,
        now: Instant,
        out: &impl Outlet<P>,
        to_remove: &mut Vec<(ClientId, Option<CloseReason>)>,
    ) -> (Vec<ClientId>, u64) {
        let slow_after = Duration::from_millis(self.limits.slow_consumer_timeout_ms);
        let full_interval = Duration::from_millis(self.limits.full_snapshot_interval_ms);
        let max_in_flight = self.limits.outbound_queue_snapshots;
        let mut due = Vec::with_capacity(self.clients.len());
        let mut fulls_granted = 0;
        for (&id, client) in &mut self.clients {
            if out.in_flight(&client.peer) >= max_in_flight {
                let since = *client.behind_since.get_or_insert(now);
                if now.duration_since(since) >= slow_after {
                    to_remove.push((id, Some(CloseReason::SLOW_CONSUMER)));
                }
                continue;
            }
            client.behind_since = None;
            // At most one requested full snapshot per interval: asking every tick must not turn
            // a client's one-byte requests into a full world each tick.
            if client.wants_full
                && client
                    .last_full
                    .is_none_or(|at| now.duration_since(at) >= full_interval)
            {
                client.wants_full = false;
                client.last_sent = None;
                fulls_granted += 1;
            }
            due.push(id);
        }
        (due, fulls_granted)
    }

    /// The own snapshot of each client `due` (in its order), on every core when there are
    /// many: each works on its own seat, and reads the world, the grid and the history.
    /// Clients whose views coincide (the same view held, the same sight now; never with a
    /// budget) share one snapshot, made by the first of them.
    fn own_snapshots(&mut self, due: &[ClientId]) -> Vec<Own> {
        let sources = views::Sources {
            game: &*self.game,
            audience: &self.audience,
            replication: &self.replication,
            budget: self.budget.as_ref(),
        };
        let views = &self.views;
        let parallel = due.len() >= PARALLEL_FROM_CLIENTS
            && views.may_differ(self.budget.is_some(), &self.audience);
        let mut jobs: Vec<Job<'_>> = Vec::with_capacity(due.len());
        let mut wanted = due.iter().peekable();
        for (id, client) in &mut self.clients {
            if wanted.next_if_eq(&id).is_some() {
                jobs.push((&mut client.seat, client.last_sent));
            }
        }
        // Players under interest management each see from where they stand, and budgets
        // differ: their snapshots are made in one pass, not looked for among the others.
        if views.may_share(self.budget.is_some()) {
            made_together(views, &sources, &mut jobs, parallel)
        } else {
            made_alone(views, &sources, &mut jobs, parallel)
        }
    }
}

/// A client's seat and the baseline of its next snapshot.
type Job<'s> = (&'s mut Seat, Option<Tick>);

/// Each client's own snapshot, made for it alone.
fn made_alone(
    views: &Views,
    sources: &views::Sources<'_>,
    jobs: &mut [Job<'_>],
    parallel: bool,
) -> Vec<Own> {
    let own = |scratch: &mut Vec<u32>, (seat, baseline): &mut Job<'_>| {
        let sight = views.sight(sources, seat, scratch)?;
        Some(
            views
                .snapshot_of(sources, seat, *baseline, sight)
                .map(|s| s.map(Arc::new)),
        )
    };
    if parallel {
        jobs.par_iter_mut().map_init(Vec::new, own).collect()
    } else {
        let mut scratch = Vec::new();
        jobs.iter_mut().map(|job| own(&mut scratch, job)).collect()
    }
}

/// Each client's own snapshot, one made for each group of clients whose views coincide.
fn made_together(
    views: &Views,
    sources: &views::Sources<'_>,
    jobs: &mut [Job<'_>],
    parallel: bool,
) -> Vec<Own> {
    // Each client's sight, hashed with its baseline and what it holds.
    let sight_of = |scratch: &mut Vec<u32>, (seat, baseline): &Job<'_>| {
        let sight = views.sight(sources, seat, scratch)?;
        let hash = view_hash(seat, *baseline, &sight);
        Some((sight, hash))
    };
    let (mut sights, hashes): (Vec<Option<Sight<'_>>>, Vec<Option<u64>>) = if parallel {
        let found: Vec<_> = jobs.par_iter().map_init(Vec::new, sight_of).collect();
        found.into_iter().map(split_sight).unzip()
    } else {
        let mut scratch = Vec::new();
        let found = jobs.iter().map(|job| sight_of(&mut scratch, job));
        found.map(split_sight).unzip()
    };
    let leaders = coinciding(jobs, &sights, &hashes);
    // Followers keep their sight for the rare case their leader's snapshot failed.
    let mut work: Vec<_> = jobs
        .iter_mut()
        .zip(&mut sights)
        .zip(&leaders)
        .map(|((job, sight), leader)| (job, if leader.is_some() { None } else { sight.take() }))
        .collect();
    let make = |(job, sight): &mut (&mut Job<'_>, Option<Sight<'_>>)| {
        sight.take().map(|sight| {
            views
                .snapshot_of(sources, job.0, job.1, sight)
                .map(|s| s.map(Arc::new))
        })
    };
    let mut made: Vec<Own> = if parallel {
        work.par_iter_mut().map(make).collect()
    } else {
        work.iter_mut().map(make).collect()
    };
    drop(work);
    for (index, leader) in leaders.iter().enumerate() {
        let Some(leader) = *leader else { continue };
        made[index] = match &made[leader] {
            Some(Ok(snapshot)) => {
                jobs[index].0.view = jobs[leader].0.view.clone();
                Some(Ok(snapshot.clone()))
            }
            _ => sights[index].take().map(|sight| {
                let (seat, baseline) = &mut jobs[index];
                views
                    .snapshot_of(sources, seat, *baseline, sight)
                    .map(|s| s.map(Arc::new))
            }),
        };
    }
    made
}

/// A sight and its hash apart.
fn split_sight<'a>(found: Option<(Sight<'a>, u64)>) -> (Option<Sight<'a>>, Option<u64>) {
    match found {
        Some((sight, hash)) => (Some(sight), Some(hash)),
        None => (None, None),
    }
}

/// A quick hash (FxHash's step) of a client's baseline, the view it holds and its sight: equal
/// for clients that can share a snapshot (a match is then checked in full).
fn view_hash(seat: &Seat, baseline: Option<Tick>, sight: &Sight<'_>) -> u64 {
    let baseline = baseline.map_or(u64::MAX, |t| u64::from(t.0));
    let held = seat.view.iter().flat_map(HeldView::words);
    std::iter::once(baseline)
        .chain(held)
        .chain(sight.words())
        .fold(0u64, |h, word| {
            (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
        })
}

/// For each client, the earlier client whose snapshot it can take as it is: the same baseline,
/// the same view held, the same sight this tick. Clients with no sight share nothing.
fn coinciding(
    jobs: &[Job<'_>],
    sights: &[Option<Sight<'_>>],
    hashes: &[Option<u64>],
) -> Vec<Option<usize>> {
    let mut firsts: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut leaders = vec![None; jobs.len()];
    for (index, hash) in hashes.iter().enumerate() {
        let (Some(hash), Some(sight)) = (hash, &sights[index]) else {
            continue;
        };
        let (seat, baseline) = &jobs[index];
        let candidates = firsts.entry(*hash).or_default();
        let same = candidates.iter().copied().find(|&first| {
            let (other, other_baseline) = &jobs[first];
            let held_same = match (&seat.view, &other.view) {
                (Some(a), Some(b)) => a.same_as(b),
                (None, None) => true,
                _ => false,
            };
            other_baseline == baseline
                && held_same
                && sights[first]
                    .as_ref()
                    .is_some_and(|other| other.same_as(sight))
        });
        match same {
            Some(first) => leaders[index] = Some(first),
            None => candidates.push(index),
        }
    }
    leaders
}
