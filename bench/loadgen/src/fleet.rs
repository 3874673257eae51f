//! N sockets reading a server's broadcasts, tallied per upload.
//!
//! Sockets are connected and subscribed by tokio tasks, then read by the
//! [`Readers`] threads. For the last message of an upload
//! (`quiz_leaderboard_updated`) a socket bumps that upload's slot: a count
//! and the latest arrival time, both atomics, so the readers never wait for
//! each other. An upload's slot is found by its `session_id` (from the
//! `quiz_session_uploaded` just before it on the same socket).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::Error;
use crate::frame::{self, Kind};
use crate::reader::Readers;
use crate::target::Target;
use crate::wire::{Event, Socket};

/// Close code 1013 (the server dropped a slow reader).
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// Uploads tracked at once (slots are indexed by an upload's key, see
/// [`Tally::key`], modulo this).
const SLOTS: usize = 1 << 16;

/// Where the keys of non-numeric session ids start (far from any numeric id
/// a server of the same run would send).
const FIRST_NAMED_KEY: u64 = 1 << 62;

/// Sockets connecting at the same time.
const CONNECTING: usize = 64;

/// How long one socket may take to connect and be confirmed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Default)]
struct Slot {
    count: AtomicU32,
    last_ns: AtomicU64,
}

/// What every socket saw, shared by all of the readers.
pub struct Tally {
    epoch: Instant,
    slots: Box<[Slot]>,
    /// Frames received (all kinds).
    pub frames: AtomicU64,
    /// Bytes of text received.
    pub bytes: AtomicU64,
    /// Gaps in a socket's `seq` (a message it never got).
    pub seq_gaps: AtomicU64,
    /// Sockets that ended (closed by the server or failed).
    pub closed: AtomicU64,
    /// Of those, closed with 1013 (the server dropped a slow reader).
    pub lagged: AtomicU64,
    /// Keys given to session ids that are not numbers (UUIDs, …), in the
    /// order they were first seen.
    named: Mutex<HashMap<Box<[u8]>, u64>>,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Tally {
    /// A tally with nothing seen yet; its clock starts now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            seq_gaps: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
            named: Mutex::new(HashMap::new()),
        }
    }

    /// The key of a session id (its text): the number itself for an id of
    /// digits (no lock: every socket reads it for every upload), else a
    /// key given on first sight, counting up, so uploads made one after
    /// the other never share a slot however their ids look.
    pub fn key(&self, id: &[u8]) -> u64 {
        if !id.is_empty() && id.len() <= 19 && id.iter().all(u8::is_ascii_digit) {
            return id.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        }
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        let next = FIRST_NAMED_KEY + named.len() as u64;
        *named.entry(id.into()).or_insert(next)
    }

    /// Nanoseconds since this tally began (the bench's clock).
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn slot(&self, session: u64) -> &Slot {
        &self.slots[(session % SLOTS as u64) as usize]
    }

    /// Counts one socket's arrival of upload `session`'s last message.
    pub fn record(&self, session: u64, at_ns: u64) {
        let slot = self.slot(session);
        slot.last_ns.fetch_max(at_ns, Ordering::Relaxed);
        slot.count.fetch_add(1, Ordering::Release);
    }

    /// Sockets that have received upload `session`'s last message.
    pub fn delivered(&self, session: u64) -> u32 {
        self.slot(session).count.load(Ordering::Acquire)
    }

    /// When the last of them received it (bench clock, ns).
    pub fn last_ns(&self, session: u64) -> u64 {
        self.slot(session).last_ns.load(Ordering::Relaxed)
    }
}

/// The connected sockets; dropping it closes them.
pub struct Fleet {
    /// What they saw.
    pub tally: Arc<Tally>,
    /// Sockets connected.
    sockets: usize,
    /// Time to connect (and subscribe) them all.
    pub connect_time: Duration,
    /// Held for the fleet's life: dropping it stops the threads and closes the sockets.
    _readers: Arc<Readers>,
}

impl Fleet {
    /// Sockets in the fleet.
    pub fn len(&self) -> usize {
        self.sockets
    }

    /// True for a fleet of no sockets.
    pub fn is_empty(&self) -> bool {
        self.sockets == 0
    }

