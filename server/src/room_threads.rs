//! The threads that run the rooms' loops: one per core, each ticking many rooms in turn (a
//! thread per room would not scale to hundreds of rooms). A room whose game code panics, or
//! whose ticks stay slower than its tick period, is closed on its own: its clients get 1011 and
//! the other rooms keep ticking.

use crate::close_reason::CloseReason;
use crate::game_loop::{GameLoop, RoomEnd};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing::{error, info, info_span, warn};

/// How long a thread with nothing due waits before looking for new rooms and the stop flag.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// A room handed to a thread: its loop, and what to do when it ends.
pub(crate) struct RoomTask {
    pub(crate) name: String,
    pub(crate) game: GameLoop,
    /// Called once when the room ends, before its clients are kicked (removes it from the
    /// directory, so new joins create a fresh room).
    pub(crate) on_end: Box<dyn FnOnce() + Send>,
}

/// The room threads.
#[derive(Debug)]
pub(crate) struct RoomThreads {
    /// Emptied by [`Self::stop`].
    inboxes: std::sync::Mutex<Vec<mpsc::Sender<RoomTask>>>,
    next: AtomicUsize,
    handles: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl RoomThreads {
    /// Starts `count` threads (at least one).
    pub(crate) fn start(count: usize) -> std::io::Result<Self> {
        let mut inboxes = Vec::new();
        let mut handles = Vec::new();
        for index in 0..count.max(1) {
            let (inbox, rooms) = mpsc::channel();
            let handle = std::thread::Builder::new()
                .name(format!("tickwire-rooms-{index}"))
                .spawn(move || run_rooms(&rooms))?;
            inboxes.push(inbox);
            handles.push(handle);
        }
        Ok(Self {
            inboxes: std::sync::Mutex::new(inboxes),
            next: AtomicUsize::new(0),
            handles: std::sync::Mutex::new(handles),
        })
    }

    /// Hands a new room to the next thread in turn.
    pub(crate) fn add(&self, room: RoomTask) {
        let inboxes = lock(&self.inboxes);
        let Some(inbox) =
            inboxes.get(self.next.fetch_add(1, Ordering::Relaxed) % inboxes.len().max(1))
        else {
            // Stopped: the server is shutting down, and the room's sessions with it.
            return;
        };
        if let Err(mpsc::SendError(room)) = inbox.send(room) {
            // That thread is gone (it panicked outside a room, which should not happen).
            error!(room = %room.name, "room thread gone; room not started");
        }
    }

    /// Stops every thread once its rooms are closed: drops the inboxes and waits.
    pub(crate) fn stop(&self) {
        lock(&self.inboxes).clear();
        for handle in std::mem::take(&mut *lock(&self.handles)) {
            let _ = handle.join();
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One thread: tick every room that is due, then sleep until the next is due or a room arrives.
/// Ends when its inbox is closed (server stop): its rooms are closed with 1001.
fn run_rooms(inbox: &mpsc::Receiver<RoomTask>) {
    let mut rooms: Vec<RoomTask> = Vec::new();
    loop {
        let now = Instant::now();
        let mut next_due = now + IDLE_POLL;
        rooms.retain_mut(|room| match room.run_due(now) {
            Some(due) => {
                next_due = next_due.min(due);
                true
            }
            None => false,
        });
        let wait = next_due.saturating_duration_since(Instant::now());
        match inbox.recv_timeout(wait) {
            Ok(room) => rooms.push(room),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for mut room in rooms {
        room.end(Some(CloseReason::SHUTDOWN));
    }
}

impl RoomTask {
    /// Runs the room's due tick. `None`: the room ended and is closed.
    fn run_due(&mut self, now: Instant) -> Option<Instant> {
        let span = info_span!("room", room = %self.name);
        let _entered = span.enter();
        match catch_unwind(AssertUnwindSafe(|| self.game.run_due(now))) {
            Ok(Ok(due)) => Some(due),
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

    /// Removes the room from the directory, then closes it. Closing touches only the clients'
    /// channels, but runs under `catch_unwind` too: a room is never half-closed silently.
    fn end(&mut self, reason: Option<CloseReason>) {
        let on_end = std::mem::replace(&mut self.on_end, Box::new(|| {}));
        on_end();
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
