//! Every row of `spec/protocol.md` against the real server: auth, REST reads
//! and write with their error paths, and the socket's messages.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{SECRET, barrier, recv, recv_close, send, start, start_with, subscribe, types};
use futures_util::SinkExt;
use quizpulse_server::auth::{TokenKind, Tokens};
use quizpulse_server::config::Secret;
use serde_json::{Value, json};

const READS: [&str; 5] = [
    "/api/subjects/",
    "/api/quizzes/",
    "/api/leaderboard/subjects/",
    "/api/quizzes/qa/leaderboard/",
    "/api/users/me/performance/",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_obtain_and_refresh() {
    let server = start().await;
    let pair = server.login("alice").await;
    assert_eq!(pair.access.split('.').count(), 3);

    // Wrong password, unknown user: 401 {"detail"} without a code.
    for (user, password) in [("alice", "nope"), ("zed", "zed-pass")] {
        let (status, body) = server
            .post(
                "/api/token/",
                None,
                &json!({"username": user, "password": password}),
            )
            .await;
        assert_eq!(status, 401);
        assert!(body["detail"].is_string());
        assert!(body.get("code").is_none());
    }
    // Missing field, malformed JSON, empty body: 400 {"detail"}.
    for raw in [r#"{"username": "alice"}"#, "{nope", "", "[]"] {
        let (status, body) = server.post_raw("/api/token/", None, raw.to_owned()).await;
        assert_eq!(status, 400, "{raw}: {body}");
        assert!(body["detail"].is_string());
    }

    // Refresh: 200 {"access"}; no rotation by default.
    let (status, body) = server
        .post(
            "/api/token/refresh/",
            None,
            &json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["access"].is_string());
    assert!(body.get("refresh").is_none());
    let (status, _) = server.get("/api/subjects/", body["access"].as_str()).await;
    assert_eq!(status, 200);

    // An access token, garbage, a token signed with another key: 401 token_not_valid.
    for bad in [pair.access.as_str(), "garbage", &forged(&pair.refresh)] {
        let (status, body) = server
            .post("/api/token/refresh/", None, &json!({"refresh": bad}))
            .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "token_not_valid");
        assert!(body["detail"].is_string());
    }
    let (status, body) = server
        .post_raw("/api/token/refresh/", None, "{}".to_owned())
        .await;
    assert_eq!(status, 400, "{body}");
}

/// An access token for `user` of the test servers' secret that expired an
/// hour ago (issued on a clock an hour behind): expired from the start,
/// however long the test takes.
async fn expired_access(server: &common::TestServer, user: &str) -> String {
    let id = quizpulse_server::db::user_by_name(&server.state.db, user)
        .await
        .unwrap()
        .unwrap()
        .id;
    Tokens::new(
        &Secret::new(SECRET),
        Duration::from_secs(300),
        Duration::from_secs(300),
    )
    .with_clock_offset(-3600)
    .issue(TokenKind::Access, id)
    .unwrap()
}

/// The claims of a token, unverified.
fn claims(token: &str) -> Value {
    use base64_free::decode_segment;
    serde_json::from_slice(&decode_segment(token.split('.').nth(1).unwrap())).unwrap()
}

