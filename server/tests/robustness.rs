//! The bad inputs of issue 4: oversize frames, a 10 000-message flood, the
//! subscription limit, a client that never reads, and shutdown; and those of
//! issue 18: scores that overflow a sum, more sockets and uploads than the
//! quotas allow. In each the server stays up, other clients keep their
//! updates, and no stored session is lost.
//!
//! No test here races a timer: each waits for what the server does (a
//! metric, a message, a close) with a generous bound, never for the clock.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{Socket, barrier, recv, recv_close, send, start, start_with, subscribe};
use futures_util::{SinkExt, StreamExt};
use quizpulse::json::FromJson;
use quizpulse_server::config::Rate;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frames_get_an_error_not_a_disconnect() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    let padding = "x".repeat(64 * 1024);
    let big = json!({"type": "ping", "id": 1, "pad": padding}).to_string();
    assert!(big.len() > 64 * 1024);
    send(&mut socket, big).await;
    let reply = recv(&mut socket).await;
    assert_eq!(reply["type"], "error");
    assert!(
        reply["message"].as_str().unwrap().contains("too large"),
        "{reply}"
    );
    // Just under the limit is fine (a ping with padding gets its pong).
    let fits = json!({"type": "ping", "id": 2, "pad": "y".repeat(60 * 1024)}).to_string();
    send(&mut socket, fits).await;
    assert_eq!(recv(&mut socket).await["type"], "pong");
    // Still subscribed-able and receiving.
    subscribe(&mut socket, "qa").await;
    server.upload(&alice, "qa", 1.0).await;
    assert_eq!(recv(&mut socket).await["type"], "quiz_session_uploaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_hard_cap_closes_1009_and_the_server_stays_up() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    let huge = "z".repeat(2 * 1024 * 1024);
    let _ = socket.send(Message::text(huge)).await;
    assert_eq!(recv_close(&mut socket).await, Some(1009));
    let mut again = server.connect(&alice).await;
    assert!(barrier(&mut again, 1).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_10000_messages_is_rate_limited_and_survived() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut flooder = server.connect(&alice).await;
    let mut bystander = server.connect(&alice).await;
    subscribe(&mut bystander, "qa").await;
    let before = server.metric("quizpulse_client_messages_total").await;

    let started = Instant::now();
    let mut frames = futures_util::stream::iter(
        (0..10_000u64).map(|i| Ok(Message::text(json!({"type": "ping", "id": i}).to_string()))),
    );
    flooder.send_all(&mut frames).await.unwrap();

    // Meanwhile the bystander still gets its updates.
    server.upload(&alice, "qa", 50.0).await;
    let got: Vec<_> = barrier(&mut bystander, 1).await;
    assert_eq!(got.len(), 3, "{got:?}");

    // Wait until the server has read the whole flood (and the bystander's
    // ping): the windows it spent on it are at most the seconds until then,
    // plus the one it began in.
    let deadline = Instant::now() + common::WAIT;
    while server.metric("quizpulse_client_messages_total").await < before + 10_001 {
        assert!(Instant::now() < deadline, "the flood was never read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let windows = started.elapsed().as_secs_f64().ceil() as usize + 1;

    // The flooder gets at most 50 pongs per window and one rate-limit error
    // per window; nothing else. A second after the flood was read, a new
    // window has begun: a ping then is answered.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    send(
        &mut flooder,
        json!({"type": "ping", "id": 99_999}).to_string(),
    )
    .await;
    let mut pongs = 0;
    let mut limit_errors = 0;
    loop {
        let message = recv(&mut flooder).await;
        match message["type"].as_str().unwrap() {
            "pong" if message["id"] == 99_999 => break,
            "pong" => pongs += 1,
            "error" => {
                assert!(message["message"].as_str().unwrap().contains("rate limit"));
                limit_errors += 1;
            }
            "quiz_session_uploaded" | "leaderboard_updated" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        pongs >= 50 && pongs <= 50 * windows,
        "pongs {pongs}, windows {windows}"
    );
    assert!(
        limit_errors >= 1 && limit_errors <= windows,
        "{limit_errors} errors"
    );
    let dropped = server.metric("quizpulse_rate_limited_total").await;
    assert!(dropped >= (10_000 - 50 * windows) as u64, "{dropped}");
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_1000_followed_quizzes_is_refused_with_an_error() {
    let server = start_with(|c| c.ws.rate_per_sec = 100_000).await;
    for i in 0..1001 {
        quizpulse_server::db::upsert_quiz(&server.state.db, &format!("bulk-{i}"), "Bulk", "math")
            .await
            .unwrap();
    }
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    let mut frames = futures_util::stream::iter((0..1001).map(|i| {
        Ok(Message::text(
            json!({"type": "subscribe_quiz", "quiz_id": format!("bulk-{i}")}).to_string(),
        ))
    }));
    socket.send_all(&mut frames).await.unwrap();
    for _ in 0..1000 {
        assert_eq!(recv(&mut socket).await["type"], "subscription_confirmed");
    }
    let refused = recv(&mut socket).await;
    assert_eq!(refused["type"], "error");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000 quizzes"),
        "{refused}"
    );
    // Unsubscribe one, and the 1001st fits.
    send(
        &mut socket,
        r#"{"type": "unsubscribe_quiz", "quiz_id": "bulk-0"}"#,
    )
    .await;
    subscribe(&mut socket, "bulk-1000").await;
    assert_eq!(server.ws_state.hub.followers(&"bulk-1000".into()), 1);
}

/// A client whose kernel receive buffer is tiny and which never reads.
async fn laggard(server: &common::TestServer, token: &str) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.ws_addr).await.unwrap();
    let (socket, _) = tokio_tungstenite::client_async(
        server.ws_url(token),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_1013_and_holds_up_no_one() {
    let server = start_with(|c| {
        c.ws.queue_capacity = 16;
        // The close frame waits behind what was queued for the laggard: it
        // goes out once the laggard reads, however long the test took.
        c.ws.close_grace = Duration::from_secs(600);
        c.quotas.uploads_per_user = Rate::UNLIMITED;
        c.max_score = 1_000_000.0;
    })
    .await;
    // Ten players on the board, so every leaderboard message carries ten entries.
    let hashing = quizpulse_server::auth::PasswordHashing::insecure_fast();
    let mut tokens = Vec::new();
    for i in 0..10 {
        let name = format!("player-{i:02}-with-a-rather-long-name");
        quizpulse_server::db::create_user(&server.state.db, &name, &hashing.hash("pw").unwrap())
            .await
            .unwrap();
        let (_, pair) = server
            .post(
                "/api/token/",
                None,
                &json!({"username": name, "password": "pw"}),
            )
            .await;
        tokens.push(pair["access"].as_str().unwrap().to_owned());
    }
    let alice = server.access("alice").await;
    let mut slow = laggard(&server, &alice).await;
    send(&mut slow, r#"{"type": "subscribe_quiz", "quiz_id": "qa"}"#).await;
    let mut fast = server.connect(&alice).await;
    subscribe(&mut fast, "qa").await;

    // The fast reader drains in the background and counts uploads.
    let reader = tokio::spawn(async move {
        let mut uploads = 0u64;
        loop {
            let message = recv(&mut fast).await;
            if message["type"] == "quiz_session_uploaded" {
                uploads += 1;
            }
            if message["type"] == "quiz_leaderboard_updated"
                && message["data"]["entries"][0]["score"] == 1_000_000.0
            {
                return uploads;
            }
        }
    });

    let mut uploaded = 0u64;
    // Generous: the kernel's send buffer takes hundreds of uploads before
    // the queue fills, and a cold database makes each slow.
    let deadline = Instant::now() + Duration::from_secs(600);
    while server.metric("quizpulse_lagged_closed_total").await == 0 {
        assert!(Instant::now() < deadline, "the laggard was never dropped");
        let mut batch = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let score = (uploaded as f64) + i as f64;
            batch.push(server.upload(token, "qa", score));
        }
        uploaded += futures_util::future::join_all(batch).await.len() as u64;
    }
    // Dropped: the laggard now reads what was queued for it, then its 1013.
    let slow = tokio::spawn(async move { recv_close(&mut slow).await });
    // One last upload as a marker for the fast reader.
    server.upload(&alice, "qa", 1_000_000.0).await;
    uploaded += 1;
    let seen = tokio::time::timeout(common::WAIT, reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, uploaded, "the fast reader missed updates");

    // No stored session lost.
    assert_eq!(
        quizpulse_server::db::session_count(&server.state.db)
            .await
            .unwrap() as u64,
        uploaded
    );
    // The laggard, once it reads, finds what was queued, then 1013.
    assert_eq!(slow.await.unwrap(), Some(1013));
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_socket_with_1001() {
    // The server waits for every close handshake (up to a grace no test
    // reaches): the codes below do not depend on how fast the clients answer.
    let mut server = start_with(|c| {
        c.shutdown_grace = Duration::from_secs(600);
        c.ws.close_grace = Duration::from_secs(600);
    })
    .await;
    let alice = server.access("alice").await;
    let mut a = server.connect(&alice).await;
    let mut b = server.connect(&alice).await;
    subscribe(&mut b, "qa").await;
    barrier(&mut a, 1).await;
    let (code_a, code_b, stopped) =
        tokio::join!(recv_close(&mut a), recv_close(&mut b), server.stop());
    stopped.unwrap();
    assert_eq!(code_a, Some(1001));
    assert_eq!(code_b, Some(1001));
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    let _ = a.next().await;
}

/// Every `score` in `json` is a number (a non-finite one is sent as `null`).
fn scores_are_numbers(json: &Value) {
    match json {
        Value::Object(fields) => {
            for (key, value) in fields {
                if key == "score" {
                    assert!(value.is_number(), "score {value} in {json}");
                }
                scores_are_numbers(value);
            }
        }
        Value::Array(items) => items.iter().for_each(scores_are_numbers),
        _ => {}
    }
}

/// A body as the extension reads it (the core's reader), every score in it
/// a finite number.
fn readable<T: FromJson>(body: &Value, scores: impl Fn(&T) -> Vec<f64>) {
    scores_are_numbers(body);
    let read = T::from_json_text(&body.to_string())
        .unwrap_or_else(|e| panic!("the extension cannot read {body}: {e}"));
    for score in scores(&read) {
        assert!(score.is_finite(), "{score} in {body}");
    }
}

/// Every board a client reads, read as the extension reads it.
async fn every_board_is_finite_and_readable(server: &common::TestServer, token: &str) {
    use quizpulse::wire::{Performance, QuizBoard, SubjectBoard};
    let (status, boards) = server.get("/api/leaderboard/subjects/", Some(token)).await;
    assert_eq!(status, 200);
    readable::<Vec<SubjectBoard>>(&boards, |boards| {
        boards
            .iter()
            .flat_map(|b| b.entries.iter().map(|e| e.score))
            .collect()
    });
    for quiz in ["qa", "qb", "qc"] {
        let (status, board) = server
            .get(&format!("/api/quizzes/{quiz}/leaderboard/"), Some(token))
            .await;
        assert_eq!(status, 200);
        readable::<QuizBoard>(&board, |b| b.entries.iter().map(|e| e.score).collect());
    }
    let (status, me) = server.get("/api/users/me/performance/", Some(token)).await;
    assert_eq!(status, 200);
    readable::<Performance>(&me, |p| {
        p.subjects
            .iter()
            .map(|s| s.score)
            .chain(p.recent_sessions.iter().map(|s| s.score))
            .collect()
    });
}

/// Issue 18, finding 1: two uploads of 1.7e308 on two quizzes of a subject
/// made its total infinite (sent as `null`, which the extension refused,
/// dropping every board). Now a score over the highest one is a 400 with a
/// `detail` like any bad upload, counted, and the boards stay finite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_past_the_highest_are_refused_and_every_board_stays_finite() {
    let server = start().await;
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    for quiz in ["qa", "qb"] {
        let (status, body) = server
            .post(
                "/api/quiz-sessions/",
                Some(&alice),
                &json!({"quiz_id": quiz, "score": 1.7e308, "duration_s": 3}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body,
            json!({"detail": "score must be a number from 0 to 1000."})
        );
    }
    let (status, _) = server
        .post(
            "/api/quiz-sessions/",
            Some(&alice),
            &json!({"quiz_id": "qa", "score": 1000.5, "duration_s": 3}),
        )
        .await;
    assert_eq!(status, 400);
    // Counted where the upload was made.
    assert_eq!(
        server
            .state
            .metrics
            .uploads_refused
            .get_or_create(&[("reason", "score")])
            .get(),
        3
    );
    // The highest score itself is fine, on both quizzes.
    server.upload(&alice, "qa", 1000.0).await;
    server.upload(&alice, "qb", 1000.0).await;
    let messages = barrier(&mut socket, 1).await;
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[3]["data"]["entries"][0]["score"], 2000.0);
    every_board_is_finite_and_readable(&server, &alice).await;
}

/// Rows stored before the bound (any finite score was accepted): on SQLite
/// two near 1.7e308 summed to infinity in the subject total. The migration
/// recomputes totals with each best clamped to 1e300, and the triggers keep
/// clamping, so such rows leave every board finite and readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_scores_stored_before_the_bound_leave_every_board_finite() {
    use quizpulse_server::db;
    let backend = common::backend();
    let dir = tempfile::tempdir().unwrap();
    let url = common::database(backend, &dir).await;
    let pool = db::connect(&url).await.unwrap();
    let old_schema = 20261126000002;
    let sqlite = db::Backend::of(&pool) == db::Backend::Sqlite;
    if sqlite {
        db::SQLITE_MIGRATOR.run_to(old_schema, &pool).await.unwrap();
    } else {
        db::POSTGRES_MIGRATOR
            .run_to(old_schema, &pool)
            .await
            .unwrap();
    }
    db::upsert_subject(&pool, "math", "Mathematics")
        .await
        .unwrap();
    for quiz in ["qa", "qb"] {
        db::upsert_quiz(&pool, quiz, quiz, "math").await.unwrap();
    }
    let id = db::create_user(&pool, "mallory", "x").await.unwrap();
    let insert = |quiz: &'static str| {
        let pool = pool.clone();
        async move {
            let row = db::BulkSession {
                quiz_id: quiz.to_owned(),
                user_id: id,
                score: 1.7e308,
                duration_s: 1.0,
                completed_at: db::now_micros(),
            };
            db::insert_sessions_bulk(&pool, &[row]).await
        }
    };
    insert("qa").await.unwrap();
    // PostgreSQL refused the overflowing sum (the insert failed); SQLite stored infinity.
    let second = insert("qb").await;
    let total: f64 = sqlx::query_scalar("SELECT score FROM subject_user_stats")
        .fetch_one(&pool)
        .await
        .unwrap();
    if sqlite {
        second.unwrap();
        assert!(total.is_infinite(), "{total}");
    } else {
        assert!(second.is_err());
    }
    // The new schema: totals recomputed, finite; and a later overflow too.
    db::migrate(&pool).await.unwrap();
    if !sqlite {
        insert("qb").await.unwrap();
    }
    insert("qb").await.unwrap();
    let total: f64 = sqlx::query_scalar("SELECT score FROM subject_user_stats")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 2e300);
    pool.close().await;

    // A server on that database serves every board finite and readable.
    let mut config = quizpulse_server::config::Config::new(
        url,
        quizpulse_server::config::Secret::new(common::SECRET),
    );
    config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let server = quizpulse_server::Server::bind(config).await.unwrap();
    let token = server.state().tokens.pair(id).unwrap().access;
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("http://{addr}{path}"))
            .bearer_auth(&token)
            .send()
    };
    use quizpulse::wire::{Performance, SubjectBoard};
    let boards: Value = get("/api/leaderboard/subjects/")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    readable::<Vec<SubjectBoard>>(&boards, |b| b[0].entries.iter().map(|e| e.score).collect());
    assert_eq!(boards[0]["entries"][0]["score"], 2e300);
    let me: Value = get("/api/users/me/performance/")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    readable::<Performance>(&me, |p| p.subjects.iter().map(|s| s.score).collect());
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

