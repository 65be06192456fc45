//! Snapshot writers: a few tasks (one per runtime worker) that write each tick's messages to
//! the clients' sockets. A room's loop hands over one batch per writer per tick, so a tick wakes
//! a writer or two instead of a task per client; each client always has the same writer, so its
//! messages stay in order.

use crate::net::connection::Connection;
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One message for one client.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) connection: Arc<Connection>,
    pub(crate) message: Bytes,
}

/// The writer tasks' inboxes; each room's loop fills its own [`Outbox`] for them.
#[derive(Debug, Clone)]
pub(crate) struct Writers {
    inboxes: Vec<mpsc::UnboundedSender<Vec<Delivery>>>,
}

impl Writers {
    /// `count` writers' inboxes and the receiving end of each.
    pub(crate) fn new(count: usize) -> (Self, Vec<mpsc::UnboundedReceiver<Vec<Delivery>>>) {
        let (inboxes, receivers) = (0..count.max(1)).map(|_| mpsc::unbounded_channel()).unzip();
        (Self { inboxes }, receivers)
    }

    /// Writers on the current tokio runtime, one per worker thread. They stop when every
    /// `Writers` and `Outbox` is dropped.
    pub(crate) fn spawn() -> Self {
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        let (writers, receivers) = Self::new(workers);
        for batches in receivers {
            tokio::spawn(write_batches(batches));
        }
        writers
    }

    /// A room loop's outbox.
    pub(crate) fn outbox(&self) -> Outbox {
        Outbox {
            writers: self
                .inboxes
                .iter()
                .map(|inbox| (inbox.clone(), Vec::new()))
                .collect(),
        }
    }
}

/// A loop's side: collects a tick's deliveries per writer, then hands each writer its batch.
#[derive(Debug)]
pub(crate) struct Outbox {
    writers: Vec<(mpsc::UnboundedSender<Vec<Delivery>>, Vec<Delivery>)>,
}

impl Outbox {
    /// Queues `message` for the client with this id; it goes out at the next [`Self::flush`].
    /// (Unbounded by design: the loop sends a client nothing more once it has
    /// `outbound_queue_snapshots` messages in flight.)
    pub(crate) fn push(&mut self, client_id: u32, connection: &Arc<Connection>, message: Bytes) {
        connection.message_handed_over();
        let index = client_id as usize % self.writers.len();
        self.writers[index].1.push(Delivery {
            connection: Arc::clone(connection),
            message,
        });
    }

    /// Hands every writer its batch for this tick.
    pub(crate) fn flush(&mut self) {
        for (writer, batch) in &mut self.writers {
            if batch.is_empty() {
                continue;
            }
            // The next tick's batch will be about as large.
            let batch = std::mem::replace(batch, Vec::with_capacity(batch.len()));
            // A writer is gone only when the runtime is shutting down: nothing to deliver to.
            let _ = writer.send(batch);
        }
    }
}

async fn write_batches(mut batches: mpsc::UnboundedReceiver<Vec<Delivery>>) {
    while let Some(batch) = batches.recv().await {
        for delivery in batch {
            delivery.connection.write_message(&delivery.message);
        }
    }
}
