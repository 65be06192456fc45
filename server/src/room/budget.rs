//! Per-client byte budgets: a room's `budget_bytes_per_sec` caps what each client receives,
//! and a priority accumulator chooses which of the changes it sees go out this tick.
//!
//! A token bucket per client: each tick its allowance grows by one tick's share of the budget,
//! up to [`BURST_TICKS`] ticks' share, so over any stretch of ticks a client receives at most
//! that stretch's share plus one burst. Its own entities (its player and what it owns) and
//! removals always go out. Every other pending change (an entity it does not hold
//! yet, or holds as it was) gains priority each tick it waits: more when it is near the
//! client's player and when it changed again this tick. Changes go out by priority while they
//! fit, stopping at the first that does not (so the allowance saves up for it); one that has
//! waited [`STARVING_AFTER_SECS`] goes before all that have not. The client
//! holds a waiting entity as it last received it, so its checksum still covers exactly what it
//! holds. A snapshot that comes out larger than the allowance is made again with the least
//! valuable quarter of the optional changes left out, so only the client's own entities and
//! removals can ever take it past the budget.

use crate::room::replication::{EncodedSnapshot, SnapshotError, ViewEncoder};
use std::sync::Arc;
use tickwire_shared::layout::Layout;
use tickwire_shared::tick_changes::TickChanges;
use tickwire_shared::{EntityData, EntityId, Tick, World};

/// How many ticks' share of the budget a client may save up: room for an entity larger than
/// one tick's share.
pub(crate) const BURST_TICKS: f64 = 4.0;

/// A change that has waited this long (in seconds of ticks) goes before every change that has
/// not: the bound on starvation whenever the budget can carry them.
pub(crate) const STARVING_AFTER_SECS: u32 = 1;

/// One room's budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Bytes each client may receive per tick.
    per_tick: f64,
    starving_after: u32,
}

/// One client's side of the budget, kept in its seat (so a resume keeps it).
#[derive(Debug, Clone)]
pub(crate) struct Allowance {
    /// Bytes it may still receive; below 0 after its own entities alone went past it.
    bytes: f64,
    /// Bytes per unit of estimated cost in its recent snapshots.
    bytes_per_unit: f64,
    /// The changes it has not received yet, ascending by entity.
    waiting: Vec<Waiting>,
}

#[derive(Debug, Clone)]
struct Waiting {
    id: EntityId,
    priority: f32,
    since: Tick,
    /// The entity as it was last tick (by address): a new one means it changed again.
    last_seen: usize,
    /// Its place among this tick's candidates.
    candidate: usize,
}

/// One entity the client sees this tick, against what it holds.
struct Candidate<'a> {
    id: EntityId,
    new: &'a Arc<EntityData>,
    /// What the client holds (`None`: not yet created on it).
    held: Option<Arc<EntityData>>,
    state: Sending,
    /// Estimated cost, in units.
    units: f64,
    priority: f32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// The client holds it as it is.
    Unchanged,
    /// Its own: always sent.
    Own,
    /// Chosen this tick.
    Chosen,
    /// Waits for a later tick.
    Waits,
}

/// The share of the allowance the estimate aims at: an estimate a little short of the real
/// size then rarely means encoding a snapshot twice.
const ESTIMATE_SHARE: f64 = 0.9;

/// Snapshot bytes besides the entities (header, counts, column headers), for the estimate.
const OVERHEAD_BYTES: f64 = 24.0;

impl Budget {
    pub(crate) fn new(bytes_per_sec: u32, tick_rate: u16) -> Self {
        Self {
            per_tick: f64::from(bytes_per_sec) / f64::from(tick_rate.max(1)),
            starving_after: STARVING_AFTER_SECS * u32::from(tick_rate),
        }
    }

    /// A new client's allowance.
    pub(crate) fn allowance(&self) -> Allowance {
        Allowance {
            bytes: 0.0,
            bytes_per_unit: 2.0,
            waiting: Vec::new(),
        }
    }

