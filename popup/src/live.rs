//! The pages' view of the service worker: the cached snapshot at once, then live
//! snapshots from the `popup` port; commands go back on the same port. A clock signal
//! makes "updated 4 s ago" tick.

use quizpulse::Timestamp;
use quizpulse::messages::{Command, Page, Snapshot, WorkerMessage};
use quizpulse_chrome::i18n::{isolate, t, tr};
use sycamore::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::chrome::{self, ChromeError, Port};
use crate::model::{SNAPSHOT_KEY, Stored, read_snapshot, read_worker_message};
/// How long to wait before reconnecting a port whose worker went away.
const RECONNECT_MS: i32 = 500;

thread_local! {
    /// How far the worker's clock is ahead of the browser's (the latest snapshot's
    /// `clock_shift_ms`).
    static SHIFT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Now, on the worker's clock: the browser's clock, plus the shift the worker reports
/// (0 unless the browser's clock went back while the worker ran), so the snapshot's
/// times compare right.
pub fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now().max(0.0) as u64 + SHIFT.get())
}

/// What the page knows of the worker's state.
#[derive(Clone, Copy)]
pub struct Live {
    /// The latest snapshot: cached until the first live one arrives.
    pub snapshot: Signal<Option<Snapshot>>,
    /// The snapshot shown is the cached one (no live one yet).
    pub cached: Signal<bool>,
    /// The cache was read (or found empty): the page can decide what to show.
    pub ready: Signal<bool>,
    /// The last thing that went wrong talking to the worker.
    pub problem: Signal<Option<String>>,
    /// The clock, once a second.
    pub now: Signal<Timestamp>,
    port: Signal<Option<Port>>,
    page: Page,
}

/// The cached snapshot as the page's loader read it, or not.
pub enum Cache {
    /// Read by the loader while the wasm loaded: what it found.
    Read(Result<Option<Stored>, ChromeError>),
    /// Not read yet: [`Live::start`] reads it.
    Unread,
}

impl Live {
    /// Shows the cache (read now unless the loader did), connects `page`'s port and
    /// starts the clock. The popup says [`Command::Hello`] on every (re)connect.
    pub fn start(page: Page, cache: Cache) -> Live {
        let live = Live {
            snapshot: create_signal(None),
            cached: create_signal(false),
            ready: create_signal(false),
            problem: create_signal(None),
            now: create_signal(now()),
            port: create_signal(None),
            page,
        };
        match cache {
            // Shown before the first render: the page opens on its data.
            Cache::Read(stored) => live.show_cached(stored),
            Cache::Unread => spawn_local(async move {
                live.show_cached(chrome::session_value(SNAPSHOT_KEY).await);
            }),
        }
        live.connect();
        live.tick();
        live
    }

    fn show_cached(self, stored: Result<Option<Stored>, ChromeError>) {
        match stored {
            Ok(Some(stored)) => match read_snapshot(stored.json()) {
                // A live snapshot may have come first: it wins.
                Ok(snapshot) if self.snapshot.with_untracked(Option::is_none) => {
                    self.snapshot.set(Some(snapshot));
                    self.cached.set(true);
                }
                Ok(_) => {}
                Err(err) => warn(&format!("the cached snapshot cannot be read: {err}")),
            },
            Ok(None) => {}
            Err(err) => warn(&err.to_string()),
        }
        set_if_changed(self.ready, true);
    }

    fn connect(self) {
        let on_message = move |value: JsValue| self.receive(value);
        let on_disconnect = move || {
            self.port.set(None);
            // The worker stopped or restarted: connect again shortly.
            let again = Closure::once_into_js(move || self.connect());
            quizpulse_chrome::set_timeout(again.unchecked_ref(), f64::from(RECONNECT_MS));
        };
        match chrome::connect(self.page.port_name(), on_message, on_disconnect) {
            Ok(port) => {
                self.port.set(Some(port));
                if self.page == Page::Popup {
                    self.send(Command::Hello);
                }
            }
            Err(err) => self.problem.set(Some(err.words())),
        }
    }

    fn receive(self, value: JsValue) {
        let message = chrome::message_text(&value)
            .map_err(|e| e.words())
            .and_then(|text| {
                read_worker_message(&text).map_err(|e| tr("worker_unreadable", &[isolate(&e)]))
            });
        match message {
            Ok(WorkerMessage::Snapshot { snapshot }) => {
                SHIFT.set(snapshot.clock_shift_ms);
                self.snapshot.set(Some(*snapshot));
                // A `set` wakes every reader even with the same value: a page re-built on
                // each snapshot would lose what the user is typing.
                set_if_changed(self.cached, false);
                set_if_changed(self.ready, true);
                if self.problem.with_untracked(Option::is_some) {
                    self.problem.set(None);
                }
            }
            Ok(WorkerMessage::Pong { .. }) => {}
            Ok(WorkerMessage::Error { message }) => self.problem.set(Some(message)),
            Err(err) => self.problem.set(Some(err)),
        }
    }

    fn tick(self) {
        let tick = Closure::<dyn FnMut()>::new(move || self.now.set(now()));
        quizpulse_chrome::set_interval(tick.as_ref().unchecked_ref(), 1000.0);
        tick.forget();
    }

    /// Sends a command to the worker; a failure shows as [`Live::problem`].
    pub fn send(self, command: Command) {
        let sent = self.port.with(|port| match port {
            Some(port) => chrome::post(port, &command).map_err(|e| e.words()),
            None => Err(t("worker_not_connected")),
        });
        if let Err(err) = sent {
            self.problem.set(Some(err));
        }
    }

    /// Reads the snapshot (or `None`) without cloning it.
    pub fn with<R>(self, f: impl FnOnce(Option<&Snapshot>) -> R) -> R {
        let mut f = Some(f);
        let mut out = None;
        self.read(&mut |s| out = f.take().map(|f| f(s)));
        out.unwrap_or_else(|| unreachable!("a signal's `with` calls its closure once"))
    }

    /// The one place the snapshot signal is read: sycamore's generic reading code is
    /// compiled once, not once per reader.
    fn read(self, f: &mut dyn FnMut(Option<&Snapshot>)) {
        self.snapshot.with(|s| f(s.as_ref()));
    }
}

fn set_if_changed(signal: Signal<bool>, value: bool) {
    if signal.get_untracked() != value {
        signal.set(value);
    }
}

fn warn(text: &str) {
    quizpulse_chrome::console("console.warn", &format!("QuizPulse: {text}"));
}
