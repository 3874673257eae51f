//! The driver: one [`Client`] per worker lifetime, fed one input at a time.
//!
//! Every browser event becomes an [`Input`] in one queue. A single task takes them in
//! order: it creates the client on the first one (after reading every
//! [`PersistKey`]), hands the input to its `handle_*(…, Date.now())`, carries out every
//! action [`Client::poll_action`] yields, in order and each awaited, and re-arms the one
//! timer at [`Client::poll_timeout`]. An event that arrives meanwhile waits its turn.

use std::cell::RefCell;
use std::collections::VecDeque;

use js_sys::Function;
use quizpulse::cache::FetchResult;
use quizpulse::client::{RequestId, SocketId};
use quizpulse::messages::{Command, Page};
use quizpulse::subscriptions::TabId;
use quizpulse::wire::QuizId;
use quizpulse::{Action, Client, ClientConfig, StartInfo, Timestamp};
use wasm_bindgen::prelude::*;

use crate::{
    alarms, badge, chrome, fetch, notifications, ports, quiz_pages, socket, storage, tabs,
};

/// One thing that happened, for the client.
pub enum Input {
    /// The worker was started or woken for an event with nothing else to tell
    /// (install, browser start-up, a permission change).
    Wake,
    /// A command from an extension page; `reply` (a promise's `resolve`) gets the
    /// state once it is carried out.
    Command(Command, Option<Function>),
    /// A page's port (popup, options page) connected.
    PageOpened(Page, ports::Port),
    /// A page's port disconnected.
    PageClosed(Page, ports::Port),
    /// A tab's content script says it shows a quiz page (its port connected).
    TabQuiz {
        /// The tab.
        tab: TabId,
        /// The quiz.
        quiz: QuizId,
        /// The port, to tell a stale disconnect from the current one.
        port: ports::Port,
    },
    /// A quiz page's port disconnected (navigated away, closed, or put in the cache).
    TabQuizGone {
        /// The tab.
        tab: TabId,
        /// The port.
        port: ports::Port,
    },
    /// A tab closed.
    TabClosed(TabId),
    /// The active tab changed (`None`: no browser window has focus).
    TabActivated(Option<TabId>),
    /// A socket opened.
    SocketOpened(SocketId),
    /// A text frame arrived.
    SocketMessage(SocketId, String),
    /// A socket reported an error.
    SocketError(SocketId),
    /// A socket closed.
    SocketClosed {
        /// Its id.
        socket: SocketId,
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
        /// Whether `open` had fired.
        was_open: bool,
    },
    /// A request finished.
    FetchDone(RequestId, FetchResult),
    /// The answer to a host access check.
    HostAccess(bool),
    /// The driver's timer fired.
    Timeout,
    /// The alarm fired.
    Alarm,
    /// The network went up or down.
    Online(bool),
    /// `chrome.idle` says the machine is in use again.
    IdleActive,
    /// A notification was clicked.
    NotificationClicked(String),
    /// A notification was closed: its id, and whether the user closed it.
    NotificationClosed(String, bool),
    /// Settings JSON was written to storage by someone else.
    SettingsWritten(String),
}

/// The name of the one alarm the worker sets.
pub const ALARM_NAME: &str = "quizpulse";

#[derive(Default)]
struct Driver {
    client: Option<Client>,
    queue: VecDeque<Input>,
    running: bool,
    timer: Option<f64>,
    timer_callback: Option<Closure<dyn FnMut()>>,
}

thread_local! {
    static DRIVER: RefCell<Driver> = RefCell::new(Driver::default());
}

/// Queues an input; starts the task that handles inputs if it is not running.
pub fn push(input: Input) {
    let start = DRIVER.with(|d| {
        let mut d = d.borrow_mut();
        d.queue.push_back(input);
        !std::mem::replace(&mut d.running, true)
    });
    if start {
        wasm_bindgen_futures::spawn_local(run());
    }
}

/// What the driver reads around it for every input: the clock and the local zone.
/// The worker's are [`Worker`]'s; a test's may change between two inputs.
trait Surroundings {
    /// The time now, on the local clock.
    fn now(&self) -> Timestamp;
    /// The local zone's offset east of UTC, in minutes, as it is now (it changes with
    /// daylight saving time, and when the user travels).
    fn utc_offset_minutes(&self) -> i32;
}

/// The worker's surroundings: `Date.now()` and `Date#getTimezoneOffset()`.
struct Worker;

impl Surroundings for Worker {
    fn now(&self) -> Timestamp {
        now()
    }

    fn utc_offset_minutes(&self) -> i32 {
        -js_sys::Date::new_0().get_timezone_offset() as i32
    }
}

/// `Date.now()` as the core's clock.
pub fn now() -> Timestamp {
    // Milliseconds since the epoch fit f64 exactly; the clock is never negative.
    Timestamp::from_millis(js_sys::Date::now().max(0.0) as u64)
}

