//! Two instances behind Redis on PostgreSQL: broadcasts cross instances in
//! order, a Redis restart is survived and announced with 1012, uploads wait
//! only for earlier uploads of their own subject, across instances, and an
//! upload answered 201 reaches every follower or every follower is told to
//! resync, whatever happens to the publishing connection (issue 18).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{Backend, Socket, TestServer, WAIT, recv, recv_close, start_on, subscribe, types};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A socket on the first instance (the one REST calls go to).
async fn connect_first(server: &TestServer, token: &str) -> Socket {
    let url = format!("ws://{}/ws/leaderboard/?token={token}", server.addr);
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .unwrap()
        .0
}

/// Two instances behind Redis, and alice following `qa` on each: her token, her socket
/// on the first instance and her socket on the second.
async fn alice_following_qa_on_both() -> (TestServer, String, Socket, Socket) {
    let server = start_on(Backend::Redis, |_| {}).await;
    let alice = server.access("alice").await;
    let mut first = connect_first(&server, &alice).await;
    let mut second = server.connect(&alice).await;
    subscribe(&mut first, "qa").await;
    subscribe(&mut second, "qa").await;
    (server, alice, first, second)
}

/// A command to the test's Redis.
async fn redis_cmd(server: &TestServer, cmd: &redis::Cmd) -> redis::Value {
    let client = redis::Client::open(server.redis.as_ref().unwrap().url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    cmd.query_async(&mut conn).await.unwrap()
}

/// Uploads through `base` (either instance); returns the stored session.
async fn upload_via(
    server: &TestServer,
    base: std::net::SocketAddr,
    token: &str,
    quiz: &str,
    score: f64,
) -> Value {
    let response = server
        .http
        .post(format!("http://{base}/api/quiz-sessions/"))
        .bearer_auth(token)
        .json(&json!({"quiz_id": quiz, "score": score, "duration_s": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// What a follower saw of an upload: its message, or a 1012 close.
#[derive(Debug, PartialEq)]
enum Seen {
    Upload,
    Restart,
}

/// Reads until the upload `session` arrives or the socket closes (1012).
async fn upload_or_restart(socket: &mut Socket, session: &Value) -> Seen {
    loop {
        let next = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("neither the upload nor a 1012 came");
        match next {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(text.as_str()).unwrap();
                if message["type"] == "quiz_session_uploaded"
                    && message["data"]["session_id"] == session["session_id"]
                {
                    return Seen::Upload;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1012));
                return Seen::Restart;
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

/// Issue 18, finding 2: Redis cut the publishing connections (`CLIENT KILL
/// TYPE normal`: what `timeout`, a proxy's idle cut or an operator does; the
/// subscriptions stay). The next upload through either instance is still
/// broadcast through Redis to the followers on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_after_the_publishing_connections_were_cut_reach_both_instances() {
    let (server, alice, mut first, mut second) = alice_following_qa_on_both().await;
    // Each instance has published once (its publishing connection is in use).
    for base in [server.addr, server.ws_addr] {
        let session = upload_via(&server, base, &alice, "qa", 1.0).await;
        for socket in [&mut first, &mut second] {
            assert_eq!(upload_or_restart(socket, &session).await, Seen::Upload);
        }
    }
    let killed = redis_cmd(
        &server,
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .arg("SKIPME")
            .arg("yes"),
    )
    .await;
    assert!(
        matches!(killed, redis::Value::Int(n) if n >= 2),
        "{killed:?}"
    );
    for (base, score) in [(server.addr, 2.0), (server.ws_addr, 3.0)] {
        let session = upload_via(&server, base, &alice, "qa", score).await;
        for socket in [&mut first, &mut second] {
            assert_eq!(upload_or_restart(socket, &session).await, Seen::Upload);
        }
    }
    // Through Redis, not the fallback.
    assert_eq!(server.state.metrics.broker_publish_failed.get(), 0);
    assert_eq!(server.ws_state.metrics.broker_publish_failed.get(), 0);
}

/// A failover pauses Redis's writes (`CLIENT PAUSE … WRITE`) for longer than
/// an upload waits for its publish. The upload is answered 201 and reaches
/// the followers on its own instance directly; every follower on the other
/// gets it (Redis relays it late) or is closed with 1012 by the resync notice
/// sent once Redis takes writes again. None is left without either, and none
/// gets it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_redis_holds_past_its_limit_reaches_every_follower_or_a_1012() {
    let (server, alice, mut first, mut second) = alice_following_qa_on_both().await;
    let pause_ms = 3 * quizpulse_server::broker::PUBLISH_LIMIT.as_millis();
    redis_cmd(
        &server,
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(pause_ms.to_string())
            .arg("WRITE"),
    )
    .await;
    let session = upload_via(&server, server.addr, &alice, "qa", 9.0).await;
    assert_eq!(upload_or_restart(&mut first, &session).await, Seen::Upload);
    let seen = upload_or_restart(&mut second, &session).await;
    // Not confirmed within its limit: counted, and a resync notice went out.
    assert_eq!(server.state.metrics.broker_publish_failed.get(), 1);
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.state.metrics.broker_resyncs.get() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no resync notice was sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if seen == Seen::Upload {
        // Relayed late; the notice still closes it, so its client refetches.
        assert_eq!(recv_close(&mut second).await, Some(1012));
    }
    // The first instance delivered it once, though Redis relayed it too, and
    // ignored its own notice.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.ws_state.metrics.broker_resyncs.get() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the notice never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let later = upload_via(&server, server.addr, &alice, "qa", 10.0).await;
    let mut copies = 0;
    loop {
        let message = recv(&mut first).await;
        if message["type"] == "quiz_session_uploaded" {
            if message["data"]["session_id"] == session["session_id"] {
                copies += 1;
            }
            if message["data"]["session_id"] == later["session_id"] {
                break;
            }
        }
    }
    assert_eq!(copies, 0, "the paused upload was delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_on_one_instance_gets_uploads_made_through_the_other_in_order() {
    let server = start_on(Backend::Redis, |_| {}).await;
    assert_ne!(server.addr, server.ws_addr);
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    subscribe(&mut socket, "qa").await;
    for score in [10.0, 30.0, 20.0] {
        server.upload(&alice, "qa", score).await;
    }
    let mut best = Vec::new();
    for _ in 0..3 {
        let triple = [
            recv(&mut socket).await,
            recv(&mut socket).await,
            recv(&mut socket).await,
        ];
        assert_eq!(
            types(&triple),
            [
                "quiz_session_uploaded",
                "leaderboard_updated",
                "quiz_leaderboard_updated"
            ]
        );
        best.push(triple[2]["data"]["entries"][0]["score"].clone());
    }
    assert_eq!(best, [json!(10.0), json!(30.0), json!(30.0)]);
    // The first instance counted the stores, the second the deliveries.
    assert_eq!(server.state.metrics.sessions_stored.get(), 3);
    assert_eq!(server.ws_state.metrics.sessions_stored.get(), 0);
    assert_eq!(server.ws_state.metrics.broadcasts.get(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_closes_sockets_1012_and_broadcasts_resume() {
    let mut server = start_on(Backend::Redis, |_| {}).await;
    let alice = server.access("alice").await;
    let mut socket = server.connect(&alice).await;
    subscribe(&mut socket, "qa").await;

    let redis = server.redis.as_mut().unwrap();
    redis.stop();
    // Stored while Redis is down: answered 201, but no broadcast.
    let (status, _) = server
        .post(
            "/api/quiz-sessions/",
            Some(&alice),
            &json!({"quiz_id": "qa", "score": 5.0, "duration_s": 1.0}),
        )
        .await;
    assert_eq!(status, 201);
    server.redis.as_mut().unwrap().restart();
    // Once resubscribed, every socket is told to reconnect and refetch.
    assert_eq!(recv_close(&mut socket).await, Some(1012));
    // Both instances publish and receive again (the first instance's publisher
    // reconnects on its next use). The first instance's resync notice for
    // the upload it could not publish may close a socket with 1012 once more:
    // reconnect, as a client does, until a broadcast arrives.
    let deadline = tokio::time::Instant::now() + WAIT;
    'reconnect: loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "broadcasts never resumed"
        );
        let mut socket = server.connect(&alice).await;
        common::send(
            &mut socket,
            r#"{"type": "subscribe_quiz", "quiz_id": "qa"}"#,
        )
        .await;
        let session = upload_via(&server, server.addr, &alice, "qa", 7.0).await;
        match upload_or_restart(&mut socket, &session).await {
            Seen::Upload => break 'reconnect,
            Seen::Restart => continue 'reconnect,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_wait_for_their_own_subject_only_even_across_instances() {
    let server = start_on(Backend::Redis, |_| {}).await;
    let alice = server.access("alice").await;
    // Hold maths' turn on the first instance (in-process lock + advisory lock).
    let turn = server
        .state
        .subject_locks()
        .lock(&server.state.db, &"math".into())
        .await
        .unwrap();
    // A maths upload through the second instance must wait for it...
    let maths = {
        let http = server.http.clone();
        let url = server.ws_instance_url("/api/quiz-sessions/");
        let token = alice.clone();
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"quiz_id": "qa", "score": 3.0, "duration_s": 1.0}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    // ...while physics goes through on both instances.
    server.upload(&alice, "qc", 4.0).await;
    let (status, _) = {
        let response = server
            .http
            .post(server.ws_instance_url("/api/quiz-sessions/"))
            .bearer_auth(&alice)
            .json(&json!({"quiz_id": "qc", "score": 6.0, "duration_s": 1.0}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), ())
    };
    assert_eq!(status, 201);
    assert!(
        !maths.is_finished(),
        "a maths upload ran during maths' turn"
    );
    turn.release().await;
    assert_eq!(maths.await.unwrap(), 201);
}
