//! Every decision of the client, on simulated time. Each test is named for the rule it
//! checks, so a reader can find "reconnect after 4001 refreshes once" by name.

use std::time::Duration;

use quizpulse::badge;
use quizpulse::client::{
    Action, ClientConfig, Method, PUBLISH_POPUP_EVERY, PersistKey, RequestPurpose, SNAPSHOT_KEY,
};
use quizpulse::conn::ConnState;
use quizpulse::messages::{
    Command, Page, Secret, SignInStatus, Snapshot, StepStatus, SubscriptionStatus, TestCheck,
};
use quizpulse::settings::{QuietHours, Settings};
use quizpulse::sim::{Sim, T0, signed_in_storage, token, token_pair_json};
use quizpulse::{StoredState, Text, Timestamp};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Whether the snapshot's connection log has an entry saying `key`.
fn logged(snap: &Snapshot, key: &str) -> bool {
    snap.events.iter().any(|e| e.text.key == key)
}

/// A signed-in client following `follows`, connected, initial reads answered.
fn connected(follows: &[&str]) -> Sim {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, follows));
    sim.open();
    sim.answer_reads();
    for q in follows {
        sim.server_says(&format!(
            r#"{{"type": "subscription_confirmed", "quiz_id": "{q}", "message": "ok"}}"#
        ));
    }
    sim.take();
    sim
}

fn opens(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::OpenSocket { .. }))
        .count()
}

fn session_json(quiz: &str, user: &str, completed_at: Timestamp) -> String {
    format!(
        r#"{{"type": "quiz_session_uploaded", "data": {{"session_id": "s-{user}", "quiz_id": "{quiz}", "subject_id": "s1", "user_id": "{user}", "username": "{user}", "score": 87, "completed_at": "{completed_at}"}}}}"#
    )
}

fn quizzes_json(ids: &[&str]) -> String {
    let items: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id": "{id}", "title": "Quiz {id}", "subject_id": "s1", "sessions_count": 1}}"#
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------- start and sign-in

#[test]
fn start_without_tokens_is_signed_out_and_opens_nothing() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    assert_eq!(opens(&sim.take()), 0);
    assert!(sim.outstanding.is_empty());
    assert_eq!(sim.badge.as_ref().map(|b| b.text.as_str()), Some("?"));
}

#[test]
fn start_with_tokens_connects_at_once_then_fetches_what_the_popup_shows() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    let actions = sim.take();
    let url = actions.iter().find_map(|a| match a {
        Action::OpenSocket { url, .. } => Some(url.clone()),
        _ => None,
    });
    let url = url.expect("a socket at once");
    assert!(url.starts_with("ws://127.0.0.1:8000/ws/leaderboard/?token=ey"));
    assert_eq!(sim.client.state(), ConnState::Connecting);
    assert!(sim.outstanding.is_empty(), "reads wait for the open");
    sim.open();
    let mut paths: Vec<String> = sim.outstanding.values().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/leaderboard/subjects/?limit=10",
            "/api/quizzes/",
            "/api/subjects/",
            "/api/users/me/performance/"
        ]
    );
    assert!(
        sim.outstanding
            .values()
            .all(|r| r.bearer.is_some() && r.method == Method::Get)
    );
}

#[test]
fn sign_in_posts_the_token_request_then_connects() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "http://localhost:8000/".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    let req = sim.requests("/api/token/").pop().expect("token request");
    assert_eq!(req.url, "http://localhost:8000/api/token/");
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.purpose, RequestPurpose::SignIn);
    assert_eq!(
        req.body.as_deref(),
        Some(r#"{"username":"ann","password":"pw"}"#)
    );
    assert!(req.bearer.is_none());
    assert_eq!(sim.shown().sign_in, SignInStatus::InProgress);
    let body = token_pair_json(sim.now, secs(300), secs(86_400));
    sim.respond(req.id, 200, &body);
    assert_eq!(sim.client.state(), ConnState::Connecting);
    assert!(sim.storage[&PersistKey::Auth].contains("\"tokens\""));
    assert!(sim.storage[&PersistKey::Settings].contains("http://localhost:8000"));
    let open = sim.take().into_iter().find_map(|a| match a {
        Action::OpenSocket { url, .. } => Some(url),
        _ => None,
    });
    assert!(open.is_some_and(|u| u.starts_with("ws://localhost:8000/ws/leaderboard/?token=")));
}

#[test]
fn sign_in_with_wrong_password_says_so_and_stays_signed_out() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "http://127.0.0.1:8000".into(),
        username: "ann".into(),
        password: Secret("nope".into()),
    });
    let id = sim.requests("/api/token/")[0].id;
    sim.respond(
        id,
        401,
        r#"{"detail": "No active account found with the given credentials"}"#,
    );
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    assert_eq!(
        sim.shown().sign_in,
        SignInStatus::Failed(
            Text::new("signin_wrong_detail")
                .plain("No active account found with the given credentials")
        )
    );
}

#[test]
fn sign_in_to_an_invalid_server_url_fails_before_any_request() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "ftp://example.com".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    assert!(sim.outstanding.is_empty());
    let status = sim.shown().sign_in;
    assert_eq!(
        status,
        SignInStatus::Failed(
            Text::new("settings_server_url").text(
                Text::new("url_scheme_not")
                    .plain("http://")
                    .plain("https://")
                    .plain("ftp://")
            )
        )
    );
}

#[test]
fn sign_in_network_error_names_the_server_and_host_access() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "https://quiz.example.com".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    let id = sim.requests("/api/token/")[0].id;
    sim.fail(id, "Failed to fetch");
    let SignInStatus::Failed(m) = sim.shown().sign_in else {
        panic!("failed expected")
    };
    assert_eq!(
        m,
        Text::new("signin_unreachable")
            .plain("https://quiz.example.com")
            .plain("Failed to fetch")
    );
}

// ---------------------------------------------------------------- subscriptions on open

#[test]
fn after_open_every_wanted_quiz_is_subscribed_once() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &["q1", "q2"]));
    sim.input(|c, now| c.handle_tab_quiz(5, Some("q2".into()), now));
    sim.input(|c, now| c.handle_tab_quiz(6, Some("q3".into()), now));
    sim.take();
    sim.open();
    let sent = sim.sent();
    assert_eq!(
        sent,
        [
            r#"{"type": "subscribe_quiz", "quiz_id": "q1"}"#,
            r#"{"type": "subscribe_quiz", "quiz_id": "q2"}"#,
            r#"{"type": "subscribe_quiz", "quiz_id": "q3"}"#,
        ]
    );
}

#[test]
fn subscription_unconfirmed_is_resent_once_then_surfaced() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &["q1"]));
    sim.open();
    sim.answer_reads();
    sim.take();
    sim.advance(secs(10));
    assert_eq!(
        sim.sent(),
        [r#"{"type": "subscribe_quiz", "quiz_id": "q1"}"#],
        "resent after 10 s"
    );
    sim.take();
    sim.advance(secs(10));
    assert!(
        !sim.sent().iter().any(|t| t.contains("subscribe_quiz")),
        "not sent a third time"
    );
    let snap = sim.snapshot.clone().unwrap();
    assert!(logged(&snap, "log_subscription_unconfirmed"));
    assert!(
        snap.toasts
            .iter()
            .any(|t| t.text == Text::new("toast_unconfirmed").plain("Quiz q1"))
    );
}

#[test]
fn quiz_rows_show_follow_flags_links_and_confirmed_subscriptions() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &["1"]));
    sim.open();
    sim.respond_all("/api/quizzes/", 200, &quizzes_json(&["1", "2"]));
    sim.answer_reads();
    let row = |sim: &mut Sim, id: &str| {
        sim.shown()
            .quizzes
            .iter()
            .find(|r| r.quiz.id.as_str() == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&mut sim, "1").subscription, SubscriptionStatus::Pending);
    sim.server_says(
        r#"{"type": "subscription_confirmed", "quiz_id": "1", "message": "Subscribed to quiz 1"}"#,
    );
    let one = row(&mut sim, "1");
    assert!(one.followed && !one.open_in_tab);
    assert_eq!(one.subscription, SubscriptionStatus::Confirmed);
    assert_eq!(one.url, "http://127.0.0.1:8000/quizzes/1");
    let two = row(&mut sim, "2");
    assert!(!two.followed);
    assert_eq!(two.subscription, SubscriptionStatus::None);
}

