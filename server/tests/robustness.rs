//! The bad inputs of issue 4: oversize frames, a 10 000-message flood, the
//! subscription limit, a client that never reads, and shutdown. In each the
//! server stays up, other clients keep their updates, and no stored session
//! is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::{Socket, barrier, recv, recv_close, send, start, start_with, subscribe};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
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

    let started = Instant::now();
    let mut frames = futures_util::stream::iter(
        (0..10_000u64).map(|i| Ok(Message::text(json!({"type": "ping", "id": i}).to_string()))),
    );
    flooder.send_all(&mut frames).await.unwrap();
    let flood_secs = started.elapsed().as_secs_f64();

    // Meanwhile the bystander still gets its updates.
    server.upload(&alice, "qa", 50.0).await;
    let got: Vec<_> = barrier(&mut bystander, 1).await;
    assert_eq!(got.len(), 3, "{got:?}");

    // The flooder gets at most 50 pongs per window and one rate-limit error
    // per window; nothing else. Read until a fresh window's ping answers.
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
    let windows = flood_secs.ceil() as usize + 1;
    assert!(
        pongs >= 50 && pongs <= 50 * windows,
        "pongs {pongs}, windows {windows}"
    );
    assert!(
        limit_errors >= 1 && limit_errors <= windows,
        "{limit_errors} errors"
    );
    assert!(server.metric("quizpulse_rate_limited_total").await >= 9_000);
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
        c.ws.close_grace = Duration::from_secs(30);
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.metric("quizpulse_lagged_closed_total").await == 0 {
        assert!(Instant::now() < deadline, "the laggard was never dropped");
        let mut batch = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let score = (uploaded as f64) + i as f64;
            batch.push(server.upload(token, "qa", score));
        }
        uploaded += futures_util::future::join_all(batch).await.len() as u64;
    }
    // One last upload as a marker for the fast reader.
    server.upload(&alice, "qa", 1_000_000.0).await;
    uploaded += 1;
    let seen = tokio::time::timeout(Duration::from_secs(30), reader)
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
    assert_eq!(recv_close(&mut slow).await, Some(1013));
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_socket_with_1001() {
    let mut server = start().await;
    let alice = server.access("alice").await;
    let mut a = server.connect(&alice).await;
    let mut b = server.connect(&alice).await;
    subscribe(&mut b, "qa").await;
    barrier(&mut a, 1).await;
    let stopping = Instant::now();
    let (code_a, code_b, stopped) =
        tokio::join!(recv_close(&mut a), recv_close(&mut b), server.stop());
    stopped.unwrap();
    assert_eq!(code_a, Some(1001));
    assert_eq!(code_b, Some(1001));
    assert!(stopping.elapsed() < Duration::from_secs(5));
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    let _ = a.next().await;
}