    /// Moves `view` (what the client holds) towards `seen` (ascending; what it sees now) as far
    /// as its allowance goes, and returns the snapshot that does the same on the client, made
    /// by `encode` from the delta and the checksum of the view after it. `own`: the client's
    /// own entities. `nearness`: 1 for an entity on top of its player, down to 0 at the edge of
    /// its sight (or unknown).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn move_on<'a>(
        &self,
        allowance: &mut Allowance,
        view: &mut World,
        seen: impl Iterator<Item = (EntityId, &'a Arc<EntityData>)>,
        own: impl Fn(EntityId) -> bool,
        nearness: impl Fn(EntityId) -> f32,
        tick: Tick,
        layout: &Layout,
        known: &TickChanges,
        encode: &ViewEncoder<'_>,
    ) -> Result<EncodedSnapshot, SnapshotError> {
        allowance.bytes = (allowance.bytes + self.per_tick).min(self.per_tick * BURST_TICKS);
        let (mut candidates, removed) = compare(view, seen);
        let mut optional = Vec::new();
        let mut own_units = removed as f64;
        for (index, candidate) in candidates.iter_mut().enumerate() {
            if candidate.state == Sending::Unchanged {
                continue;
            }
            if own(candidate.id) {
                candidate.state = Sending::Own;
                own_units += candidate.units;
            } else {
                optional.push(index);
            }
        }
        let fixed = OVERHEAD_BYTES + allowance.bytes_per_unit * own_units;
        let everything: f64 = optional.iter().map(|&i| candidates[i].units).sum();
        // Most ticks everything fits, and nothing need wait or gain priority.
        let mut chosen = optional.len();
        let mut ranked = false;
        if fixed + everything * allowance.bytes_per_unit > allowance.bytes * ESTIMATE_SHARE {
            chosen = allowance.rank(&mut candidates, &mut optional, fixed, &nearness, tick, self);
            ranked = true;
        }
        loop {
            for (rank, &index) in optional.iter().enumerate() {
                candidates[index].state = if rank < chosen {
                    Sending::Chosen
                } else {
                    Sending::Waits
                };
            }
            let entries: Vec<(EntityId, &Arc<EntityData>)> =
                candidates.iter().filter_map(Candidate::entry).collect();
            let (delta, checksum) = view.delta_to(entries.iter().copied(), layout, Some(known));
            let snapshot = encode(&delta, checksum)?;
            let len = snapshot.max_frame_len() as f64;
            if len > allowance.bytes && chosen > 0 {
                // Larger than estimated: again with the least valuable quarter left out.
                if !ranked {
                    allowance.rank(&mut candidates, &mut optional, fixed, &nearness, tick, self);
                    ranked = true;
                }
                chosen = chosen * 3 / 4;
                continue;
            }
            view.adopt(entries);
            allowance.bytes -= len;
            allowance.settle(&candidates, ranked, own_units, len);
            return Ok(snapshot);
        }
    }
}

/// `seen` against what `view` holds: every entity seen, and how many held ones are gone.
fn compare<'a>(
    view: &World,
    seen: impl Iterator<Item = (EntityId, &'a Arc<EntityData>)>,
) -> (Vec<Candidate<'a>>, usize) {
    let mut candidates: Vec<Candidate<'a>> = Vec::with_capacity(view.len());
    // Both ascending: one walk.
    let mut holds = view.iter_shared().peekable();
    for (id, new) in seen {
        while holds.next_if(|(h, _)| *h < id).is_some() {}
        let held = holds.next_if(|(h, _)| *h == id).map(|(_, held)| held);
        let (state, units) = match held {
            Some(held) if Arc::ptr_eq(held, new) => (Sending::Unchanged, 0.0),
            Some(held) => (Sending::Waits, change_units(held, new)),
            None => (Sending::Waits, create_units(new)),
        };
        candidates.push(Candidate {
            id,
            new,
            held: held.cloned(),
            state,
            units,
            priority: 0.0,
        });
    }
    let kept = candidates.iter().filter(|c| c.held.is_some()).count();
    (candidates, view.len() - kept)
}

