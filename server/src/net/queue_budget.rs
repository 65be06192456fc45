//! The server-wide budget for bytes waiting for client sockets. Each connection's queue has its
//! own cap (`write_queue_bytes`), but that cap times `max_connections` is far more memory than
//! a server has; past `max_queued_bytes_total` the longest queues are cut (their sessions end
//! with 4002) until the total is under the budget again.

use crate::net::connection::Connection;
use metrics::Gauge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use tokio::sync::Notify;
use tracing::warn;

/// Bytes queued for all sockets, and the connections that have some.
#[derive(Debug)]
pub(crate) struct QueueBudget {
    limit: usize,
    queued: AtomicUsize,
    /// Connections with a non-empty queue, by address (the candidates for a cut).
    backlogged: Mutex<HashMap<usize, Weak<Connection>>>,
    /// Signalled when the total passes the limit.
    over: Notify,
    gauge: Gauge,
}

impl QueueBudget {
    pub(crate) fn new(limit: usize, gauge: Gauge) -> Self {
        Self {
            limit,
            queued: AtomicUsize::new(0),
            backlogged: Mutex::default(),
            over: Notify::new(),
            gauge,
        }
    }

    /// Bytes queued for all sockets now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// `bytes` joined `connection`'s queue (which was empty before when `started`).
    pub(crate) fn grew(&self, connection: &Weak<Connection>, started: bool, bytes: usize) {
        if started {
            self.lock()
                .insert(connection.as_ptr() as usize, connection.clone());
        }
        let total = self.queued.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.gauge.set(total as f64);
        if total > self.limit {
            self.over.notify_one();
        }
    }

    /// `bytes` left `connection`'s queue (which is empty now when `emptied`).
    pub(crate) fn shrank(&self, connection: &Weak<Connection>, emptied: bool, bytes: usize) {
        if emptied {
            self.lock().remove(&(connection.as_ptr() as usize));
        }
        let total = self.queued.fetch_sub(bytes, Ordering::Relaxed) - bytes;
        self.gauge.set(total as f64);
    }

    /// Cuts the longest queues whenever the total passes the limit; runs until aborted.
    pub(crate) async fn enforce_forever(&self) {
        loop {
            self.over.notified().await;
            self.cut_longest(self.limit);
        }
    }

    /// Cuts the longest queues until at most `limit` bytes are queued.
    fn cut_longest(&self, limit: usize) {
        // Collected first: a connection's own lock is never taken under the map's.
        let candidates: Vec<Arc<Connection>> =
            self.lock().values().filter_map(Weak::upgrade).collect();
        let mut by_length: Vec<(usize, Arc<Connection>)> = candidates
            .into_iter()
            .map(|connection| (connection.queued_bytes(), connection))
            .collect();
        by_length.sort_unstable_by_key(|(length, _)| std::cmp::Reverse(*length));
        for (length, connection) in by_length {
            if self.queued() <= limit {
                break;
            }
            warn!(
                queued = length,
                total = self.queued(),
                limit,
                "bytes queued for all clients over max_queued_bytes_total; longest queue cut"
            );
            connection.cut();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Weak<Connection>>> {
        self.backlogged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    /// A server-side connection whose peer never reads, with a tiny kernel send buffer.
    async fn stalled(budget: &Arc<QueueBudget>) -> (Arc<Connection>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let peer = socket
            .connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (stream, _) = listener.accept().await.expect("accept");
        socket2::SockRef::from(&stream)
            .set_send_buffer_size(4096)
            .expect("SO_SNDBUF");
        (Connection::new(stream, 1 << 20, Arc::clone(budget)), peer)
    }

    /// Writes `n` 1000-byte messages; returns the bytes that ended up queued.
    fn fill(connection: &Connection, n: usize) -> usize {
        for _ in 0..n {
            connection.message_handed_over();
            connection.write_message(&[7; 1000]);
        }
        connection.queued_bytes()
    }

    #[tokio::test]
    async fn past_the_budget_the_longest_queues_are_cut_until_it_fits() {
        let budget = Arc::new(QueueBudget::new(usize::MAX, Gauge::noop()));
        let (short, _p1) = stalled(&budget).await;
        let (middle, _p2) = stalled(&budget).await;
        let (long, _p3) = stalled(&budget).await;
        let queued = [fill(&short, 100), fill(&middle, 200), fill(&long, 400)];
        assert!(
            queued[0] > 0 && queued[0] < queued[1] && queued[1] < queued[2],
            "{queued:?}"
        );
        assert_eq!(budget.queued(), queued.iter().sum::<usize>());

        // A limit that the longest queue alone breaks.
        let limit = queued[0] + queued[1] + 1;
        budget.cut_longest(limit);
        assert_eq!(budget.queued(), queued[0] + queued[1]);
        assert_eq!(long.queued_bytes(), 0, "the longest queue was cut");
        assert!(long.overflowed(), "its session ends with 4002");
        assert_eq!(middle.queued_bytes(), queued[1], "the others keep theirs");
        assert!(!short.overflowed() && !middle.overflowed());

        drop((short, middle));
        assert_eq!(
            budget.queued(),
            0,
            "dropped connections give their bytes back"
        );
    }
}