#[test]
fn follow_and_open_tab_send_one_subscribe_and_one_unsubscribe() {
    let mut sim = connected(&[]);
    sim.command(Command::Follow {
        quiz_id: "q1".into(),
    });
    sim.input(|c, now| c.handle_tab_quiz(3, Some("q1".into()), now));
    sim.input(|c, now| c.handle_tab_quiz(4, Some("q1".into()), now));
    assert_eq!(
        sim.sent(),
        [r#"{"type": "subscribe_quiz", "quiz_id": "q1"}"#]
    );
    sim.take();
    sim.command(Command::Unfollow {
        quiz_id: "q1".into(),
    });
    sim.input(|c, now| c.handle_tab_closed(3, now));
    assert!(sim.sent().is_empty());
    sim.input(|c, now| c.handle_tab_quiz(4, None, now));
    assert_eq!(
        sim.sent(),
        [r#"{"type": "unsubscribe_quiz", "quiz_id": "q1"}"#]
    );
}

#[test]
fn follow_toggles_are_persisted_and_survive_a_worker_restart() {
    let mut sim = connected(&[]);
    sim.command(Command::Follow {
        quiz_id: "q9".into(),
    });
    assert!(sim.storage[&PersistKey::Follows].contains("q9"));
    sim.restart_worker(ClientConfig::default());
    sim.take();
    sim.open();
    assert!(
        sim.sent()
            .contains(&r#"{"type": "subscribe_quiz", "quiz_id": "q9"}"#.to_owned())
    );
}

#[test]
fn changes_while_disconnected_are_folded_and_the_open_sends_the_wanted_set() {
    let mut sim = connected(&["q1"]);
    sim.advance(secs(30));
    sim.server_closes(1006, true);
    sim.take();
    sim.command(Command::Follow {
        quiz_id: "q2".into(),
    });
    sim.command(Command::Unfollow {
        quiz_id: "q2".into(),
    });
    sim.command(Command::Follow {
        quiz_id: "q3".into(),
    });
    sim.command(Command::Unfollow {
        quiz_id: "q1".into(),
    });
    assert!(sim.sent().is_empty(), "nothing is sent while disconnected");
    sim.command(Command::RetryNow);
    sim.take();
    sim.open();
    assert_eq!(
        sim.sent(),
        [r#"{"type": "subscribe_quiz", "quiz_id": "q3"}"#]
    );
}

#[test]
fn follow_new_quizzes_by_default_follows_quizzes_after_the_first_list() {
    let mut sim = Sim::new(ClientConfig::default());
    let stored = StoredState::default()
        .with(
            PersistKey::Auth,
            format!(
                r#"{{"tokens": {}}}"#,
                token_pair_json(T0, secs(300), secs(86_400))
            ),
        )
        .with(PersistKey::Settings, r#"{"follow_new_quizzes": true}"#);
    sim.start(stored);
    sim.open();
    sim.respond_all("/api/quizzes/", 200, &quizzes_json(&["1", "2"]));
    sim.answer_reads();
    sim.take();
    assert!(
        sim.sent().is_empty(),
        "the first list is a baseline, not news"
    );
    sim.server_says(&session_json("3", "bob", sim.now));
    assert!(
        sim.sent()
            .contains(&r#"{"type": "subscribe_quiz", "quiz_id": "3"}"#.to_owned())
    );
}

// ---------------------------------------------------------------- backoff

#[test]
fn five_quick_retries_with_backoff_then_slow_retry_via_alarm() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    // First attempt fails before open; the refresh-once for "maybe auth" is answered.
    sim.advance(secs(1));
    sim.server_closes(1006, false);
    assert!(sim.refresh_ok(secs(300)));
    for attempt in 1..=5u32 {
        sim.server_closes(1006, false);
        let ConnState::Retrying {
            attempt: a,
            of,
            next_at,
        } = sim.client.state()
        else {
            panic!("retrying expected, got {:?}", sim.client.state());
        };
        assert_eq!((a, of), (attempt, 5));
        let ceiling = Duration::from_secs(1 << (attempt - 1));
        assert!(next_at.saturating_since(sim.now) <= ceiling);
        assert_eq!(sim.alarm, None, "quick retries need no alarm");
        sim.advance(next_at.saturating_since(sim.now));
        assert_eq!(sim.client.state(), ConnState::Connecting);
    }
    sim.server_closes(1006, false);
    let ConnState::Suspended { next_at } = sim.client.state() else {
        panic!("suspended expected, got {:?}", sim.client.state());
    };
    let wait = next_at.saturating_since(sim.now);
    assert!(wait >= secs(30) && wait <= secs(300));
    assert_eq!(sim.alarm, Some(next_at), "the slow retry is an alarm");
    sim.sleep_then_alarm(wait);
    assert_eq!(sim.client.state(), ConnState::Connecting);
}

#[test]
fn slow_retry_delays_grow_but_stay_between_30_seconds_and_5_minutes() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    for _ in 0..20 {
        sim.server_closes(1000, false);
        match sim.client.state() {
            ConnState::Retrying { next_at, .. } => sim.advance(next_at.saturating_since(sim.now)),
            ConnState::Suspended { next_at } => {
                let wait = next_at.saturating_since(sim.now);
                assert!(wait >= secs(30) && wait <= secs(300), "{wait:?}");
                sim.sleep_then_alarm(wait);
            }
            other => panic!("unexpected {other:?}"),
        }
        // The access token lives 5 min; keep it fresh so attempts open sockets.
        sim.refresh_ok(secs(3600));
    }
}

#[test]
fn retry_counter_resets_only_after_a_stable_connection() {
    let mut sim = connected(&[]);
    sim.server_closes(1000, true);
    assert!(matches!(
        sim.client.state(),
        ConnState::Retrying { attempt: 1, .. }
    ));
    sim.advance(secs(1));
    sim.open();
    sim.advance(secs(2));
    sim.server_closes(1000, true);
    assert!(
        matches!(sim.client.state(), ConnState::Retrying { attempt: 2, .. }),
        "a connection that dies within 10 s does not reset the count"
    );
    sim.advance(secs(2));
    sim.open();
    sim.advance(secs(11));
    sim.server_closes(1000, true);
    assert!(matches!(
        sim.client.state(),
        ConnState::Retrying { attempt: 1, .. }
    ));
}

#[test]
fn popup_open_retries_at_once_while_backing_off() {
    let mut sim = connected(&[]);
    for _ in 0..4 {
        sim.server_closes(1000, true);
        if let ConnState::Retrying { next_at, .. } = sim.client.state() {
            sim.advance(next_at.saturating_since(sim.now));
        }
    }
    sim.server_closes(1000, true);
    // Never two attempts within a second, whatever asks.
    sim.advance(secs(1));
    assert!(matches!(sim.client.state(), ConnState::Retrying { .. }));
    sim.take();
    sim.command(Command::Hello);
    assert_eq!(opens(&sim.take()), 1);
    assert_eq!(sim.client.state(), ConnState::Connecting);
}

#[test]
fn browser_online_idle_active_worker_start_and_retry_now_reconnect_at_once() {
    type Trigger = fn(&mut Sim);
    let triggers: [(&str, Trigger); 4] = [
        ("idle active", |s| {
            s.input(|c, now| c.handle_idle_active(now))
        }),
        ("worker started", |s| {
            s.input(|c, now| c.handle_worker_started(now))
        }),
        ("retry now", |s| s.command(Command::RetryNow)),
        ("online", |s| {
            s.input(|c, now| c.handle_online(false, now));
            s.input(|c, now| c.handle_online(true, now));
        }),
    ];
    for (name, trigger) in triggers {
        let mut sim = connected(&[]);
        sim.advance(secs(30));
        sim.server_closes(1000, true);
        sim.take();
        trigger(&mut sim);
        assert_eq!(opens(&sim.take()), 1, "{name}");
    }
}

#[test]
fn offline_waits_without_retrying_and_online_reconnects_at_once() {
    let mut sim = connected(&[]);
    sim.input(|c, now| c.handle_online(false, now));
    assert!(
        sim.client.state().is_connected(),
        "an open socket is kept while offline"
    );
    sim.server_closes(1006, true);
    assert_eq!(sim.client.state(), ConnState::Offline);
    sim.take();
    sim.advance(secs(600));
    assert_eq!(opens(&sim.take()), 0);
    assert_eq!(sim.badge.as_ref().unwrap().text, "off");
    sim.input(|c, now| c.handle_online(true, now));
    // The access token ran out while offline: refreshed first, then the socket.
    sim.refresh_ok(secs(300));
    assert_eq!(opens(&sim.take()), 1);
}

#[test]
fn connect_timeout_gives_up_on_a_hanging_socket_and_backs_off() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    let first = sim.socket();
    sim.take();
    sim.advance(secs(15));
    let actions = sim.take();
    assert!(actions.iter().any(
        |a| matches!(a, Action::CloseSocket { socket, code: 4000, .. } if Some(*socket) == first)
    ));
    assert!(matches!(
        sim.client.state(),
        ConnState::Retrying { attempt: 1, .. }
    ));
}

#[test]
fn late_events_of_a_replaced_socket_are_ignored() {
    let mut sim = connected(&[]);
    sim.advance(secs(1));
    let old = sim.socket().unwrap();
    sim.server_closes(1000, true);
    sim.command(Command::RetryNow);
    let new = sim.socket().unwrap();
    assert_ne!(old, new);
    sim.input(|c, now| c.handle_socket_closed(old, 1006, "", true, now));
    sim.input(|c, now| c.handle_socket_opened(old, now));
    assert_eq!(sim.client.state(), ConnState::Connecting);
    assert_eq!(sim.socket(), Some(new));
}

// ---------------------------------------------------------------- close codes

#[test]
fn reconnect_after_4001_refreshes_once_and_retries_at_once() {
    let mut sim = connected(&[]);
    sim.advance(secs(1));
    sim.server_closes(4001, true);
    assert_eq!(sim.requests("/api/token/refresh/").len(), 1);
    assert_eq!(sim.client.state(), ConnState::Connecting);
    sim.take();
    assert!(sim.refresh_ok(secs(300)));
    let actions = sim.take();
    assert_eq!(opens(&actions), 1, "retry at once with the new token");
}

#[test]
fn second_4001_right_after_a_refresh_is_auth_failed() {
    let mut sim = connected(&[]);
    sim.advance(secs(1));
    sim.server_closes(4001, true);
    sim.refresh_ok(secs(300));
    sim.open();
    sim.server_closes(4001, true);
    assert!(matches!(sim.client.state(), ConnState::AuthFailed { .. }));
    assert!(
        sim.requests("/api/token/refresh/").is_empty(),
        "no sign-in loop"
    );
    sim.take();
    sim.advance(secs(3600));
    assert_eq!(opens(&sim.take()), 0);
    assert_eq!(sim.badge.as_ref().unwrap().color, badge::COLOR_AUTH);
}

#[test]
fn close_4003_stops_until_signed_in_again_even_after_restart() {
    let mut sim = connected(&[]);
    sim.server_closes(4003, true);
    assert!(
        matches!(sim.client.state(), ConnState::AuthFailed { reason } if reason == Text::new("auth_refused_4003"))
    );
    sim.take();
    sim.command(Command::RetryNow);
    sim.command(Command::Hello);
    sim.advance(secs(3600));
    assert_eq!(opens(&sim.take()), 0);
    sim.restart_worker(ClientConfig::default());
    assert!(matches!(sim.client.state(), ConnState::AuthFailed { .. }));
    assert_eq!(opens(&sim.take()), 0);
    assert!(!sim.storage[&PersistKey::Auth].contains("\"access\""));
}

#[test]
fn close_1006_before_open_is_maybe_auth_refresh_once_then_backoff() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.advance(secs(1));
    sim.server_closes(1006, false);
    assert_eq!(sim.requests("/api/token/refresh/").len(), 1);
    sim.take();
    sim.refresh_ok(secs(300));
    assert_eq!(opens(&sim.take()), 1);
    sim.server_closes(1006, false);
    assert!(sim.requests("/api/token/refresh/").is_empty());
    assert!(matches!(
        sim.client.state(),
        ConnState::Retrying { attempt: 1, .. }
    ));
}

#[test]
fn close_1006_before_open_with_server_down_backs_off_after_the_failed_refresh() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.server_closes(1006, false);
    let id = sim.requests("/api/token/refresh/")[0].id;
    sim.fail(id, "Failed to fetch");
    assert!(matches!(
        sim.client.state(),
        ConnState::Retrying { attempt: 1, .. }
    ));
}

#[test]
fn close_1000_from_the_server_reconnects_with_backoff() {
    let mut sim = connected(&[]);
    sim.server_closes(1000, true);
    let ConnState::Retrying {
        attempt: 1,
        next_at,
        ..
    } = sim.client.state()
    else {
        panic!()
    };
    assert!(next_at.saturating_since(sim.now) <= secs(1));
    sim.take();
    sim.advance(secs(1));
    assert_eq!(opens(&sim.take()), 1);
}

#[test]
fn close_1012_server_restart_reconnects_soon() {
    for code in [1001, 1012, 1013] {
        let mut sim = connected(&[]);
        sim.server_closes(code, true);
        let ConnState::Retrying { next_at, .. } = sim.client.state() else {
            panic!()
        };
        let wait = next_at.saturating_since(sim.now);
        assert!(wait >= secs(1) && wait <= secs(5), "{code}: {wait:?}");
    }
}

#[test]
fn sign_out_closes_with_1000_and_never_reconnects() {
    let mut sim = connected(&["q1"]);
    let socket = sim.socket().unwrap();
    sim.command(Command::SignOut);
    let actions = sim.take();
    assert!(
        actions.iter().any(
            |a| matches!(a, Action::CloseSocket { socket: s, code: 1000, .. } if *s == socket)
        )
    );
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    sim.input(|c, now| c.handle_socket_closed(socket, 1000, "", true, now));
    sim.advance(secs(3600));
    assert_eq!(opens(&sim.take()), 0);
    assert!(!sim.storage[&PersistKey::Auth].contains("\"access\":"));
    assert!(
        sim.storage[&PersistKey::Follows].contains("q1"),
        "follows are kept"
    );
    assert_eq!(sim.snapshot.as_ref().unwrap().subject_boards.data, None);
}

// ---------------------------------------------------------------- keepalive

#[test]
fn keepalive_ping_every_20_seconds() {
    let mut sim = connected(&[]);
    sim.advance(secs(19));
    assert!(sim.sent().is_empty());
    sim.advance(secs(1));
    assert_eq!(sim.sent(), [r#"{"type": "ping", "id": 1}"#]);
    sim.take();
    sim.advance(secs(20));
    assert_eq!(sim.sent(), [r#"{"type": "ping", "id": 2}"#]);
}

#[test]
fn server_that_never_pongs_is_not_declared_dead() {
    let mut sim = connected(&[]);
    sim.advance(secs(600));
    assert!(sim.client.state().is_connected());
    assert_eq!(sim.count(|a| matches!(a, Action::CloseSocket { .. })), 0);
}

#[test]
fn server_that_answered_pings_and_stops_is_declared_dead_and_reconnected() {
    let mut sim = connected(&[]);
    sim.advance(secs(20));
    sim.server_says(r#"{"type": "pong", "id": 1}"#);
    sim.advance(secs(20));
    sim.server_says(r#"{"type": "pong", "id": 2}"#);
    sim.take();
    sim.advance(secs(20));
    assert!(sim.client.state().is_connected(), "the deadline is 10 s");
    sim.advance(secs(10));
    let actions = sim.take();
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CloseSocket { code: 4000, reason, .. } if reason == "keepalive timeout"))
    );
    assert!(matches!(sim.client.state(), ConnState::Retrying { .. }));
    assert!(logged(
        sim.snapshot.as_ref().unwrap(),
        "log_keepalive_timeout"
    ));
}

#[test]
fn any_server_message_counts_as_a_sign_of_life() {
    let mut sim = connected(&[]);
    sim.advance(secs(20));
    sim.server_says(r#"{"type": "pong", "id": 1}"#);
    sim.advance(secs(25));
    sim.server_says(r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1"}}"#);
    sim.advance(secs(9));
    assert!(sim.client.state().is_connected());
}

// ---------------------------------------------------------------- tokens

#[test]
fn access_token_is_refreshed_ahead_of_exp_without_assuming_five_minutes() {
    // An hour-long access token: refreshed 30 s before it runs out, not at 5 min.
    let mut sim = Sim::new(ClientConfig::default());
    let pair = token_pair_json(T0, secs(3600), secs(86_400));
    sim.start(StoredState::default().with(PersistKey::Auth, format!(r#"{{"tokens": {pair}}}"#)));
    sim.open();
    sim.answer_reads();
    sim.advance(secs(3569));
    assert!(sim.requests("/api/token/refresh/").is_empty());
    sim.advance(secs(1));
    assert_eq!(sim.requests("/api/token/refresh/").len(), 1);

    // A 60 s token: refreshed at three quarters of its life (30 s before would be half).
    let mut sim = Sim::new(ClientConfig::default());
    let pair = token_pair_json(T0, secs(60), secs(86_400));
    sim.start(StoredState::default().with(PersistKey::Auth, format!(r#"{{"tokens": {pair}}}"#)));
    sim.open();
    sim.advance(secs(44));
    assert!(sim.requests("/api/token/refresh/").is_empty());
    sim.advance(secs(1));
    let r = sim.requests("/api/token/refresh/").pop().unwrap();
    assert_eq!(r.method, Method::Post);
    assert!(r.body.unwrap().starts_with(r#"{"refresh":"ey"#));
    assert!(r.bearer.is_none());
}

#[test]
fn refreshed_tokens_are_persisted_and_a_rotated_refresh_token_kept() {
    let mut sim = connected(&[]);
    sim.advance(secs(270));
    let r = sim.requests("/api/token/refresh/").pop().unwrap();
    let access = token("access", "7", sim.now, sim.now + secs(300));
    let refresh = token("refresh", "7", sim.now, sim.now + secs(86_400));
    sim.respond(
        r.id,
        200,
        &format!(r#"{{"access": "{access}", "refresh": "{refresh}"}}"#),
    );
    let stored = &sim.storage[&PersistKey::Auth];
    assert!(stored.contains(&access) && stored.contains(&refresh));
    assert!(
        sim.client.state().is_connected(),
        "an open socket is kept across a refresh"
    );
}

#[test]
fn refresh_rejected_means_auth_failed() {
    let mut sim = connected(&[]);
    sim.advance(secs(270));
    let r = sim.requests("/api/token/refresh/").pop().unwrap();
    sim.respond(
        r.id,
        401,
        r#"{"detail": "Token is invalid or expired", "code": "token_not_valid"}"#,
    );
    assert!(matches!(sim.client.state(), ConnState::AuthFailed { .. }));
    assert!(sim.notifications.contains_key("account"));
}

#[test]
fn refresh_network_error_is_retried_not_auth_failed() {
    let mut sim = connected(&[]);
    sim.advance(secs(270));
    let r = sim.requests("/api/token/refresh/").pop().unwrap();
    sim.fail(r.id, "Failed to fetch");
    assert!(sim.client.state().is_connected());
    sim.advance(secs(5));
    assert_eq!(sim.requests("/api/token/refresh/").len(), 1);
}

#[test]
fn expired_access_token_at_start_is_refreshed_before_opening_the_socket() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.now = T0 + secs(600);
    sim.start(signed_in_storage(T0, &[]));
    assert_eq!(opens(&sim.take()), 0);
    assert_eq!(sim.client.state(), ConnState::Connecting);
    assert!(sim.refresh_ok(secs(300)));
    assert_eq!(opens(&sim.take()), 1);
}

#[test]
fn refresh_token_expiry_is_warned_once_even_across_restarts() {
    let mut sim = Sim::new(ClientConfig::default());
    let pair = token_pair_json(T0, secs(3600 * 10), secs(86_400));
    sim.start(StoredState::default().with(PersistKey::Auth, format!(r#"{{"tokens": {pair}}}"#)));
    sim.open();
    sim.answer_reads();
    sim.advance(secs(86_400 - 3601));
    assert!(!sim.notifications.contains_key("account"));
    sim.advance(secs(2));
    let n = sim
        .notifications
        .get("account")
        .cloned()
        .expect("warned an hour before");
    assert_eq!(n.message.key, "notify_expiry");
    sim.notifications.clear();
    sim.restart_worker(ClientConfig::default());
    // The access token ran out meanwhile: refreshed before the socket opens.
    assert!(sim.refresh_ok(secs(3600)));
    sim.open();
    sim.advance(secs(60));
    assert!(
        !sim.notifications.contains_key("account"),
        "warned once, not again after a restart"
    );
}

// ---------------------------------------------------------------- cache and refetch

#[test]
fn after_every_reconnect_every_key_on_screen_is_refetched() {
    let mut sim = connected(&[]);
    sim.command(Command::ViewQuiz {
        quiz_id: "q1".into(),
    });
    sim.answer_reads();
    sim.server_closes(1006, true);
    sim.advance(secs(1));
    sim.open();
    let mut paths: Vec<String> = sim.outstanding.values().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/leaderboard/subjects/?limit=10",
            "/api/quizzes/",
            "/api/quizzes/q1/leaderboard/?limit=10",
            "/api/subjects/",
            "/api/users/me/performance/"
        ]
    );
}

#[test]
fn quiz_session_uploaded_invalidates_quizzes_the_shown_board_and_my_performance() {
    let mut sim = connected(&[]);
    sim.command(Command::ViewQuiz {
        quiz_id: "q1".into(),
    });
    sim.answer_reads();
    sim.advance(secs(2));
    sim.server_says(&session_json("q1", "bob", sim.now));
    sim.advance(Duration::from_millis(300));
    let mut paths: Vec<String> = sim.outstanding.values().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/quizzes/",
            "/api/quizzes/q1/leaderboard/?limit=10",
            "/api/users/me/performance/"
        ]
    );
    let snap = sim.snapshot.clone().unwrap();
    assert!(
        snap.quiz_list.stale && snap.quiz_list.fetching,
        "stale data stays, marked stale"
    );
}

#[test]
fn leaderboard_updated_invalidates_subject_boards_and_my_performance() {
    let mut sim = connected(&[]);
    sim.advance(secs(2));
    sim.server_says(r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1"}}"#);
    sim.advance(Duration::from_millis(300));
    let mut paths: Vec<String> = sim.outstanding.values().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/leaderboard/subjects/?limit=10",
            "/api/users/me/performance/"
        ]
    );
}

#[test]
fn entries_in_leaderboard_updated_are_applied_without_a_fetch() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.open();
    sim.respond_all(
        "/api/leaderboard/subjects/",
        200,
        r#"[{"subject": {"id": "s1", "name": "Maths"}, "entries": [], "updated_at": null}]"#,
    );
    sim.answer_reads();
    sim.advance(secs(2));
    sim.server_says(
        r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1", "entries": [{"rank": 1, "user_id": "9", "username": "bob", "score": 99.5, "sessions": 2}]}}"#,
    );
    sim.advance(secs(1));
    assert!(sim.requests("/api/leaderboard/").is_empty());
    let boards = sim.snapshot.clone().unwrap().subject_boards.data.unwrap();
    assert_eq!(boards[0].entries[0].username, "bob");
    assert_eq!(boards[0].updated_at, Some((T0 + secs(2)).to_rfc3339()));

    // After an upload of that subject, the upload's time, as the server's board has it.
    let completed = sim.now - secs(1);
    sim.server_says(&session_json("q1", "bob", completed));
    sim.server_says(
        r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1", "entries": [{"rank": 1, "user_id": "bob", "username": "bob", "score": 187, "sessions": 3}]}}"#,
    );
    sim.advance(secs(1));
    let boards = sim.snapshot.clone().unwrap().subject_boards.data.unwrap();
    assert_eq!(boards[0].updated_at, Some(completed.to_string()));
}

#[test]
fn burst_of_fifty_messages_causes_one_refetch_per_key() {
    let mut sim = connected(&[]);
    sim.advance(secs(2));
    sim.take();
    for i in 0..50 {
        sim.server_says(&format!(
            r#"{{"type": "leaderboard_updated", "data": {{"subject_id": "s{i}"}}}}"#
        ));
    }
    sim.advance(secs(1));
    assert_eq!(sim.requests("/api/leaderboard/subjects/").len(), 1);
    // More messages while that fetch runs: exactly one more fetch after it.
    for _ in 0..20 {
        sim.server_says(r#"{"type": "leaderboard_updated", "data": {}}"#);
    }
    sim.respond_all("/api/leaderboard/subjects/", 200, "[]");
    sim.advance(secs(5));
    assert_eq!(sim.requests("/api/leaderboard/subjects/").len(), 1);
    sim.respond_all("/api/leaderboard/subjects/", 200, "[]");
    sim.advance(secs(60));
    assert!(sim.requests("/api/leaderboard/subjects/").is_empty());
    let fetches =
        sim.count(|a| matches!(a, Action::Fetch(r) if r.path.starts_with("/api/leaderboard/")));
    assert_eq!(
        fetches,
        2 + 1,
        "the first load, one for the burst, one for the messages during it"
    );
}

#[test]
fn rest_401_refreshes_the_token_then_retries_once() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.open();
    let perf = sim.requests("/api/users/me/performance/")[0].id;
    sim.respond(
        perf,
        401,
        r#"{"detail": "Given token not valid for any token type", "code": "token_not_valid"}"#,
    );
    assert_eq!(sim.requests("/api/token/refresh/").len(), 1);
    assert!(sim.requests("/api/users/me/performance/").is_empty());
    sim.refresh_ok(secs(300));
    let retry = sim.requests("/api/users/me/performance/");
    assert_eq!(retry.len(), 1);
    sim.respond(retry[0].id, 401, r#"{"detail": "nope"}"#);
    assert!(sim.requests("/api/token/refresh/").is_empty(), "only once");
    let err = sim.shown().my_standing.error.unwrap();
    assert_eq!(err, Text::new("query_refused").plain("nope"));
}

#[test]
fn fetch_errors_keep_stale_data_with_a_clear_message_and_badge() {
    let mut sim = connected(&[]);
    sim.advance(secs(2));
    sim.server_says(r#"{"type": "leaderboard_updated", "data": {}}"#);
    sim.advance(secs(1));
    sim.respond_all(
        "/api/leaderboard/subjects/",
        503,
        r#"{"detail": "Service Unavailable"}"#,
    );
    let snap = sim.snapshot.clone().unwrap();
    assert_eq!(
        snap.subject_boards.error,
        Some(
            Text::new("http_server_error_detail")
                .plain("503")
                .plain("Service Unavailable")
        )
    );
    assert!(snap.subject_boards.data.is_some() && snap.subject_boards.stale);
    assert_eq!(sim.badge.as_ref().unwrap().text, "err");
}

#[test]
fn a_gap_in_seq_refetches_everything_on_screen() {
    let mut sim = connected(&[]);
    sim.advance(secs(2));
    sim.server_says(r#"{"type": "noop", "seq": 1}"#);
    sim.server_says(r#"{"type": "noop", "seq": 2}"#);
    assert!(sim.outstanding.is_empty());
    sim.server_says(r#"{"type": "noop", "seq": 5}"#);
    assert_eq!(sim.outstanding.len(), 4);
}

// ---------------------------------------------------------------- notifications

#[test]
fn new_session_on_a_followed_quiz_notifies_with_a_link_to_the_quiz_page() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q1", "bob", sim.now));
    let n = sim.notifications.get("quiz:q1").cloned().unwrap();
    assert_eq!(
        n.message,
        Text::new("notify_new_session").plain("bob").score(87.0)
    );
    assert_eq!(
        n.target.as_deref(),
        Some("http://127.0.0.1:8000/quizzes/q1")
    );
    assert!(!n.require_interaction);
    assert!(sim.storage[&PersistKey::NotificationTargets].contains("quizzes/q1"));
    assert_eq!(settled_badge(&mut sim).text, "1");
}

#[test]
fn no_notification_for_quizzes_not_followed() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q2", "bob", sim.now));
    assert!(sim.notifications.is_empty());
}

#[test]
fn no_notification_for_the_users_own_upload() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q1", "7", sim.now));
    assert!(sim.notifications.is_empty());
}

#[test]
fn no_notification_storm_for_events_older_than_the_connection() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q1", "bob", sim.now - secs(3600)));
    assert!(sim.notifications.is_empty());
}

#[test]
fn no_notification_from_refetched_data_after_reconnect() {
    let mut sim = connected(&[]);
    sim.respond_all(
        "/api/users/me/performance/",
        200,
        r#"{"user": {"id": "7", "username": "ann"}, "subjects": [{"subject_id": "s1", "rank": 5, "score": 10, "sessions": 1}], "recent_sessions": []}"#,
    );
    sim.server_closes(1006, true);
    sim.advance(secs(1));
    sim.open();
    sim.respond_all(
        "/api/users/me/performance/",
        200,
        r#"{"user": {"id": "7", "username": "ann"}, "subjects": [{"subject_id": "s1", "rank": 2, "score": 30, "sessions": 3}], "recent_sessions": []}"#,
    );
    assert!(
        sim.notifications.is_empty(),
        "a resync after reconnect never notifies"
    );
}

#[test]
fn own_rank_change_from_a_live_refetch_notifies() {
    let perf = |rank: u32| {
        format!(
            r#"{{"user": {{"id": "7", "username": "ann"}}, "subjects": [{{"subject_id": "s1", "rank": {rank}, "score": 10, "sessions": 1}}], "recent_sessions": []}}"#
        )
    };
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.open();
    sim.respond_all(
        "/api/leaderboard/subjects/",
        200,
        r#"[{"subject": {"id": "s1", "name": "Maths"}, "entries": [], "updated_at": null}]"#,
    );
    sim.respond_all("/api/users/me/performance/", 200, &perf(5));
    sim.answer_reads();
    assert!(sim.notifications.is_empty(), "the first data is a baseline");
    sim.advance(secs(2));
    sim.server_says(r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1"}}"#);
    sim.advance(secs(1));
    sim.respond_all("/api/users/me/performance/", 200, &perf(3));
    let n = sim.notifications.get("rank:Maths").cloned().unwrap();
    assert_eq!(n.message, Text::new("notify_rank_up").number(5).number(3));
}

#[test]
fn burst_on_a_followed_quiz_coalesces_into_one_notification() {
    let mut sim = connected(&["q1"]);
    for user in ["a", "b", "c"] {
        sim.server_says(&session_json("q1", user, sim.now));
    }
    let notify_count = sim.count(|a| matches!(a, Action::Notify(_)));
    assert_eq!(notify_count, 1, "the first at once, the rest held back");
    assert_eq!(
        sim.notifications["quiz:q1"].message,
        Text::new("notify_new_session").plain("a").score(87.0)
    );
    sim.advance(secs(10));
    let notify_count = sim.count(|a| matches!(a, Action::Notify(_)));
    assert_eq!(notify_count, 2, "one update for the whole burst");
    assert_eq!(sim.notifications.len(), 1);
    let n = &sim.notifications["quiz:q1"];
    assert!(n.update, "updated in place, not popped up again");
    // The title comes from the followed quiz's board, kept in the cache.
    assert_eq!(
        n.message,
        Text::new("notify_new_sessions")
            .count(3)
            .plain("Quiz q1")
            .plain("c")
            .score(87.0)
    );
}

#[test]
fn rate_limit_shows_three_then_one_summary() {
    let follows: Vec<String> = (0..15).map(|i| format!("q{i}")).collect();
    let refs: Vec<&str> = follows.iter().map(String::as_str).collect();
    let mut sim = connected(&refs);
    for q in &refs {
        sim.server_says(&session_json(q, "bob", sim.now));
    }
    assert_eq!(sim.notifications.len(), 3);
    sim.advance(secs(60));
    assert_eq!(
        sim.notifications["summary"].message,
        Text::new("notify_summary").count(12)
    );
}

#[test]
fn no_notification_for_the_quiz_in_the_active_tab() {
    let mut sim = connected(&["q1"]);
    sim.input(|c, now| c.handle_tab_quiz(8, Some("q1".into()), now));
    sim.input(|c, now| c.handle_tab_activated(Some(8), now));
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert!(sim.notifications.is_empty());
    sim.input(|c, now| c.handle_tab_activated(Some(9), now));
    sim.server_says(&session_json("q1", "cy", sim.now));
    assert_eq!(sim.notifications.len(), 1);
}

#[test]
fn mute_for_an_hour_silences_and_survives_a_restart() {
    let mut sim = connected(&["q1"]);
    sim.command(Command::MuteForAnHour);
    assert!(sim.storage.contains_key(&PersistKey::Mute));
    sim.restart_worker(ClientConfig::default());
    sim.open();
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert!(sim.notifications.is_empty());
    assert_eq!(sim.badge.as_ref().unwrap().title.key, "badge_muted");
    sim.advance(secs(3600));
    sim.server_says(&session_json("q1", "cy", sim.now));
    assert_eq!(sim.notifications.len(), 1);
}

#[test]
fn quiet_hours_and_keep_on_screen_come_from_settings() {
    let mut sim = connected(&["q1"]);
    let mut settings = Settings::default();
    settings.notifications.keep_on_screen = true;
    sim.command(Command::SaveSettings {
        settings: settings.clone(),
    });
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert!(sim.notifications["quiz:q1"].require_interaction);
    // T0 is 06:00 UTC.
    settings.notifications.quiet_hours = Some(QuietHours {
        start_minute: 5 * 60,
        end_minute: 8 * 60,
    });
    sim.command(Command::SaveSettings { settings });
    sim.server_says(&session_json("q2", "bob", sim.now));
    sim.command(Command::Follow {
        quiz_id: "q3".into(),
    });
    sim.server_says(&session_json("q3", "bob", sim.now));
    assert_eq!(sim.notifications.len(), 1);
}

#[test]
fn a_new_language_sets_the_badge_again_and_nothing_else_changes() {
    let mut sim = connected(&["q1"]);
    sim.advance(secs(1));
    let (sets, badge) = (sim.badge_sets, sim.badge.clone());
    let socket = sim.socket();
    // The same settings saved again: the badge is as it was, nothing to set.
    sim.command(Command::SaveSettings {
        settings: Settings::default(),
    });
    sim.advance(secs(1));
    assert_eq!(sim.badge_sets, sets);
    // Another language: the same badge set again (its tooltip is words), the socket kept.
    let arabic = Settings {
        language: Some("ar".into()),
        ..Settings::default()
    };
    sim.command(Command::SaveSettings {
        settings: arabic.clone(),
    });
    sim.advance(secs(1));
    assert_eq!(sim.badge_sets, sets + 1);
    assert_eq!(sim.badge, badge);
    assert_eq!(sim.socket(), socket);
    assert_eq!(sim.shown().settings, arabic);
    // An unknown language is refused at its field, and nothing changes.
    sim.command(Command::SaveSettings {
        settings: Settings {
            language: Some("fr".into()),
            ..Settings::default()
        },
    });
    let shown = sim.shown();
    assert_eq!(shown.settings, arabic);
    assert_eq!(shown.settings_error.map(|e| e.field()), Some("language"));
    assert_eq!(sim.badge_sets, sets + 1);
}

#[test]
fn notification_click_opens_the_quiz_page_even_after_a_worker_restart() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q1", "bob", sim.now));
    sim.restart_worker(ClientConfig::default());
    sim.take();
    sim.input(|c, now| c.handle_notification_clicked("quiz:q1", now));
    let actions = sim.take();
    assert!(actions.iter().any(
        |a| matches!(a, Action::OpenTab { url } if url == "http://127.0.0.1:8000/quizzes/q1")
    ));
}

#[test]
fn popup_toasts_expire_after_five_seconds() {
    let mut sim = connected(&["q1"]);
    sim.advance(secs(1));
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert_eq!(sim.snapshot.as_ref().unwrap().toasts.len(), 1);
    sim.advance(Duration::from_millis(4999));
    assert_eq!(sim.snapshot.as_ref().unwrap().toasts.len(), 1);
    sim.advance(Duration::from_millis(1));
    assert!(sim.snapshot.as_ref().unwrap().toasts.is_empty());
}

#[test]
fn popup_open_marks_everything_read_and_the_badge_shows_a_real_zero() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert_eq!(settled_badge(&mut sim).text, "1");
    sim.command(Command::Hello);
    let b = settled_badge(&mut sim);
    assert_eq!((b.text.as_str(), b.color.as_str()), ("0", badge::COLOR_OK));
}

#[test]
fn options_page_gets_a_snapshot_but_only_the_popup_clears_unread() {
    let mut sim = connected(&["q1"]);
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert_eq!(settled_badge(&mut sim).text, "1");
    sim.advance(secs(2));
    sim.take();
    let page = Page::from_port_name("options").unwrap();
    assert_eq!(page, Page::Options);
    sim.input(|c, now| c.handle_page_opened(page, now));
    let published: Vec<u32> = sim
        .take()
        .into_iter()
        .filter_map(|a| match a {
            Action::Publish {
                snapshot, to_popup, ..
            } if to_popup => Some(snapshot.unread),
            _ => None,
        })
        .collect();
    assert_eq!(
        published,
        [1],
        "a snapshot at once, and the news still unread"
    );
    assert_eq!(sim.badge.as_ref().unwrap().text, "1");
    let page = Page::from_port_name("popup").unwrap();
    assert_eq!(page, Page::Popup);
    sim.input(|c, now| c.handle_page_opened(page, now));
    assert_eq!(sim.shown().unread, 0);
    assert_eq!(settled_badge(&mut sim).text, "0");
    assert_eq!(Page::from_port_name("quiz:7"), None);
}

// ---------------------------------------------------------------- settings, snapshot, log

#[test]
fn invalid_settings_are_rejected_with_a_clear_error_and_not_saved() {
    let mut sim = connected(&[]);
    sim.take();
    sim.command(Command::SaveSettings {
        settings: Settings {
            server_url: "https://quiz.example.com/api".into(),
            ..Settings::default()
        },
    });
    let snap = sim.shown();
    assert_eq!(
        snap.settings_error,
        Some(quizpulse::settings::SettingsError::ServerUrl(
            Text::new("url_path")
                .plain("https://quiz.example.com")
                .plain("/api")
        ))
    );
    assert_eq!(snap.settings.server_url, "http://127.0.0.1:8000");
    assert!(!sim.take().iter().any(|a| matches!(
        a,
        Action::Persist {
            key: PersistKey::Settings,
            ..
        }
    )));
}

#[test]
fn changing_the_server_signs_out_because_tokens_belong_to_the_old_one() {
    let mut sim = connected(&[]);
    sim.command(Command::SaveSettings {
        settings: Settings {
            server_url: "https://quiz.example.com".into(),
            ..Settings::default()
        },
    });
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    assert!(sim.storage[&PersistKey::Settings].contains("https://quiz.example.com"));
}

#[test]
fn explicit_socket_url_on_the_same_origin_reconnects_to_it() {
    let mut sim = connected(&[]);
    sim.advance(secs(1));
    sim.take();
    sim.command(Command::SaveSettings {
        settings: Settings {
            socket_url: Some("ws://127.0.0.1:8000/live/".into()),
            ..Settings::default()
        },
    });
    let url = sim.take().into_iter().find_map(|a| match a {
        Action::OpenSocket { url, .. } => Some(url),
        _ => None,
    });
    assert!(url.unwrap().starts_with("ws://127.0.0.1:8000/live/?token="));
}

#[test]
fn a_socket_url_on_another_host_signs_out_first_and_gets_no_token() {
    // A socket on another origin could close 4001 and collect a fresh token each time:
    // the sign-in stays with the origins it was made for.
    let mut sim = connected(&[]);
    sim.advance(secs(1));
    sim.take();
    sim.command(Command::SaveSettings {
        settings: Settings {
            socket_url: Some("ws://127.0.0.2:9000/live/".into()),
            ..Settings::default()
        },
    });
    sim.advance(secs(600));
    let actions = sim.take();
    assert_eq!(opens(&actions), 0, "no socket, so no token, goes there");
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::Fetch(r) if r.path == "/api/token/refresh/"))
    );
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    assert!(!sim.storage[&PersistKey::Auth].contains("\"access\":"));
    // Signed in again, the new sign-in belongs to the new socket's origin too.
    sim.command(Command::SignIn {
        server: "http://127.0.0.1:8000".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    let req = sim.requests("/api/token/").pop().expect("token request");
    let body = token_pair_json(sim.now, secs(300), secs(86_400));
    sim.respond(req.id, 200, &body);
    let url = sim.take().into_iter().find_map(|a| match a {
        Action::OpenSocket { url, .. } => Some(url),
        _ => None,
    });
    assert!(url.unwrap().starts_with("ws://127.0.0.2:9000/live/?token="));
    assert!(sim.storage[&PersistKey::Auth].contains(r#""socket":"ws://127.0.0.2:9000""#));
}

#[test]
fn settings_changed_while_the_worker_slept_do_not_take_the_tokens_along() {
    let mut sim = connected(&[]);
    sim.advance(secs(2));
    // Another context writes settings pointing elsewhere; the worker was asleep.
    let elsewhere = Settings {
        server_url: "https://evil.example".into(),
        ..Settings::default()
    };
    sim.storage.insert(
        PersistKey::Settings,
        serde_json::to_string(&elsewhere).unwrap(),
    );
    sim.restart_worker(ClientConfig::default());
    sim.advance(secs(60));
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    assert!(sim.history.iter().all(|a| match a {
        Action::OpenSocket { url, .. } => !url.contains("evil"),
        Action::Fetch(r) => !r.url.contains("evil"),
        _ => true,
    }));
    assert!(!sim.storage[&PersistKey::Auth].contains("\"access\":"));
}

#[test]
fn snapshots_read_back_equal_through_the_wasm_json_reader_and_serde() {
    let mut sim = connected(&["q1"]);
    let mut snapshots = vec![sim.shown()];
    sim.server_says(&session_json("q1", "<img src=x onerror=alert(1)>", sim.now));
    sim.answer_reads();
    snapshots.push(sim.shown());
    sim.command(Command::ViewQuiz {
        quiz_id: "q1".into(),
    });
    sim.answer_reads();
    snapshots.push(sim.shown());
    sim.command(Command::TestConnection);
    sim.answer_reads();
    snapshots.push(sim.shown());
    sim.server_closes(1006, true);
    snapshots.push(sim.shown());
    assert!(
        snapshots
            .iter()
            .any(|s| !s.toasts.is_empty() && s.test.is_some())
    );
    for snapshot in snapshots {
        let text = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(
            quizpulse::json::ToJson::to_json_text(&snapshot),
            text,
            "the worker writes a snapshot as serde does"
        );
        let read = <Snapshot as quizpulse::json::FromJson>::from_json_text(&text).unwrap();
        assert_eq!(read, snapshot);
        assert_eq!(read, serde_json::from_str::<Snapshot>(&text).unwrap());
    }
}

/// serde reads `json` as a `T` and writes it back unchanged.
fn serde_writes_back<T: serde::Serialize + serde::de::DeserializeOwned>(
    json: &str,
) -> Result<(), serde_json::Error> {
    let value: T = serde_json::from_str(json)?;
    assert_eq!(serde_json::to_string(&value)?, json);
    Ok(())
}

#[test]
fn everything_the_client_stores_is_written_as_serde_writes_it() {
    use quizpulse::client::{AuthRecord, Outage, RetryPlan};
    use quizpulse::events::LogEntry;
    use quizpulse::small::VecMap;
    use quizpulse::subscriptions::FollowState;

    let mut sim = connected(&["q1"]);
    sim.command(Command::Follow {
        quiz_id: "q2".into(),
    });
    sim.server_says(&session_json("q1", "bob", sim.now));
    sim.answer_reads();
    sim.command(Command::MuteForAnHour);
    sim.command(Command::SaveSettings {
        settings: Settings {
            board_limit: 25,
            ..Settings::default()
        },
    });
    sim.server_closes(1006, true);
    sim.advance(Duration::from_secs(120));
    let mut seen = Vec::new();
    for action in &sim.history {
        if let Action::Persist { key, json } = action {
            let written = match key {
                PersistKey::Settings => serde_writes_back::<Settings>(json),
                PersistKey::Auth => serde_writes_back::<AuthRecord>(json),
                PersistKey::Follows => serde_writes_back::<FollowState>(json),
                PersistKey::Mute => serde_writes_back::<Option<Timestamp>>(json),
                PersistKey::NotificationTargets => {
                    serde_writes_back::<VecMap<String, String>>(json)
                }
                PersistKey::EventLog => serde_writes_back::<Vec<LogEntry>>(json),
                PersistKey::Outage => serde_writes_back::<Outage>(json),
                PersistKey::Retry => serde_writes_back::<RetryPlan>(json),
            };
            written.unwrap();
            seen.push(*key);
        }
    }
    for key in PersistKey::ALL {
        assert!(seen.contains(&key), "{key:?} was stored in this session");
    }
    for request in sim.history.iter().filter_map(|a| match a {
        Action::Fetch(r) => r.body.as_deref(),
        _ => None,
    }) {
        serde_writes_back::<serde_json::Value>(request).unwrap();
    }
}

#[test]
fn snapshots_and_debug_output_never_contain_tokens_or_passwords() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "http://127.0.0.1:8000".into(),
        username: "ann".into(),
        password: Secret("hunter2-secret".into()),
    });
    let id = sim.requests("/api/token/")[0].id;
    let access = token("access", "7", sim.now, sim.now + secs(300));
    let refresh = token("refresh", "7", sim.now, sim.now + secs(86_400));
    sim.respond(
        id,
        200,
        &format!(r#"{{"access": "{access}", "refresh": "{refresh}"}}"#),
    );
    sim.open();
    sim.answer_reads();
    sim.command(Command::TestConnection);
    let snapshots: Vec<String> = sim
        .history
        .iter()
        .filter_map(|a| match a {
            Action::Publish { snapshot, .. } => Some(serde_json::to_string(snapshot).unwrap()),
            _ => None,
        })
        .collect();
    assert!(!snapshots.is_empty());
    let debug = format!("{:?} {:?}", sim.history, sim.client);
    for text in snapshots.iter().chain([&debug]) {
        for secret in [&access, &refresh, "hunter2-secret"] {
            assert!(!text.contains(secret), "secret leaked");
        }
        // JWT headers start with "eyJ": no token fragment at all.
        assert!(!text.contains("eyJ"), "token leaked");
    }
}

#[test]
fn event_log_records_attempts_close_codes_and_errors_with_times() {
    let mut sim = connected(&[]);
    sim.server_says("not json");
    sim.server_closes(4001, true);
    let events = sim.shown().events;
    let at = Timestamp::parse_rfc3339("2026-11-26T06:00:00Z").unwrap();
    assert_eq!(
        (events[0].at, &events[0].text),
        (at, &Text::new("log_worker_started"))
    );
    assert_eq!(
        (events[1].at, &events[1].text),
        (
            at,
            &Text::new("log_connecting").plain("ws://127.0.0.1:8000/ws/leaderboard/")
        )
    );
    let said: Vec<&Text> = events.iter().map(|e| &e.text).collect();
    assert!(said.contains(&&Text::new("log_connected")));
    assert!(said.iter().any(|t| t.key == "log_bad_message"));
    assert!(
        said.contains(
            &&Text::new("log_closed")
                .plain("4001")
                .text(Text::new("close_4001"))
        )
    );
    let json = serde_json::to_string(&events).unwrap();
    assert!(!json.contains("token="), "no token in the log: {json}");
}

/// The badge once its throttle window has passed.
fn settled_badge(sim: &mut Sim) -> badge::Badge {
    sim.advance(quizpulse::client::BADGE_EVERY);
    let Some(badge) = sim.badge.clone() else {
        panic!("no badge was set");
    };
    badge
}

#[test]
fn a_burst_of_alerts_repaints_the_badge_once_per_window_and_ends_on_the_last_count() {
    let mut sim = connected(&["q1", "q2", "q3"]);
    sim.advance(secs(1));
    let before = sim.badge_sets;
    for (i, quiz) in ["q1", "q2", "q3"].iter().enumerate() {
        sim.server_says(&session_json(quiz, &format!("u{i}"), sim.now));
    }
    // The first change goes out at once, the rest of the burst waits for the window.
    assert_eq!(sim.badge_sets - before, 1);
    assert_eq!(sim.badge.as_ref().unwrap().text, "1");
    assert_eq!(settled_badge(&mut sim).text, "3");
    assert_eq!(sim.badge_sets - before, 2);
    sim.advance(secs(5));
    assert_eq!(sim.badge_sets - before, 2, "nothing more once it settled");
}

#[test]
fn badge_tells_signed_out_auth_offline_reconnecting_and_connected_apart() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    let signed_out = settled_badge(&mut sim);
    let mut sim = connected(&[]);
    let zero = settled_badge(&mut sim);
    sim.server_closes(1000, true);
    let retrying = settled_badge(&mut sim);
    sim.input(|c, now| c.handle_online(false, now));
    let offline = settled_badge(&mut sim);
    let mut sim = connected(&[]);
    sim.server_closes(4003, true);
    let auth = settled_badge(&mut sim);
    let all = [signed_out, zero, retrying, offline, auth];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!((&a.text, &a.color), (&b.text, &b.color));
        }
    }
    let retry = Text::new("conn_retrying").number(1).number(5);
    assert!(
        matches!(&all[2].title.args[..], [quizpulse::Arg::Text(t)] if t.key == retry.key && t.args.starts_with(&retry.args)),
        "{:?}",
        all[2].title
    );
}

#[test]
fn test_connection_checks_url_host_access_token_and_socket_in_order() {
    let mut sim = connected(&[]);
    sim.take();
    sim.command(Command::TestConnection);
    let actions = sim.take();
    assert!(actions.iter().any(
        |a| matches!(a, Action::CheckHostAccess { pattern } if pattern == "http://127.0.0.1:8000/*")
    ));
    sim.input(|c, now| c.handle_host_access(true, now));
    let probe = sim
        .outstanding
        .values()
        .find(|r| r.purpose == RequestPurpose::TestToken)
        .cloned()
        .unwrap();
    sim.respond(probe.id, 200, "{}");
    let steps = sim.shown().test.unwrap();
    assert!(
        steps.iter().all(|s| s.status == StepStatus::Passed),
        "{steps:?}"
    );

    let mut sim = connected(&[]);
    sim.command(Command::TestConnection);
    sim.input(|c, now| c.handle_host_access(false, now));
    let steps = sim.shown().test.unwrap();
    let statuses: Vec<StepStatus> = steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            StepStatus::Passed,
            StepStatus::Failed,
            StepStatus::Skipped,
            StepStatus::Skipped
        ]
    );
    assert_eq!(
        steps[1].detail,
        Some(Text::new("step_no_access").plain("http://127.0.0.1:8000/*"))
    );
}

#[test]
fn corrupt_storage_falls_back_to_defaults_and_says_so() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(
        StoredState::default()
            .with(PersistKey::Settings, "{not json")
            .with(PersistKey::Auth, "[1, 2]")
            .with(PersistKey::Follows, "null")
            .with(PersistKey::Mute, "\"soon\"")
            .with(PersistKey::NotificationTargets, "42"),
    );
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    let snap = sim.snapshot.clone().unwrap();
    assert_eq!(snap.settings, Settings::default());
    assert!(logged(&snap, "log_stored_settings_unreadable"));
    assert!(logged(&snap, "log_stored_signin_unreadable"));
}

#[test]
fn quiz_leaderboard_entries_update_the_viewed_board_without_a_fetch() {
    let mut sim = connected(&["q1"]);
    sim.command(Command::ViewQuiz {
        quiz_id: "q1".into(),
    });
    sim.answer_reads();
    sim.advance(secs(2));
    sim.server_says(
        r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "q1", "entries": [{"rank": 1, "user_id": "9", "username": "bob", "score": 42, "sessions": 1}]}}"#,
    );
    sim.advance(secs(1));
    assert!(sim.requests("/api/quizzes/q1/").is_empty());
    let snap = sim.snapshot.clone().unwrap();
    let board = snap.quiz_boards["q1"].data.clone().unwrap();
    assert_eq!(board.entries[0].username, "bob");
}

#[test]
fn closing_the_popup_stops_refreshing_the_boards_it_viewed() {
    let mut sim = connected(&[]);
    sim.command(Command::ViewQuiz {
        quiz_id: "q1".into(),
    });
    sim.answer_reads();
    sim.input(|c, now| c.handle_popup_closed(now));
    sim.advance(secs(2));
    sim.server_says(r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "q1"}}"#);
    sim.advance(secs(1));
    assert!(sim.requests("/api/quizzes/q1/").is_empty());
}

#[test]
fn waking_from_sleep_probes_an_open_socket_and_finds_a_dead_one() {
    let mut sim = connected(&[]);
    sim.advance(secs(20));
    sim.server_says(r#"{"type": "pong", "id": 1}"#);
    // The machine sleeps: no timer runs, then the idle API says "active".
    sim.now = sim.now + secs(3600);
    sim.take();
    sim.input(|c, now| c.handle_idle_active(now));
    assert!(sim.sent().iter().any(|t| t.contains(r#""type": "ping""#)));
    sim.advance(secs(10));
    assert!(matches!(sim.client.state(), ConnState::Retrying { .. }));
}

#[test]
fn event_log_survives_a_worker_restart_in_session_storage() {
    let mut sim = connected(&[]);
    sim.server_closes(4001, true);
    assert_eq!(
        PersistKey::EventLog.area(),
        quizpulse::client::StorageArea::Session
    );
    // The log is written at most once a second; the last state of a burst follows.
    sim.advance(secs(1));
    sim.restart_worker(ClientConfig::default());
    let snap = sim.snapshot.clone().unwrap();
    assert!(logged(&snap, "log_closed"));
    assert!(logged(&snap, "log_worker_started"));
}

// ---------------------------------------------------------------- publishing

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Snapshot equality without the publish time.
fn same_state(a: &Snapshot, b: &Snapshot) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    a.generated_at = Timestamp::ZERO;
    b.generated_at = Timestamp::ZERO;
    a == b
}

#[test]
fn popup_gets_at_most_one_snapshot_per_100_ms_and_storage_one_per_second_last_state_wins() {
    let mut sim = connected(&["q1"]);
    sim.advance(secs(2));
    sim.take();
    let (mut popup_at, mut storage_at) = (Vec::new(), Vec::new());
    // A burst: a session every 7 ms for 2 s, each changing what the popup shows.
    for i in 0..300u64 {
        sim.server_says(&session_json("q1", &format!("u{i}"), sim.now));
        sim.advance(ms(7));
        for a in sim.take() {
            if let Action::Publish {
                to_popup,
                to_storage,
                ..
            } = a
            {
                if to_popup {
                    popup_at.push(sim.now);
                }
                if to_storage {
                    storage_at.push(sim.now);
                }
            }
        }
    }
    assert!(popup_at.len() >= 10, "the popup keeps getting news");
    assert!(
        popup_at.len() <= 300 * 7 / 100 + 1,
        "{} publishes",
        popup_at.len()
    );
    for w in popup_at.windows(2) {
        assert!(w[1].saturating_since(w[0]) >= ms(100) - ms(7));
    }
    assert!(
        storage_at.len() >= 2 && storage_at.len() <= 4,
        "{storage_at:?}"
    );
    // None lost at the end of the burst: the last state follows by timer.
    sim.advance(secs(1));
    let now = sim.now;
    let truth = sim.client.snapshot(now);
    assert!(same_state(sim.snapshot.as_ref().unwrap(), &truth));
    assert!(same_state(sim.stored_snapshot.as_ref().unwrap(), &truth));
}

#[test]
fn a_held_back_snapshot_goes_out_by_the_timer_and_an_opened_popup_always_gets_one() {
    let mut sim = connected(&["q1"]);
    sim.advance(secs(2));
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert_eq!(
        sim.snapshot.as_ref().unwrap().toasts.len(),
        1,
        "leading edge"
    );
    sim.server_says(&session_json("q1", "cy", sim.now));
    assert_eq!(sim.snapshot.as_ref().unwrap().toasts.len(), 1, "held back");
    let due = sim.client.poll_timeout().unwrap();
    assert!(due <= sim.now + PUBLISH_POPUP_EVERY);
    sim.advance(PUBLISH_POPUP_EVERY);
    assert_eq!(sim.snapshot.as_ref().unwrap().toasts.len(), 2, "trailing");
    sim.advance(secs(10));
    sim.command(Command::Hello);
    sim.advance(secs(2));
    sim.take();
    // Nothing changed, yet a popup that opens gets the state.
    sim.command(Command::Hello);
    let published = sim
        .take()
        .into_iter()
        .filter(|a| matches!(a, Action::Publish { to_popup: true, .. }))
        .count();
    assert_eq!(published, 1);
    assert_eq!(SNAPSHOT_KEY, "quizpulse.snapshot");
}

// ---------------------------------------------------------------- boards in the background

fn entries_json(users: &[&str]) -> String {
    let entries: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                r#"{{"rank": {}, "user_id": "{u}", "username": "{u}", "score": {}, "sessions": 1}}"#,
                i + 1,
                100 - i
            )
        })
        .collect();
    format!("[{}]", entries.join(", "))
}

fn board_json(quiz: &str, users: &[&str]) -> String {
    format!(
        r#"{{"quiz": {{"id": "{quiz}", "title": "Quiz {quiz}", "subject_id": "s1"}}, "entries": {}, "updated_at": null}}"#,
        entries_json(users)
    )
}

fn entries_msg(quiz: &str, users: &[&str]) -> String {
    format!(
        r#"{{"type": "quiz_leaderboard_updated", "data": {{"quiz_id": "{quiz}", "entries": {}}}}}"#,
        entries_json(users)
    )
}

/// Connected, following `q1`, whose board holds `users`; the access token lives a day.
fn with_board(users: &[&str]) -> Sim {
    let mut sim = Sim::new(ClientConfig::default());
    let pair = token_pair_json(T0, secs(86_400), secs(7 * 86_400));
    sim.start(
        StoredState::default()
            .with(
                PersistKey::Auth,
                format!(r#"{{"tokens": {pair}, "username": "ann"}}"#),
            )
            .with(
                PersistKey::Follows,
                r#"{"follows": ["q1"], "seen": [], "baseline_taken": true}"#,
            ),
    );
    sim.open();
    sim.respond_all(
        "/api/quizzes/q1/leaderboard/",
        200,
        &board_json("q1", users),
    );
    sim.answer_reads();
    sim.server_says(r#"{"type": "subscription_confirmed", "quiz_id": "q1", "message": "ok"}"#);
    sim.advance(secs(2));
    sim.take();
    sim
}

fn notified(sim: &Sim, id: &str) -> usize {
    sim.count(|a| matches!(a, Action::Notify(n) if n.id == id))
}

#[test]
fn followed_boards_stay_fresh_in_the_background_without_a_popup() {
    let mut sim = with_board(&["ann"]);
    let snap = sim.snapshot.clone().unwrap();
    assert_eq!(
        snap.quiz_boards["q1"].data.as_ref().unwrap().entries.len(),
        1
    );
    // A server without `entries` (Django): the upload's refetch happens.
    sim.server_says(&session_json("q1", "bob", sim.now));
    sim.server_says(r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "q1"}}"#);
    sim.advance(secs(1));
    assert_eq!(sim.requests("/api/quizzes/q1/leaderboard/").len(), 1);
    sim.respond_all(
        "/api/quizzes/q1/leaderboard/",
        200,
        &board_json("q1", &["bob", "ann"]),
    );
    sim.advance(secs(1));
    let snap = sim.snapshot.clone().unwrap();
    assert_eq!(
        snap.quiz_boards["q1"].data.as_ref().unwrap().entries[0].username,
        "bob"
    );
    // Unfollowed: no longer kept.
    sim.command(Command::Unfollow {
        quiz_id: "q1".into(),
    });
    sim.advance(secs(1));
    assert!(!sim.snapshot.clone().unwrap().quiz_boards.contains_key("q1"));
}

#[test]
fn entries_in_a_broadcast_are_applied_and_cancel_the_refetch_the_upload_scheduled() {
    let mut sim = with_board(&["ann"]);
    sim.server_says(&session_json("q1", "bob", sim.now));
    sim.server_says(r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1"}}"#);
    sim.server_says(&entries_msg("q1", &["bob", "ann"]));
    sim.advance(secs(2));
    assert!(sim.requests("/api/quizzes/q1/leaderboard/").is_empty());
    let board = sim.snapshot.clone().unwrap().quiz_boards["q1"].clone();
    assert_eq!(board.data.unwrap().entries[0].username, "bob");
    assert!(!board.stale);
}

#[test]
fn a_board_updated_from_a_broadcast_keeps_the_servers_time() {
    let mut sim = with_board(&["ann"]);
    let completed = sim.now - secs(3);
    sim.server_says(&session_json("q1", "bob", completed));
    sim.server_says(&entries_msg("q1", &["bob", "ann"]));
    sim.advance(secs(2));
    let board = sim.snapshot.clone().unwrap().quiz_boards["q1"].clone();
    // What the server's REST board says after the upload: its newest session's time.
    assert_eq!(board.data.unwrap().updated_at, Some(completed.to_string()));

    // Entries with no upload of that quiz before them: the receive time.
    sim.server_says(&session_json("q2", "cy", completed));
    let received = sim.now;
    sim.server_says(&entries_msg("q1", &["ann", "bob"]));
    sim.advance(secs(2));
    let board = sim.snapshot.clone().unwrap().quiz_boards["q1"].clone();
    assert_eq!(board.data.unwrap().updated_at, Some(received.to_rfc3339()));
}

// ---------------------------------------------------------------- notification kinds

fn prefs_sim(users: &[&str], set: impl FnOnce(&mut quizpulse::settings::NotificationPrefs)) -> Sim {
    let mut sim = with_board(users);
    let mut settings = sim.client.settings().clone();
    set(&mut settings.notifications);
    sim.command(Command::SaveSettings { settings });
    sim.advance(secs(1));
    sim.take();
    sim
}

#[test]
fn session_upload_notifications_have_their_own_switch() {
    let mut sim = prefs_sim(&["ann"], |p| p.new_sessions = false);
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert_eq!(notified(&sim, "quiz:q1"), 0);
    let mut sim = prefs_sim(&["ann"], |_| {});
    sim.server_says(&session_json("q1", "bob", sim.now));
    assert_eq!(notified(&sim, "quiz:q1"), 1);
}

#[test]
fn leaderboard_alert_says_who_moved_and_has_its_own_switch() {
    let mut sim = prefs_sim(&["ann", "cy"], |_| {});
    sim.server_says(&entries_msg("q1", &["cy", "ann", "dee"]));
    let n = sim.notifications["board:q1"].clone();
    assert_eq!(n.title, Text::new("board_caption").plain("Quiz q1"));
    assert_eq!(
        n.message,
        Text::new("moves_2")
            .text(Text::new("move_up").plain("cy").number(1).number(2))
            .text(Text::new("move_entered").plain("dee").number(10).number(3))
    );
    assert_eq!(
        n.target.as_deref(),
        Some("http://127.0.0.1:8000/quizzes/q1")
    );
    // Same order, new scores: no news.
    sim.server_says(&entries_msg("q1", &["cy", "ann", "dee"]));
    assert_eq!(notified(&sim, "board:q1"), 1);
    // Coalesced like uploads: the same notification, updated in place.
    sim.advance(secs(11));
    sim.server_says(&entries_msg("q1", &["ann", "cy", "dee"]));
    let n = sim.notifications["board:q1"].clone();
    assert!(n.update);
    assert_eq!(
        (n.message.key.as_ref(), n.message.plural_count()),
        ("notify_board_changes", Some(2))
    );

    let mut sim = prefs_sim(&["ann", "cy"], |p| p.leaderboard_changes = false);
    sim.server_says(&entries_msg("q1", &["cy", "ann"]));
    assert_eq!(notified(&sim, "board:q1"), 0);
}

#[test]
fn leaderboard_alert_from_a_live_refetch_when_the_server_sends_no_entries() {
    let mut sim = prefs_sim(&["ann"], |_| {});
    sim.server_says(r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "q1"}}"#);
    sim.advance(secs(1));
    sim.respond_all(
        "/api/quizzes/q1/leaderboard/",
        200,
        &board_json("q1", &["bob", "ann"]),
    );
    assert_eq!(notified(&sim, "board:q1"), 1);
}

#[test]
fn no_leaderboard_alert_for_the_quiz_in_the_active_tab_or_the_users_own_move() {
    let mut sim = prefs_sim(&["ann"], |_| {});
    sim.input(|c, now| c.handle_tab_quiz(4, Some("q1".into()), now));
    sim.input(|c, now| c.handle_tab_activated(Some(4), now));
    sim.server_says(&entries_msg("q1", &["bob", "ann"]));
    sim.input(|c, now| c.handle_tab_activated(None, now));
    // User "7" is the signed-in user.
    sim.server_says(&entries_msg("q1", &["7", "bob", "ann"]));
    assert_eq!(notified(&sim, "board:q1"), 0);
}

#[test]
fn no_alerts_from_boards_refetched_after_a_reconnect() {
    let mut sim = prefs_sim(&["ann"], |_| {});
    sim.server_closes(1006, true);
    sim.advance(secs(1));
    sim.open();
    // While the resync is in flight, a live broadcast: the cached board is from before
    // the outage, so the difference is not news.
    sim.server_says(&entries_msg("q1", &["bob", "cy", "ann"]));
    sim.respond_all(
        "/api/quizzes/q1/leaderboard/",
        200,
        &board_json("q1", &["bob", "cy", "ann"]),
    );
    sim.answer_reads();
    sim.advance(secs(2));
    sim.respond_all(
        "/api/quizzes/q1/leaderboard/",
        200,
        &board_json("q1", &["bob", "cy", "ann"]),
    );
    sim.advance(secs(2));
    assert_eq!(notified(&sim, "board:q1"), 0);
    assert!(!sim.history.iter().any(|a| matches!(a, Action::Notify(_))));
    // Live again: the next change is news.
    sim.server_says(&entries_msg("q1", &["ann", "bob", "cy"]));
    assert_eq!(notified(&sim, "board:q1"), 1);
}

#[test]
fn subscription_confirmations_are_a_toast_once_per_follow_with_their_own_switch() {
    let toasts = |sim: &Sim| -> Vec<Text> {
        sim.snapshot
            .as_ref()
            .unwrap()
            .toasts
            .iter()
            .map(|t| t.text.clone())
            .collect()
    };
    let mut sim = prefs_sim(&["ann"], |_| {});
    sim.command(Command::Follow {
        quiz_id: "q2".into(),
    });
    sim.server_says(r#"{"type": "subscription_confirmed", "quiz_id": "q2", "message": "ok"}"#);
    sim.advance(ms(100));
    assert!(
        toasts(&sim).contains(&Text::new("toast_confirmed").plain("quiz q2")),
        "{:?}",
        toasts(&sim)
    );
    // A reconnect re-subscribes: no toast again.
    sim.advance(secs(6));
    sim.server_closes(1006, true);
    sim.advance(secs(1));
    sim.open();
    sim.server_says(r#"{"type": "subscription_confirmed", "quiz_id": "q2", "message": "ok"}"#);
    sim.advance(ms(100));
    assert!(!toasts(&sim).iter().any(|t| t.key == "toast_confirmed"));

    let mut sim = prefs_sim(&["ann"], |p| p.subscription_confirmations = false);
    sim.command(Command::Follow {
        quiz_id: "q2".into(),
    });
    sim.server_says(r#"{"type": "subscription_confirmed", "quiz_id": "q2", "message": "ok"}"#);
    sim.advance(ms(100));
    assert!(!toasts(&sim).iter().any(|t| t.key == "toast_confirmed"));
}

/// Lets every quick retry fail (each socket closes before opening).
fn fail_quick_retries(sim: &mut Sim) {
    for _ in 0..5 {
        match sim.client.state() {
            ConnState::Retrying { next_at, .. } => sim.advance(next_at.saturating_since(sim.now)),
            other => panic!("expected a quick retry, got {other:?}"),
        }
        sim.server_closes(1011, false);
    }
}

/// The worker sleeps until the slow retry's alarm.
fn slow_retry(sim: &mut Sim) {
    let ConnState::Suspended { next_at } = sim.client.state() else {
        panic!("suspended expected, got {:?}", sim.client.state());
    };
    sim.sleep_then_alarm(next_at.saturating_since(sim.now));
}

#[test]
fn a_connection_lost_past_the_quick_retries_notifies_once_and_back_once() {
    let mut sim = prefs_sim(&["ann"], |_| {});
    sim.server_closes(1001, true);
    sim.advance(ms(100));
    let texts: Vec<Text> = sim
        .snapshot
        .clone()
        .unwrap()
        .toasts
        .into_iter()
        .map(|t| t.text)
        .collect();
    assert!(
        texts.contains(&Text::new("toast_connection_lost")),
        "{texts:?}"
    );
    assert_eq!(notified(&sim, "connection"), 0, "quick retries first");
    fail_quick_retries(&mut sim);
    assert!(matches!(sim.client.state(), ConnState::Suspended { .. }));
    assert_eq!(notified(&sim, "connection"), 1);
    let lost = &sim.notifications["connection"].message;
    assert_eq!(lost.key, "notify_connection_lost");
    assert_eq!(
        lost.args[0],
        quizpulse::Arg::Plain("http://127.0.0.1:8000".into())
    );
    // The worker restarts while suspended (it goes on with the slow retry) and fails
    // again: not said twice.
    sim.restart_worker(ClientConfig::default());
    assert!(matches!(sim.client.state(), ConnState::Suspended { .. }));
    slow_retry(&mut sim);
    sim.server_closes(1011, false);
    assert_eq!(notified(&sim, "connection"), 1);
    // Back.
    slow_retry(&mut sim);
    sim.open();
    assert_eq!(notified(&sim, "connection"), 2);
    assert_eq!(
        sim.notifications["connection"].message.key,
        "notify_connection_back"
    );
    sim.advance(ms(100));
    assert!(
        sim.snapshot
            .clone()
            .unwrap()
            .toasts
            .iter()
            .any(|t| t.text.key == "toast_connection_back")
    );
    // After a stable connection, the next short blip: toasts only.
    sim.advance(secs(11));
    sim.server_closes(1001, true);
    sim.advance(secs(6));
    sim.open();
    assert_eq!(notified(&sim, "connection"), 2);
}

#[test]
fn connection_notifications_have_their_own_switch_but_the_toasts_stay() {
    let mut sim = prefs_sim(&["ann"], |p| p.connection = false);
    sim.server_closes(1000, true);
    fail_quick_retries(&mut sim);
    slow_retry(&mut sim);
    sim.open();
    sim.advance(ms(100));
    assert_eq!(notified(&sim, "connection"), 0);
    assert!(
        sim.snapshot
            .clone()
            .unwrap()
            .toasts
            .iter()
            .any(|t| t.text.key == "toast_connection_back")
    );
}

// ---------------------------------------------------------------- settings written elsewhere

#[test]
fn settings_written_elsewhere_follow_the_same_rules_and_our_own_write_changes_nothing() {
    let mut sim = connected(&[]);
    sim.advance(secs(2));
    let mut settings = sim.client.settings().clone();
    settings.board_limit = 20;
    sim.command(Command::SaveSettings { settings });
    let json = sim.storage[&PersistKey::Settings].clone();
    sim.take();
    // The worker's own write comes back through storage.onChanged: nothing happens.
    sim.input(|c, now| c.handle_settings_changed(&json, now));
    assert!(
        !sim.take()
            .iter()
            .any(|a| matches!(a, Action::Persist { .. } | Action::Fetch(_)))
    );
    // Unreadable: kept, and said.
    sim.input(|c, now| c.handle_settings_changed("{oops", now));
    assert_eq!(sim.client.settings().board_limit, 20);
    // Another server, written by another page: signs out, as SaveSettings would.
    let other = r#"{"server_url": "https://quiz.example.com/"}"#;
    sim.input(|c, now| c.handle_settings_changed(other, now));
    assert_eq!(sim.client.state(), ConnState::SignedOut);
    assert_eq!(sim.client.settings().server_url, "https://quiz.example.com");
    assert!(sim.storage[&PersistKey::Settings].contains("https://quiz.example.com"));
}

// ---------------------------------------------------------------- mends

#[test]
fn seq_at_the_top_of_its_range_does_not_overflow() {
    let mut sim = connected(&[]);
    sim.server_says(&format!(
        r#"{{"type": "pong", "id": 1, "seq": {}}}"#,
        u64::MAX - 1
    ));
    sim.server_says(&format!(
        r#"{{"type": "pong", "id": 2, "seq": {}}}"#,
        u64::MAX
    ));
    sim.server_says(r#"{"type": "pong", "id": 3, "seq": 0}"#);
    sim.server_says(&format!(
        r#"{{"type": "pong", "id": 4, "seq": {}}}"#,
        u64::MAX
    ));
    assert!(sim.client.state().is_connected());
}

#[test]
#[should_panic(expected = "wants no socket")]
fn sim_socket_events_without_a_socket_fail_loudly() {
    let mut sim = connected(&[]);
    sim.command(Command::SignOut);
    sim.server_says(r#"{"type": "pong", "id": 1}"#);
}

#[test]
#[should_panic(expected = "not open yet")]
fn sim_messages_before_open_fail_loudly() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.server_says(r#"{"type": "pong", "id": 1}"#);
}

#[test]
fn test_connection_steps_are_named_checks_in_order() {
    let mut sim = connected(&[]);
    sim.command(Command::TestConnection);
    sim.advance(ms(100));
    let steps = sim.snapshot.clone().unwrap().test.unwrap();
    let checks: Vec<TestCheck> = steps.iter().map(|s| s.check).collect();
    assert_eq!(checks, TestCheck::ALL);
    assert_eq!(steps[1].check, TestCheck::HostAccess);
    assert_eq!(steps[1].status, StepStatus::Running);
}

#[test]
fn uploads_rotating_over_three_followed_quizzes_each_reissue_their_notification() {
    // The worker bench's load: another user uploads on three followed quizzes in turn,
    // 4 s apart, so each quiz's notification is 12 s old at its next upload.
    let mut sim = connected(&["q1", "q2", "q3"]);
    sim.advance(secs(1));
    let mut issued = 0;
    for i in 0..30 {
        let quiz = ["q1", "q2", "q3"][i % 3];
        sim.take();
        sim.server_says(&session_json(quiz, "bob", sim.now));
        let notified = sim
            .take()
            .iter()
            .any(|a| matches!(a, Action::Notify(n) if n.id == format!("quiz:{quiz}")));
        issued += usize::from(notified);
        sim.advance(secs(4));
        // Headless Chromium (like some desktops) closes a notification by itself after
        // about 8 s, `byUser` false: the quiz's group goes on.
        let id = format!("quiz:{quiz}");
        sim.input(|c, now| c.handle_notification_closed(&id, false, now));
    }
    assert_eq!(issued, 30);
}

#[test]
fn a_notification_the_user_closed_starts_afresh_under_the_rate_limit() {
    let mut sim = connected(&["q1", "q2", "q3", "q4"]);
    sim.advance(secs(1));
    for quiz in ["q1", "q2", "q3"] {
        sim.server_says(&session_json(quiz, "bob", sim.now));
    }
    sim.advance(secs(12));
    sim.take();
    // Three new notifications this minute: the user dismisses q1's; its next alert is
    // a new notification, held back by the rate limit (3 a minute).
    sim.input(|c, now| c.handle_notification_closed("quiz:q1", true, now));
    sim.server_says(&session_json("q1", "cy", sim.now));
    assert!(!sim.take().iter().any(|a| matches!(a, Action::Notify(_))));
    // q2's timed out: its next alert updates the group, re-created ("2 new sessions").
    sim.input(|c, now| c.handle_notification_closed("quiz:q2", false, now));
    sim.server_says(&session_json("q2", "cy", sim.now));
    let notes: Vec<_> = sim
        .take()
        .into_iter()
        .filter_map(|a| match a {
            Action::Notify(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].id, "quiz:q2");
    assert!(notes[0].update);
}
