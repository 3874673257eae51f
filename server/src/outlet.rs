//! A socket's write end, shared by the broadcast fan-out and the socket's task.
//!
//! Every byte a socket sends goes through its [`Outlet`], under one small
//! lock: broadcasts written by the hub's fan-out loop, the task's direct
//! replies, and tungstenite's own frames (pongs, close) through [`OutletIo`].
//! So the order of the bytes on the wire is the order in which they were
//! accepted, and `seq` (kept here) is assigned in that same order.
//!
//! The common case costs one non-blocking `send` on the socket from the
//! caller's thread: no task wake-up, no channel, no allocation (the caller lends its
//! scratch buffer). Only when the kernel's send buffer is full are the
//! remaining bytes kept in `pending` and the socket's task woken
//! ([`Outlet::backlog`]) to finish the write ([`Outlet::flush`]); while
//! `pending` is not empty every later write is appended to it, so order holds.
//! A socket with more than the hub's capacity of broadcasts waiting is
//! reported [`Push::Full`] and dropped by the hub (closed with 1013).

use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::hub::SharedFrame;

/// `pending` keeps at most this much capacity once it is drained.
const KEEP_CAPACITY: usize = 16 * 1024;

/// What became of bytes handed to an [`Outlet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Written to the kernel whole.
    Sent,
    /// Kept (in part or whole) for the socket's task to finish writing.
    Queued,
    /// Refused: too many broadcasts wait for this socket already.
    Full,
    /// Refused: the socket is closing; it takes no more broadcasts.
    Closed,
}

#[derive(Debug, Default)]
struct State {
    /// The last `seq` given to a frame on this socket.
    seq: u64,
    /// Bytes accepted but not yet written, oldest first.
    pending: Vec<u8>,
    /// Broadcasts (uploads) with bytes in `pending`.
    queued: usize,
    /// Set when the task stopped taking broadcasts and replies.
    closed: bool,
}

/// One socket's write end (see the module docs).
#[derive(Debug)]
pub struct Outlet {
    tcp: TcpStream,
    state: Mutex<State>,
    backlog: Notify,
}

impl Outlet {
    /// The write end of an open WebSocket over `tcp`.
    pub fn new(tcp: TcpStream) -> Self {
        Self {
            tcp,
            state: Mutex::new(State::default()),
            backlog: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain bytes and counters: keep going after a panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `bytes` now if nothing waits, else appends them; any rest
    /// is left for the task. Returns true when all was written.
    fn send_locked(&self, state: &mut State, bytes: &[u8]) -> bool {
        if state.pending.is_empty() {
            match self.send_now(bytes) {
                Ok(n) if n == bytes.len() => return true,
                Ok(n) => state.pending.extend_from_slice(&bytes[n..]),
                // A hard error is kept too: the task's flush meets it again
                // and ends the connection.
                Err(_) => state.pending.extend_from_slice(bytes),
            }
        } else {
            state.pending.extend_from_slice(bytes);
        }
        self.backlog.notify_one();
        false
    }

    /// One non-blocking `send` on the socket itself. Unlike tokio's
    /// `try_write` it does not read the reactor's readiness word for the
    /// socket (memory a fan-out pass would otherwise touch for every
    /// socket). A `WouldBlock` here leaves tokio's readiness as it was; the
    /// task's [`Outlet::flush`] then meets `WouldBlock` itself and waits.
    fn send_now(&self, bytes: &[u8]) -> io::Result<usize> {
        socket2::SockRef::from(&self.tcp).send(bytes)
    }

    /// Sends one socket's share of one or more broadcasts (`uploads` of
    /// them, `frames` in order), each frame numbered with this socket's next
    /// `seq`, all in one write. `scratch` is the caller's buffer, reused.
    pub fn push_broadcast<'a>(
        &self,
        frames: impl Iterator<Item = &'a SharedFrame>,
        uploads: usize,
        scratch: &mut Vec<u8>,
        capacity: usize,
    ) -> Push {
        let mut state = self.lock();
        if state.closed {
            return Push::Closed;
        }
        if !state.pending.is_empty() && state.queued.saturating_add(uploads) > capacity {
            return Push::Full;
        }
        scratch.clear();
        for frame in frames {
            state.seq = state.seq.saturating_add(1);
            frame.write_ws_frame(state.seq, scratch);
        }
        if self.send_locked(&mut state, scratch) {
            Push::Sent
        } else {
            state.queued = state.queued.saturating_add(uploads);
            Push::Queued
        }
    }

    /// Sends one text frame built by `encode` from this socket's next `seq`
    /// (a direct reply). False if the socket is closing (nothing sent).
    pub fn push_text(&self, encode: impl FnOnce(u64) -> String) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        state.seq = state.seq.saturating_add(1);
        let text = encode(state.seq);
        let mut bytes = Vec::with_capacity(text.len() + 10);
        write_header(text.len(), &mut bytes);
        bytes.extend_from_slice(text.as_bytes());
        self.send_locked(&mut state, &bytes);
        true
    }

    /// Stops taking broadcasts and replies (the task is closing the socket);
    /// raw frames (the close frame) still go out.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// Resolves when bytes are waiting for the task to write them.
    pub fn backlog(&self) -> &Notify {
        &self.backlog
    }

    /// Broadcasts waiting in whole or in part (0 when nothing waits).
    pub fn queued(&self) -> usize {
        self.lock().queued
    }