/// Waits until the socket instance counts `open` sockets in its quotas (a
/// refused socket holds its address's place until its close handshake ends).
async fn wait_for_open(server: &common::TestServer, open: usize) {
    let here = quizpulse_server::limits::AddrKey::of([127, 0, 0, 1].into());
    let deadline = Instant::now() + common::WAIT;
    while server.ws_state.limits.sockets.counts(here, 0).0 != open {
        assert!(Instant::now() < deadline, "never {open} sockets open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Issue 18, finding 4: quotas on sockets (per account, per address, per
/// process) close with 1013 (try again later) at once and are counted by
/// reason; a socket that closes gives its place back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_over_a_quota_close_1013_and_are_counted() {
    let server = start_with(|c| {
        c.quotas.sockets_per_user = 2;
        c.quotas.sockets_per_address = 3;
        c.quotas.sockets_total = 100;
    })
    .await;
    let alice = server.access("alice").await;
    let bob = server.access("bob").await;
    let mut a1 = server.connect(&alice).await;
    let mut a2 = server.connect(&alice).await;
    assert!(barrier(&mut a1, 1).await.is_empty());
    assert!(barrier(&mut a2, 1).await.is_empty());
    // A third socket for alice: over her quota.
    let mut a3 = server.connect(&alice).await;
    assert_eq!(recv_close(&mut a3).await, Some(1013));
    drop(a3);
    wait_for_open(&server, 2).await;
    let mut b1 = server.connect(&bob).await;
    assert!(barrier(&mut b1, 1).await.is_empty());
    // A fourth from this address: over the address's quota, whoever it is.
    let mut b2 = server.connect(&bob).await;
    assert_eq!(recv_close(&mut b2).await, Some(1013));
    // Before its token is even checked.
    let mut bad = server.connect("garbage").await;
    assert_eq!(recv_close(&mut bad).await, Some(1013));
    drop((b2, bad));
    wait_for_open(&server, 3).await;
    assert_eq!(
        server
            .labelled_metric("quizpulse_sockets_refused_total", "reason", "user")
            .await,
        1
    );
    assert_eq!(
        server
            .labelled_metric("quizpulse_sockets_refused_total", "reason", "address")
            .await,
        2
    );
    // The sockets within the quotas still get everything.
    server.upload(&alice, "qa", 5.0).await;
    assert_eq!(recv(&mut b1).await["type"], "quiz_session_uploaded");
    // One closes: its place is free again once the server has seen it go.
    a2.close(None).await.unwrap();
    drop(a2);
    wait_for_open(&server, 2).await;
    let mut again = server.connect(&alice).await;
    assert!(barrier(&mut again, 7).await.is_empty());
}

/// The process's own quota, and the defaults a real platform runs with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_closes_new_sockets_1013() {
    let defaults = quizpulse_server::config::Quotas::default();
    assert_eq!(
        (
            defaults.sockets_per_user,
            defaults.sockets_per_address,
            defaults.sockets_total
        ),
        (20, 2000, 50_000)
    );
    let server = start_with(|c| c.quotas.sockets_total = 1).await;
    let alice = server.access("alice").await;
    let mut first = server.connect(&alice).await;
    assert!(barrier(&mut first, 1).await.is_empty());
    let mut second = server.connect(&alice).await;
    assert_eq!(recv_close(&mut second).await, Some(1013));
    assert!(barrier(&mut first, 2).await.is_empty());
    assert_eq!(
        server
            .labelled_metric("quizpulse_sockets_refused_total", "reason", "server")
            .await,
        1
    );
}

/// Uploads past an account's rate get 429 with `Retry-After` and DRF's
/// throttle wording; other accounts are not held up; each refusal counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_the_accounts_rate_get_429() {
    let server = start_with(|c| {
        c.quotas.uploads_per_user = Rate::new(3, Duration::from_secs(3600));
    })
    .await;
    let alice = server.access("alice").await;
    let bob = server.access("bob").await;
    for score in [1.0, 2.0, 3.0] {
        server.upload(&alice, "qa", score).await;
    }
    let response = server
        .http
        .post(server.url("/api/quiz-sessions/"))
        .bearer_auth(&alice)
        .json(&json!({"quiz_id": "qa", "score": 4, "duration_s": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1200).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Request was throttled. Expected available in "),
        "{body}"
    );
    server.upload(&bob, "qa", 5.0).await;
    assert_eq!(
        server
            .state
            .metrics
            .uploads_refused
            .get_or_create(&[("reason", "rate")])
            .get(),
        1
    );
    assert_eq!(
        quizpulse_server::db::session_count(&server.state.db)
            .await
            .unwrap(),
        4
    );
}
