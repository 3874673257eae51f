//! Day-one trust, on simulated time: no loop without a floor, no clock trusted, tokens
//! kept to their server. Each test is one defect a real deployment would hit, named
//! for the rule that now holds (issue 15, section 1).

use std::time::Duration;

use quizpulse::cache::ResponseHeaders;
use quizpulse::client::{Action, ClientConfig, PersistKey, RetryPlan};
use quizpulse::conn::ConnState;
use quizpulse::messages::{Command, Secret};
use quizpulse::settings::{QuietHours, Settings};
use quizpulse::sim::{Sim, T0, token};
use quizpulse::{StoredState, Timestamp};

/// The log's entries, one `time  key(args)` line each, for failure messages.
fn log_text(log: &quizpulse::events::EventLog) -> String {
    log.entries()
        .map(|e| format!("{}  {}\n", e.at, e.text))
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const REFRESH: &str = "/api/token/refresh/";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A backend on the true clock: issues tokens living `access` (refresh tokens a day),
/// answers reads, accepts sockets.
struct Backend {
    access: Duration,
    /// Rotate the refresh token on every refresh (SimpleJWT's ROTATE_REFRESH_TOKENS).
    rotate: bool,
}

impl Backend {
    fn pair(&self, sim: &Sim) -> String {
        let now = sim.server_now;
        format!(
            r#"{{"access": "{}", "refresh": "{}"}}"#,
            token("access", "7", now, now + self.access),
            token("refresh", "7", now, now + secs(86_400))
        )
    }

    /// Answers everything outstanding and opens a wanted socket.
    fn serve(&self, sim: &mut Sim) {
        for r in sim.requests(REFRESH) {
            let body = if self.rotate {
                self.pair(sim)
            } else {
                let now = sim.server_now;
                format!(
                    r#"{{"access": "{}"}}"#,
                    token("access", "7", now, now + self.access)
                )
            };
            sim.respond(r.id, 200, &body);
        }
        sim.answer_reads();
        if sim.socket().is_some() && !sim.client.state().is_connected() {
            sim.open();
        }
    }
}

fn refreshes(sim: &Sim) -> usize {
    sim.count(|a| matches!(a, Action::Fetch(r) if r.path == REFRESH))
}

fn attempts(sim: &Sim) -> usize {
    sim.count(|a| matches!(a, Action::OpenSocket { .. }))
}

/// Signs in through the form, the backend answering.
fn signed_in(sim: &mut Sim, backend: &Backend) {
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "http://127.0.0.1:8000".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    let Some(req) = sim.requests("/api/token/").pop() else {
        panic!("no token request");
    };
    let body = backend.pair(sim);
    sim.respond(req.id, 200, &body);
    backend.serve(sim);
}

/// Runs the backend for `d`, in steps of `step`.
fn run(sim: &mut Sim, backend: &Backend, d: Duration, step: Duration) {
    let mut left = d;
    while !left.is_zero() {
        let s = step.min(left);
        sim.advance(s);
        backend.serve(sim);
        left -= s;
    }
}

#[test]
fn ten_second_tokens_are_refreshed_about_once_per_life_not_in_a_loop() {
    // Was: 11 512 refreshes in 60 s against a server issuing 10 s tokens.
    let backend = Backend {
        access: secs(10),
        rotate: false,
    };
    let mut sim = Sim::new(ClientConfig::default());
    signed_in(&mut sim, &backend);
    run(&mut sim, &backend, secs(60), Duration::from_millis(250));
    let n = refreshes(&sim);
    assert!(
        (6..=12).contains(&n),
        "{n} refreshes in 60 s of 10 s tokens"
    );
    assert!(sim.client.state().is_connected());
}

#[test]
fn token_lifetimes_hold_whatever_the_browsers_clock_says() {
    // Browser clock equal to, 5 min ahead of, 1 h behind and 1 day ahead of the server's.
    for offset in [0, 5 * MINUTE, -HOUR, DAY] {
        for life in [10u64, 60, 300] {
            for rotate in [false, true] {
                let backend = Backend {
                    access: secs(life),
                    rotate,
                };
                let mut sim = Sim::with_clock_offset(ClientConfig::default(), offset);
                signed_in(&mut sim, &backend);
                run(&mut sim, &backend, secs(600), Duration::from_millis(500));
                let what = format!("{life} s tokens, clock {offset} ms off, rotate {rotate}");
                assert!(sim.client.state().is_connected(), "{what}: not connected");
                assert_eq!(attempts(&sim), 1, "{what}: the socket stayed up");
                let lives = 600 / life as usize;
                let n = refreshes(&sim);
                assert!(
                    n >= lives / 2 && n <= 2 * lives,
                    "{what}: {n} refreshes in {lives} lifetimes"
                );
                assert!(
                    !sim.notifications.contains_key("account"),
                    "{what}: no sign-in warning"
                );
            }
        }
    }
}

#[test]
fn a_server_answering_with_expired_looking_tokens_gets_a_bounded_number_of_calls() {
    let mut sim = Sim::new(ClientConfig::default());
    signed_in(
        &mut sim,
        &Backend {
            access: secs(300),
            rotate: false,
        },
    );
    // From now on every refresh brings a token that expired before it was issued, and
    // the server refuses it everywhere.
    for _ in 0..1200 {
        sim.advance(Duration::from_millis(500));
        for r in sim.requests(REFRESH) {
            let now = sim.server_now;
            let body = format!(
                r#"{{"access": "{}"}}"#,
                token("access", "7", now, now - secs(60))
            );
            sim.respond(r.id, 200, &body);
        }
        let reads: Vec<u64> = sim
            .outstanding
            .values()
            .filter(|r| r.bearer.is_some())
            .map(|r| r.id)
            .collect();
        for id in reads {
            sim.respond(id, 401, r#"{"code": "token_not_valid"}"#);
        }
        if sim.client.state().is_connected() {
            sim.server_says(r#"{"type": "pong", "id": 1}"#);
            sim.server_closes(4001, true);
        } else if sim.socket().is_some() {
            sim.server_closes(4001, false);
        }
    }
    let n = refreshes(&sim);
    assert!(n <= 25, "{n} refresh calls in 10 min");
}

#[test]
fn a_failed_refresh_backs_off_instead_of_restarting_at_once() {
    // Started offline-ish with yesterday's token: every refresh fails at once. Was:
    // 10 000 refresh attempts and 10 001 log writes with no time passing.
    for answer in ["network", "503", "429", "portal"] {
        let mut sim = Sim::new(ClientConfig::default());
        let yesterday = T0 - secs(86_400);
        let pair = format!(
            r#"{{"access": "{}", "refresh": "{}"}}"#,
            token("access", "7", yesterday, yesterday + secs(300)),
            token("refresh", "7", yesterday, yesterday + secs(2 * 86_400))
        );
        sim.start(StoredState::default().with(
            PersistKey::Auth,
            format!(r#"{{"tokens": {pair}, "username": "ann"}}"#),
        ));
        let fail = |sim: &mut Sim| {
            for r in sim.requests(REFRESH) {
                match answer {
                    "network" => sim.fail(r.id, "Failed to fetch"),
                    "503" => sim.respond(r.id, 503, "Service Unavailable"),
                    "429" => sim.respond_with(
                        r.id,
                        429,
                        r#"{"detail": "slow down"}"#,
                        ResponseHeaders {
                            date: None,
                            retry_after: Some("120".into()),
                        },
                    ),
                    _ => sim.respond(r.id, 200, "<html><body>Sign in to the Wi-Fi</body></html>"),
                }
            }
        };
        for _ in 0..100 {
            fail(&mut sim);
        }
        assert_eq!(refreshes(&sim), 1, "{answer}: no time passed, one attempt");
        for _ in 0..600 {
            sim.advance(secs(1));
            fail(&mut sim);
        }
        let n = refreshes(&sim);
        let most = if answer == "429" { 6 } else { 16 };
        assert!(n <= most, "{answer}: {n} refreshes in 10 min");
        assert!(n >= 2, "{answer}: it keeps trying");
        let log_writes: Vec<Timestamp> = sim
            .history
            .iter()
            .zip(&sim.history_at)
            .filter(|(a, _)| {
                matches!(
                    a,
                    Action::Persist {
                        key: PersistKey::EventLog,
                        ..
                    }
                )
            })
            .map(|(_, (t, _))| *t)
            .collect();
        assert!(
            log_writes
                .windows(2)
                .all(|w| w[1].saturating_since(w[0]) >= secs(1)),
            "{answer}: the log is written at most once a second"
        );
        assert!(
            !matches!(sim.client.state(), ConnState::AuthFailed { .. }),
            "{answer}: no answer is not a refusal"
        );
    }
}

#[test]
fn a_clock_stepping_back_does_not_freeze_the_timers() {
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(3600),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    sim.advance(secs(5));
    sim.take();
    // An hour's NTP or dual-boot correction.
    sim.jump_clock(-HOUR);
    sim.advance(secs(60));
    let pings = sim.sent().iter().filter(|t| t.contains("ping")).count();
    assert_eq!(pings, 3, "keepalive every 20 s goes on");
    // A newly opened popup gets a snapshot; the badge follows the state.
    sim.snapshot = None;
    sim.command(Command::Hello);
    sim.advance(secs(1));
    assert!(sim.snapshot.is_some(), "the popup got a snapshot");
    let sets = sim.badge_sets;
    sim.server_closes(1006, true);
    sim.advance(secs(1));
    assert!(sim.badge_sets > sets, "the badge follows");
    // And the clock jumping ahead again is time passed, not a storm.
    sim.jump_clock(2 * HOUR);
    sim.advance(secs(1));
    backend.serve(&mut sim);
    assert!(attempts(&sim) <= 3);
}

#[test]
fn new_session_alerts_are_not_dropped_when_the_browsers_clock_is_fast() {
    // Six minutes fast, and a backend that sends no `sent_at`: was, every new-session
    // notification dropped.
    let mut sim = Sim::with_clock_offset(ClientConfig::default(), 6 * MINUTE);
    let backend = Backend {
        access: secs(300),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    sim.command(Command::Follow {
        quiz_id: "q1".into(),
    });
    sim.advance(secs(30));
    let completed = sim.server_now;
    sim.server_says(&format!(
        r#"{{"type": "quiz_session_uploaded", "data": {{"session_id": "9", "quiz_id": "q1", "subject_id": "s1", "user_id": "9", "username": "bob", "score": 87, "completed_at": "{completed}"}}}}"#
    ));
    assert!(
        sim.notifications.keys().any(|k| k.contains("q1")),
        "{:?}",
        sim.notifications.keys().collect::<Vec<_>>()
    );
    // Still no storm from old news: an event dated an hour before the connection on the
    // server's own clock is not notified.
    let old = sim.server_now - secs(3600);
    sim.server_says(&format!(
        r#"{{"type": "quiz_session_uploaded", "data": {{"session_id": "8", "quiz_id": "q1", "subject_id": "s1", "user_id": "8", "username": "eve", "score": 1, "completed_at": "{old}"}}}}"#
    ));
    let text = sim
        .notifications
        .values()
        .map(|n| n.message.to_string())
        .collect::<String>();
    assert!(!text.contains("eve"), "{text}");
}

#[test]
fn a_backend_that_answers_ping_with_error_does_not_flood_the_log() {
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(3600),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    for _ in 0..60 {
        sim.advance(secs(20));
        if sim.sent().iter().any(|t| t.contains("\"ping\"")) {
            sim.server_says(r#"{"type": "error", "message": "Unknown message type: ping"}"#);
        }
        sim.take();
    }
    let log = sim.client.event_log();
    let errors = log
        .entries()
        .filter(|e| e.text.key == "log_server_error")
        .count();
    assert_eq!(errors, 0, "{}", log_text(log));
    let notes = log
        .entries()
        .filter(|e| e.text.key == "log_ping_unsupported")
        .count();
    assert_eq!(notes, 1, "said once:\n{}", log_text(log));
    let warnings = sim.shown().toasts.len();
    assert_eq!(warnings, 0);
    assert!(sim.client.state().is_connected());
    // An error that answers something else is still news.
    sim.command(Command::Follow {
        quiz_id: "zzz".into(),
    });
    sim.server_says(r#"{"type": "error", "message": "unknown quiz \"zzz\""}"#);
    assert!(
        sim.client
            .event_log()
            .entries()
            .any(|e| e.text
                == quizpulse::Text::new("log_server_error").plain("unknown quiz \"zzz\""))
    );
}

#[test]
fn a_frame_then_4001_every_time_ends_in_auth_failed_not_a_loop() {
    // Was: refresh + reconnect forever (50 cycles in 0 ms), never "auth failed".
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(300),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    for _ in 0..50 {
        if sim.client.state().is_connected() {
            sim.server_says(
                r#"{"type": "subscription_confirmed", "quiz_id": "x", "message": "ok"}"#,
            );
            sim.server_closes(4001, true);
        }
        backend.serve(&mut sim);
        sim.advance(Duration::from_millis(200));
        backend.serve(&mut sim);
    }
    assert!(
        matches!(sim.client.state(), ConnState::AuthFailed { .. }),
        "{:?}",
        sim.client.state()
    );
    assert!(refreshes(&sim) <= 2, "{}", refreshes(&sim));
    assert!(attempts(&sim) <= 3, "{}", attempts(&sim));
}

#[test]
fn the_backoff_survives_worker_restarts() {
    // The server down for an hour, the worker stopped between alarms. Was: 42 socket
    // attempts instead of about 9, and a slow retry that never grew past 30 s.
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(7200),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    sim.server_closes(1006, true);
    let start = sim.server_now;
    let mut slow_waits = Vec::new();
    let mut seed = 1;
    while sim.server_now.saturating_since(start) < secs(3600) {
        match sim.client.state() {
            ConnState::Retrying { next_at, .. } => sim.advance(next_at.saturating_since(sim.now)),
            ConnState::Suspended { next_at } => {
                let wait = next_at.saturating_since(sim.now);
                slow_waits.push(wait);
                // The worker is stopped while it waits; the alarm starts a new one.
                seed += 1;
                sim.restart_worker(ClientConfig {
                    seed,
                    ..ClientConfig::default()
                });
                assert!(
                    matches!(sim.client.state(), ConnState::Suspended { .. }),
                    "a restarted worker goes on waiting: {:?}",
                    sim.client.state()
                );
                sim.sleep_then_alarm(wait);
            }
            ConnState::Connecting => sim.advance(secs(1)),
            other => panic!("{other:?}"),
        }
        for r in sim.requests(REFRESH) {
            sim.fail(r.id, "Failed to fetch");
        }
        if sim.socket().is_some() {
            sim.server_closes(1006, false);
        }
    }
    let n = attempts(&sim);
    assert!(n <= 24, "{n} attempts in an hour");
    assert!(
        slow_waits.iter().any(|w| *w >= secs(225)),
        "the slow retry grows: {slow_waits:?}"
    );
    let plan: RetryPlan = serde_json::from_str(&sim.storage[&PersistKey::Retry]).unwrap();
    assert!(plan.slow_n >= 3, "{plan:?}");
}

#[test]
fn quiet_hours_follow_a_zone_change_while_the_worker_runs() {
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(7200),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    // T0 is 06:00 UTC. Quiet from 06:30 to 07:30 local: UTC+0 is not quiet yet.
    let mut settings = sim.client.settings().clone();
    settings.notifications.quiet_hours = Some(QuietHours {
        start_minute: 6 * 60 + 30,
        end_minute: 7 * 60 + 30,
    });
    sim.command(Command::SaveSettings { settings });
    sim.command(Command::Follow {
        quiz_id: "q1".into(),
    });
    sim.advance(secs(1));
    // Daylight saving starts: the zone is now UTC+1, it is 07:00 local, quiet.
    sim.client.set_utc_offset(60);
    sim.server_says(&format!(
        r#"{{"type": "quiz_session_uploaded", "data": {{"session_id": "9", "quiz_id": "q1", "subject_id": "s1", "user_id": "9", "username": "bob", "score": 87, "completed_at": "{}"}}}}"#,
        sim.server_now
    ));
    assert!(sim.notifications.keys().all(|k| !k.contains("q1")));
}

#[test]
fn a_refresh_token_that_looks_past_on_a_fast_clock_does_not_end_the_sign_in() {
    // A 1-day refresh token, the browser 2 days fast: was "Sign-in needed" at once.
    let mut sim = Sim::with_clock_offset(ClientConfig::default(), 2 * DAY);
    let backend = Backend {
        access: secs(60),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    run(&mut sim, &backend, secs(300), secs(1));
    assert!(sim.client.state().is_connected());
    assert!(!sim.notifications.contains_key("account"));
    assert!(refreshes(&sim) >= 3);
}

#[test]
fn the_expiry_warning_is_said_once_per_sign_in_not_after_every_rotation() {
    // Rotating refresh tokens with the clock an hour ahead: was, a warning after every
    // rotation. A rotated token is a renewed sign-in.
    let mut sim = Sim::with_clock_offset(ClientConfig::default(), HOUR);
    let backend = Backend {
        access: secs(300),
        rotate: true,
    };
    signed_in(&mut sim, &backend);
    run(&mut sim, &backend, secs(3600), secs(5));
    assert!(!sim.notifications.contains_key("account"));

    // A sign-in that is not renewed (2 h refresh token, no rotation) is warned about
    // once, a quarter of its life before the end, whatever the clock.
    let mut sim = Sim::with_clock_offset(ClientConfig::default(), HOUR);
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "http://127.0.0.1:8000".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    let req = sim.requests("/api/token/").pop().unwrap();
    let now = sim.server_now;
    let body = format!(
        r#"{{"access": "{}", "refresh": "{}"}}"#,
        token("access", "7", now, now + secs(7200)),
        token("refresh", "7", now, now + secs(7200))
    );
    sim.respond(req.id, 200, &body);
    sim.open();
    sim.advance(secs(5399));
    assert!(!sim.notifications.contains_key("account"));
    sim.advance(secs(2));
    assert_eq!(
        sim.count(|a| matches!(a, Action::Notify(n) if n.id == "account")),
        1
    );
    sim.restart_worker(ClientConfig::default());
    sim.advance(secs(60));
    assert_eq!(
        sim.count(|a| matches!(a, Action::Notify(n) if n.id == "account")),
        1,
        "once, across a worker restart"
    );
}

#[test]
fn a_page_cannot_make_the_socket_carry_a_huge_or_odd_quiz_id() {
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(3600),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    sim.take();
    let huge = "9".repeat(1 << 20);
    sim.input(|c, now| c.handle_tab_quiz(1, Some(huge.into()), now));
    sim.input(|c, now| c.handle_tab_quiz(2, Some("a\"b".into()), now));
    assert!(sim.sent().is_empty(), "nothing sent for a bad id");
    sim.input(|c, now| c.handle_tab_quiz(3, Some("42".into()), now));
    assert_eq!(
        sim.sent(),
        [r#"{"type": "subscribe_quiz", "quiz_id": "42"}"#]
    );
}

#[test]
fn a_subscription_the_server_refused_is_not_sent_again_on_every_reconnect() {
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(3600),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    sim.input(|c, now| c.handle_tab_quiz(1, Some("nope".into()), now));
    sim.server_says(r#"{"type": "error", "message": "unknown quiz \"nope\""}"#);
    for _ in 0..5 {
        sim.advance(secs(30));
        sim.server_closes(1006, true);
        run(&mut sim, &backend, secs(10), secs(1));
    }
    let subscribes = sim.count(
        |a| matches!(a, Action::Send { text, .. } if text.contains("subscribe_quiz") && text.contains("nope")),
    );
    assert_eq!(subscribes, 1);
    // The user following it on purpose tries once more.
    sim.command(Command::Follow {
        quiz_id: "nope".into(),
    });
    let again = sim.count(
        |a| matches!(a, Action::Send { text, .. } if text.contains("subscribe_quiz") && text.contains("nope")),
    );
    assert_eq!(again, 2);
}

#[test]
fn passwords_and_tokens_never_go_to_another_computer_in_clear_text() {
    let with = |server: &str, socket: Option<&str>, allow: bool| Settings {
        server_url: server.into(),
        socket_url: socket.map(str::to_owned),
        allow_insecure: allow,
        ..Settings::default()
    };
    let err = with("http://quiz.example.org", None, false)
        .validated()
        .unwrap_err()
        .to_string();
    assert!(err.contains("https://quiz.example.org"), "{err}");
    let err = with(
        "https://quiz.example.org",
        Some("ws://live.example.org/ws/"),
        false,
    )
    .validated()
    .unwrap_err();
    assert_eq!(
        err,
        quizpulse::settings::SettingsError::SocketUrl(
            quizpulse::Text::new("url_needs_wss").text(quizpulse::Text::new("check_insecure"))
        )
    );
    for ok in [
        with("https://quiz.example.org", None, false),
        with("http://127.0.0.1:8000", None, false),
        with(
            "http://localhost:8000",
            Some("ws://127.0.0.5:9000/ws/"),
            false,
        ),
        with("http://[::1]:8000", None, false),
        with(
            "http://quiz.example.org",
            Some("ws://live.example.org/"),
            true,
        ),
    ] {
        assert!(ok.validated().is_ok(), "{ok:?}");
    }
    // The sign-in form goes by the same rule.
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(StoredState::default());
    sim.command(Command::SignIn {
        server: "http://quiz.example.org".into(),
        username: "ann".into(),
        password: Secret("pw".into()),
    });
    assert!(sim.requests("/api/token/").is_empty(), "no password sent");
}

#[test]
fn no_token_reaches_the_copyable_log() {
    let mut sim = Sim::new(ClientConfig::default());
    let backend = Backend {
        access: secs(3600),
        rotate: false,
    };
    signed_in(&mut sim, &backend);
    let access = sim
        .history
        .iter()
        .find_map(|a| match a {
            Action::OpenSocket { url, .. } => url.split_once("token=").map(|(_, t)| t.to_owned()),
            _ => None,
        })
        .unwrap();
    // The browser rejects the socket URL and echoes it in its error.
    sim.server_closes(1006, true);
    sim.advance(secs(2));
    let socket = sim.socket().unwrap();
    sim.input(|c, now| {
        c.handle_socket_closed(
            socket,
            1006,
            &format!("SyntaxError: The URL 'ws://127.0.0.1:8000/ws/leaderboard/?token={access}' is invalid."),
            false,
            now,
        )
    });
    let shown = serde_json::to_string(&sim.shown().events).unwrap();
    assert!(!shown.contains(&access));
    assert!(shown.contains("?token=[token]"));
}
