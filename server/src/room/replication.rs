//! Per-client delta snapshots: a ring of recent world states, and this tick's snapshot encoded
//! once per baseline, its bytes shared by every client on that baseline. For a game whose
//! clients each see part of the world, each client's snapshot is its own: what it sees now
//! against the view it holds.

use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tickwire_shared::codec::{self, SharedSnapshot};
use tickwire_shared::layout::Layout;
use tickwire_shared::tick_changes::TickChanges;
use tickwire_shared::world_diff::Delta;
use tickwire_shared::world_wire::{PackedDelta, WorldWireError};
use tickwire_shared::{Checksum, EntityId, SentAt, Snapshot, Tick, World};

/// Why a snapshot cannot be sent (the client could never catch up, so it is disconnected).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotError {
    #[error(transparent)]
    Encode(#[from] codec::EncodeError),
    #[error(transparent)]
    Pack(#[from] WorldWireError),
    #[error("snapshot of {0} bytes is over the protocol's limit")]
    TooLarge(usize),
}

/// Recent replicated states by tick, newest last, and the newest tick's encoded snapshots.
#[derive(Debug)]
pub(crate) struct Replication {
    history: VecDeque<(Tick, World)>,
    capacity: usize,
    layout: Arc<Layout>,
    sent_at: SentAt,
    /// The newest tick's snapshot by baseline (`None`: full), encoded on first use.
    encoded: HashMap<Option<Tick>, EncodedSnapshot>,
    /// The changes from the tick before to the newest, for clients' own views: worked out by
    /// [`Replication::work_out_changes`] in ticks that have such clients, else none.
    changes: TickChanges,
}

/// One tick's snapshot against one baseline, encoded once for every client on that baseline.
#[derive(Debug)]
pub(crate) struct EncodedSnapshot {
    pub(crate) tick: Tick,
    shared: SharedSnapshot,
    /// The frame of clients with no applied input yet (spectators): shared, not copied.
    no_input_frame: Bytes,
}

/// What a client that sees part of the world holds: the view of its last snapshot.
#[derive(Debug, Clone)]
pub(crate) struct HeldView {
    tick: Tick,
    world: World,
}

impl HeldView {
    /// Whether the client holds this entity.
    pub(crate) fn holds(&self, id: EntityId) -> bool {
        self.world.get(id).is_some()
    }

    /// What it holds as words to hash, to find views that may coincide: its tick, then each
    /// entity's id and the address of its data.
    pub(crate) fn words(&self) -> impl Iterator<Item = u64> + '_ {
        let entities = self.world.iter_shared();
        std::iter::once(u64::from(self.tick.0))
            .chain(entities.flat_map(|(id, data)| [u64::from(id.0), Arc::as_ptr(data) as u64]))
    }

    /// Whether it holds exactly what `other` does, entity for entity, as of the same tick.
    pub(crate) fn same_as(&self, other: &HeldView) -> bool {
        self.tick == other.tick
            && self.world.len() == other.world.len()
            && self
                .world
                .iter_shared()
                .zip(other.world.iter_shared())
                .all(|((a, x), (b, y))| a == b && Arc::ptr_eq(x, y))
    }
}

impl EncodedSnapshot {
    fn encode(snapshot: &Snapshot) -> Result<Self, SnapshotError> {
        let shared = SharedSnapshot::encode(snapshot)?;
        let len = shared.bytes().len();
        // A client refuses anything longer, so it could never catch up.
        if len > codec::MAX_SERVER_MESSAGE_BYTES {
            return Err(SnapshotError::TooLarge(len));
        }
        Ok(Self {
            tick: snapshot.tick,
            no_input_frame: Bytes::copy_from_slice(shared.bytes()),
            shared,
        })
    }

    /// The frame for a client whose last applied input is `last_input`. Players' frames are
    /// written into `frames`, one buffer for the whole tick, so a tick allocates once, not once
    /// per client.
    pub(crate) fn frame_for(
        &self,
        last_input: u32,
        frames: &mut BytesMut,
    ) -> Result<Bytes, SnapshotError> {
        if last_input == 0 {
            return Ok(self.no_input_frame.clone());
        }
        let (prefix, tail) = self.shared.frame_for(last_input)?;
        frames.extend_from_slice(prefix.as_ref());
        frames.extend_from_slice(tail);
        Ok(frames.split().freeze())
    }

