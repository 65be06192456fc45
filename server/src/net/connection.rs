//! One client's TCP connection, shared by its session (which reads, and writes control frames
//! through tungstenite) and the snapshot writers (which write the loop's messages, the Welcome
//! and each tick's snapshot, straight to the socket without waking the session).
//!
//! Every write goes through [`Connection`]'s outgoing buffer, under one lock, so frames from the
//! two sides never interleave: a write goes to the kernel at once when nothing is waiting, and
//! otherwise joins the queue of bytes waiting for the socket, which the session drains when the
//! socket has room. A write never waits, so neither side can be pinned by a client that stops
//! reading; the queue is capped and the loop stops sending to a client that falls behind.
//!
//! Over TLS (wss://) the rustls session lives under the same lock: writes are encrypted there
//! and their records go the same way (to the kernel, or onto the queue); reads decrypt there.

use crate::net::queue_budget::QueueBudget;
use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// A client's socket and the bytes waiting for it.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    outgoing: Mutex<Outgoing>,
    /// Signalled when bytes start waiting for the socket (or the cap is hit).
    backlog: Notify,
    /// Signalled once, when the loop's first message (the Welcome) is written or queued: the
    /// session sends nothing of its own before it.
    welcomed: Notify,
    /// Loop messages handed to a writer and not yet fully in the kernel. The loop reads it to
    /// skip a client that is behind.
    messages_in_flight: AtomicUsize,
    /// The most bytes that may wait for the socket.
    max_queued_bytes: usize,
    /// The server-wide budget the queued bytes count toward.
    budget: Arc<QueueBudget>,
    /// This connection, as the budget knows it.
    me: Weak<Connection>,
}

#[derive(Debug, Default)]
struct Outgoing {
    /// The TLS session of a wss:// connection.
    tls: Option<Box<rustls::ServerConnection>>,
    /// Scratch for the TLS records of one write (kept to avoid an allocation per write).
    records: Vec<u8>,
    /// Whether the TLS close_notify alert was queued.
    close_notify_sent: bool,
    /// Bytes written by either side that the socket did not take yet, oldest first.
    queued: BytesMut,
    /// Loop messages wholly or partly in `queued`.
    queued_messages: usize,
    /// Set when the session ends: later loop messages are dropped.
    messages_stopped: bool,
    /// Whether a loop message was written or queued yet.
    welcomed: bool,
    /// Set when a write would have passed `max_queued_bytes`: the session ends.
    overflowed: bool,
}

impl Connection {
    pub(crate) fn new(
        stream: TcpStream,
        max_queued_bytes: usize,
        budget: Arc<QueueBudget>,
    ) -> Arc<Self> {
        Self::with_outgoing(stream, Outgoing::default(), max_queued_bytes, budget)
    }

    /// A wss:// connection whose TLS handshake is done.
    pub(crate) fn new_tls(
        stream: TcpStream,
        mut tls: rustls::ServerConnection,
        max_queued_bytes: usize,
        budget: Arc<QueueBudget>,
    ) -> Arc<Self> {
        // Records are taken out right after each write, so rustls never needs to hold back;
        // the queue's own cap bounds memory.
        tls.set_buffer_limit(None);
        let outgoing = Outgoing {
            tls: Some(Box::new(tls)),
            ..Outgoing::default()
        };
        Self::with_outgoing(stream, outgoing, max_queued_bytes, budget)
    }