    /// Writes whatever waits, waiting for the kernel as needed.
    pub async fn flush(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Writes whatever waits; `Pending` until the kernel takes it all.
    pub fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut state = self.lock();
            if state.pending.is_empty() {
                state.queued = 0;
                if state.pending.capacity() > KEEP_CAPACITY {
                    state.pending = Vec::new();
                }
                return Poll::Ready(Ok(()));
            }
            match self.tcp.try_write(&state.pending) {
                Ok(n) => {
                    state.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    drop(state);
                    ready!(self.tcp.poll_write_ready(cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Appends raw bytes (a frame tungstenite built) in order.
    fn push_raw(&self, bytes: &[u8]) {
        let mut state = self.lock();
        self.send_locked(&mut state, bytes);
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            match self.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// Appends an unmasked, final text frame header for `len` payload bytes.
pub fn write_header(len: usize, out: &mut Vec<u8>) {
    out.push(0x81);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// The socket as tungstenite sees it: reads from the TCP stream, writes
/// through the [`Outlet`] so its frames keep their place among the others.
#[derive(Debug, Clone)]
pub struct OutletIo(pub std::sync::Arc<Outlet>);

impl AsyncRead for OutletIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.0.poll_read(cx, buf)
    }
}

impl AsyncWrite for OutletIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.push_raw(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The stream closes when the last handle to the outlet is dropped.
        self.0.poll_flush(cx)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A connected loopback pair: (server side, client side).
    pub(crate) async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    /// Reads server frames (unmasked text) until `count` have arrived.
    pub(crate) async fn read_texts(client: &mut TcpStream, count: usize) -> Vec<String> {
        let mut bytes = Vec::new();
        let mut texts = Vec::new();
        let mut at = 0;
        while texts.len() < count {
            let mut chunk = [0u8; 65536];
            let n = client.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed after {} frames", texts.len());
            bytes.extend_from_slice(&chunk[..n]);
            loop {
                let rest = &bytes[at..];
                if rest.len() < 2 {
                    break;
                }
                assert_eq!(rest[0], 0x81);
                let (len, head) = match rest[1] {
                    126 if rest.len() >= 4 => {
                        (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4)
                    }
                    127 if rest.len() >= 10 => {
                        let mut be = [0u8; 8];
                        be.copy_from_slice(&rest[2..10]);
                        (usize::try_from(u64::from_be_bytes(be)).unwrap(), 10)
                    }
                    126 | 127 => break,
                    n => (usize::from(n), 2),
                };
                if rest.len() < head + len {
                    break;
                }
                texts.push(String::from_utf8(rest[head..head + len].to_vec()).unwrap());
                at += head + len;
            }
        }
        texts
    }

    fn frame(text: &str) -> SharedFrame {
        let message = quizpulse::wire::ServerMessage::Error {
            message: text.to_owned(),
        };
        SharedFrame::new(message, "2026-11-30T00:00:00.000000Z", Instant::now())
    }

    #[tokio::test]
    async fn headers_of_every_length_class_are_read_back() {
        let (server, mut client) = pair().await;
        let outlet = Outlet::new(server);
        let frames = [
            frame("a"),
            frame(&"b".repeat(300)),
            frame(&"c".repeat(70_000)),
        ];
        let mut scratch = Vec::new();
        let push = outlet.push_broadcast(frames.iter(), 1, &mut scratch, 4);
        let outlet = Arc::new(outlet);
        let flusher = {
            let outlet = Arc::clone(&outlet);
            tokio::spawn(async move { outlet.flush().await })
        };
        let texts = read_texts(&mut client, 3).await;
        flusher.await.unwrap().unwrap();
        assert!(matches!(push, Push::Sent | Push::Queued));
        for (i, (text, frame)) in texts.iter().zip(&frames).enumerate() {
            assert_eq!(*text, frame.numbered(i as u64 + 1));
        }
        assert!(outlet.push_text(|seq| format!("{{\"seq\": {seq}}}")));
        assert_eq!(read_texts(&mut client, 1).await, ["{\"seq\": 4}"]);
    }

    #[tokio::test]
    async fn a_reader_that_stops_fills_up_and_then_is_full() {
        let (server, mut client) = pair().await;
        let outlet = Arc::new(Outlet::new(server));
        let big = [frame(&"x".repeat(8 << 20))];
        let mut scratch = Vec::new();
        assert_eq!(
            outlet.push_broadcast(big.iter(), 1, &mut scratch, 2),
            Push::Queued
        );
        assert_eq!(
            outlet.push_broadcast(big.iter(), 1, &mut scratch, 2),
            Push::Queued
        );
        assert_eq!(outlet.queued(), 2);
        assert_eq!(
            outlet.push_broadcast(big.iter(), 1, &mut scratch, 2),
            Push::Full
        );
        // The reader resumes: both broadcasts arrive whole, in order.
        let flusher = {
            let outlet = Arc::clone(&outlet);
            tokio::spawn(async move { outlet.flush().await })
        };
        let texts = read_texts(&mut client, 2).await;
        flusher.await.unwrap().unwrap();
        assert_eq!(texts[0], big[0].numbered(1));
        assert_eq!(texts[1], big[0].numbered(2));
        assert_eq!(outlet.queued(), 0);
        outlet.close();
        assert_eq!(
            outlet.push_broadcast(big.iter(), 1, &mut scratch, 2),
            Push::Closed
        );
        assert!(!outlet.push_text(|_| String::new()));
    }
}