    /// The encoded snapshot's length, without a player's input.
    pub(crate) fn encoded_len(&self) -> usize {
        self.no_input_frame.len()
    }

    /// The frame length for a client with inputs (an upper bound for reserving buffer space).
    pub(crate) fn max_frame_len(&self) -> usize {
        self.no_input_frame.len() + 4
    }
}

impl Replication {
    /// `history_ticks` must be at least 1 (the loop guarantees it).
    pub(crate) fn new(history_ticks: usize, layout: Arc<Layout>) -> Self {
        Self {
            history: VecDeque::with_capacity(history_ticks + 1),
            capacity: history_ticks,
            layout,
            sent_at: SentAt::default(),
            encoded: HashMap::new(),
            changes: TickChanges::default(),
        }
    }

    /// Records the state of a new tick, whose snapshots are stamped `sent_at`.
    pub(crate) fn record(&mut self, tick: Tick, state: &World, sent_at: SentAt) {
        // Another tick's changes would name entities this one no longer holds.
        self.changes = TickChanges::default();
        if self.history.len() == self.capacity {
            self.history.pop_front();
        }
        self.history.push_back((tick, state.clone()));
        self.sent_at = sent_at;
        self.encoded.clear();
    }

    /// Works out the changes from the tick before to the newest, once per tick, for the
    /// clients that get snapshots of their own.
    pub(crate) fn work_out_changes(&mut self) {
        let mut newest_two = self.history.iter().rev();
        if let (Some((_, after)), Some((_, before))) = (newest_two.next(), newest_two.next()) {
            self.changes = TickChanges::between(before, after, &self.layout);
        }
    }

    /// The changes from the tick before to the newest, if worked out (see [`TickChanges`]).
    pub(crate) fn changes(&self) -> &TickChanges {
        &self.changes
    }

    /// The newest tick's world.
    pub(crate) fn newest(&self) -> Option<&World> {
        self.history.back().map(|(_, world)| world)
    }

    /// Whether `tick` is still in the history (a client holding it can take a delta).
    pub(crate) fn has(&self, tick: Tick) -> bool {
        self.history.iter().any(|(t, _)| *t == tick)
    }

    /// The sizes of the newest tick's snapshots encoded so far (one per baseline in use).
    pub(crate) fn encoded_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.encoded.values().map(EncodedSnapshot::encoded_len)
    }

    /// The newest tick's snapshot for a client whose last snapshot was `baseline`. A baseline
    /// that has left the history (or `None`) gives a full snapshot. `Ok(None)`: nothing recorded.
    pub(crate) fn snapshot_for(
        &mut self,
        baseline: Option<Tick>,
    ) -> Result<Option<&EncodedSnapshot>, SnapshotError> {
        let Some((tick, newest)) = self.history.back() else {
            return Ok(None);
        };
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
        if !self.encoded.contains_key(&baseline) {
            let snapshot = Snapshot {
                last_input: 0,
                sent_at: self.sent_at,
                tick: *tick,
                baseline,
                checksum: newest.checksum(),
                delta: PackedDelta::pack(
                    &base_state
                        .unwrap_or(&World::new())
                        .diff(newest, &self.layout),
                    &self.layout,
                )?,
            };
            self.encoded
                .insert(baseline, EncodedSnapshot::encode(&snapshot)?);
        }
        Ok(self.encoded.get(&baseline))
    }

    /// The newest tick's snapshot for a client that sees only part of it: `entries` of the
    /// newest world (ascending ids, shared with it). A delta from the view
    /// it `held` when that is its baseline and still in the history (so no id in it can mean
    /// another entity now), else from nothing. `move_on` moves the view towards the entries
    /// (all the way, or as far as a budget allows) and makes the snapshot with the encoder it
    /// is given (from the delta and the view's checksum after it). Encoded for this client
    /// alone; returned with the view the client holds once it has applied it. `Ok(None)`:
    /// nothing recorded.
    pub(crate) fn view_snapshot_for<I>(
        &self,
        baseline: Option<Tick>,
        held: Option<HeldView>,
        entries: I,
        move_on: impl FnOnce(&mut World, I, &ViewEncoder<'_>) -> Result<EncodedSnapshot, SnapshotError>,
    ) -> Result<Option<(EncodedSnapshot, HeldView)>, SnapshotError> {
        let Some((tick, _)) = self.history.back() else {
            return Ok(None);
        };
        let held = held.filter(|h| Some(h.tick) == baseline && self.has(h.tick));
        let baseline = held.as_ref().map(|h| h.tick);
        let mut view = held.map(|h| h.world).unwrap_or_default();
        let encode = |delta: &Delta, checksum: Checksum| {
            EncodedSnapshot::encode(&Snapshot {
                last_input: 0,
                sent_at: self.sent_at,
                tick: *tick,
                baseline,
                checksum,
                delta: PackedDelta::pack(delta, &self.layout)?,
            })
        };
        let snapshot = move_on(&mut view, entries, &encode)?;
        let held = HeldView {
            tick: *tick,
            world: view,
        };
        Ok(Some((snapshot, held)))
    }
}

