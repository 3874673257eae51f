//! Benchmark: what the core costs per socket message.
//!
//! ```text
//! cargo run -p quizpulse --release --example core_throughput -- [--messages 20000] [--markdown]
//! ```
//!
//! Part 1 decodes a realistic `quiz_session_uploaded` frame (with `seq` and
//! `sent_at`) with [`ServerFrame::decode`] and, in the same run, parses the same
//! text into a plain `serde_json::Value`: the ratio says what tolerant decoding
//! costs over the bare parse, whatever the machine's speed. Part 2 drives a
//! connected [`Client`](quizpulse::Client) (through the simulated adapter) with a
//! burst of messages a millisecond apart, the three broadcast types in the
//! contract's order, and counts the work it asks for: the fetches show the
//! refetch coalescing, the publishes the snapshot throttle, the time per message
//! what a burst costs the worker.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use quizpulse::client::{Action, ClientConfig};
use quizpulse::sim::{Sim, T0, signed_in_storage};
use quizpulse::wire::ServerFrame;

struct Args {
    messages: usize,
    markdown: bool,
}

fn args() -> Args {
    let mut out = Args {
        messages: 20_000,
        markdown: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        match argv[i].as_str() {
            "--markdown" => out.markdown = true,
            "--messages" => {
                i += 1;
                out.messages = argv
                    .get(i)
                    .and_then(|v| v.parse().ok())
                    .expect("--messages takes a number");
            }
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    out
}

fn session_frame(n: usize, quiz: &str) -> String {
    format!(
        r#"{{"type": "quiz_session_uploaded", "data": {{"session_id": "{n}", "quiz_id": "{quiz}", "subject_id": "math", "user_id": "{u}", "username": "user{u}", "score": 87.5, "completed_at": "2026-11-26T06:00:01.123456Z"}}, "seq": {n}, "sent_at": "2026-11-26T06:00:01.124000Z"}}"#,
        u = n % 97
    )
}

/// Nanoseconds per call of `f` over `n` calls, best of three rounds.
fn per_call(n: usize, mut f: impl FnMut(usize)) -> f64 {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            for i in 0..n {
                f(i);
            }
            started.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn kind(action: &Action) -> &'static str {
    match action {
        Action::OpenSocket { .. } => "OpenSocket",
        Action::CloseSocket { .. } => "CloseSocket",
        Action::Send { .. } => "Send",
        Action::Fetch(_) => "Fetch",
        Action::Notify(_) => "Notify",
        Action::ClearNotification { .. } => "ClearNotification",
        Action::OpenTab { .. } => "OpenTab",
        Action::Persist { .. } => "Persist",
        Action::SetBadge(_) => "SetBadge",
        Action::ScheduleAlarm { .. } => "ScheduleAlarm",
        Action::CheckHostAccess { .. } => "CheckHostAccess",
        Action::Publish { .. } => "Publish",
    }
}

fn main() {
    let args = args();

    // Part 1: decoding.
    let frame = session_frame(12_345, "quadratics");
    let decode_ns = per_call(args.messages, |_| {
        black_box(ServerFrame::decode(black_box(&frame)).unwrap());
    });
    let value_ns = per_call(args.messages, |_| {
        black_box(serde_json::from_str::<serde_json::Value>(black_box(&frame)).unwrap());
    });

    // Part 2: a connected client under a burst, 1 ms of simulated time apart.
    let mut sim = Sim::new(ClientConfig::default());
    sim.start(signed_in_storage(T0, &["quadratics"]));
    sim.open();
    sim.answer_reads();
    sim.take();
    let frames: Vec<String> = (0..args.messages)
        .map(|n| match n % 3 {
            0 => session_frame(n, if n % 2 == 0 { "quadratics" } else { "kinematics" }),
            1 => format!(r#"{{"type": "leaderboard_updated", "data": {{"subject_id": "math"}}, "seq": {n}}}"#),
            _ => format!(r#"{{"type": "quiz_leaderboard_updated", "data": {{"quiz_id": "quadratics"}}, "seq": {n}}}"#),
        })
        .collect();
    let started = Instant::now();
    let mut fetches = 0usize;
    let mut actions = 0usize;
    let mut kinds = std::collections::BTreeMap::<&'static str, usize>::new();
    let (mut to_popup, mut to_storage) = (0usize, 0usize);
    for text in &frames {
        sim.server_says(text);
        sim.advance(Duration::from_millis(1));
        for action in sim.take() {
            actions += 1;
            *kinds.entry(kind(&action)).or_default() += 1;
            match action {
                Action::Fetch(_) => fetches += 1,
                Action::Publish {
                    to_popup: p,
                    to_storage: s,
                    ..
                } => {
                    to_popup += usize::from(p);
                    to_storage += usize::from(s);
                }
                _ => {}
            }
        }
        // Reads complete as they are asked for, as a fast server would answer them.
        sim.answer_reads();
    }
    let burst = started.elapsed();
    let simulated = Duration::from_millis(args.messages as u64);
    let client_us = burst.as_secs_f64() * 1e6 / args.messages as f64;

    if args.markdown {
        println!("## Core throughput\n");
        println!(
            "`cargo run -p quizpulse --release --example core_throughput -- --messages {} --markdown` (native, release; best of 3 rounds for decoding).\n",
            args.messages
        );
        println!("| measure | result |\n|---|---:|");
        println!(
            "| `ServerFrame::decode`, one `quiz_session_uploaded` ({} B) | {decode_ns:.0} ns |",
            frame.len()
        );
        println!(
            "| `serde_json::from_str::<Value>` of the same text (baseline, same run) | {value_ns:.0} ns |"
        );
        println!("| decode / baseline | {:.2}× |", decode_ns / value_ns);
        println!(
            "| client: {} messages over {:.0} s of simulated time, wall time per message (decode, invalidate, timers, snapshot) | {client_us:.1} µs |",
            args.messages,
            simulated.as_secs_f64()
        );
        println!(
            "| client: fetches asked for during that burst (one per key per throttle window, not one per message) | {fetches} ({:.3} per message) |",
            fetches as f64 / args.messages as f64
        );
        println!(
            "| client: snapshots published during that burst (popup at most every 100 ms, session storage every 1 s; the last state always follows) | {} ({to_popup} to the popup, {to_storage} to storage) |",
            kinds.get("Publish").copied().unwrap_or(0)
        );
        let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "| client: actions during the burst | {actions} ({}) |",
            by_kind.join(", ")
        );
    } else {
        println!(
            "decode: {decode_ns:.0} ns/frame; Value parse: {value_ns:.0} ns/frame; ratio {:.2}",
            decode_ns / value_ns
        );
        println!(
            "client burst: {} messages, {client_us:.1} µs each, {fetches} fetches, {actions} actions {kinds:?}; published {to_popup} to the popup, {to_storage} to storage",
            args.messages
        );
    }
}
