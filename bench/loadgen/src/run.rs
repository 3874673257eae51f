//! The measurements: fan-out latency over sequential uploads, memory per
//! socket, and sustained deliveries at a rising upload rate.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Error;
use crate::fleet::{Fleet, Tally};
use crate::stats::{ms, percentile};
use crate::sys::{cpu_seconds, rss_kib};
use crate::target::Target;

/// Messages each following socket gets per upload (the contract's three).
pub const FRAMES_PER_UPLOAD: u64 = 3;

/// Longest wait for one upload to reach every socket.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

/// One `run`'s settings.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Sockets, all following `quiz`.
    pub sockets: usize,
    /// Sequential uploads timed for the fan-out figure.
    pub uploads: usize,
    /// Upload rates (per second) to try in turn for the sustained figure.
    pub rates: Vec<f64>,
    /// How long each rate is held.
    pub step: Duration,
    /// Stop raising the rate once an upload's p99 passes this.
    pub p99_limit: Duration,
    /// The quiz the sockets follow and the uploads go to.
    pub quiz: String,
    /// Server processes whose memory is read before and after connecting.
    pub pids: Vec<u32>,
    /// Threads reading the sockets.
    pub readers: usize,
}

/// Waits until `session` reached `sockets` sockets or the deadline passed;
/// returns how many it reached.
async fn settle(tally: &Tally, session: u64, sockets: u32, deadline: tokio::time::Instant) -> u32 {
    loop {
        let n = tally.delivered(session);
        if n >= sockets || tokio::time::Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn rss_total(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|&pid| rss_kib(pid)).sum()
}

fn cpu_total(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&pid| cpu_seconds(pid)).sum()
}

/// Connects (sockets spread over `targets`), measures memory and fan-out,
/// then the sustained rate, uploading through the first target; returns one
/// JSON object with every figure.
pub async fn run(targets: &[Target], tokens: &[String], plan: &Plan) -> Result<Value, Error> {
    let target = targets
        .first()
        .ok_or_else(|| Error::Usage("no server URL".to_owned()))?;
    let rss_before = rss_total(&plan.pids);
    let fleet = Fleet::connect(targets, tokens, plan.sockets, &plan.quiz, plan.readers).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_total(&plan.pids);
    let per_socket_kib = match (rss_before, rss_after) {
        (Some(before), Some(after)) if plan.sockets > 0 => {
            Some(after.saturating_sub(before) as f64 / plan.sockets as f64)
        }
        _ => None,
    };
    eprintln!(
        "loadgen: {} sockets connected in {:.2?}; server memory {:?} -> {:?} KiB",
        fleet.len(),
        fleet.connect_time,
        rss_before,
        rss_after
    );
    let fanout = fanout(target, tokens, &fleet, plan).await?;
    let sustained = sustain(target, tokens, &fleet, plan).await?;
    let tally = &fleet.tally;
    Ok(json!({
        "servers": targets.len(),
        "sockets": plan.sockets,
        "connect_s": fleet.connect_time.as_secs_f64(),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "kib_per_socket": per_socket_kib,
        "fanout": fanout,
        "sustained": sustained,
        "frames": tally.frames.load(Ordering::Relaxed),
        "bytes": tally.bytes.load(Ordering::Relaxed),
        "seq_gaps": tally.seq_gaps.load(Ordering::Relaxed),
        "closed": tally.closed.load(Ordering::Relaxed),
        "lagged": tally.lagged.load(Ordering::Relaxed),
    }))
}

/// Sequential uploads: each timed from its POST until the last socket has
/// its `quiz_leaderboard_updated`.
async fn fanout(
    target: &Target,
    tokens: &[String],
    fleet: &Fleet,
    plan: &Plan,
) -> Result<Value, Error> {
    let tally = &fleet.tally;
    let sockets = plan.sockets as u32;
    let mut latencies = Vec::with_capacity(plan.uploads);
    let mut missed = 0u64;
    let mut delivered = 0u64;
    let server_cpu = cpu_total(&plan.pids);
    let own_cpu = cpu_seconds(std::process::id());
    for u in 0..plan.uploads {
        let started = tally.now_ns();
        let id = target
            .upload(&tokens[0], &plan.quiz, (u % 100) as f64)
            .await?;
        let reached = settle(
            tally,
            id,
            sockets,
            tokio::time::Instant::now() + DELIVERY_DEADLINE,
        )
        .await;
        missed += u64::from(sockets - reached.min(sockets));
        delivered += u64::from(reached);
        latencies.push(Duration::from_nanos(
            tally.last_ns(id).saturating_sub(started),
        ));
        // Let the sockets' other frames of this upload drain before the next.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // CPU time per upload does not depend on what else the machine runs.
    let per_upload = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) if plan.uploads > 0 => Some((a - b) * 1000.0 / plan.uploads as f64),
        _ => None,
    };
    let server_cpu_ms = per_upload(server_cpu, cpu_total(&plan.pids));
    let loadgen_cpu_ms = per_upload(own_cpu, cpu_seconds(std::process::id()));
    let busy: Duration = latencies.iter().sum();
    let p50 = percentile(&latencies, 0.5);
    let p99 = percentile(&latencies, 0.99);
    eprintln!(
        "loadgen: fan-out to {} sockets over {} uploads: p50 {p50:.2?}, p99 {p99:.2?}, missed {missed}; \
         CPU per upload: server {server_cpu_ms:.1?} ms, loadgen {loadgen_cpu_ms:.1?} ms",
        plan.sockets, plan.uploads
    );
    Ok(json!({
        "uploads": plan.uploads,
        "p50_ms": ms(p50),
        "p99_ms": ms(p99),
        "max_ms": ms(percentile(&latencies, 1.0)),
        // Every upload's latency in order, to see whether the slow ones come
        // at random or in a pattern.
        "latencies_ms": latencies.iter().map(|&l| ms(l)).collect::<Vec<_>>(),
        "missed": missed,
        "server_cpu_ms_per_upload": server_cpu_ms,
        "loadgen_cpu_ms_per_upload": loadgen_cpu_ms,
        // Frames delivered per second of fan-out (uploads one at a time).
        "deliveries_per_s": if busy.is_zero() { 0.0 } else {
            (delivered * FRAMES_PER_UPLOAD) as f64 / busy.as_secs_f64()
        },
    }))
}