/// A changed entity's estimated cost: its lanes that differ, and its id.
fn change_units(old: &EntityData, new: &EntityData) -> f64 {
    let lanes = old
        .lanes
        .iter()
        .zip(&new.lanes)
        .filter(|(a, b)| a != b)
        .count();
    let strings: usize = old
        .strings
        .iter()
        .zip(&new.strings)
        .filter(|(a, b)| a != b)
        .map(|(_, b)| b.len() / 4 + 1)
        .sum();
    (1 + lanes + strings + usize::from(old.kind != new.kind) * new.lanes.len()) as f64
}

/// A new entity's estimated cost: every lane, its strings, its kind and id. Lanes of a new
/// entity are whole values, not small differences, so each counts twice.
fn create_units(new: &EntityData) -> f64 {
    let strings: usize = new.strings.iter().map(|s| s.len() / 4 + 1).sum();
    (2 + 2 * new.lanes.len() + strings) as f64
}

impl Candidate<'_> {
    /// What the client will hold of it after this tick's snapshot.
    fn entry(&self) -> Option<(EntityId, &Arc<EntityData>)> {
        match self.state {
            Sending::Unchanged | Sending::Own | Sending::Chosen => Some((self.id, self.new)),
            Sending::Waits => self.held.as_ref().map(|held| (self.id, held)),
        }
    }
}

impl Allowance {
    /// Raises the priority of each `optional` change by its weight, puts them in order (those
    /// starving first, then by priority), and returns how many fit after `fixed` bytes.
    fn rank(
        &mut self,
        candidates: &mut [Candidate<'_>],
        optional: &mut [usize],
        fixed: f64,
        nearness: &dyn Fn(EntityId) -> f32,
        tick: Tick,
        budget: &Budget,
    ) -> usize {
        // Both ascending by entity: the optional changes were listed in candidate order.
        let mut before = std::mem::take(&mut self.waiting).into_iter().peekable();
        for &index in optional.iter() {
            let candidate = &mut candidates[index];
            while before.next_if(|w| w.id < candidate.id).is_some() {}
            let mut waiting = before.next_if(|w| w.id == candidate.id).unwrap_or(Waiting {
                id: candidate.id,
                priority: 0.0,
                since: tick,
                last_seen: 0,
                candidate: index,
            });
            let address = Arc::as_ptr(candidate.new) as usize;
            let changed_again = waiting.last_seen != address;
            waiting.last_seen = address;
            waiting.candidate = index;
            // Near entities gain up to 4 times faster, and each change doubles the gain.
            let weight = (1.0 + 3.0 * nearness(candidate.id).clamp(0.0, 1.0))
                * if changed_again { 2.0 } else { 1.0 };
            waiting.priority += weight;
            let starving = tick.since(waiting.since) >= budget.starving_after;
            candidate.priority = waiting.priority + if starving { 1.0e6 } else { 0.0 };
            self.waiting.push(waiting);
        }
        optional.sort_unstable_by(|&a, &b| {
            candidates[b]
                .priority
                .total_cmp(&candidates[a].priority)
                .then(a.cmp(&b))
        });
        let mut spent = fixed;
        let mut fit = 0;
        for &index in optional.iter() {
            spent += candidates[index].units * self.bytes_per_unit;
            if spent > self.bytes * ESTIMATE_SHARE {
                break;
            }
            fit += 1;
        }
        fit
    }

    /// After a snapshot of `len` bytes went out: what was sent waits no more, what is no
    /// longer pending is forgotten, and the estimate learns from the size.
    fn settle(&mut self, candidates: &[Candidate<'_>], ranked: bool, own_units: f64, len: f64) {
        let units = own_units
            + candidates
                .iter()
                .filter(|c| c.state == Sending::Chosen)
                .map(|c| c.units)
                .sum::<f64>();
        // Unranked, everything went out; ranked, what was sent waits no more (and what was
        // not pending this tick was dropped when ranking).
        if ranked {
            self.waiting
                .retain(|waiting| candidates[waiting.candidate].state != Sending::Chosen);
        } else {
            self.waiting.clear();
        }
        if units >= 8.0 {
            let observed = ((len - OVERHEAD_BYTES).max(0.0) / units).clamp(0.25, 16.0);
            self.bytes_per_unit = 0.8 * self.bytes_per_unit + 0.2 * observed;
        }
    }
}
