//! Two instances behind Redis on PostgreSQL: broadcasts cross instances in
//! order, a Redis restart is survived and announced with 1012, and uploads
//! wait only for earlier uploads of their own subject, across instances.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Backend, recv, recv_close, start_on, subscribe, types};
use serde_json::json;

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
    let mut socket = server.connect(&alice).await;
    subscribe(&mut socket, "qa").await;
    // Both instances publish and receive again (the first instance's publisher
    // reconnects on its next use; retry until a broadcast arrives).
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let (status, _) = server
            .post(
                "/api/quiz-sessions/",
                Some(&alice),
                &json!({"quiz_id": "qa", "score": 7.0, "duration_s": 1.0}),
            )
            .await;
        assert_eq!(status, 201);
        let arrived =
            tokio::time::timeout(std::time::Duration::from_millis(500), recv(&mut socket)).await;
        if let Ok(message) = arrived {
            assert_eq!(message["type"], "quiz_session_uploaded");
            assert_eq!(message["data"]["score"], 7.0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "broadcasts never resumed"
        );
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
