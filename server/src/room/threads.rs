//! The threads that run the rooms' loops: one per core, sharing one schedule of rooms ordered by
//! when each is next due (a thread per room would not scale to hundreds of rooms). A thread
//! takes the room that is due first, ticks it, and puts it back, so rooms move between threads:
//! a room whose tick stalls holds up only the thread running it, and every other room is ticked
//! by the other threads. (With one core there is one thread, and a stalled tick delays every
//! room until the slow-room timeout closes it.) A room whose game code panics, or whose ticks
//! stay slower than its tick period, is closed on its own: its clients get 1011 and the other
//! rooms keep ticking.

use crate::cluster::room_lease::RoomLease;
use crate::net::close_reason::CloseReason;
use crate::room::core::RoomEnd;
use crate::room::game_loop::GameLoop;
use std::any::Any;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;
use tracing::{error, info, info_span, warn};

/// A room handed to the threads: its loop, and what to do when it ends.
pub(crate) struct RoomTask {
    pub(crate) name: String,
    pub(crate) game: GameLoop,
    /// Called once when the room ends, before its clients are kicked (removes it from the
    /// directory, so new joins create a fresh room).
    pub(crate) on_end: Box<dyn FnOnce() + Send>,
    /// In a cluster: the room's lease. It ticks only while the lease's clock allows, and is
    /// saved as often as the cluster says.
    pub(crate) lease: Option<RoomLease>,
}

/// The room threads and their shared schedule.
#[derive(Debug)]
pub(crate) struct RoomThreads {
    schedule: Arc<Schedule>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

/// The rooms not being ticked right now, earliest due first.
#[derive(Debug, Default)]
struct Schedule {
    state: Mutex<ScheduleState>,
    /// Signalled when a room is added or put back, and on stop.
    changed: Condvar,
}

#[derive(Debug, Default)]
struct ScheduleState {
    waiting: BinaryHeap<Reverse<Due>>,
    /// Breaks ties between rooms due at the same instant: first come, first ticked.
    next_seq: u64,
    stopping: bool,
}

/// A room and when its next tick is due.
struct Due {
    at: Instant,
    seq: u64,
    room: RoomTask,
}

impl RoomThreads {
    /// Starts `count` threads (at least one).
    pub(crate) fn start(count: usize) -> std::io::Result<Self> {
        let schedule = Arc::new(Schedule::default());
        let mut handles = Vec::new();
        for index in 0..count.max(1) {
            let schedule = Arc::clone(&schedule);
            let handle = std::thread::Builder::new()
                .name(format!("tickwire-rooms-{index}"))
                .spawn(move || schedule.run_rooms())?;
            handles.push(handle);
        }
        Ok(Self {
            schedule,
            handles: Mutex::new(handles),
        })
    }

    /// Adds a new room, due at once.
    pub(crate) fn add(&self, room: RoomTask) {
        let mut state = lock(&self.schedule.state);
        if state.stopping {
            // The server is shutting down, and the room's sessions with it. A room that never
            // ticked here has nothing to hand off: its lease goes, its save (if any) stays.
            drop(state);
            let mut room = room;
            let reason = match room.lease.take() {
                Some(lease) => {
                    lease.let_go();
                    CloseReason::ROOM_MOVED
                }
                None => CloseReason::SHUTDOWN,
            };
            room.end(Some(reason));
            return;
        }
        state.push(Instant::now(), room);
        self.schedule.changed.notify_one();
    }

    /// Stops the threads (each finishes the tick it is running), then closes every room with
    /// 1001.
    pub(crate) fn stop(&self) {
        lock(&self.schedule.state).stopping = true;
        self.schedule.changed.notify_all();
        for handle in std::mem::take(&mut *lock(&self.handles)) {
            let _ = handle.join();
        }
        let rooms = std::mem::take(&mut lock(&self.schedule.state).waiting);
        for Reverse(mut due) in rooms {
            due.room.end(Some(CloseReason::SHUTDOWN));
        }
    }
}

impl ScheduleState {
    fn push(&mut self, at: Instant, room: RoomTask) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.waiting.push(Reverse(Due { at, seq, room }));
    }
}

impl Schedule {
    /// One thread: take the room due first, wait for its time, tick it, put it back; until
    /// the threads stop.
    fn run_rooms(&self) {
        let mut state = lock(&self.state);
        loop {
            if state.stopping {
                return;
            }
            let now = Instant::now();
            let Some(Reverse(first)) = state.waiting.peek() else {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            };
            if first.at > now {
                let wait = first.at - now;
                state = self
                    .changed
                    .wait_timeout(state, wait)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
                continue;
            }
            let Some(Reverse(mut due)) = state.waiting.pop() else {
                continue;
            };
            drop(state);
            let next = due.room.run_due(Instant::now());
            state = lock(&self.state);
            if let Some(at) = next {
                state.push(at, due.room);
                // Another thread may be sleeping until a later room.
                self.changed.notify_one();
            }
        }
    }
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl std::fmt::Debug for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Due")
            .field("at", &self.at)
            .field("room", &self.room.name)
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RoomTask {
    /// Runs the room's due tick. `None`: the room ended and is closed.
    fn run_due(&mut self, now: Instant) -> Option<Instant> {
        let span = info_span!("room", room = %self.name);
        let _entered = span.enter();
        if let Some(lease) = &self.lease
            && !lease.allows(now)
        {
            // Checked before every tick: past the lease's deadline another node may own the
            // room, so this one must not tick it again. Its clients resume on the new owner.
            warn!("room's lease is lost or past its deadline; closing it");
            self.end(Some(CloseReason::ROOM_MOVED));
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| self.game.run_due(now))) {
            Ok(Ok(due)) => {
                if let Some(lease) = &mut self.lease
                    && lease.save_due(now, self.game.seats_changed())
                {
                    lease.save(self.game.save_state(), now);
                }
                Some(due)
            }
            Ok(Err(RoomEnd::Empty)) => {
                info!("room empty; closing it");
                self.end(None);
                None
            }
            Ok(Err(RoomEnd::Slow)) => {
                warn!("room's ticks stayed slower than its tick period; closing it");
                self.end(Some(CloseReason::ROOM_TOO_SLOW));
                None
            }
            Err(panic) => {
                error!(
                    panic = panic_message(&*panic),
                    "room's game code panicked; closing it"
                );
                self.end(Some(CloseReason::ROOM_FAILED));
                None
            }
        }
    }

    /// Removes the room from the directory, settles its lease, then closes it. Closing touches
    /// only the clients' channels, but runs under `catch_unwind` too: a room is never
    /// half-closed silently.
    ///
    /// In a cluster, a room stopped by the server shutting down is handed off (its last state
    /// saved, its lease given up), and its clients are told to resume elsewhere (1012); a room
    /// whose lease ran out keeps its save for the next owner; any other end is the room's last.
    fn end(&mut self, reason: Option<CloseReason>) {
        let on_end = std::mem::replace(&mut self.on_end, Box::new(|| {}));
        on_end();
        let mut reason = reason;
        if let Some(lease) = self.lease.take() {
            if reason == Some(CloseReason::SHUTDOWN) {
                match catch_unwind(AssertUnwindSafe(|| self.game.save_state())) {
                    Ok(state) => lease.hand_off(state),
                    Err(_) => lease.let_go(),
                }
                reason = Some(CloseReason::ROOM_MOVED);
            } else if reason == Some(CloseReason::ROOM_MOVED) {
                lease.let_go();
            } else {
                lease.release();
            }
        }
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.game.close(reason))) {
            error!(panic = panic_message(&*panic), "closing a room panicked");
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}
