//! The fleet's read side: a few threads, each one epoll loop (mio) over its
//! share of the open sockets.
//!
//! The generator shares the machine's two cores with the server it measures,
//! so reading must cost little more than the kernel's copy: no task per
//! socket, no wake-up per socket, no allocation per message. A socket's
//! bytes are read into the thread's scratch buffer and its frames looked at
//! in place; only an incomplete frame's tail is kept with the socket.
//! Readiness is edge-triggered; a read that leaves room in the buffer has
//! drained the socket (new bytes raise a new edge), so a socket with one
//! upload's frames costs one `read`.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Registry, Token};

use crate::Error;
use crate::fleet::{Tally, Watch};
use crate::wire;

/// Each thread's read buffer (grown for a larger frame).
const SCRATCH: usize = 64 * 1024;

/// After a batch of reads, how long a thread lets readiness gather before
/// it waits again (see the module docs).
const COALESCE: Duration = Duration::from_micros(500);

/// How often an idle thread looks at the stop flag and its inbox.
const TICK: Duration = Duration::from_millis(20);

/// One socket as its reader keeps it.
struct Conn {
    tcp: TcpStream,
    /// An incomplete frame's bytes, carried to the next read.
    rest: Vec<u8>,
    /// A fragmented message being reassembled.
    partial: Vec<u8>,
    watch: Watch,
}

/// What became of a socket after a read.
enum Fate {
    Open,
    Ended,
}

impl Conn {
    /// Reads what the socket has and tallies every whole message in it.
    fn pump(&mut self, scratch: &mut Vec<u8>, tally: &Tally) -> Fate {
        loop {
            let kept = self.rest.len();
            if scratch.len() < kept + SCRATCH / 2 {
                scratch.resize(kept * 2 + SCRATCH, 0);
            }
            scratch[..kept].copy_from_slice(&self.rest);
            self.rest.clear();
            let room = scratch.len() - kept;
            let n = match self.tcp.read(&mut scratch[kept..]) {
                Ok(0) => return Fate::Ended,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.rest.extend_from_slice(&scratch[..kept]);
                    return Fate::Open;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.rest.extend_from_slice(&scratch[..kept]);
                    continue;
                }
                Err(_) => return Fate::Ended,
            };
            let bytes = &scratch[..kept + n];
            let at = tally.now_ns();
            match self.frames(bytes, at, tally) {
                Ok(Some(used)) => self.rest.extend_from_slice(&bytes[used..]),
                Ok(None) | Err(_) => return Fate::Ended,
            }
            if n < room {
                return Fate::Open;
            }
        }
    }

    /// Tallies the whole messages among the bytes read before adoption.
    fn leftover(&mut self, tally: &Tally) -> Fate {
        let rest = std::mem::take(&mut self.rest);
        match self.frames(&rest, tally.now_ns(), tally) {
            Ok(Some(used)) => {
                self.rest.extend_from_slice(&rest[used..]);
                Fate::Open
            }
            Ok(None) | Err(_) => Fate::Ended,
        }
    }

    /// Handles every whole frame at the start of `bytes`; how many bytes
    /// they took, or `None` once the server closed.
    fn frames(&mut self, bytes: &[u8], at: u64, tally: &Tally) -> Result<Option<usize>, Error> {
        let mut used = 0;
        while let Some(frame) = wire::header(&bytes[used..])? {
            let payload = &bytes[used + frame.start..used + frame.end];
            used += frame.end;
            match frame.opcode {
                0x9 => {
                    // Best effort: a pong is a few bytes and the send buffer is empty.
                    let _ = self.tcp.write_all(&wire::masked(0xA, payload));
                }
                0x8 => {
                    self.watch.close(wire::close_code(payload), tally);
                    return Ok(None);
                }
                0x1 | 0x2 if frame.fin => self.watch.text(payload, at, tally),
                0x0..=0x2 => {
                    wire::join_fragment(&mut self.partial, payload)?;
                    if frame.fin {
                        let whole = std::mem::take(&mut self.partial);
                        self.watch.text(&whole, at, tally);
                    }
                }
                _ => {}
            }
        }
        Ok(Some(used))
    }
}

/// Sockets handed to a thread, waiting for it to take them.
struct Inbox {
    registry: Registry,
    new: Mutex<Vec<(usize, Conn)>>,
}

/// The reading threads; dropping them closes every socket.
pub struct Readers {
    stop: Arc<AtomicBool>,
    inboxes: Vec<Arc<Inbox>>,
    threads: Vec<JoinHandle<()>>,
}

