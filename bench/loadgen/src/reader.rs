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
use crate::wire::{self, MAX_MESSAGE};

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
                    let code = (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    self.watch.close(code, tally);
                    return Ok(None);
                }
                0x1 | 0x2 if frame.fin => self.watch.text(payload, at, tally),
                0x0..=0x2 => {
                    if self.partial.len() + payload.len() > MAX_MESSAGE {
                        return Err(Error::Socket("fragmented message too long".to_owned()));
                    }
                    self.partial.extend_from_slice(payload);
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
            Err(_) => break,
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
