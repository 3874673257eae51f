//! Property tests of the client's invariants under arbitrary event sequences:
//! never more than one socket wanted at a time; every wanted quiz subscribed on every
//! open socket; backoff delays within bounds; at most one fetch in flight per key;
//! decoding arbitrary input never panics; timers never livelock.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use quizpulse::backoff::Backoff;
use quizpulse::client::{Action, ClientConfig, RequestPurpose};
use quizpulse::conn::ConnState;
use quizpulse::events::ConnEvent;
use quizpulse::messages::{Command, Secret};
use quizpulse::sim::{Sim, T0, signed_in_storage, token_pair_json};
use quizpulse::wire::ServerFrame;

#[derive(Debug, Clone)]
enum Ev {
    Advance(u64),
    Open,
    Close(u16, bool),
    SocketError,
    Message(usize, u8),
    Follow(u8),
    Unfollow(u8),
    TabShows(i64, u8),
    TabGone(i64),
    Online(bool),
    IdleActive,
    Hello,
    RetryNow,
    WorkerStarted,
    Alarm(u64),
    RefreshOk,
    RefreshFail,
    RefreshReject,
    AnswerReads,
    FailReads,
    SignOut,
    SignIn,
    ViewQuiz(u8),
}

const CODES: [u16; 10] = [1000, 1001, 1006, 1011, 1012, 1013, 4000, 4001, 4003, 1005];

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        8 => (0u64..120_000).prop_map(Ev::Advance),
        6 => Just(Ev::Open),
        4 => (prop::sample::select(CODES.to_vec()), any::<bool>()).prop_map(|(c, o)| Ev::Close(c, o)),
        1 => Just(Ev::SocketError),
        8 => (0usize..8, 0u8..6).prop_map(|(k, q)| Ev::Message(k, q)),
        3 => (0u8..6).prop_map(Ev::Follow),
        2 => (0u8..6).prop_map(Ev::Unfollow),
        2 => (0i64..4, 0u8..6).prop_map(|(t, q)| Ev::TabShows(t, q)),
        2 => (0i64..4).prop_map(Ev::TabGone),
        2 => any::<bool>().prop_map(Ev::Online),
        1 => Just(Ev::IdleActive),
        1 => Just(Ev::Hello),
        1 => Just(Ev::RetryNow),
        1 => Just(Ev::WorkerStarted),
        1 => (0u64..600_000).prop_map(Ev::Alarm),
        3 => Just(Ev::RefreshOk),
        1 => Just(Ev::RefreshFail),
        1 => Just(Ev::RefreshReject),
        4 => Just(Ev::AnswerReads),
        1 => Just(Ev::FailReads),
        1 => Just(Ev::SignOut),
        1 => Just(Ev::SignIn),
        1 => (0u8..6).prop_map(Ev::ViewQuiz),
    ]
}