impl Readers {
    /// Starts `count` reading threads (at least one) tallying into `tally`.
    pub fn start(count: usize, tally: &Arc<Tally>) -> Result<Self, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut readers = Self {
            stop: Arc::clone(&stop),
            inboxes: Vec::new(),
            threads: Vec::new(),
        };
        for i in 0..count.max(1) {
            let poll = Poll::new()?;
            let inbox = Arc::new(Inbox {
                registry: poll.registry().try_clone()?,
                new: Mutex::new(Vec::new()),
            });
            let thread = std::thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn({
                    let (inbox, tally, stop) =
                        (Arc::clone(&inbox), Arc::clone(tally), Arc::clone(&stop));
                    move || read_loop(poll, &inbox, &tally, &stop)
                })?;
            readers.inboxes.push(inbox);
            readers.threads.push(thread);
        }
        Ok(readers)
    }

    /// Hands socket number `index` (its stream and any bytes already read
    /// past its last message) to a thread, which tallies from then on.
    pub fn adopt(&self, index: usize, socket: wire::Socket) -> Result<(), Error> {
        let (tcp, rest) = socket.into_parts()?;
        let inbox = &self.inboxes[index % self.inboxes.len()];
        let mut tcp = TcpStream::from_std(tcp);
        inbox
            .registry
            .register(&mut tcp, Token(index), Interest::READABLE)?;
        let conn = Conn {
            tcp,
            rest,
            partial: Vec::new(),
            watch: Watch::default(),
        };
        inbox
            .new
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((index, conn));
        Ok(())
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One thread's loop: until `stop`, read whichever sockets are ready.
fn read_loop(mut poll: Poll, inbox: &Inbox, tally: &Tally, stop: &AtomicBool) {
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut scratch = vec![0u8; SCRATCH];
    let ended = |conns: &mut Vec<Option<Conn>>, token: usize| {
        conns[token] = None;
        tally.closed.fetch_add(1, Ordering::Relaxed);
    };
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(TICK)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Its sockets go unread from here on: the run shows them as missed.
                eprintln!("loadgen: a reader stopped: epoll_wait: {e}");
                break;
            }
        }
        // Sockets registered since the last look: read each once now, as
        // an edge raised before it was here was dropped below.
        let new = std::mem::take(&mut *inbox.new.lock().unwrap_or_else(|e| e.into_inner()));
        for (token, mut conn) in new {
            if conns.len() <= token {
                conns.resize_with(token + 1, || None);
            }
            let fate = match conn.leftover(tally) {
                Fate::Open => conn.pump(&mut scratch, tally),
                Fate::Ended => Fate::Ended,
            };
            conns[token] = Some(conn);
            if let Fate::Ended = fate {
                ended(&mut conns, token);
            }
        }
        for event in &events {
            let token = event.token().0;
            let Some(conn) = conns.get_mut(token).and_then(Option::as_mut) else {
                continue;
            };
            if let Fate::Ended = conn.pump(&mut scratch, tally) {
                ended(&mut conns, token);
            }
        }
        if !events.is_empty() {
            std::thread::sleep(COALESCE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn text(body: &str) -> Vec<u8> {
        let mut frame = vec![0x81];
        if body.len() < 126 {
            frame.push(body.len() as u8);
        } else {
            frame.push(126);
            frame.extend_from_slice(&(body.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(body.as_bytes());
        frame
    }

    fn upload(session: u64, first_seq: u64) -> Vec<u8> {
        let mut bytes = text(&format!(
            r#"{{"type": "quiz_session_uploaded", "session": {{"session_id": {session}}}, "seq": {first_seq}}}"#
        ));
        bytes.extend(text(&format!(
            r#"{{"type": "leaderboard_updated", "entries": [], "seq": {}}}"#,
            first_seq + 1
        )));
        bytes.extend(text(&format!(
            r#"{{"type": "quiz_leaderboard_updated", "entries": [], "seq": {}}}"#,
            first_seq + 2
        )));
        bytes
    }

    async fn wait_for(what: impl Fn() -> bool) {
        for _ in 0..500 {
            if what() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("not reached in 5 s");
    }

    #[tokio::test]
    async fn split_fragmented_and_early_frames_are_tallied_and_pings_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let (go_on, mut go) = tokio::sync::mpsc::channel::<()>(1);
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while memchr::memmem::find(&head, b"\r\n\r\n").is_none() {
                tcp.read_buf(&mut head).await.unwrap();
            }
            // The handshake answer and the first upload in one write: the
            // client's handshake read takes them all (bytes "read early").
            let mut first = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
            first.extend(upload(7, 1));
            tcp.write_all(&first).await.unwrap();
            go.recv().await;
            // The second upload cut inside a frame, then a ping.
            let second = upload(8, 4);
            tcp.write_all(&second[..10]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            tcp.write_all(&second[10..]).await.unwrap();
            tcp.write_all(&[0x89, 2, b'h', b'i']).await.unwrap();
            // A fragmented message, a gap in seq (9 is missing), close 1013.
            let body = r#"{"type": "leaderboard_updated", "seq": 10}"#.as_bytes();
            tcp.write_all(&[0x01, 5]).await.unwrap();
            tcp.write_all(&body[..5]).await.unwrap();
            tcp.write_all(&[0x80, (body.len() - 5) as u8])
                .await
                .unwrap();
            tcp.write_all(&body[5..]).await.unwrap();
            tcp.write_all(&[0x88, 2, 0x03, 0xf5]).await.unwrap();
            let mut pong = [0u8; 8];
            tcp.read_exact(&mut pong).await.unwrap();
            pong
        });
        let socket = wire::Socket::connect(&authority, "/ws/").await.unwrap();
        let tally = Arc::new(Tally::new());
        let readers = Readers::start(2, &tally).unwrap();
        readers.adopt(1, socket).unwrap();
        wait_for(|| tally.delivered(7) == 1).await;
        go_on.send(()).await.unwrap();
        wait_for(|| tally.closed.load(Ordering::Relaxed) == 1).await;
        let pong = server.await.unwrap();
        assert_eq!(tally.delivered(8), 1);
        assert_eq!(tally.frames.load(Ordering::Relaxed), 7);
        assert_eq!(tally.seq_gaps.load(Ordering::Relaxed), 1);
        assert_eq!(tally.lagged.load(Ordering::Relaxed), 1);
        // The pong: masked, the ping's payload under the mask.
        assert_eq!(pong[..2], [0x8A, 0x80 | 2]);
        assert_eq!([pong[6] ^ pong[2], pong[7] ^ pong[3]], *b"hi");
        drop(readers);
    }
}