/// Base64url without padding, as JWTs carry their segments.
mod base64_free {
    pub fn decode_segment(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in text.bytes() {
            let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        out
    }
}

/// The same token with its signature replaced.
fn forged(token: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    parts.join(".")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotation_when_configured() {
    let server = start_with(|c| c.rotate_refresh = true).await;
    let pair = server.login("bob").await;
    let (status, body) = server
        .post(
            "/api/token/refresh/",
            None,
            &json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body["refresh"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_require_a_valid_access_token() {
    let server = start().await;
    let pair = server.login("alice").await;
    let expired = expired_access(&server, "alice").await;
    for path in READS {
        let (status, body) = server.get(path, None).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(
            body,
            json!({"detail": "Authentication credentials were not provided."})
        );
        for bad in ["garbage", pair.refresh.as_str()] {
            let (status, body) = server.get(path, Some(bad)).await;
            assert_eq!(status, 401, "{path}");
            assert_eq!(body["code"], "token_not_valid", "{path}: {body}");
        }
        let (status, _) = server.get(path, Some(&pair.access)).await;
        assert_eq!(status, 200, "{path}");
        // Expired.
        let (status, body) = server.get(path, Some(&expired)).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["code"], "token_not_valid");
        assert_eq!(body["detail"], "Token is expired");
    }
    let (status, body) = server
        .post(
            "/api/quiz-sessions/",
            Some(&expired),
            &json!({"quiz_id": "qa", "score": 1, "duration_s": 1}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "token_not_valid");
    // The refresh token buys a fresh access token.
    let (status, body) = server
        .post(
            "/api/token/refresh/",
            None,
            &json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.get(READS[0], body["access"].as_str()).await;
    assert_eq!(status, 200);
}

/// `--token-clock-offset`: tokens carry `iat`/`exp` on the shifted clock and
/// the server checks them on it, so it agrees with itself (REST and socket
/// work) while a client comparing `exp` with a correct clock sees them an
/// hour off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_clock_an_hour_behind_issues_and_accepts_its_own_tokens() {
    let server = start_with(|c| c.token_clock_offset = -3600).await;
    let pair = server.login("alice").await;
    let now = chrono::Utc::now().timestamp();
    for token in [&pair.access, &pair.refresh] {
        let iat = claims(token)["iat"].as_i64().unwrap();
        assert!((now - 3600 - iat).abs() <= 5, "iat {iat}, now {now}");
    }
    let access = claims(&pair.access);
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        300
    );
    // Already past on the real clock, yet the server takes it.
    assert!(access["exp"].as_i64().unwrap() < now);
    let (status, _) = server.get(READS[0], Some(&pair.access)).await;
    assert_eq!(status, 200);
    let (status, body) = server
        .post(
            "/api/token/refresh/",
            None,
            &json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut socket = server.connect(body["access"].as_str().unwrap()).await;
    assert!(barrier(&mut socket, 1).await.is_empty());
    // A token from a correct clock is an hour in this server's future, not expired.
    let (status, _) = server
        .get(READS[0], Some(&expired_access(&server, "alice").await))
        .await;
    assert_eq!(status, 200);
}

/// `/metrics` counts refresh calls and socket handshakes, whatever their
/// outcome (an end-to-end test bounds a client's refreshes with them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sign_ins_refreshes_and_handshakes() {
    let server = start().await;
    let pair = server.login("alice").await;
    for refresh in [pair.refresh.as_str(), "garbage", pair.refresh.as_str()] {
        server
            .post("/api/token/refresh/", None, &json!({"refresh": refresh}))
            .await;
    }
    server
        .post_raw("/api/token/refresh/", None, "{nope".to_owned())
        .await;
    let mut good = server.connect(&pair.access).await;
    barrier(&mut good, 1).await;
    let mut bad = server.connect("garbage").await;
    assert_eq!(recv_close(&mut bad).await, Some(4001));
    // Sign-ins and refreshes are counted by the REST instance.
    let rest = |name| server.metric_at(server.addr, name);
    assert_eq!(rest("quizpulse_token_requests_total").await, Some(1));
    assert_eq!(
        rest("quizpulse_token_refresh_requests_total").await,
        Some(4)
    );
    assert_eq!(server.metric("quizpulse_socket_handshakes_total").await, 2);
    assert_eq!(server.metric("quizpulse_sockets_total").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_have_the_contract_shapes_and_ties_share_ranks() {
    let server = start().await;
    let alice = server.access("alice").await;
    let bob = server.access("bob").await;
    let carol = server.access("carol").await;

    let (_, subjects) = server.get("/api/subjects/", Some(&alice)).await;
    assert_eq!(
        subjects,
        json!([{"id": "math", "name": "Mathematics"}, {"id": "phys", "name": "Physics"}])
    );
    let (_, board) = server
        .get("/api/quizzes/qa/leaderboard/", Some(&alice))
        .await;
    assert_eq!(
        board,
        json!({"quiz": {"id": "qa", "title": "Quadratics", "subject_id": "math"}, "entries": [], "updated_at": null})
    );

    server.upload(&alice, "qa", 80.0).await;
    server.upload(&alice, "qa", 60.0).await;
    server.upload(&bob, "qa", 80.0).await;
    server.upload(&carol, "qa", 70.0).await;
    server.upload(&carol, "qb", 50.0).await;
    let last = server.upload(&bob, "qc", 10.0).await;

    let (_, quizzes) = server.get("/api/quizzes/", Some(&alice)).await;
    let counts: Vec<(String, u64)> = quizzes
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            assert!(q["title"].is_string() && q["subject_id"].is_string());
            (
                q["id"].as_str().unwrap().to_owned(),
                q["sessions_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![("qa".into(), 4), ("qb".into(), 1), ("qc".into(), 1)]
    );

    // Quiz board: best session per user; 80, 80, 70 ranks 1, 1, 3.
    let (status, board) = server
        .get("/api/quizzes/qa/leaderboard/", Some(&alice))
        .await;
    assert_eq!(status, 200);
    let rows: Vec<(u64, &str, f64, u64)> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["user_id"].is_string());
            (
                e["rank"].as_u64().unwrap(),
                e["username"].as_str().unwrap(),
                e["score"].as_f64().unwrap(),
                e["sessions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "alice", 80.0, 2),
            (1, "bob", 80.0, 1),
            (3, "carol", 70.0, 1)
        ]
    );
    assert!(board["updated_at"].as_str().unwrap().ends_with('Z'));

    // limit
    let (_, board) = server
        .get("/api/quizzes/qa/leaderboard/?limit=1", Some(&alice))
        .await;
    assert_eq!(board["entries"].as_array().unwrap().len(), 1);

    // Subject board: sum of best per quiz; carol 70 + 50 = 120 leads maths.
    let (status, boards) = server
        .get("/api/leaderboard/subjects/?limit=2", Some(&alice))
        .await;
    assert_eq!(status, 200);
    let math = &boards[0];
    assert_eq!(
        math["subject"],
        json!({"id": "math", "name": "Mathematics"})
    );
    let entries: Vec<(u64, &str, f64, u64)> = math["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rank"].as_u64().unwrap(),
                e["username"].as_str().unwrap(),
                e["score"].as_f64().unwrap(),
                e["sessions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries, vec![(1, "carol", 120.0, 2), (2, "alice", 80.0, 2)]);
    let phys = &boards[1];
    assert_eq!(phys["updated_at"], last["completed_at"]);
    assert_eq!(phys["entries"][0]["username"], "bob");

    // Performance.
    let (status, perf) = server.get("/api/users/me/performance/", Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(perf["user"]["username"], "bob");
    assert!(perf["user"]["id"].is_string());
    assert_eq!(
        perf["subjects"],
        json!([
            {"subject_id": "math", "rank": 2, "score": 80.0, "sessions": 1},
            {"subject_id": "phys", "rank": 1, "score": 10.0, "sessions": 1}
        ])
    );
    let recent = perf["recent_sessions"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0]["session_id"], last["session_id"]);
    assert_eq!(recent[0]["quiz_id"], "qc");
    assert_eq!(recent[0]["score"], 10.0);
    assert!(recent[0]["completed_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_errors_are_json() {
    let server = start().await;
    let alice = server.access("alice").await;
    let (status, body) = server
        .get("/api/quizzes/nope/leaderboard/", Some(&alice))
        .await;
    assert_eq!(status, 404);
    assert!(body["detail"].is_string());
    for bad in ["0", "-1", "abc", "101", "1.5"] {
        for path in ["/api/leaderboard/subjects/", "/api/quizzes/qa/leaderboard/"] {
            let (status, body) = server
                .get(&format!("{path}?limit={bad}"), Some(&alice))
                .await;
            assert_eq!(status, 400, "{path}?limit={bad}");
            assert!(body["detail"].as_str().unwrap().contains("limit"));
        }
    }
    // Unknown paths (including a missing trailing slash) and wrong methods.
    for path in ["/api/subjects", "/api/nothing/", "/"] {
        let (status, body) = server.get(path, Some(&alice)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body, json!({"detail": "Not found."}));
    }
    let (status, body) = server
        .post("/api/subjects/", Some(&alice), &json!({}))
        .await;
    assert_eq!(status, 405);
    assert!(body["detail"].is_string());
    // The socket path without an upgrade.
    let (status, body) = server.get("/ws/leaderboard/", None).await;
    assert!((400..500).contains(&status));
    assert!(body["detail"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_returns_201_and_rejects_bad_input() {
    let server = start().await;
    let alice = server.access("alice").await;
    let body = server.upload(&alice, "qa", 91.5).await;
    assert_eq!(body["quiz_id"], "qa");
    assert_eq!(body["subject_id"], "math");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["score"], 91.5);
    assert!(body["session_id"].is_string());
    assert!(body["user_id"].is_string());
    let at = body["completed_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");

    let bad = [
        r#"{"quiz_id": "qa", "score": -1, "duration_s": 3}"#,
        r#"{"quiz_id": "qa", "score": 1, "duration_s": -3}"#,
        r#"{"quiz_id": "qa", "score": 1e999, "duration_s": 3}"#,
        r#"{"quiz_id": "qa", "score": NaN, "duration_s": 3}"#,
        r#"{"quiz_id": "qa", "score": "high", "duration_s": 3}"#,
        r#"{"quiz_id": "qa", "duration_s": 3}"#,
        r#"{"score": 1, "duration_s": 3}"#,
        r#"{"quiz_id": "qa", "score": 1}"#,
        "{nope",
        "",
        "42",
    ];
    for raw in bad {
        let (status, body) = server
            .post_raw("/api/quiz-sessions/", Some(&alice), raw.to_owned())
            .await;
        assert_eq!(status, 400, "{raw}: {body}");
        assert!(body["detail"].is_string(), "{raw}: {body}");
    }
    let (status, body) = server
        .post(
            "/api/quiz-sessions/",
            Some(&alice),
            &json!({"quiz_id": "nope", "score": 1, "duration_s": 3}),
        )
        .await;
    assert_eq!(status, 404);
    assert!(body["detail"].is_string());
    let (status, body) = server
        .post(
            "/api/quiz-sessions/",
            None,
            &json!({"quiz_id": "qa", "score": 1, "duration_s": 3}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );
    // Only the one good upload was stored.
    assert_eq!(
        quizpulse_server::db::session_count(&server.state.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() {
    let server = start().await;
    let (status, body) = server.get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    barrier(&mut socket, 1).await;
    assert_eq!(server.metric("quizpulse_open_sockets").await, 1);
    server.upload(&alice, "qa", 5.0).await;
    recv(&mut socket).await;
    recv(&mut socket).await;
    assert!(server.metric("quizpulse_messages_sent_total").await >= 3);
    // One observation per write: the upload's two messages went out together.
    assert_eq!(
        server
            .metric("quizpulse_broadcast_latency_seconds_count")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_bearer_calls_from_pages() {
    let server = start().await;
    let response = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/subjects/"))
        .header("origin", "https://tools.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
}

// ---------------------------------------------------------------------------
// The socket

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_broadcasts_in_order_and_only_followers_get_the_quiz_message() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut follows_a = server.connect(&alice).await;
    let mut follows_b = server.connect(&alice).await;
    let mut follows_none = server.connect(&alice).await;

    let confirmed = subscribe(&mut follows_a, "qa").await;
    assert_eq!(confirmed["quiz_id"], "qa");
    assert!(confirmed["message"].as_str().unwrap().contains("qa"));
    subscribe(&mut follows_b, "qb").await;

    let stored = server.upload(&alice, "qa", 77.0).await;

    let first = recv(&mut follows_a).await;
    let second = recv(&mut follows_a).await;
    let third = recv(&mut follows_a).await;
    assert_eq!(
        types(&[first.clone(), second.clone(), third.clone()]),
        [
            "quiz_session_uploaded",
            "leaderboard_updated",
            "quiz_leaderboard_updated"
        ]
    );
    assert_eq!(first["data"], stored);
    assert_eq!(second["data"]["subject_id"], "math");
    assert_eq!(second["data"]["entries"][0]["username"], "alice");
    assert_eq!(third["data"]["quiz_id"], "qa");
    assert_eq!(third["data"]["entries"][0]["score"], 77.0);
    // seq increases by one per message on this socket; sent_at is RFC 3339.
    let seqs: Vec<u64> = [&confirmed, &first, &second, &third]
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert!(chrono::DateTime::parse_from_rfc3339(first["sent_at"].as_str().unwrap()).is_ok());

    // Group isolation: qb's and no one's follower get the first two only.
    for socket in [&mut follows_b, &mut follows_none] {
        let before = barrier(socket, 9).await;
        assert_eq!(
            types(&before),
            ["quiz_session_uploaded", "leaderboard_updated"]
        );
    }
    // And an upload on qb reaches follows_b's group, never follows_a's.
    server.upload(&alice, "qb", 12.0).await;
    let before = barrier(&mut follows_b, 10).await;
    assert_eq!(
        types(&before),
        [
            "quiz_session_uploaded",
            "leaderboard_updated",
            "quiz_leaderboard_updated"
        ]
    );
    assert_eq!(before[2]["data"]["quiz_id"], "qb");
    let before = barrier(&mut follows_a, 11).await;
    assert_eq!(
        types(&before),
        ["quiz_session_uploaded", "leaderboard_updated"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_quiz_messages() {
    let server = start().await;
    let bob = server.access("bob").await;
    let mut socket = server.connect(&bob).await;
    subscribe(&mut socket, "qa").await;
    // Subscribing twice is harmless and confirmed again.
    subscribe(&mut socket, "qa").await;
    send(
        &mut socket,
        r#"{"type": "unsubscribe_quiz", "quiz_id": "qa"}"#,
    )
    .await;
    assert!(barrier(&mut socket, 1).await.is_empty());
    server.upload(&bob, "qa", 3.0).await;
    let before = barrier(&mut socket, 2).await;
    assert_eq!(
        types(&before),
        ["quiz_session_uploaded", "leaderboard_updated"]
    );
    // Unsubscribing from a quiz not followed is not an error.
    send(
        &mut socket,
        r#"{"type": "unsubscribe_quiz", "quiz_id": "qc"}"#,
    )
    .await;
    assert!(barrier(&mut socket, 3).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_accepted_then_closed_4001() {
    let server = start().await;
    let pair = server.login("alice").await;
    let expired = expired_access(&server, "alice").await;
    for token in [
        "",
        "garbage",
        pair.refresh.as_str(),
        &forged(&pair.access),
        &expired,
    ] {
        let mut socket = server.connect(token).await;
        assert_eq!(recv_close(&mut socket).await, Some(4001), "{token}");
    }
    assert!(server.metric("quizpulse_auth_rejected_total").await >= 5);
}

/// The token is checked at connect only: a socket outlives its access token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_socket_outlives_its_access_token() {
    let server = start_with(|c| c.access_ttl = Duration::from_secs(2)).await;
    // A socket opened while its token is valid (on a machine so slow that
    // the token expired before the socket opened, sign in again).
    let (pair, mut live) = loop {
        let pair = server.login("alice").await;
        let mut socket = server.connect(&pair.access).await;
        send(&mut socket, r#"{"type": "ping", "id": 1}"#).await;
        match tokio::time::timeout(common::WAIT, futures_util::StreamExt::next(&mut socket))
            .await
            .unwrap()
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_))) => break (pair, socket),
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => continue,
            other => panic!("{other:?}"),
        }
    };
    let exp = claims(&pair.access)["exp"].as_i64().unwrap();
    // Wait until the token has expired on the server's own clock: a new
    // socket with it is refused...
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
        if chrono::Utc::now().timestamp() > exp {
            let mut socket = server.connect(&pair.access).await;
            assert_eq!(recv_close(&mut socket).await, Some(4001));
            break;
        }
    }
    // ...and the one opened before still answers.
    assert!(barrier(&mut live, 2).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_accounts_get_4003_and_401() {
    let server = start().await;
    let carol = server.access("carol").await;
    quizpulse_server::db::set_user_active(&server.state.db, "carol", false)
        .await
        .unwrap();
    let mut socket = server.connect(&carol).await;
    assert_eq!(recv_close(&mut socket).await, Some(4003));
    let (status, body) = server.get("/api/subjects/", Some(&carol)).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "user_inactive");
    let (status, _) = server
        .post(
            "/api/token/",
            None,
            &json!({"username": "carol", "password": "carol-pass"}),
        )
        .await;
    assert_eq!(status, 401);
}

/// An account disabled while its sockets are open (`user disable` runs in
/// another process): every one of them closes with 4003, soon, without a
/// request from that account; the other accounts' sockets stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_accounts_open_sockets_close_4003_at_once() {
    let server = start().await;
    let carol = server.access("carol").await;
    let bob = server.access("bob").await;
    let mut first = server.connect(&carol).await;
    let mut second = server.connect(&carol).await;
    subscribe(&mut second, "qa").await;
    let mut other = server.connect(&bob).await;
    assert!(barrier(&mut first, 1).await.is_empty());
    assert!(barrier(&mut other, 1).await.is_empty());
    quizpulse_server::db::set_user_active(&server.state.db, "carol", false)
        .await
        .unwrap();
    assert_eq!(recv_close(&mut first).await, Some(4003));
    assert_eq!(recv_close(&mut second).await, Some(4003));
    assert_eq!(
        server
            .metric("quizpulse_sockets_closed_inactive_total")
            .await,
        2
    );
    // Bob's socket still gets broadcasts.
    server.upload(&bob, "qa", 5.0).await;
    assert_eq!(recv(&mut other).await["type"], "quiz_session_uploaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_client_messages_get_an_error_and_the_socket_stays_open() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    let cases: [(&str, &str); 8] = [
        ("{not json", "not JSON"),
        ("[1, 2]", "object"),
        (r#"{"quiz_id": "qa"}"#, "type"),
        (r#"{"type": "dance"}"#, "unknown type \"dance\""),
        (r#"{"type": "subscribe_quiz"}"#, "quiz_id"),
        (
            r#"{"type": "subscribe_quiz", "quiz_id": "nope"}"#,
            "unknown quiz \"nope\"",
        ),
        (r#"{"type": "ping", "id": "x"}"#, "id"),
        (r#"{"type": "ping"}"#, "id"),
    ];
    for (i, (text, says)) in cases.iter().enumerate() {
        send(&mut socket, *text).await;
        let reply = recv(&mut socket).await;
        assert_eq!(reply["type"], "error", "{text}: {reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(says), "{text}: {message}");
        // Still open: a ping gets its pong.
        assert!(barrier(&mut socket, i as u64).await.is_empty());
    }
    // Binary frames.
    socket
        .send(tokio_tungstenite::tungstenite::Message::binary(vec![
            1, 2, 3,
        ]))
        .await
        .unwrap();
    let reply = recv(&mut socket).await;
    assert_eq!(reply["type"], "error");
    // An integer quiz id is read as its string (Django sends integers).
    send(&mut socket, r#"{"type": "subscribe_quiz", "quiz_id": 7}"#).await;
    let reply = recv(&mut socket).await;
    assert!(reply["message"].as_str().unwrap().contains("\"7\""));
    assert!(server.metric("quizpulse_client_errors_total").await >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong_with_its_id() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    send(&mut socket, r#"{"type": "ping", "id": 123456789}"#).await;
    let pong: Value = recv(&mut socket).await;
    assert_eq!(pong["type"], "pong");
    assert_eq!(pong["id"], 123_456_789);
    assert_eq!(pong["seq"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_fractional_bests_tie_whatever_the_upload_order() {
    let server = start().await;
    let alice = server.access("alice").await;
    let bob = server.access("bob").await;
    // 0.1 + 0.2 != 0.2 + 0.1 + ... in general floating point; the totals are
    // recomputed in quiz order, so equal bests give equal totals.
    server.upload(&alice, "qa", 0.05).await;
    server.upload(&alice, "qa", 0.1).await;
    server.upload(&alice, "qb", 0.2).await;
    server.upload(&bob, "qb", 0.2).await;
    server.upload(&bob, "qa", 0.1).await;
    let (_, boards) = server.get("/api/leaderboard/subjects/", Some(&alice)).await;
    let entries = &boards[0]["entries"];
    assert_eq!(entries[0]["rank"], 1);
    assert_eq!(entries[1]["rank"], 1, "{entries}");
    assert_eq!(entries[0]["score"], entries[1]["score"]);
    let (_, perf) = server.get("/api/users/me/performance/", Some(&bob)).await;
    assert_eq!(perf["subjects"][0]["rank"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_arrive_as_whole_ordered_triples_matching_rest() {
    let server = start().await;
    let tokens = [
        server.access("alice").await,
        server.access("bob").await,
        server.access("carol").await,
    ];
    let mut follower = server.connect(&tokens[0]).await;
    subscribe(&mut follower, "qa").await;
    let mut bystander = server.connect(&tokens[1]).await;

    let uploads: Vec<_> = (0..30)
        .map(|i| {
            let quiz = if i % 2 == 0 { "qa" } else { "qb" };
            server.upload(&tokens[i % 3], quiz, (i * 7 % 100) as f64)
        })
        .collect();
    futures_util::future::join_all(uploads).await;

    let mut seen_by_follower = Vec::new();
    for (socket, follows) in [(&mut follower, true), (&mut bystander, false)] {
        let messages = barrier(socket, 1).await;
        if follows {
            seen_by_follower = messages.clone();
        }
        let mut i = 0;
        let mut last_total = 0;
        let mut last_seq = messages[0]["seq"].as_u64().unwrap() - 1;
        let mut uploads = 0;
        while i < messages.len() {
            assert_eq!(messages[i]["type"], "quiz_session_uploaded");
            let quiz = messages[i]["data"]["quiz_id"].as_str().unwrap().to_owned();
            assert_eq!(messages[i + 1]["type"], "leaderboard_updated");
            // Every maths session so far is counted: the total only grows, by one.
            let total: u64 = messages[i + 1]["data"]["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["sessions"].as_u64().unwrap())
                .sum();
            assert_eq!(total, last_total + 1);
            last_total = total;
            let mut step = 2;
            if follows && quiz == "qa" {
                assert_eq!(messages[i + 2]["type"], "quiz_leaderboard_updated");
                assert_eq!(messages[i + 2]["data"]["quiz_id"], "qa");
                step = 3;
            }
            for m in &messages[i..i + step] {
                assert_eq!(m["seq"].as_u64().unwrap(), last_seq + 1);
                last_seq += 1;
            }
            i += step;
            uploads += 1;
        }
        assert_eq!(uploads, 30);
    }
    // The last broadcast entries are exactly what REST says now.
    let last = |kind: &str| {
        seen_by_follower
            .iter()
            .rev()
            .find(|m| m["type"] == kind)
            .map(|m| m["data"]["entries"].clone())
            .unwrap()
    };
    let (_, boards) = server
        .get("/api/leaderboard/subjects/", Some(&tokens[0]))
        .await;
    assert_eq!(boards[0]["subject"]["id"], "math");
    assert_eq!(boards[0]["entries"], last("leaderboard_updated"));
    let (_, quiz) = server
        .get("/api/quizzes/qa/leaderboard/", Some(&tokens[0]))
        .await;
    assert_eq!(quiz["entries"], last("quiz_leaderboard_updated"));
}
