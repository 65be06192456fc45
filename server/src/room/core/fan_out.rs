//! Fan-out: each client's snapshot for this tick (encoded once per baseline) to the outlet,
//! with the per-client backlog, slow-consumer and full-snapshot rules.

use super::*;

impl<P> RoomCore<P> {
    pub(super) fn send_snapshots(&mut self, now: Instant, out: &mut impl Outlet<P>) {
        let slow_after = Duration::from_millis(self.limits.slow_consumer_timeout_ms);
        let full_interval = Duration::from_millis(self.limits.full_snapshot_interval_ms);
        let max_in_flight = self.limits.outbound_queue_snapshots;
        let client_count = self.clients.len();
        let mut to_remove = Vec::new();
        let (mut sent, mut sent_bytes, mut fulls_granted) = (0, 0, 0);
        for (index, (&id, client)) in self.clients.iter_mut().enumerate() {
            // Too many messages not yet in the kernel: skip this client for the tick; its next
            // snapshot is a delta from the last one handed over, so nothing is lost.
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
            // With per-client views the snapshot is this client's own.
            let sources = views::Sources {
                game: &*self.game,
                audience: &self.audience,
                replication: &self.replication,
                budget: self.budget.as_ref(),
            };
            let own = self
                .views
                .own_snapshot(&sources, &mut client.seat, client.last_sent);
            let own_snapshot;
            let snapshot = match own {
                None => self.replication.snapshot_for(client.last_sent),
                Some(Ok(Some(snapshot))) => {
                    let len = snapshot.encoded_len() as f64;
                    self.metrics.snapshot_bytes.record(len);
                    own_snapshot = snapshot;
                    Ok(Some(&own_snapshot))
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
}