    /// Connects `n` sockets (servers and tokens used in turn), each
    /// subscribed to `quiz` and confirmed before this returns; `readers`
    /// threads read them from then on.
    pub async fn connect(
        targets: &[Target],
        tokens: &[String],
        n: usize,
        quiz: &str,
        readers: usize,
    ) -> Result<Self, Error> {
        if tokens.is_empty() || targets.is_empty() {
            return Err(Error::Usage("no server or no access tokens".to_owned()));
        }
        let tally = Arc::new(Tally::new());
        let readers = Arc::new(Readers::start(readers, &tally)?);
        let gate = Arc::new(Semaphore::new(CONNECTING));
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for i in 0..n {
            let authority = targets[i % targets.len()].authority().to_owned();
            let path = Target::socket_path(&tokens[i % tokens.len()]);
            let subscribe = format!(r#"{{"type": "subscribe_quiz", "quiz_id": "{quiz}"}}"#);
            let gate = Arc::clone(&gate);
            let readers = Arc::clone(&readers);
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let socket =
                    tokio::time::timeout(CONNECT_TIMEOUT, open(&authority, &path, &subscribe))
                        .await
                        .map_err(|_| Error::Socket("connect timed out".to_owned()))??;
                readers.adopt(i, socket)
            });
        }
        // The first failure ends the run (the rest are aborted with the set).
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| Error::Socket(format!("connect task: {e}")))??;
        }
        Ok(Self {
            tally,
            sockets: n,
            connect_time: started.elapsed(),
            _readers: readers,
        })
    }
}

/// Small buffers for the storm's tungstenite sockets: 10 000 sockets live
/// in this process too.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
}

/// Opens a socket, subscribes and waits for the confirmation.
async fn open(authority: &str, path: &str, subscribe: &str) -> Result<Socket, Error> {
    let mut socket = Socket::connect(authority, path).await?;
    socket.send_text(subscribe).await?;
    loop {
        match socket.next().await? {
            Some(Event::Text(text)) => {
                if memchr::memmem::find(text, b"\"subscription_confirmed\"").is_some() {
                    return Ok(socket);
                }
                if frame::kind(text) == Kind::Other
                    && memchr::memmem::find(text, b"\"error\"").is_some()
                {
                    return Err(Error::Socket(format!(
                        "subscribe refused: {}",
                        String::from_utf8_lossy(text)
                    )));
                }
            }
            Some(Event::Close(code)) => {
                return Err(Error::Socket(format!("closed while subscribing: {code:?}")));
            }
            None => return Err(Error::Socket("closed while subscribing".to_owned())),
        }
    }
}

/// One socket's view of the messages it reads: which upload it is in and
/// the last `seq`, to tally arrivals and gaps.
#[derive(Debug, Default)]
pub struct Watch {
    session: Option<u64>,
    last_seq: Option<u64>,
}

impl Watch {
    /// Tallies one whole message read at `at` (bench clock, ns).
    pub fn text(&mut self, text: &[u8], at: u64, tally: &Tally) {
        tally.frames.fetch_add(1, Ordering::Relaxed);
        tally.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        if let Some(seq) = frame::integer_field(text, frame::SEQ) {
            if self.last_seq.is_some_and(|last| seq != last + 1) {
                tally.seq_gaps.fetch_add(1, Ordering::Relaxed);
            }
            self.last_seq = Some(seq);
        }
        match frame::kind(text) {
            Kind::SessionUploaded => {
                self.session = frame::session_id(text)
                    .and_then(frame::unescape)
                    .map(|id| tally.key(&id));
            }
            Kind::QuizLeaderboardUpdated => {
                if let Some(id) = self.session.take() {
                    tally.record(id, at);
                }
            }
            Kind::LeaderboardUpdated | Kind::Other => {}
        }
    }

    /// Notes the server's close (1013: it dropped this socket as too slow).
    pub fn close(&mut self, code: Option<u16>, tally: &Tally) {
        if code == Some(CLOSE_TRY_AGAIN_LATER) {
            tally.lagged.fetch_add(1, Ordering::Relaxed);
        }
    }
}
