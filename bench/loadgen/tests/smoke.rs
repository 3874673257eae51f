//! A short run of the load generator against our real server on loopback:
//! a few sockets, a few uploads, one restart.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use quizpulse_loadgen::run::{Plan, run};
use quizpulse_loadgen::sign_in_all;
use quizpulse_loadgen::storm::{StormPlan, storm};
use quizpulse_loadgen::target::{Credential, Target};
use quizpulse_server::Server;
use quizpulse_server::auth::PasswordHashing;
use quizpulse_server::config::{Config, Secret};
use quizpulse_server::demo;
use tokio::sync::oneshot;

fn config(db: &std::path::Path, bind: SocketAddr) -> Config {
    let mut config = Config::new(
        format!("sqlite://{}", db.display()),
        Secret::new("loadgen-smoke-secret-5e0b27d9a41c8f36"),
    );
    config.bind = bind;
    config.shutdown_grace = Duration::from_secs(2);
    config
}

/// Binds, seeds the demo data and serves until `stop` fires.
async fn start(
    db: &std::path::Path,
    bind: SocketAddr,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let server = Server::bind(config(db, bind)).await.unwrap();
    demo::seed(&server.state().db, &PasswordHashing::insecure_fast())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (addr, stop, task)
}

fn alice() -> Vec<Credential> {
    vec![
        format!("alice:{}", demo::password("alice"))
            .parse()
            .unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_delivers_every_upload_to_every_socket() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, stop, task) = start(
        &dir.path().join("run.db"),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await;
    let target = Target::new(&format!("http://{addr}")).unwrap();
    let tokens = sign_in_all(&target, &alice()).await.unwrap();
    let plan = Plan {
        sockets: 5,
        uploads: 3,
        rates: vec![5.0],
        step: Duration::from_secs(1),
        // Generous: a slow or busy machine must not turn a late delivery into a miss.
        p99_limit: Duration::from_secs(60),
        quiz: "quadratics".to_owned(),
        pids: vec![std::process::id()],
        readers: 2,
        window: Duration::from_secs(60),
    };
    let result = run(&[target], &tokens, &plan).await.unwrap();
    assert_eq!(result["fanout"]["uploads"], 3);
    assert_eq!(result["fanout"]["missed"], 0);
    assert_eq!(result["seq_gaps"], 0);
    assert_eq!(result["lagged"], 0);
    let step = &result["sustained"]["steps"][0];
    assert_eq!(step["uploads"], 5);
    assert_eq!(step["missed"], 0);
    assert_eq!(step["ok"], true);
    // 8 uploads x 5 sockets x 3 messages, plus one confirmation per socket
    // (read before the tally starts).
    assert_eq!(result["frames"], 8 * 5 * 3);
    assert!(result["kib_per_socket"].is_number());
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_past_its_window_is_counted_as_missed_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, stop, task) = start(
        &dir.path().join("window.db"),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await;
    let target = Target::new(&format!("http://{addr}")).unwrap();
    let tokens = sign_in_all(&target, &alice()).await.unwrap();
    // A window no answer can meet: every POST is abandoned unanswered.
    let plan = Plan {
        sockets: 3,
        uploads: 2,
        rates: Vec::new(),
        step: Duration::from_secs(1),
        p99_limit: Duration::from_secs(10),
        quiz: "quadratics".to_owned(),
        pids: vec![std::process::id()],
        readers: 1,
        window: Duration::from_micros(1),
    };
    let result = run(&[target], &tokens, &plan).await.unwrap();
    let fanout = &result["fanout"];
    assert_eq!(fanout["uploads"], 2);
    assert_eq!(fanout["unanswered"], 2);
    assert_eq!(fanout["incomplete"], 2);
    assert_eq!(fanout["missed"], 2 * 3);
    assert_eq!(fanout["delivered_in_window"], 0);
    assert_eq!(fanout["deliveries_per_s"], 0.0);
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_returns_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("storm.db");
    let (addr, stop, task) = start(&db, SocketAddr::from(([127, 0, 0, 1], 0))).await;
    let target = Target::new(&format!("http://{addr}")).unwrap();
    let tokens = sign_in_all(&target, &alice()).await.unwrap();
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let restarter = tokio::spawn(async move {
        ready_rx.await.unwrap();
        stop.send(()).unwrap();
        task.await.unwrap();
        start(&db, addr).await
    });
    let plan = StormPlan {
        sockets: 4,
        jitter: false,
        timeout: Duration::from_secs(120),
        seed: 1,
    };
    let result = storm(&target, &tokens, &plan, move || {
        ready_tx.send(()).unwrap();
    })
    .await
    .unwrap();
    assert_eq!(result["returned"], 4);
    assert!(result["peak_attempts_per_s"].as_u64().unwrap() >= 4);
    let (_, stop, task) = restarter.await.unwrap();
    stop.send(()).unwrap();
    task.await.unwrap();
}
