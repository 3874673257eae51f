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
