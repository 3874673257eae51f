//! Golden tests: every JSON example of the contract (`spec/protocol.md`) and of the seed
//! (`seed/websocket-realtime-features.md`), written out as concrete instances, decodes;
//! the outgoing messages encode to the contract's exact text.

use quizpulse::cache::{QueryData, QueryKey};
use quizpulse::json::FromJson;
use quizpulse::messages::{Command, Secret, WorkerMessage};
use quizpulse::settings::Settings;
use quizpulse::sim::{Sim, T0, signed_in_storage};
use quizpulse::wire::{
    ApiError, ClientMessage, Entry, NewSession, Performance, Quiz, QuizBoard, RefreshRequest,
    RefreshResponse, ServerFrame, ServerMessage, SessionEvent, Subject, SubjectBoard, TokenPair,
    TokenRequest,
};
use quizpulse::{Action, ClientConfig};

/// Decodes `text` the way the extension does (`FromJson`) and the way serde does (the
/// server's side, and the derive the types keep), and checks that both agree.
fn both<T>(text: &str) -> Result<T, serde_json::Error>
where
    T: FromJson + serde::de::DeserializeOwned + PartialEq,
{
    let ours = T::from_json_text(text)?;
    assert!(
        ours == serde_json::from_str::<T>(text)?,
        "the two readers differ on {text}"
    );
    Ok(ours)
}

// ---------------------------------------------------------------- section 1: auth

#[test]
fn contract_token_request_body_encodes_and_decodes() {
    let body = r#"{"username": "ann", "password": "s3cret"}"#;
    let req: TokenRequest = serde_json::from_str(body).unwrap();
    assert_eq!(req.username, "ann");
    assert_eq!(quizpulse::wire::to_python_json(&req), body);
}

#[test]
fn contract_token_pair_decodes() {
    let pair: TokenPair = both(
        r#"{"access": "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.sig", "refresh": "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.sig"}"#,
    )
    .unwrap();
    assert!(pair.access.ends_with(".sig") && pair.refresh.ends_with(".sig"));
}