/// The current settings, once the client exists.
pub fn settings() -> Option<quizpulse::settings::Settings> {
    DRIVER.with(|d| d.borrow().client.as_ref().map(|c| c.settings().clone()))
}

async fn run() {
    loop {
        let Some(input) = DRIVER.with(|d| d.borrow_mut().queue.pop_front()) else {
            DRIVER.with(|d| d.borrow_mut().running = false);
            return;
        };
        if DRIVER.with(|d| d.borrow().client.is_none()) {
            start_client().await;
        }
        let reply = apply(input);
        carry_out().await;
        if let Some(resolve) = reply {
            let state = DRIVER.with(|d| {
                d.borrow()
                    .client
                    .as_ref()
                    .map(|c| ports::state_message(&c.snapshot(now())))
            });
            let state = state.unwrap_or(JsValue::NULL);
            if let Err(err) = resolve.call1(&JsValue::NULL, &state) {
                log_error(&format!(
                    "answering a command failed: {}",
                    chrome::describe(&err)
                ));
            }
        }
        quiz_pages::sync().await;
        arm_timer();
    }
}

/// Reads storage and starts the client (`handle_start`, then `handle_worker_started`).
async fn start_client() {
    let stored = storage::load().await;
    let online = online();
    let config = ClientConfig {
        // Jitter only: 53 random bits are plenty.
        seed: (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64,
        ..ClientConfig::default()
    };
    let mut client = Client::new(config);
    let now = now();
    client.handle_start(
        StartInfo {
            stored,
            online,
            utc_offset_minutes: Worker.utc_offset_minutes(),
        },
        now,
    );
    DRIVER.with(|d| d.borrow_mut().client = Some(client));
    carry_out().await;
    with_client(|c, now| c.handle_worker_started(now));
}

/// `navigator.onLine` in the worker's scope (true when it cannot be read).
fn online() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"onLine".into()))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// Runs `f` on the client with the clock and zone as they are now.
fn with_client(f: impl FnOnce(&mut Client, Timestamp)) {
    DRIVER.with(|d| {
        if let Some(client) = d.borrow_mut().client.as_mut() {
            feed(&Worker, client, f);
        }
    });
}

/// Hands `client` to `f` with the clock and zone as `around` reads them now: the zone
/// is read for every input, so quiet hours follow a daylight-saving change at once.
fn feed<S: Surroundings>(around: &S, client: &mut Client, f: impl FnOnce(&mut Client, Timestamp)) {
    client.set_utc_offset(around.utc_offset_minutes());
    f(client, around.now());
}

/// Hands one input to the client; returns who waits for the answer.
fn apply(input: Input) -> Option<Function> {
    let mut reply = None;
    with_client(|c, now| match input {
        Input::Wake => c.handle_worker_started(now),
        Input::Command(command, resolve) => {
            reply = resolve;
            c.handle_command(command, now);
        }
        Input::PageOpened(page, port) => {
            ports::page_opened(page, port);
            c.handle_page_opened(page, now);
        }
        Input::PageClosed(page, port) => {
            // The boards the popup kept fresh are let go when the last popup closes.
            if ports::page_closed(page, &port) && page == Page::Popup {
                c.handle_popup_closed(now);
            }
        }
        Input::TabQuiz { tab, quiz, port } => {
            ports::quiz_page_opened(tab, port);
            c.handle_tab_quiz(tab, Some(quiz), now);
        }
        Input::TabQuizGone { tab, port } => {
            if ports::quiz_page_closed(tab, &port) {
                c.handle_tab_quiz(tab, None, now);
            }
        }
        Input::TabClosed(tab) => {
            ports::tab_closed(tab);
            c.handle_tab_closed(tab, now);
        }
        Input::TabActivated(tab) => c.handle_tab_activated(tab, now),
        Input::SocketOpened(id) => c.handle_socket_opened(id, now),
        Input::SocketMessage(id, text) => c.handle_socket_message(id, &text, now),
        Input::SocketError(id) => c.handle_socket_error(id, now),
        Input::SocketClosed {
            socket,
            code,
            reason,
            was_open,
        } => c.handle_socket_closed(socket, code, &reason, was_open, now),
        Input::FetchDone(id, result) => c.handle_fetch_completed(id, result, now),
        Input::HostAccess(granted) => c.handle_host_access(granted, now),
        Input::Timeout => c.handle_timeout(now),
        Input::Alarm => c.handle_alarm(now),
        Input::Online(online) => c.handle_online(online, now),
        Input::IdleActive => c.handle_idle_active(now),
        Input::NotificationClicked(id) => c.handle_notification_clicked(&id, now),
        Input::NotificationClosed(id, by_user) => {
            let by_user = notifications::closed_by_user(by_user);
            c.handle_notification_closed(&id, by_user, now)
        }
        Input::SettingsWritten(json) => c.handle_settings_changed(&json, now),
    });
    reply
}