/// Makes a client's own snapshot from its delta and the checksum of what it then holds.
pub(crate) type ViewEncoder<'a> =
    dyn Fn(&Delta, Checksum) -> Result<EncodedSnapshot, SnapshotError> + 'a;

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_shared::component::Component;
    use tickwire_shared::{ClientWorld, EntityData, EntityId, Schema, ServerMessage};

    #[derive(Clone, Debug, PartialEq, Component)]
    struct Dot {
        #[net(int(min = 0, max = 100))]
        x: i32,
    }

    fn layout() -> Arc<Layout> {
        let schema = Schema::new("dots", 1, 30)
            .component::<Dot>()
            .kind("dot", &["Dot"]);
        Arc::new(Layout::new(schema).expect("valid"))
    }

    /// Dots 0 to n - 1, each at x = its id.
    fn world_with(n: u32) -> World {
        let layout = layout();
        let mut world = World::new();
        for id in 0..n {
            let mut dot = EntityData::new(&layout, 0).expect("a kind");
            dot.set_component(&layout, &Dot { x: id as i32 });
            world.insert(EntityId(id), dot);
        }
        world
    }

    fn snapshot(replication: &mut Replication, baseline: Option<Tick>, input: u32) -> Snapshot {
        let mut frames = BytesMut::new();
        let encoded = replication.snapshot_for(baseline).expect("encodes");
        let bytes = encoded
            .expect("history")
            .frame_for(input, &mut frames)
            .expect("frame");
        match codec::decode_server(&bytes) {
            Ok(ServerMessage::Snapshot(s)) => s,
            other => panic!("not a snapshot: {other:?}"),
        }
    }

    #[test]
    fn a_client_follows_deltas_and_falls_back_to_full_when_its_baseline_is_gone() {
        let mut replication = Replication::new(2, layout());
        let mut client = ClientWorld::new();
        client.set_layout(layout());
        replication.record(Tick(1), &world_with(1), SentAt(7));
        let first = snapshot(&mut replication, None, 0);
        assert_eq!((first.baseline, first.sent_at), (None, SentAt(7)));
        client.apply(&first).expect("full snapshot applies");

        replication.record(Tick(2), &world_with(2), SentAt(8));
        let second = snapshot(&mut replication, Some(Tick(1)), 5);
        assert_eq!(second.baseline, Some(Tick(1)));
        assert_eq!(
            second.last_input, 5,
            "a player's frame carries its own input"
        );
        let delta = second.delta.unpack(&layout()).expect("unpacks");
        assert_eq!(delta.created.len(), 1);
        client.apply(&second).expect("delta applies");

        replication.record(Tick(3), &world_with(3), SentAt(9));
        replication.record(Tick(4), &world_with(4), SentAt(10));
        let stale = snapshot(&mut replication, Some(Tick(2)), 0);
        assert_eq!(stale.baseline, None, "tick 2 left the 2-tick history");
        client.apply(&stale).expect("full snapshot applies");
        assert_eq!(client.state(), &world_with(4));
    }
}
