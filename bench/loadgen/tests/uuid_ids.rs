//! The generator speaks the contract, whose ids are strings: against a
//! contract server whose `session_id`s are UUIDs (as a Django model with a
//! `UUIDField` key sends them), `loadgen run` measures every upload, as it
//! does against our server's digit ids (issue 15, section 6).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, post};
use futures_util::{SinkExt, StreamExt};
use quizpulse_loadgen::run::{Plan, run};
use quizpulse_loadgen::sign_in_all;
use quizpulse_loadgen::target::Target;
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// A minimal contract server: any credentials sign in, every upload gets a
/// UUID and is broadcast (its three messages, Django's spacing) to every
/// socket, which is confirmed when it subscribes.
#[derive(Clone)]
struct Uuids {
    uploads: Arc<AtomicU64>,
    frames: broadcast::Sender<String>,
}

fn uuid(n: u64) -> String {
    format!(
        "{:08x}-5c1e-4a1b-9f0e-{:012x}",
        0x81ae_b76d_u64 ^ n,
        n * 7919
    )
}

async fn token() -> Json<Value> {
    Json(json!({"access": "a.b.c", "refresh": "d.e.f"}))
}

async fn upload(State(server): State<Uuids>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let n = server.uploads.fetch_add(1, Ordering::Relaxed) + 1;
    let id = uuid(n);
    let quiz = body["quiz_id"].as_str().unwrap_or("q").to_owned();
    let session = json!({
        "session_id": id, "quiz_id": quiz, "subject_id": "s", "user_id": "u",
        "username": "ann", "score": body["score"], "completed_at": "2026-01-01T00:00:00Z"
    });
    // `type` first, as every contract server writes it (Django's json.dumps
    // keeps a dict's order; serde_json's json! would sort the keys).
    let quoted = Value::from(quiz.as_str());
    for frame in [
        format!(r#"{{"type":"quiz_session_uploaded","data":{session}}}"#),
        r#"{"type":"leaderboard_updated","data":{"subject_id":"s"}}"#.to_owned(),
        format!(r#"{{"type":"quiz_leaderboard_updated","data":{{"quiz_id":{quoted}}}}}"#),
    ] {
        let _ = server.frames.send(frame);
    }
    (StatusCode::CREATED, Json(session))
}

async fn socket(State(server): State<Uuids>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket: WebSocket| async move {
        let (mut tx, mut rx) = socket.split();
        let mut frames = server.frames.subscribe();
        loop {
            tokio::select! {
                incoming = rx.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let message: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                        if message["type"] == "subscribe_quiz" {
                            let confirmed = json!({"type": "subscription_confirmed", "quiz_id": message["quiz_id"], "message": "ok"});
                            if tx.send(Message::text(confirmed.to_string())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                frame = frames.recv() => match frame {
                    Ok(frame) => {
                        if tx.send(Message::text(frame)).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_with_uuid_session_ids_are_measured_like_any_other() {
    let server = Uuids {
        uploads: Arc::new(AtomicU64::new(0)),
        frames: broadcast::channel(1024).0,
    };
    let app = Router::new()
        .route("/api/token/", post(token))
        .route("/api/quiz-sessions/", post(upload))
        .route("/ws/leaderboard/", any(socket))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let target = Target::new(&format!("http://{addr}")).unwrap();
    let tokens = sign_in_all(&target, &["ann:pw".parse().unwrap()])
        .await
        .unwrap();
    let plan = Plan {
        sockets: 4,
        uploads: 3,
        rates: vec![5.0],
        step: Duration::from_secs(1),
        p99_limit: Duration::from_secs(60),
        quiz: "q".to_owned(),
        pids: vec![std::process::id()],
        readers: 2,
        window: Duration::from_secs(60),
    };
    let result = run(&[target], &tokens, &plan).await.unwrap();
    let fanout = &result["fanout"];
    assert_eq!(fanout["uploads"], 3);
    assert_eq!(fanout["missed"], 0, "{result}");
    assert_eq!(fanout["incomplete"], 0);
    let step = &result["sustained"]["steps"][0];
    assert_eq!(step["uploads"], 5);
    assert_eq!(step["missed"], 0, "{result}");
    assert_eq!(result["frames"], 8 * 4 * 3);
    assert_eq!(server.uploads.load(Ordering::Relaxed), 8);
}