fn message(kind: usize, quiz: u8, sim: &Sim) -> String {
    let q = format!("q{quiz}");
    match kind {
        0 => format!(
            r#"{{"type": "quiz_session_uploaded", "data": {{"session_id": "x", "quiz_id": "{q}", "subject_id": "s1", "user_id": "9", "username": "bob", "score": 50, "completed_at": "{}"}}}}"#,
            sim.now
        ),
        1 => r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1"}}"#.into(),
        2 => format!(r#"{{"type": "quiz_leaderboard_updated", "data": {{"quiz_id": "{q}"}}}}"#),
        3 => format!(r#"{{"type": "subscription_confirmed", "quiz_id": "{q}", "message": "ok"}}"#),
        4 => r#"{"type": "pong", "id": 1}"#.into(),
        5 => format!(r#"{{"type": "noop", "seq": {quiz}}}"#),
        6 => "{not json".into(),
        _ => format!(
            r#"{{"type": "quiz_leaderboard_updated", "data": {{"quiz_id": "{q}", "entries": [{{"rank": 1, "user_id": "9", "username": "bob", "score": 1, "sessions": 1}}]}}}}"#
        ),
    }
}

/// Drops the requests the client forgot (their late answers would be ignored).
fn forget_abandoned(sim: &mut Sim) {
    let client = &sim.client;
    sim.outstanding
        .retain(|id, _| client.is_request_pending(*id));
}

/// The socket opens, where a browser could report it: a socket exists and is not open.
fn open_if_a_socket_waits(sim: &mut Sim) {
    if sim.socket().is_some() && !sim.client.state().is_connected() {
        sim.open();
    }
}

/// The server closes the socket, if there is one.
fn close_if_a_socket_is_there(sim: &mut Sim, code: u16, was_open: bool) {
    if sim.socket().is_some() {
        sim.server_closes(code, was_open);
    }
}

fn apply(sim: &mut Sim, e: &Ev) {
    match e {
        Ev::Advance(ms) => sim.advance(Duration::from_millis(*ms)),
        // Socket events only where a browser could report them (the simulation fails
        // loudly on a socket event without a socket).
        Ev::Open => open_if_a_socket_waits(sim),
        Ev::Close(code, was_open) => close_if_a_socket_is_there(sim, *code, *was_open),
        Ev::SocketError => {
            if let Some(s) = sim.socket() {
                sim.input(|c, now| c.handle_socket_error(s, now));
            }
        }
        Ev::Message(k, q) => {
            if sim.client.state().is_connected() {
                let text = message(*k, *q, sim);
                sim.server_says(&text);
            }
        }
        Ev::Follow(q) => sim.command(Command::Follow {
            quiz_id: format!("q{q}").into(),
        }),
        Ev::Unfollow(q) => sim.command(Command::Unfollow {
            quiz_id: format!("q{q}").into(),
        }),
        Ev::TabShows(t, q) => {
            let quiz = format!("q{q}");
            sim.input(|c, now| c.handle_tab_quiz(*t, Some(quiz.into()), now));
        }
        Ev::TabGone(t) => sim.input(|c, now| c.handle_tab_closed(*t, now)),
        Ev::Online(on) => sim.input(|c, now| c.handle_online(*on, now)),
        Ev::IdleActive => sim.input(|c, now| c.handle_idle_active(now)),
        Ev::Hello => sim.command(Command::Hello),
        Ev::RetryNow => sim.command(Command::RetryNow),
        Ev::WorkerStarted => sim.input(|c, now| c.handle_worker_started(now)),
        Ev::Alarm(ms) => sim.sleep_then_alarm(Duration::from_millis(*ms)),
        Ev::RefreshOk => {
            sim.refresh_ok(Duration::from_secs(300));
        }
        Ev::RefreshFail => {
            if let Some(r) = sim.requests("/api/token/refresh/").pop() {
                sim.fail(r.id, "Failed to fetch");
            }
        }
        Ev::RefreshReject => {
            if let Some(r) = sim.requests("/api/token/refresh/").pop() {
                sim.respond(
                    r.id,
                    401,
                    r#"{"detail": "expired", "code": "token_not_valid"}"#,
                );
            }
        }
        Ev::AnswerReads => sim.answer_reads(),
        Ev::FailReads => {
            let ids: Vec<u64> = sim
                .outstanding
                .values()
                .filter(|r| matches!(r.purpose, RequestPurpose::Query(_)))
                .map(|r| r.id)
                .collect();
            for id in ids {
                sim.respond(id, 502, "Bad Gateway");
            }
        }
        Ev::SignOut => sim.command(Command::SignOut),
        Ev::SignIn => {
            sim.command(Command::SignIn {
                server: "http://127.0.0.1:8000".into(),
                username: "ann".into(),
                password: Secret("pw".into()),
            });
            if let Some(r) = sim
                .requests("/api/token/")
                .into_iter()
                .find(|r| r.path == "/api/token/")
            {
                let body = token_pair_json(
                    sim.now,
                    Duration::from_secs(300),
                    Duration::from_secs(86_400),
                );
                sim.respond(r.id, 200, &body);
            }
        }
        Ev::ViewQuiz(q) => sim.command(Command::ViewQuiz {
            quiz_id: format!("q{q}").into(),
        }),
    }
    forget_abandoned(sim);
}

fn check_invariants(sim: &Sim) -> Result<(), TestCaseError> {
    // One socket at most, and it is the one the client wants.
    prop_assert!(sim.max_open_sockets <= 1, "two sockets held at once");
    if let Some(s) = sim.open_sockets.iter().next() {
        prop_assert_eq!(Some(*s), sim.socket(), "a socket held that is not wanted");
    }
    // Connected: the socket's subscriptions are exactly the wanted set.
    // (Less what the server refused: that is not sent again.)
    if sim.client.state().is_connected() {
        let mut wanted = sim.client.subscriptions().wanted();
        wanted.retain(|q| !sim.client.refused_subscriptions().contains(q));
        prop_assert_eq!(sim.client.subscribed_on_socket(), &wanted);
    }
    // One fetch in flight per key.
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for r in sim.outstanding.values() {
        if let RequestPurpose::Query(k) = &r.purpose {
            *per_key.entry(format!("{k:?}")).or_default() += 1;
        }
    }
    prop_assert!(per_key.values().all(|n| *n <= 1), "{per_key:?}");
    // Backoff delays within bounds, as scheduled (the log records each one).
    let b = Backoff::default();
    for entry in sim.client.event_log().entries() {
        if let Some(ConnEvent::RetryScheduled { in_secs, attempt }) = entry.event {
            let wait = Duration::from_secs(in_secs);
            match attempt {
                Some(a) => {
                    prop_assert!((1..=b.quick_attempts).contains(&a));
                    prop_assert!(
                        wait <= b.quick_ceiling(a).max(Duration::from_secs(5)),
                        "{wait:?}"
                    );
                }
                None => prop_assert!(wait >= b.slow_min && wait <= b.slow_max, "{wait:?}"),
            }
        }
    }
    match sim.client.state() {
        ConnState::Retrying { attempt, of, .. } => prop_assert!((1..=of).contains(&attempt)),
        ConnState::Suspended { next_at } => {
            prop_assert_eq!(sim.alarm, Some(next_at), "slow retry without an alarm");
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_arbitrary_event_sequences(
        follows in prop::collection::vec(0u8..6, 0..4),
        events in prop::collection::vec(ev(), 1..80),
    ) {
        let names: Vec<String> = follows.iter().map(|q| format!("q{q}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut sim = Sim::new(ClientConfig { seed: events.len() as u64, ..ClientConfig::default() });
        sim.start(signed_in_storage(T0, &refs));
        for e in &events {
            let opened_before = sim.client.state().is_connected();
            sim.take();
            apply(&mut sim, e);
            check_invariants(&sim)?;
            // Every wanted quiz is subscribed by the open itself.
            if !opened_before && sim.client.state().is_connected() {
                let sent = sim.sent();
                for q in sim.client.subscriptions().wanted() {
                    let text = format!(r#"{{"type": "subscribe_quiz", "quiz_id": "{q}"}}"#);
                    prop_assert!(sent.contains(&text), "{} not subscribed after open", q);
                }
            }
        }
    }

    #[test]
    fn every_followed_quiz_is_subscribed_after_every_open(
        changes in prop::collection::vec((any::<bool>(), 0u8..8), 0..30),
        tabs in prop::collection::vec((0i64..3, prop::option::of(0u8..8)), 0..10),
    ) {
        let mut sim = Sim::new(ClientConfig::default());
        sim.start(signed_in_storage(T0, &["q0"]));
        for (i, (follow, q)) in changes.iter().enumerate() {
            let quiz_id = format!("q{q}").into();
            sim.command(if *follow { Command::Follow { quiz_id } } else { Command::Unfollow { quiz_id } });
            if i % 7 == 3 {
                // Drop the connection now and then; changes fold while it is down.
                sim.open();
                sim.server_closes(1006, true);
                sim.command(Command::RetryNow);
                // The floor between attempts holds the retry for a second.
                sim.advance(Duration::from_secs(1));
            }
        }
        for (tab, q) in &tabs {
            let quiz = q.map(|q| format!("q{q}").into());
            sim.input(|c, now| c.handle_tab_quiz(*tab, quiz, now));
        }
        sim.take();
        sim.open();
        let wanted = sim.client.subscriptions().wanted();
        let sent = sim.sent();
        prop_assert_eq!(sent.len(), wanted.len(), "one subscribe per wanted quiz");
        for q in wanted {
            let text = format!(r#"{{"type": "subscribe_quiz", "quiz_id": "{q}"}}"#);
            prop_assert!(sent.contains(&text));
        }
    }

    #[test]
    fn burst_of_invalidations_never_puts_two_fetches_of_a_key_in_flight(
        burst in prop::collection::vec((0usize..3, 0u64..700, any::<bool>()), 1..200),
    ) {
        let mut sim = Sim::new(ClientConfig::default());
        sim.start(signed_in_storage(T0, &["q0"]));
        sim.open();
        sim.command(Command::ViewQuiz { quiz_id: "q0".into() });
        for (kind, gap, answer) in burst {
            let text = message(kind, 0, &sim);
            sim.server_says(&text);
            sim.advance(Duration::from_millis(gap));
            if answer {
                sim.answer_reads();
            }
            let fetches_in_flight = sim.outstanding.len();
            prop_assert!(fetches_in_flight <= 5, "{fetches_in_flight} requests for 5 keys");
            let mut seen = std::collections::BTreeSet::new();
            for r in sim.outstanding.values() {
                prop_assert!(seen.insert(r.path.clone()), "two fetches of {}", r.path);
            }
        }
        let fetches = sim.count(|a| matches!(a, Action::Fetch(_)));
        prop_assert!(fetches < 5 * 200, "far fewer fetches than messages");
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = ServerFrame::decode(&text);
        let mut sim = Sim::new(ClientConfig::default());
        sim.start(signed_in_storage(T0, &["q1"]));
        sim.open();
        sim.server_says(&text);
        prop_assert!(sim.client.state().is_connected(), "a bad frame never drops the connection");
    }

    #[test]
    fn decoding_arbitrary_json_shaped_frames_never_panics(
        kind in prop::sample::select(vec![
            "quiz_session_uploaded", "leaderboard_updated", "quiz_leaderboard_updated",
            "subscription_confirmed", "pong", "error", "other",
        ]),
        data in prop::sample::select(vec![
            "{}", "null", "[]", "1", "\"x\"", r#"{"quiz_id": 5}"#, r#"{"quiz_id": null}"#,
            r#"{"subject_id": "s", "entries": [{"rank": -1}]}"#,
            r#"{"entries": "nope", "quiz_id": "q"}"#,
            r#"{"session_id": 1, "quiz_id": 2, "subject_id": 3, "user_id": 4, "username": "u", "score": 1e308, "completed_at": "garbage"}"#,
        ]),
        extra in prop::sample::select(vec![
            "", r#", "seq": -1"#, r#", "seq": 18446744073709551615"#, r#", "sent_at": 5"#,
            r#", "sent_at": "2026-13-99T00:00:00Z""#, r#", "id": "x""#, r#", "quiz_id": [1]"#,
        ]),
    ) {
        let text = format!(r#"{{"type": "{kind}", "data": {data}{extra}}}"#);
        let _ = ServerFrame::decode(&text);
        let mut sim = Sim::new(ClientConfig::default());
        sim.start(signed_in_storage(T0, &["q"]));
        sim.open();
        sim.server_says(&text);
        sim.advance(Duration::from_secs(30));
        prop_assert!(sim.client.state().is_connected());
    }
}

/// What a server (and the browser's clock) may do to the client, for the floors test.
#[derive(Debug, Clone)]
enum Hostile {
    Advance(u64),
    /// The browser's clock jumps (ms, back when negative).
    Jump(i64),
    Open,
    Close(u16, bool),
    /// A frame, then close 4001.
    FrameThen4001,
    /// A refresh answered 200 with an access token living this long (0: already expired).
    RefreshOk(u64),
    RefreshNetwork,
    Refresh429(u64),
    Refresh503,
    RefreshReject,
    Reads(u16),
    Hello,
    RetryNow,
    Online(bool),
    Restart,
    Alarm(u64),
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        10 => (0u64..90_000).prop_map(Hostile::Advance),
        2 => prop::sample::select(vec![-86_400_000i64, -3_600_000, -300_000, -1_000, 1_000, 360_000, 3_600_000, 86_400_000]).prop_map(Hostile::Jump),
        5 => Just(Hostile::Open),
        4 => (prop::sample::select(CODES.to_vec()), any::<bool>()).prop_map(|(c, o)| Hostile::Close(c, o)),
        3 => Just(Hostile::FrameThen4001),
        4 => prop::sample::select(vec![0u64, 1, 10, 60, 300]).prop_map(Hostile::RefreshOk),
        2 => Just(Hostile::RefreshNetwork),
        2 => (0u64..600).prop_map(Hostile::Refresh429),
        1 => Just(Hostile::Refresh503),
        1 => Just(Hostile::RefreshReject),
        4 => prop::sample::select(vec![200u16, 401, 429, 500]).prop_map(Hostile::Reads),
        1 => Just(Hostile::Hello),
        1 => Just(Hostile::RetryNow),
        1 => any::<bool>().prop_map(Hostile::Online),
        1 => Just(Hostile::Restart),
        1 => (0u64..600_000).prop_map(Hostile::Alarm),
    ]
}

fn answer_refresh(sim: &mut Sim, status: u16, body: &str, retry_after: Option<u64>) {
    if let Some(r) = sim.requests("/api/token/refresh/").pop() {
        let mut headers = sim.date_header();
        headers.retry_after = retry_after.map(|s| s.to_string());
        sim.respond_with(r.id, status, body, headers);
    }
}

fn apply_hostile(sim: &mut Sim, e: &Hostile, restarts: &mut Vec<usize>) {
    match e {
        Hostile::Advance(ms) => sim.advance(Duration::from_millis(*ms)),
        Hostile::Jump(ms) => sim.jump_clock(*ms),
        Hostile::Open => open_if_a_socket_waits(sim),
        Hostile::Close(code, was_open) => close_if_a_socket_is_there(sim, *code, *was_open),
        Hostile::FrameThen4001 => {
            if sim.client.state().is_connected() {
                sim.server_says(r#"{"type": "pong", "id": 1}"#);
                sim.server_closes(4001, true);
            }
        }
        Hostile::RefreshOk(life) => {
            let now = sim.server_now;
            let exp = if *life == 0 {
                now - Duration::from_secs(30)
            } else {
                now + Duration::from_secs(*life)
            };
            let body = format!(
                r#"{{"access": "{}"}}"#,
                quizpulse::sim::token("access", "7", now, exp)
            );
            answer_refresh(sim, 200, &body, None);
        }
        Hostile::RefreshNetwork => {
            if let Some(r) = sim.requests("/api/token/refresh/").pop() {
                sim.fail(r.id, "Failed to fetch");
            }
        }
        Hostile::Refresh429(secs) => answer_refresh(sim, 429, "{}", Some(*secs)),
        Hostile::Refresh503 => answer_refresh(sim, 503, "down", None),
        Hostile::RefreshReject => answer_refresh(sim, 401, r#"{"code": "token_not_valid"}"#, None),
        Hostile::Reads(status) => {
            let ids: Vec<u64> = sim
                .outstanding
                .values()
                .filter(|r| matches!(r.purpose, RequestPurpose::Query(_)))
                .map(|r| r.id)
                .collect();
            for id in ids {
                if *status == 200 {
                    sim.answer_reads();
                } else {
                    let mut headers = sim.date_header();
                    headers.retry_after = (*status == 429).then(|| "30".to_owned());
                    sim.respond_with(id, *status, "{}", headers);
                }
            }
        }
        Hostile::Hello => sim.command(Command::Hello),
        Hostile::RetryNow => sim.command(Command::RetryNow),
        Hostile::Online(on) => sim.input(|c, now| c.handle_online(*on, now)),
        Hostile::Restart => {
            restarts.push(sim.history.len());
            sim.restart_worker(ClientConfig::default());
        }
        Hostile::Alarm(ms) => sim.sleep_then_alarm(Duration::from_millis(*ms)),
    }
    forget_abandoned(sim);
}

/// The client-clock times of the actions `pred` matches, per worker life.
fn times_per_life(
    sim: &Sim,
    restarts: &[usize],
    pred: impl Fn(&Action) -> bool,
) -> Vec<Vec<quizpulse::Timestamp>> {
    let mut lives = vec![Vec::new()];
    for (i, (a, (_, client))) in sim.history.iter().zip(&sim.history_at).enumerate() {
        if restarts.contains(&i) {
            lives.push(Vec::new());
        }
        if pred(a)
            && let Some(life) = lives.last_mut()
        {
            life.push(*client);
        }
    }
    lives
}

fn floor_holds(lives: &[Vec<quizpulse::Timestamp>], floor: Duration) -> Result<(), TestCaseError> {
    for life in lives {
        for w in life.windows(2) {
            prop_assert!(
                w[1].saturating_since(w[0]) >= floor,
                "two within {:?}: {:?}",
                floor,
                w
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// No sequence of server answers and clock jumps makes the client loop: a floor
    /// between any two refreshes, any two socket attempts and any two log writes (on
    /// the client's own clock, within a worker's life), and a bound on them in true time.
    #[test]
    fn no_server_answer_or_clock_jump_breaks_the_floors(
        events in prop::collection::vec(hostile(), 1..120),
    ) {
        let mut sim = Sim::new(ClientConfig { seed: events.len() as u64, ..ClientConfig::default() });
        sim.start(signed_in_storage(T0, &["q1"]));
        let mut restarts = Vec::new();
        for e in &events {
            apply_hostile(&mut sim, e, &mut restarts);
        }
        let refresh = |a: &Action| matches!(a, Action::Fetch(r) if r.purpose == RequestPurpose::Refresh);
        let attempt = |a: &Action| matches!(a, Action::OpenSocket { .. });
        let log_write = |a: &Action| matches!(a, Action::Persist { key: quizpulse::client::PersistKey::EventLog, .. });
        floor_holds(&times_per_life(&sim, &restarts, refresh), quizpulse::client::REFRESH_BACKOFF_BASE)?;
        floor_holds(&times_per_life(&sim, &restarts, attempt), Duration::from_secs(1))?;
        floor_holds(&times_per_life(&sim, &restarts, log_write), Duration::from_secs(1))?;
        // In true time: no more than one of each per second, plus one per worker life
        // and per jump of the clock.
        let elapsed = sim.server_now.saturating_since(T0).as_secs() as usize;
        let jumps = events.iter().filter(|e| matches!(e, Hostile::Jump(_))).count();
        let allowance = elapsed + 2 * (restarts.len() + jumps + 1);
        prop_assert!(sim.count(refresh) <= allowance, "{} refreshes in {} s", sim.count(refresh), elapsed);
        prop_assert!(sim.count(attempt) <= allowance, "{} attempts in {} s", sim.count(attempt), elapsed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The wasm's JSON writer escapes every string and prints every number as serde
    /// does (`serde_json` for the popup and storage, Python's `json.dumps` for the
    /// socket).
    #[test]
    fn the_json_writer_writes_any_string_and_number_as_serde_does(
        text in any::<String>(),
        bits in any::<u64>(),
        id in any::<u64>(),
    ) {
        use quizpulse::json::ToJson;
        use quizpulse::wire::{ClientMessage, to_python_json};

        prop_assert_eq!(text.to_json_text(), serde_json::to_string(&text).unwrap());
        let x = f64::from_bits(bits);
        prop_assert_eq!(x.to_json_text(), serde_json::to_string(&x).unwrap());
        prop_assert_eq!(id.to_json_text(), serde_json::to_string(&id).unwrap());
        let message = ClientMessage::SubscribeQuiz { quiz_id: text.as_str().into() };
        prop_assert_eq!(message.encode(), to_python_json(&message));
    }
}

/// Arbitrary JSON values as text (serde_json's writing of them).
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect())),
        ]
    })
    .prop_map(|value| value.to_string())
}

/// The wasm's JSON reader and serde_json agree: the same tree, or the same error.
fn read_alike(text: &str) -> Result<(), TestCaseError> {
    let ours = quizpulse::json::Json::parse(text)
        .map(|json| format!("{json:?}"))
        .map_err(|e| e.to_string());
    let theirs = serde_json::from_str::<quizpulse::json::Json>(text)
        .map(|json| format!("{json:?}"))
        .map_err(|e| e.to_string());
    prop_assert_eq!(ours, theirs, "on {:?}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Valid JSON, cut short or with a byte of JSON syntax put in anywhere, reads the
    /// same (or fails with the same message, line and column) through both readers.
    #[test]
    fn the_json_reader_reads_and_fails_as_serde_json_does(
        text in json_text(),
        cut in any::<prop::sample::Index>(),
        insert in prop::sample::select(vec![
            "", "[", "]", "{", "}", ",", ":", "\"", "\\", "-", "+", ".", "e", "0", "9", " ",
            "\n", "\u{1}", "\\u", "\\ud83d", "1e400", "n", "t", "x", "\u{e9}",
        ]),
    ) {
        read_alike(&text)?;
        let boundaries: Vec<usize> =
            (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
        let at = boundaries[cut.index(boundaries.len())];
        read_alike(&text[..at])?;
        read_alike(&format!("{}{insert}{}", &text[..at], &text[at..]))?;
    }

    /// Any short text over JSON's own characters reads the same through both readers.
    #[test]
    fn the_json_reader_reads_json_like_noise_as_serde_json_does(
        text in "[\\[\\]{}\",:.+eE0-9 \\n\\t\\\\/ubfnrtalsx\u{e9}\u{1}-]{0,24}",
    ) {
        read_alike(&text)?;
    }
}