/// Rising upload rates, each held for `plan.step`, until p99 passes the
/// limit or a socket misses a message.
async fn sustain(
    target: &Target,
    tokens: &[String],
    fleet: &Fleet,
    plan: &Plan,
) -> Result<Value, Error> {
    let tally = &fleet.tally;
    let sockets = plan.sockets as u32;
    let mut steps = Vec::new();
    let mut best: Option<f64> = None;
    for &rate in &plan.rates {
        if !(rate > 0.0 && rate.is_finite()) {
            continue;
        }
        let count = (rate * plan.step.as_secs_f64()).ceil().max(1.0) as usize;
        let closed_before = tally.closed.load(Ordering::Relaxed);
        let gaps_before = tally.seq_gaps.load(Ordering::Relaxed);
        let begin = tokio::time::Instant::now();
        let first_ns = tally.now_ns();
        let mut uploads = Vec::with_capacity(count);
        for i in 0..count {
            tokio::time::sleep_until(begin + Duration::from_secs_f64(i as f64 / rate)).await;
            let target = target.clone();
            let token = tokens[i % tokens.len()].clone();
            let quiz = plan.quiz.clone();
            let started = tally.now_ns();
            uploads.push(tokio::spawn(async move {
                target
                    .upload(&token, &quiz, (i % 100) as f64)
                    .await
                    .map(|id| (id, started))
            }));
        }
        let mut sent = Vec::with_capacity(count);
        for upload in uploads {
            let result = upload
                .await
                .map_err(|e| Error::Http(format!("upload task: {e}")))?;
            sent.push(result?);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut latencies = Vec::with_capacity(count);
        let mut missed = 0u64;
        let mut delivered = 0u64;
        let mut last_ns = first_ns;
        for &(id, started) in &sent {
            let reached = settle(tally, id, sockets, deadline).await;
            missed += u64::from(sockets - reached.min(sockets));
            delivered += u64::from(reached);
            let last = tally.last_ns(id);
            last_ns = last_ns.max(last);
            latencies.push(Duration::from_nanos(last.saturating_sub(started)));
        }
        let window = Duration::from_nanos(last_ns.saturating_sub(first_ns));
        let per_s = if window.is_zero() {
            0.0
        } else {
            (delivered * FRAMES_PER_UPLOAD) as f64 / window.as_secs_f64()
        };
        let p99 = percentile(&latencies, 0.99);
        let closed = tally.closed.load(Ordering::Relaxed) - closed_before;
        let gaps = tally.seq_gaps.load(Ordering::Relaxed) - gaps_before;
        let healthy = missed == 0 && closed == 0 && gaps == 0;
        let ok = healthy && p99 <= plan.p99_limit;
        eprintln!(
            "loadgen: {rate}/s x {count}: p50 {:.2?}, p99 {p99:.2?}, {per_s:.0} deliveries/s, missed {missed}, closed {closed}, gaps {gaps}{}",
            percentile(&latencies, 0.5),
            if ok { "" } else { " (stop)" }
        );
        steps.push(json!({
            "rate": rate,
            "uploads": count,
            "p50_ms": ms(percentile(&latencies, 0.5)),
            "p99_ms": ms(p99),
            "deliveries_per_s": per_s,
            "missed": missed,
            "closed": closed,
            "seq_gaps": gaps,
            "ok": ok,
        }));
        if !ok {
            break;
        }
        best = Some(best.map_or(per_s, |b: f64| b.max(per_s)));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(json!({"steps": steps, "best_deliveries_per_s": best}))
}