#[test]
fn contract_refresh_bodies_decode_with_and_without_a_rotated_refresh() {
    let req: RefreshRequest = serde_json::from_str(r#"{"refresh": "r.t.s"}"#).unwrap();
    assert_eq!(req.refresh, "r.t.s");
    let only: RefreshResponse = both(r#"{"access": "a.b.c"}"#).unwrap();
    assert_eq!((only.access.as_str(), only.refresh), ("a.b.c", None));
    let rotated: RefreshResponse = both(r#"{"access": "a.b.c", "refresh": "d.e.f"}"#).unwrap();
    assert_eq!(rotated.refresh.as_deref(), Some("d.e.f"));
}

#[test]
fn contract_error_bodies_decode() {
    let e: ApiError =
        serde_json::from_str(r#"{"detail": "No active account found with the given credentials"}"#)
            .unwrap();
    assert_eq!(e.code, None);
    let e: ApiError = serde_json::from_str(
        r#"{"detail": "Token is invalid or expired", "code": "token_not_valid"}"#,
    )
    .unwrap();
    assert!(e.is_token_not_valid());
    let e: ApiError = serde_json::from_str(
        r#"{"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}"#,
    )
    .unwrap();
    assert!(
        e.is_token_not_valid(),
        "SimpleJWT's extra fields are ignored"
    );
}

// ---------------------------------------------------------------- section 2: REST reads

const ENTRY: &str =
    r#"{"rank": 1, "user_id": "7", "username": "ann", "score": 187.5, "sessions": 3}"#;

#[test]
fn contract_subjects_and_quizzes_decode() {
    let subjects: Vec<Subject> =
        both(r#"[{"id": "s1", "name": "Mathematics"}, {"id": "s2", "name": "Physics"}]"#).unwrap();
    assert_eq!(subjects[1].name, "Physics");
    let quizzes: Vec<Quiz> =
        both(r#"[{"id": "q1", "title": "Quadratics", "subject_id": "s1", "sessions_count": 12}]"#)
            .unwrap();
    assert_eq!(quizzes[0].sessions_count, 12);
}

#[test]
fn contract_subject_leaderboards_decode_with_ties_and_null_updated_at() {
    let body = format!(
        r#"[{{"subject": {{"id": "s1", "name": "Mathematics"}}, "entries": [{ENTRY}, {{"rank": 1, "user_id": "8", "username": "bob", "score": 187.5, "sessions": 2}}], "updated_at": "2026-03-01T12:00:00Z"}}, {{"subject": {{"id": "s2", "name": "Physics"}}, "entries": [], "updated_at": null}}]"#
    );
    let boards: Vec<SubjectBoard> = both(&body).unwrap();
    assert_eq!(boards[0].entries[1].rank, 1);
    assert_eq!(boards[1].updated_at, None);
    assert!(matches!(
        QueryData::decode(&QueryKey::SubjectBoards, &body),
        Ok(QueryData::SubjectBoards(_))
    ));
}

#[test]
fn contract_quiz_leaderboard_decodes() {
    let body = format!(
        r#"{{"quiz": {{"id": "q1", "title": "Quadratics", "subject_id": "s1"}}, "entries": [{ENTRY}], "updated_at": "2026-03-01T12:00:00.123456Z"}}"#
    );
    let board: QuizBoard = both(&body).unwrap();
    assert_eq!(board.quiz.title, "Quadratics");
    assert_eq!(board.entries[0].score, 187.5);
}

#[test]
fn contract_my_performance_decodes() {
    let perf: Performance = both(
        r#"{"user": {"id": "7", "username": "ann"}, "subjects": [{"subject_id": "s1", "rank": 2, "score": 150, "sessions": 4}], "recent_sessions": [{"session_id": "x9", "quiz_id": "q1", "score": 80, "completed_at": "2026-03-01T12:00:00Z"}]}"#,
    )
    .unwrap();
    assert_eq!(perf.subjects[0].rank, 2);
    assert_eq!(perf.recent_sessions[0].quiz_id.as_str(), "q1");
}

// ---------------------------------------------------------------- section 3: REST write

#[test]
fn contract_new_session_body_and_201_decode() {
    let new: NewSession =
        serde_json::from_str(r#"{"quiz_id": "q1", "score": 87, "duration_s": 312}"#).unwrap();
    assert_eq!(new.duration_s, 312.0);
    let created: SessionEvent = serde_json::from_str(
        r#"{"session_id": "x10", "quiz_id": "q1", "subject_id": "s1", "user_id": "7", "username": "ann", "score": 87, "completed_at": "2026-03-01T12:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(created.username, "ann");
}

// ---------------------------------------------------------------- section 4: the socket

#[test]
fn contract_quiz_session_uploaded_decodes() {
    let f = ServerFrame::decode(
        r#"{"type": "quiz_session_uploaded", "data": {"session_id": "x10", "quiz_id": "q1", "subject_id": "s1", "user_id": "7", "username": "ann", "score": 87, "completed_at": "2026-03-01T12:00:00Z"}}"#,
    )
    .unwrap();
    let ServerMessage::QuizSessionUploaded { session: Some(s) } = f.message else {
        panic!("{f:?}")
    };
    assert_eq!((s.quiz_id.as_str(), s.score), ("q1", 87.0));
}

#[test]
fn contract_leaderboard_updated_decodes_with_and_without_entries() {
    let f = ServerFrame::decode(r#"{"type": "leaderboard_updated", "data": {"subject_id": "s1"}}"#)
        .unwrap();
    assert_eq!(
        f.message,
        ServerMessage::LeaderboardUpdated {
            subject_id: Some("s1".into()),
            entries: None
        }
    );
    let f = ServerFrame::decode(&format!(
        r#"{{"type": "leaderboard_updated", "data": {{"subject_id": "s1", "entries": [{ENTRY}]}}, "seq": 4, "sent_at": "2026-03-01T12:00:00.250Z"}}"#
    ))
    .unwrap();
    let ServerMessage::LeaderboardUpdated {
        entries: Some(entries),
        ..
    } = f.message
    else {
        panic!()
    };
    let expected: Entry = both(ENTRY).unwrap();
    assert_eq!(entries, [expected]);
    assert_eq!(f.seq, Some(4));
    assert_eq!(f.sent_at.as_deref(), Some("2026-03-01T12:00:00.250Z"));
}

#[test]
fn contract_quiz_leaderboard_updated_decodes() {
    let f =
        ServerFrame::decode(r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "q1"}}"#)
            .unwrap();
    assert_eq!(
        f.message,
        ServerMessage::QuizLeaderboardUpdated {
            quiz_id: "q1".into(),
            entries: None
        }
    );
}

#[test]
fn contract_subscription_confirmed_decodes() {
    let f = ServerFrame::decode(
        r#"{"type": "subscription_confirmed", "quiz_id": "q1", "message": "Subscribed to quiz q1"}"#,
    )
    .unwrap();
    assert_eq!(
        f.message,
        ServerMessage::SubscriptionConfirmed {
            quiz_id: "q1".into(),
            message: "Subscribed to quiz q1".into()
        }
    );
}

#[test]
fn contract_optional_pong_and_error_decode() {
    assert_eq!(
        ServerFrame::decode(r#"{"type": "pong", "id": 3}"#)
            .unwrap()
            .message,
        ServerMessage::Pong { id: 3 }
    );
    assert_eq!(
        ServerFrame::decode(r#"{"type": "error", "message": "unknown quiz"}"#)
            .unwrap()
            .message,
        ServerMessage::Error {
            message: "unknown quiz".into()
        }
    );
}

#[test]
fn contract_unknown_types_and_fields_are_tolerated() {
    let f = ServerFrame::decode(r#"{"type": "badge_awarded", "data": {"x": 1}}"#).unwrap();
    assert_eq!(
        f.message,
        ServerMessage::Unknown {
            kind: "badge_awarded".into()
        }
    );
    let f = ServerFrame::decode(
        r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "q1", "extra": [1, 2]}, "shard": "eu"}"#,
    )
    .unwrap();
    assert!(matches!(
        f.message,
        ServerMessage::QuizLeaderboardUpdated { .. }
    ));
}

#[test]
fn contract_client_messages_encode_to_the_exact_text() {
    assert_eq!(
        ClientMessage::SubscribeQuiz {
            quiz_id: "q1".into()
        }
        .encode(),
        r#"{"type": "subscribe_quiz", "quiz_id": "q1"}"#
    );
    assert_eq!(
        ClientMessage::UnsubscribeQuiz {
            quiz_id: "q1".into()
        }
        .encode(),
        r#"{"type": "unsubscribe_quiz", "quiz_id": "q1"}"#
    );
    assert_eq!(
        ClientMessage::Ping { id: 1 }.encode(),
        r#"{"type": "ping", "id": 1}"#
    );
}

#[test]
fn contract_socket_url_is_the_leaderboard_path_with_the_token_query() {
    let s = Settings {
        server_url: "https://quiz.example.com".into(),
        ..Settings::default()
    }
    .validated()
    .unwrap();
    assert_eq!(
        s.socket_url_with_token("a.b.c"),
        "wss://quiz.example.com/ws/leaderboard/?token=a.b.c"
    );
}

// ---------------------------------------------------------------- the seed's examples

#[test]
fn seed_incoming_examples_decode_even_with_empty_data() {
    // `{ type: 'quiz_session_uploaded', data: { /* session data */ } }` and friends.
    let f = ServerFrame::decode(r#"{"type": "quiz_session_uploaded", "data": {}}"#).unwrap();
    assert_eq!(
        f.message,
        ServerMessage::QuizSessionUploaded { session: None }
    );
    let f = ServerFrame::decode(r#"{"type": "leaderboard_updated", "data": {}}"#).unwrap();
    assert_eq!(
        f.message,
        ServerMessage::LeaderboardUpdated {
            subject_id: None,
            entries: None
        }
    );
    let f = ServerFrame::decode(
        r#"{"type": "quiz_leaderboard_updated", "data": {"quiz_id": "42", "leaderboard": []}}"#,
    )
    .unwrap();
    assert_eq!(
        f.message,
        ServerMessage::QuizLeaderboardUpdated {
            quiz_id: "42".into(),
            entries: None
        }
    );
    let f = ServerFrame::decode(
        r#"{"type": "subscription_confirmed", "quiz_id": "42", "message": "Subscribed"}"#,
    )
    .unwrap();
    assert!(matches!(
        f.message,
        ServerMessage::SubscriptionConfirmed { .. }
    ));
}

#[test]
fn seed_messages_with_empty_data_still_invalidate_what_they_touch() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.open();
    sim.answer_reads();
    sim.advance(std::time::Duration::from_secs(2));
    sim.server_says(r#"{"type": "quiz_session_uploaded", "data": {}}"#);
    sim.server_says(r#"{"type": "leaderboard_updated", "data": {}}"#);
    sim.advance(std::time::Duration::from_secs(1));
    let mut paths: Vec<String> = sim.outstanding.values().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/leaderboard/subjects/?limit=10",
            "/api/quizzes/",
            "/api/users/me/performance/"
        ]
    );
}

#[test]
fn seed_outgoing_examples_are_what_the_client_sends() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &[]));
    sim.open();
    sim.take();
    sim.command(Command::Follow {
        quiz_id: "42".into(),
    });
    sim.command(Command::Unfollow {
        quiz_id: "42".into(),
    });
    assert_eq!(
        sim.sent(),
        [
            r#"{"type": "subscribe_quiz", "quiz_id": "42"}"#,
            r#"{"type": "unsubscribe_quiz", "quiz_id": "42"}"#
        ]
    );
}

#[test]
fn seed_endpoint_matches_the_default_socket_url() {
    // "ws://localhost:8000/ws/leaderboard/?token=<jwt_token>"
    let s = Settings {
        server_url: "http://localhost:8000".into(),
        ..Settings::default()
    }
    .validated()
    .unwrap();
    assert_eq!(
        s.socket_url_with_token("JWT"),
        "ws://localhost:8000/ws/leaderboard/?token=JWT"
    );
}

// ---------------------------------------------------------------- popup messages

#[test]
fn popup_commands_are_tagged_json() {
    let c = Command::from_json(r#"{"type": "follow", "quiz_id": "q1"}"#).unwrap();
    assert_eq!(
        c,
        Command::Follow {
            quiz_id: "q1".into()
        }
    );
    let c = Command::from_json(
        r#"{"type": "sign_in", "server": "http://127.0.0.1:8000", "username": "ann", "password": "pw"}"#,
    )
    .unwrap();
    assert!(matches!(&c, Command::SignIn { password, .. } if *password == Secret("pw".into())));
    assert!(
        !format!("{c:?}").contains("pw\""),
        "passwords stay out of Debug"
    );
    for text in [
        r#"{"type": "ping"}"#,
        r#"{"type": "hello"}"#,
        r#"{"type": "retry_now"}"#,
        r#"{"type": "sign_out"}"#,
        r#"{"type": "mute_for_an_hour"}"#,
        r#"{"type": "test_connection"}"#,
        r#"{"type": "dismiss_toast", "id": 3}"#,
    ] {
        let c = Command::from_json(text).unwrap();
        assert_eq!(Command::from_json(&c.to_json()).unwrap(), c);
    }
}

#[test]
fn snapshots_round_trip_through_the_port() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &["q1"]));
    sim.open();
    sim.answer_reads();
    let snap = sim.snapshot.clone().unwrap();
    let msg = WorkerMessage::Snapshot {
        snapshot: Box::new(snap),
    };
    let text = msg.to_json();
    assert!(text.starts_with(r#"{"type":"snapshot","snapshot":{"#));
    assert_eq!(WorkerMessage::from_json_text(&text).unwrap(), msg);
    let pong = WorkerMessage::Pong {
        version: "0.1.0".into(),
    };
    assert_eq!(pong.to_json(), r#"{"type":"pong","version":"0.1.0"}"#);
    assert!(
        sim.history
            .iter()
            .any(|a| matches!(a, Action::Publish { .. }))
    );
}

#[test]
fn stored_state_and_claims_read_the_same_through_both_readers() {
    use quizpulse::client::{AuthRecord, Outage};
    use quizpulse::jwt::Claims;
    use quizpulse::subscriptions::FollowState;

    let settings: Settings = both(
        r#"{"server_url": "https://quiz.example", "board_limit": 25,
            "notifications": {"rank_changes": false, "quiet_hours": {"start_minute": 1320, "end_minute": 420}}}"#,
    )
    .unwrap();
    assert_eq!(settings.board_limit, 25);
    assert!(!settings.notifications.rank_changes);
    assert!(settings.notifications.new_sessions, "absent: the default");
    assert_eq!(both::<Settings>("{}").unwrap(), Settings::default());
    let follows: FollowState =
        both(r#"{"follows": ["q2", 7], "seen": ["q1"], "baseline_taken": true}"#).unwrap();
    assert_eq!(follows.follows.len(), 2);
    both::<Outage>(r#"{"since": 1700000000000}"#).unwrap();
    both::<AuthRecord>(
        r#"{"tokens": {"access": "a.b.c", "refresh": "d.e.f"}, "username": "ann", "warned_expiry": null}"#,
    )
    .unwrap();
    let claims: Claims =
        both(r#"{"exp": 1700000300, "iat": 1700000000.5, "token_type": "access", "user_id": 7}"#)
            .unwrap();
    assert_eq!(claims.user_id.as_deref(), Some("7"));
    assert!(both::<Claims>(r#"{"user_id": 7.5}"#).is_err());
}

// ---------------------------------------------------------------- the wasm's JSON writer

/// Writes `value` the way the extension does (`ToJson`) and the way serde does (the
/// derive the types keep, which the server and older stored state use), and checks
/// that the texts are the same, byte for byte.
fn written_alike<T: quizpulse::json::ToJson + serde::Serialize>(value: &T) {
    assert_eq!(
        Ok(value.to_json_text()),
        serde_json::to_string(value).map_err(|e| e.to_string()),
        "the two writers differ"
    );
}

#[test]
fn every_value_the_extension_writes_is_written_as_serde_writes_it() {
    use quizpulse::Timestamp;
    use quizpulse::badge::Badge;
    use quizpulse::client::{AuthRecord, Outage, RetryPlan};
    use quizpulse::conn::ConnState;
    use quizpulse::events::LogEntry;
    use quizpulse::messages::{
        Account, QueryView, QuizRow, SignInStatus, StepStatus, SubscriptionStatus, TestCheck,
        TestStep,
    };
    use quizpulse::notify::{Toast, ToastLevel};
    use quizpulse::settings::{NotificationPrefs, QuietHours};
    use quizpulse::small::{VecMap, VecSet};
    use quizpulse::subscriptions::FollowState;
    use quizpulse::wire::{QuizId, QuizRef, RecentSession, SubjectStanding, UserRef};

    let odd = "quote \" back \\ nl \n cr \r tab \t bs \u{8} ff \u{c} nul \0 us \u{1f} del \u{7f} é 😀 <b>";
    for text in ["", "plain", odd] {
        written_alike(&text.to_owned());
        written_alike(&Some(text.to_owned()));
    }
    written_alike(&None::<String>);
    for x in [
        0.0,
        -0.0,
        87.5,
        100.0,
        0.1 + 0.2,
        1e21,
        1e-7,
        -3.25,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::NAN,
        f64::INFINITY,
    ] {
        written_alike(&x);
    }
    written_alike(&(7u32, 87.5, 2u32));
    written_alike(&u64::MAX);
    written_alike(&Timestamp::from_millis(1_795_672_800_123));
    written_alike(&Vec::<u32>::new());
    written_alike(&());

    let mut settings = Settings::default();
    written_alike(&settings);
    settings.socket_url = Some("wss://x.example/ws/".into());
    settings.site_url = Some(odd.into());
    settings.notifications = NotificationPrefs {
        quiet_hours: Some(QuietHours {
            start_minute: 1320,
            end_minute: 420,
        }),
        keep_on_screen: true,
        ..NotificationPrefs::default()
    };
    written_alike(&settings);

    for state in [
        ConnState::SignedOut,
        ConnState::Connecting,
        ConnState::Connected { since: T0 },
        ConnState::Retrying {
            attempt: 2,
            of: 5,
            next_at: T0,
        },
        ConnState::Suspended { next_at: T0 },
        ConnState::AuthFailed { reason: odd.into() },
        ConnState::Offline,
    ] {
        written_alike(&state);
    }
    for status in [
        SignInStatus::Idle,
        SignInStatus::InProgress,
        SignInStatus::Failed(odd.into()),
    ] {
        written_alike(&status);
    }
    for status in [
        SubscriptionStatus::None,
        SubscriptionStatus::Pending,
        SubscriptionStatus::Confirmed,
        SubscriptionStatus::Unconfirmed,
    ] {
        written_alike(&status);
    }
    for (check, status) in TestCheck::ALL.into_iter().zip([
        StepStatus::Waiting,
        StepStatus::Running,
        StepStatus::Passed,
        StepStatus::Failed,
    ]) {
        written_alike(&TestStep {
            check,
            status,
            detail: Some(quizpulse::Text::plain_text(odd)),
        });
        written_alike(&TestStep {
            check,
            status,
            detail: None,
        });
    }
    let said = quizpulse::Text::new("conn_retrying")
        .plain(odd)
        .count(3)
        .number(-2)
        .score(87.25)
        .span(std::time::Duration::from_millis(3000))
        .ago(std::time::Duration::from_secs(90))
        .at(T0)
        .text(quizpulse::Text::new("plain").plain("inner"));
    written_alike(&said);
    written_alike(&quizpulse::Text::new("no_args"));
    use quizpulse::settings::SettingsError;
    for error in [
        SettingsError::ServerUrl(said.clone()),
        SettingsError::SocketUrl(said.clone()),
        SettingsError::SiteUrl(said.clone()),
        SettingsError::BoardLimit(said.clone()),
        SettingsError::QuietHours(said.clone()),
    ] {
        written_alike(&error);
    }
    written_alike(&StepStatus::Skipped);
    for level in [
        ToastLevel::Info,
        ToastLevel::Success,
        ToastLevel::Warning,
        ToastLevel::Error,
    ] {
        written_alike(&Toast {
            id: 3,
            text: odd.into(),
            level,
            expires_at: T0,
        });
    }
    written_alike(&Badge {
        text: "12".into(),
        color: "#1A73E8".into(),
        title: odd.into(),
    });
    written_alike(&Account {
        username: Some("ann".into()),
        user_id: None,
        expires_at: Some(T0),
    });
    let entry = Entry {
        rank: 1,
        user_id: "u\"1".into(),
        username: odd.into(),
        score: 87.5,
        sessions: 4,
    };
    let board = QuizBoard {
        quiz: QuizRef {
            id: "q1".into(),
            title: "Quadratics".into(),
            subject_id: "s1".into(),
        },
        entries: vec![entry.clone(), entry.clone()],
        updated_at: None,
    };
    written_alike(&board);
    written_alike(&QueryView {
        data: Some(board),
        updated_at: Some(T0),
        stale: true,
        fetching: false,
        error: Some(odd.into()),
    });
    written_alike(&QueryView::<()>::default());
    written_alike(&QuizRow {
        quiz: Quiz {
            id: "q1".into(),
            title: odd.into(),
            subject_id: "s1".into(),
            sessions_count: 12,
        },
        followed: true,
        open_in_tab: false,
        subscription: SubscriptionStatus::Confirmed,
        url: "https://site/quizzes/q1".into(),
    });
    written_alike(&vec![SubjectBoard {
        subject: Subject {
            id: "s1".into(),
            name: "Mathematics".into(),
        },
        entries: vec![entry],
        updated_at: Some("2026-11-30T08:00:00Z".into()),
    }]);
    written_alike(&Performance {
        user: UserRef {
            id: "7".into(),
            username: "ann".into(),
        },
        subjects: vec![SubjectStanding {
            subject_id: "s1".into(),
            rank: 2,
            score: 0.1 + 0.2,
            sessions: 3,
        }],
        recent_sessions: vec![RecentSession {
            session_id: "x".into(),
            quiz_id: "q1".into(),
            score: 91.0,
            completed_at: "2026-11-30T08:00:00Z".into(),
        }],
    });
    let mut names = VecMap::new();
    names.insert(quizpulse::wire::SubjectId::from(odd), odd.to_owned());
    names.insert("s1".into(), "Physics".to_owned());
    written_alike(&names);
    written_alike(&LogEntry {
        at: T0,
        event: None,
        text: odd.into(),
    });

    written_alike(&AuthRecord::default());
    written_alike(&AuthRecord {
        tokens: Some(TokenPair {
            access: "a.b.c".into(),
            refresh: "d.e.f".into(),
        }),
        username: Some(odd.into()),
        failed: Some("refused".into()),
        warned_expiry: Some(T0),
        access_received: Some(T0),
        refresh_received: None,
        refresh_not_before: Some(T0),
        server: Some("https://quiz.example".into()),
        socket: Some("wss://quiz.example".into()),
    });
    let mut follows = FollowState::default();
    written_alike(&follows);
    follows.follows = ["q2", "q1"]
        .into_iter()
        .map(QuizId::from)
        .collect::<VecSet<_>>();
    follows.seen.insert("q3".into());
    follows.baseline_taken = true;
    written_alike(&follows);
    written_alike(&Outage::default());
    written_alike(&Outage {
        since: Some(T0),
        notified: true,
    });
    written_alike(&RetryPlan {
        attempt: 3,
        slow_n: 1,
        next_at: Some(T0),
    });
    written_alike(&TokenRequest {
        username: odd.into(),
        password: "pw".into(),
    });
    written_alike(&RefreshRequest {
        refresh: "d.e.f".into(),
    });

    let commands = [
        Command::Ping,
        Command::Hello,
        Command::Follow {
            quiz_id: odd.into(),
        },
        Command::Unfollow {
            quiz_id: "q1".into(),
        },
        Command::RetryNow,
        Command::SignIn {
            server: "http://127.0.0.1:8000".into(),
            username: odd.into(),
            password: Secret(odd.into()),
        },
        Command::SignOut,
        Command::MuteForAnHour,
        Command::Unmute,
        Command::SaveSettings {
            settings: settings.clone(),
        },
        Command::TestConnection,
        Command::ViewQuiz {
            quiz_id: "q1".into(),
        },
        Command::CloseQuiz {
            quiz_id: "q1".into(),
        },
        Command::DismissToast { id: 9 },
        Command::MarkRead,
    ];
    for command in &commands {
        written_alike(command);
        assert_eq!(command.to_json(), serde_json::to_string(command).unwrap());
    }
    for message in [
        WorkerMessage::Pong {
            version: "0.1.0".into(),
        },
        WorkerMessage::Error {
            message: odd.into(),
        },
    ] {
        written_alike(&message);
    }
}

#[test]
fn snapshots_of_a_session_are_written_as_serde_writes_them() {
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &["q1"]));
    sim.open();
    sim.answer_reads();
    sim.command(Command::TestConnection);
    sim.answer_reads();
    let snap = sim.snapshot.clone().unwrap();
    written_alike(&snap);
    written_alike(&WorkerMessage::Snapshot {
        snapshot: Box::new(snap),
    });
}

#[test]
fn client_messages_are_encoded_as_python_encodes_them() {
    for quiz_id in ["42", "é😀", "quote \" nl \n del \u{7f} nul \0 \u{1f}", ""] {
        for message in [
            ClientMessage::SubscribeQuiz {
                quiz_id: quiz_id.into(),
            },
            ClientMessage::UnsubscribeQuiz {
                quiz_id: quiz_id.into(),
            },
        ] {
            assert_eq!(message.encode(), quizpulse::wire::to_python_json(&message));
        }
    }
    for id in [0, 3, u64::MAX] {
        let message = ClientMessage::Ping { id };
        assert_eq!(message.encode(), quizpulse::wire::to_python_json(&message));
    }
}