/// Carries out every pending action, in order, each awaited; first puts the words in
/// the language the settings choose (a catalog fetched once per change), so that
/// notifications and the badge's tooltip follow a new choice at once.
async fn carry_out() {
    let language = DRIVER.with(|d| d.borrow().client.as_ref()?.settings().language());
    quizpulse_chrome::i18n::choose(language).await;
    loop {
        let Some(action) = DRIVER.with(|d| d.borrow_mut().client.as_mut()?.poll_action()) else {
            return;
        };
        execute(action).await;
    }
}

async fn execute(action: Action) {
    let done = match action {
        Action::OpenSocket { socket, url } => socket::open(socket, &url),
        Action::CloseSocket {
            socket,
            code,
            reason,
        } => {
            socket::close(socket, code, &reason);
            Ok(())
        }
        Action::Send { socket, text } => {
            socket::send(socket, &text);
            Ok(())
        }
        Action::Fetch(request) => {
            wasm_bindgen_futures::spawn_local(async move {
                let id = request.id;
                let result = fetch::perform(&request).await;
                push(Input::FetchDone(id, result));
            });
            Ok(())
        }
        Action::Notify(notification) => notifications::show(&notification).await,
        Action::ClearNotification { id } => notifications::clear(&id).await,
        Action::OpenTab { url } => tabs::open(&url).await,
        Action::Persist { key, json } => storage::persist(key, &json).await,
        Action::SetBadge(b) => badge::set(&b).await,
        Action::ScheduleAlarm { at } => alarms::schedule(at).await,
        Action::CheckHostAccess { pattern } => {
            let granted = chrome::has_host_access(&pattern).await;
            let granted = granted.unwrap_or_else(|err| {
                log_error(&err.to_string());
                false
            });
            push(Input::HostAccess(granted));
            Ok(())
        }
        Action::Publish {
            snapshot,
            to_popup,
            to_storage,
        } => ports::publish(&snapshot, to_popup, to_storage).await,
    };
    if let Err(err) = done {
        log_error(&err.to_string());
    }
}

/// Re-arms the one timer at the client's next deadline (or clears it).
fn arm_timer() {
    DRIVER.with(|d| {
        let mut d = d.borrow_mut();
        if let Some(handle) = d.timer.take() {
            chrome::clear_timeout(handle);
        }
        let Some(at) = d.client.as_ref().and_then(Client::poll_timeout) else {
            return;
        };
        let delay = at.as_millis().saturating_sub(now().as_millis());
        // setTimeout takes at most 2^31-1 ms; a later deadline is re-armed on the way.
        let delay = delay.min(i32::MAX as u64) as f64;
        let callback = d
            .timer_callback
            .get_or_insert_with(|| Closure::new(|| push(Input::Timeout)));
        let handle = chrome::set_timeout(callback.as_ref().unchecked_ref(), delay);
        d.timer = Some(handle);
    });
}

/// Logs a failure of a browser call (never a token: errors name APIs, not values).
pub fn log_error(message: &str) {
    quizpulse_chrome::console("console.error", &format!("QuizPulse: {message}"));
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use quizpulse::{Client, ClientConfig, StartInfo, StoredState, Timestamp};

    use super::{Surroundings, feed};

    /// A clock and a zone the test sets.
    struct Around {
        now: Cell<u64>,
        zone: Cell<i32>,
    }

    impl Surroundings for Around {
        fn now(&self) -> Timestamp {
            Timestamp::from_millis(self.now.get())
        }

        fn utc_offset_minutes(&self) -> i32 {
            self.zone.get()
        }
    }

    #[test]
    fn every_input_reaches_the_client_with_the_zone_as_it_is_then() {
        let around = Around {
            now: Cell::new(1_795_672_800_000),
            zone: Cell::new(60),
        };
        let mut client = Client::new(ClientConfig::default());
        let start = StartInfo {
            stored: StoredState::default(),
            online: true,
            utc_offset_minutes: around.utc_offset_minutes(),
        };
        client.handle_start(start, around.now());
        // Daylight saving ends while the worker runs: UTC+1 becomes UTC+0.
        around.zone.set(0);
        around.now.set(1_795_672_860_000);
        feed(&around, &mut client, |c, now| c.handle_timeout(now));
        assert_eq!(
            client.utc_offset_minutes(),
            0,
            "quiet hours in the new zone"
        );
        // And the traveller lands in UTC+9.
        around.zone.set(540);
        feed(&around, &mut client, |c, now| c.handle_alarm(now));
        assert_eq!(client.utc_offset_minutes(), 540);
    }
}