    fn with_outgoing(
        stream: TcpStream,
        outgoing: Outgoing,
        max_queued_bytes: usize,
        budget: Arc<QueueBudget>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            stream,
            outgoing: Mutex::new(outgoing),
            backlog: Notify::new(),
            welcomed: Notify::new(),
            messages_in_flight: AtomicUsize::new(0),
            max_queued_bytes,
            budget,
            me: me.clone(),
        })
    }

    /// Bytes waiting for the socket.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().queued.len()
    }

    /// Ends the session as if its queue had passed its cap (4002), and frees the queue: the
    /// server-wide budget is exhausted and this queue is among the longest.
    pub(crate) fn cut(&self) {
        let mut outgoing = self.lock();
        outgoing.overflowed = true;
        let freed = std::mem::take(&mut outgoing.queued);
        if !freed.is_empty() {
            self.budget.shrank(&self.me, true, freed.len());
        }
        self.backlog.notify_one();
    }

    /// Loop messages handed over but not yet fully written to the kernel.
    pub(crate) fn messages_in_flight(&self) -> usize {
        self.messages_in_flight.load(Ordering::Relaxed)
    }

    /// Called by the loop when it hands a message to a writer.
    pub(crate) fn message_handed_over(&self) {
        self.messages_in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes one encoded server message from the loop as a binary WebSocket frame. Called by
    /// a writer, after [`Self::message_handed_over`].
    pub(crate) fn write_message(&self, message: &[u8]) {
        let header = FrameHeader::binary(message.len());
        let mut outgoing = self.lock();
        if outgoing.messages_stopped {
            return;
        }
        let fully_written = self.write_or_queue(&mut outgoing, header.as_bytes(), message);
        if fully_written {
            self.messages_in_flight.fetch_sub(1, Ordering::Relaxed);
        } else {
            outgoing.queued_messages += 1;
        }
        if !outgoing.welcomed {
            outgoing.welcomed = true;
            self.welcomed.notify_one();
        }
    }

    /// Completes once the loop's first message is on its way: anything the session writes
    /// afterwards comes after it.
    pub(crate) async fn welcomed(&self) {
        self.welcomed.notified().await;
    }

    /// Whether a write found the outgoing queue full (the session then ends).
    pub(crate) fn overflowed(&self) -> bool {
        self.lock().overflowed
    }

    /// Drops every later loop message: the session is closing (a frame after the close frame
    /// would break the protocol).
    pub(crate) fn stop_messages(&self) {
        self.lock().messages_stopped = true;
    }

    /// Waits until bytes wait for the socket, then writes them as the socket takes them.
    /// Returns only on an error: the cap was hit, or the socket failed.
    pub(crate) async fn drain_forever(&self) -> io::Error {
        loop {
            self.backlog.notified().await;
            if let Err(e) = std::future::poll_fn(|cx| self.poll_drain(cx)).await {
                return e;
            }
        }
    }

    /// Writes queued bytes until none are left.
    fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            {
                let mut outgoing = self.lock();
                if outgoing.overflowed {
                    return Poll::Ready(Err(io::Error::other("outgoing queue over its cap")));
                }
                while !outgoing.queued.is_empty() {
                    match self.stream.try_write(&outgoing.queued) {
                        Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                        Ok(n) => {
                            outgoing.queued.advance(n);
                            self.budget.shrank(&self.me, outgoing.queued.is_empty(), n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                if outgoing.queued.is_empty() {
                    let done = std::mem::take(&mut outgoing.queued_messages);
                    self.messages_in_flight.fetch_sub(done, Ordering::Relaxed);
                    // Freed, not kept: a backlog is rare, and a buffer kept by each client that
                    // ever had one adds up (a 500-bot soak grew 8 MB that way).
                    outgoing.queued = BytesMut::new();
                    return Poll::Ready(Ok(()));
                }
            }
            // `try_write` saw WouldBlock, which cleared the readiness this waits for.
            ready!(self.stream.poll_write_ready(cx))?;
        }
    }

    /// Writes `head` then `body` (encrypted first over TLS) to the socket if nothing is
    /// waiting, queueing whatever it does not take. Returns whether everything went to the
    /// kernel.
    fn write_or_queue(&self, outgoing: &mut Outgoing, head: &[u8], body: &[u8]) -> bool {
        if outgoing.overflowed {
            return false;
        }
        let Some(tls) = outgoing.tls.as_mut() else {
            return self.send_or_queue(outgoing, head, body);
        };
        let mut writer = tls.writer();
        // With no buffer limit, rustls takes every byte.
        let encrypted = io::Write::write_all(&mut writer, head)
            .and_then(|()| io::Write::write_all(&mut writer, body));
        if encrypted.is_err() {
            outgoing.overflowed = true;
            self.backlog.notify_one();
            return false;
        }
        self.send_tls_records(outgoing)
    }

    /// Moves the TLS session's pending records (encrypted writes, alerts, handshake replies)
    /// to the socket or the queue. Returns whether everything went to the kernel.
    fn send_tls_records(&self, outgoing: &mut Outgoing) -> bool {
        let mut records = std::mem::take(&mut outgoing.records);
        records.clear();
        if let Some(tls) = outgoing.tls.as_mut() {
            while tls.wants_write() {
                if tls.write_tls(&mut records).is_err() {
                    break;
                }
            }
        }
        let all_sent = records.is_empty() || self.send_or_queue(outgoing, &[], &records);
        outgoing.records = records;
        all_sent
    }

    /// Sends raw bytes, `head` then `body`, if nothing is waiting; queues what the socket does
    /// not take. Returns whether everything went to the kernel.
    fn send_or_queue(&self, outgoing: &mut Outgoing, head: &[u8], body: &[u8]) -> bool {
        let total = head.len() + body.len();
        let mut written = 0;
        if outgoing.queued.is_empty() {
            let slices = [io::IoSlice::new(head), io::IoSlice::new(body)];
            // An error other than WouldBlock leaves the bytes queued; the session's next read
            // or drain sees the socket's error.
            written = self.send_vectored(&slices).unwrap_or(0);
            if written == total {
                return true;
            }
        }
        if outgoing.queued.len() + (total - written) > self.max_queued_bytes {
            outgoing.overflowed = true;
            self.backlog.notify_one();
            return false;
        }
        let started = outgoing.queued.is_empty();
        if started {
            self.backlog.notify_one();
        }
        let head_written = written.min(head.len());
        outgoing.queued.extend_from_slice(&head[head_written..]);
        outgoing
            .queued
            .extend_from_slice(&body[written - head_written..]);
        self.budget.grew(&self.me, started, total - written);
        false
    }

    /// `sendmsg` rather than tokio's `writev`: a socket send skips the file layer's position
    /// lock and bookkeeping, which showed in profiles at one write per client per tick. It also
    /// skips tokio's readiness check (another cache miss per client): a WouldBlock here leaves
    /// tokio's readiness stale, which costs only [`Self::poll_drain`] one extra `try_write`.
    fn send_vectored(&self, slices: &[io::IoSlice<'_>]) -> io::Result<usize> {
        socket2::SockRef::from(&self.stream).send_vectored(slices)
    }

    fn lock(&self) -> MutexGuard<'_, Outgoing> {
        // The lock guards plain buffers that no panic can leave half-updated.
        self.outgoing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let queued = self
            .outgoing
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .queued
            .len();
        if queued > 0 {
            self.budget.shrank(&self.me, true, queued);
        }
    }
}

/// The header of an unmasked, final, binary WebSocket frame (RFC 6455 section 5.2): what a
/// server sends. On the stack: one is built per client per tick.
struct FrameHeader {
    bytes: [u8; 10],
    len: usize,
}

impl FrameHeader {
    fn binary(payload_len: usize) -> Self {
        const FIN_BINARY: u8 = 0x82;
        let mut bytes = [0; 10];
        bytes[0] = FIN_BINARY;
        let len = match payload_len {
            0..=125 => {
                bytes[1] = payload_len as u8;
                2
            }
            126..=0xFFFF => {
                bytes[1] = 126;
                bytes[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
                4
            }
            _ => {
                bytes[1] = 127;
                bytes[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
                10
            }
        };
        Self { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The session's view of a [`Connection`], for tungstenite: reads from the socket; writes join
/// the connection's ordered outgoing bytes and never wait; a flush waits until they are out.
#[derive(Debug, Clone)]
pub(crate) struct SessionIo(pub(crate) Arc<Connection>);

impl AsyncRead for SessionIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let connection = &self.0;
        loop {
            {
                let mut outgoing = connection.lock();
                if outgoing.tls.is_some() {
                    if let Some(read) = connection.read_tls(&mut outgoing, buf) {
                        return Poll::Ready(read);
                    }
                } else {
                    match connection.stream.try_read(buf.initialize_unfilled()) {
                        Ok(n) => {
                            buf.advance(n);
                            return Poll::Ready(Ok(()));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
            // The last `try_read` saw WouldBlock, which cleared the readiness this waits for.
            ready!(connection.stream.poll_read_ready(cx))?;
        }
    }
}

impl Connection {
    /// A TLS read: plaintext already decrypted, else the socket's next bytes through the TLS
    /// session. `None`: the socket has nothing yet.
    fn read_tls(&self, outgoing: &mut Outgoing, buf: &mut ReadBuf<'_>) -> Option<io::Result<()>> {
        loop {
            let tls = outgoing.tls.as_mut()?;
            match io::Read::read(&mut tls.reader(), buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Some(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Some(Err(e)),
            }
            let mut raw = [0; 4096];
            let n = match self.stream.try_read(&mut raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) => return Some(Err(e)),
            };
            // `n == 0` tells the session the peer closed; the reader then reports how.
            if let Err(e) = tls.read_tls(&mut &raw[..n]) {
                return Some(Err(e));
            }
            let processed = tls.process_new_packets();
            // Alerts, key updates and the like go out in order with everything else.
            if tls.wants_write() {
                self.send_tls_records(outgoing);
            }
            if let Err(e) = processed {
                return Some(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
            }
        }
    }
}

impl AsyncWrite for SessionIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let connection = &self.0;
        let mut outgoing = connection.lock();
        connection.write_or_queue(&mut outgoing, &[], buf);
        if outgoing.overflowed {
            return Poll::Ready(Err(io::Error::other("outgoing queue over its cap")));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_drain(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        {
            let mut outgoing = self.0.lock();
            let first_close = !outgoing.close_notify_sent;
            if let Some(tls) = outgoing.tls.as_mut()
                && first_close
            {
                tls.send_close_notify();
                outgoing.close_notify_sent = true;
                self.0.send_tls_records(&mut outgoing);
            }
        }
        ready!(self.0.poll_drain(cx))?;
        Poll::Ready(socket2::SockRef::from(&self.0.stream).shutdown(std::net::Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    async fn pair(max_queued_bytes: usize) -> (Arc<Connection>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let budget = Arc::new(QueueBudget::new(usize::MAX, metrics::Gauge::noop()));
        (Connection::new(server, max_queued_bytes, budget), client)
    }

    #[test]
    fn frame_headers_use_the_shortest_length_form() {
        assert_eq!(FrameHeader::binary(5).as_bytes(), [0x82, 5]);
        assert_eq!(FrameHeader::binary(126).as_bytes(), [0x82, 126, 0, 126]);
        assert_eq!(
            FrameHeader::binary(70_000).as_bytes(),
            [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
    }

    #[tokio::test]
    async fn snapshots_queued_behind_a_full_socket_arrive_whole_and_in_order() {
        let (connection, mut client) = pair(1 << 20).await;
        socket2::SockRef::from(&connection.stream)
            .set_send_buffer_size(4096)
            .expect("SO_SNDBUF");
        let drainer = tokio::spawn({
            let connection = Arc::clone(&connection);
            async move { connection.drain_forever().await }
        });
        let messages: Vec<Vec<u8>> = (0..200u8).map(|i| vec![i; 1000]).collect();
        for message in &messages {
            connection.message_handed_over();
            connection.write_message(message);
        }
        assert!(connection.messages_in_flight() > 0, "the socket filled up");
        let mut received = vec![0; messages.len() * 1004];
        client.read_exact(&mut received).await.expect("all bytes");
        let mut rest = &received[..];
        for message in &messages {
            assert_eq!(&rest[..4], FrameHeader::binary(1000).as_bytes());
            assert_eq!(&rest[4..1004], &message[..]);
            rest = &rest[1004..];
        }
        tokio::task::yield_now().await;
        assert_eq!(connection.messages_in_flight(), 0, "all written");
        drainer.abort();
    }

    #[tokio::test]
    async fn a_queue_over_its_cap_ends_the_drain_with_an_error() {
        let (connection, _client) = pair(64 * 1024).await;
        socket2::SockRef::from(&connection.stream)
            .set_send_buffer_size(4096)
            .expect("SO_SNDBUF");
        for _ in 0..1000 {
            connection.message_handed_over();
            connection.write_message(&[7; 1000]);
        }
        let error = connection.drain_forever().await;
        assert!(error.to_string().contains("cap"), "{error}");
    }
}
