//! The measurements: fan-out latency over sequential uploads, memory per
//! socket, and sustained deliveries at a rising upload rate.
//!
//! Every upload has a delivery window ([`Plan::window`]): what has not
//! reached a socket by its end counts as missed, and a slow server's late
//! answer to the upload's `POST` is measured, not an error (the upload is
//! then found by the tally slot that grew during the window).

use std::sync::Arc;
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

/// Sessions a tally snapshot covers: the tally's slots (`fleet::SLOTS`,
/// indexed by `session_id` modulo it), so every slot is read once.
const SNAPSHOT_SESSIONS: u64 = 1 << 16;

/// Longest wait, after an upload that missed sockets, for the server to go
/// idle before the next one (its backlog must not spill into that one).
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

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
    /// How long each upload may take to reach every socket; what is late
    /// counts as missed.
    pub window: Duration,
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
    let mut busy = Duration::ZERO;
    let mut incomplete = 0usize;
    let mut unanswered = 0usize;
    let mut known = Vec::with_capacity(plan.uploads);
    for u in 0..plan.uploads {
        let upload = timed_upload(
            target,
            &tokens[0],
            &plan.quiz,
            (u % 100) as f64,
            tally,
            sockets,
            plan.window,
            &known,
        )
        .await?;
        known.extend(upload.session);
        missed += u64::from(sockets - upload.reached.min(sockets));
        delivered += upload.frames;
        unanswered += usize::from(!upload.answered);
        if upload.reached >= sockets {
            let took = Duration::from_nanos(upload.last_ns.saturating_sub(upload.started_ns));
            latencies.push(took);
            busy += took;
            // Let the sockets' other frames of this upload drain before the next.
            tokio::time::sleep(Duration::from_millis(5)).await;
        } else {
            // Not every socket within the window: the time to the last one is
            // more than the window; what was delivered took until the last
            // message that arrived within it.
            incomplete += 1;
            latencies.push(plan.window);
            busy += Duration::from_nanos(upload.last_frame_ns.saturating_sub(upload.started_ns));
            drain(&plan.pids, DRAIN_LIMIT).await;
        }
    }
    // CPU time per upload does not depend on what else the machine runs.
    let per_upload = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) if plan.uploads > 0 => Some((a - b) * 1000.0 / plan.uploads as f64),
        _ => None,
    };
    let server_cpu_ms = per_upload(server_cpu, cpu_total(&plan.pids));
    let loadgen_cpu_ms = per_upload(own_cpu, cpu_seconds(std::process::id()));
    let p50 = percentile(&latencies, 0.5);
    let p99 = percentile(&latencies, 0.99);
    eprintln!(
        "loadgen: fan-out to {} sockets over {} uploads: p50 {p50:.2?}, p99 {p99:.2?}, missed {missed} \
         ({incomplete} uploads incomplete and {unanswered} unanswered within {:?}); CPU per upload: server {server_cpu_ms:.1?} ms, loadgen {loadgen_cpu_ms:.1?} ms",
        plan.sockets, plan.uploads, plan.window
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
        "window_ms": ms(plan.window),
        // Messages received within the windows (all three kinds).
        "delivered_in_window": delivered,
        // Uploads that had not reached every socket when the window ended
        // (their latency is counted as the window: a lower bound).
        "incomplete": incomplete,
        // Uploads whose POST had no answer within the window.
        "unanswered": unanswered,
        "server_cpu_ms_per_upload": server_cpu_ms,
        "loadgen_cpu_ms_per_upload": loadgen_cpu_ms,
        // Messages delivered per second of fan-out (uploads one at a time;
        // only what arrived within the windows counts, over the time to the
        // last socket, or to the last message within the window when some
        // socket had not got the upload by then).
        "deliveries_per_s": if busy.is_zero() { 0.0 } else {
            delivered as f64 / busy.as_secs_f64()
        },
    }))
}

/// What one upload reached within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Upload {
    /// Its `session_id`, when known (from the answer or the grown slot).
    session: Option<u64>,
    /// Sockets that had its last message when the window ended.
    reached: u32,
    /// When the last of them got it (bench clock, ns).
    last_ns: u64,
    /// When its `POST` went out (bench clock, ns).
    started_ns: u64,
    /// Whether the `POST` was answered within the window.
    answered: bool,
    /// Messages of any kind the sockets received from the `POST` until the
    /// last socket had this upload or the window ended.
    frames: u64,
    /// When the last of those arrived (bench clock, ns; 1 ms resolution).
    last_frame_ns: u64,
}

/// Every tally slot's count and latest arrival at one moment.
fn snapshot(tally: &Tally) -> Vec<(u32, u64)> {
    (0..SNAPSHOT_SESSIONS)
        .map(|session| (tally.delivered(session), tally.last_ns(session)))
        .collect()
}

/// The slot of an upload whose `POST` had no answer: of the slots that grew
/// between `before` and `after` and belong to no `known` upload, the one
/// that grew most (sequential uploads: normally the only one).
fn grown_slot(before: &[(u32, u64)], after: &[(u32, u64)], known: &[u64]) -> Option<u64> {
    before
        .iter()
        .zip(after)
        .enumerate()
        .map(|(slot, (b, a))| (slot as u64, a.0.saturating_sub(b.0)))
        .filter(|&(slot, grew)| grew > 0 && !known.iter().any(|k| k % SNAPSHOT_SESSIONS == slot))
        .max_by_key(|&(_, grew)| grew)
        .map(|(slot, _)| slot)
}

/// One upload, timed: its `POST`, then its messages until every socket has
/// them or `window` (from the `POST`) has passed, counting every message the
/// sockets receive meanwhile. A `POST` still unanswered at the window's end
/// is abandoned and the upload found by its tally slot; an answer that is an
/// error (bad token, unknown quiz) is an error.
#[allow(clippy::too_many_arguments)]
async fn timed_upload(
    target: &Target,
    token: &str,
    quiz: &str,
    score: f64,
    tally: &Tally,
    sockets: u32,
    window: Duration,
    known: &[u64],
) -> Result<Upload, Error> {
    let before = snapshot(tally);
    let frames_before = tally.frames.load(Ordering::Relaxed);
    let started_ns = tally.now_ns();
    let deadline = tokio::time::Instant::now() + window;
    let post = target.upload(token, quiz, score);
    tokio::pin!(post);
    let mut answer = None;
    let mut frames = 0;
    let mut last_frame_ns = started_ns;
    loop {
        let seen = tally.frames.load(Ordering::Relaxed) - frames_before;
        if seen != frames {
            frames = seen;
            last_frame_ns = tally.now_ns();
        }
        if answer.is_some_and(|id| tally.delivered(id) >= sockets)
            || tokio::time::Instant::now() >= deadline
        {
            break;
        }
        let tick = tokio::time::sleep(Duration::from_millis(1));
        if answer.is_some() {
            tick.await;
        } else {
            tokio::select! {
                id = &mut post => answer = Some(tally.key(id?.as_bytes())),
                () = tick => {}
            }
        }
    }
    let upload = Upload {
        session: answer,
        reached: 0,
        last_ns: started_ns,
        started_ns,
        answered: answer.is_some(),
        frames,
        last_frame_ns,
    };
    Ok(match answer {
        Some(id) => Upload {
            reached: tally.delivered(id).min(sockets),
            last_ns: tally.last_ns(id),
            ..upload
        },
        None => {
            let after = snapshot(tally);
            let session = grown_slot(&before, &after, known);
            match session.and_then(|s| after.get(s as usize)) {
                Some(&(count, last)) => Upload {
                    session,
                    reached: count.min(sockets),
                    last_ns: last,
                    ..upload
                },
                None => upload,
            }
        }
    })
}

/// Waits (up to `limit`) until `pids` use under 5 % of a core over a
/// second: a server still working through an upload's backlog would slow
/// the next one. Without `pids`, waits one second.
async fn drain(pids: &[u32], limit: Duration) {
    let started = tokio::time::Instant::now();
    let mut last = cpu_total(pids);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_total(pids);
        let idle = match (last, now) {
            (Some(a), Some(b)) => b - a < 0.05,
            _ => true,
        };
        if idle || started.elapsed() >= limit {
            eprintln!(
                "loadgen: server {} after {:.0?}",
                if idle { "idle" } else { "still busy" },
                started.elapsed()
            );
            return;
        }
        last = now;
    }
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
            let tally = Arc::clone(&fleet.tally);
            uploads.push(tokio::spawn(async move {
                target
                    .upload(&token, &quiz, (i % 100) as f64)
                    .await
                    .map(|id| (tally.key(id.as_bytes()), started))
            }));
        }
        // A POST with no answer within the window is an upload nobody got.
        let answer_by = tokio::time::Instant::now() + plan.window;
        let mut sent = Vec::with_capacity(count);
        let mut latencies = Vec::with_capacity(count);
        let mut missed = 0u64;
        for mut upload in uploads {
            match tokio::time::timeout_at(answer_by, &mut upload).await {
                Ok(result) => {
                    sent.push(result.map_err(|e| Error::Http(format!("upload task: {e}")))??);
                }
                Err(_) => {
                    upload.abort();
                    missed += u64::from(sockets);
                    latencies.push(plan.window);
                }
            }
        }
        // Each upload's delivery window, as in the fan-out figure: what has
        // not arrived by then is missed (a late one also passes the p99 limit).
        let deadline = tokio::time::Instant::now() + plan.window;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(grown: &[(usize, u32)]) -> Vec<(u32, u64)> {
        let mut slots = vec![(0, 0); SNAPSHOT_SESSIONS as usize];
        for &(slot, count) in grown {
            slots[slot] = (count, 1);
        }
        slots
    }

    #[test]
    fn an_unanswered_upload_is_the_slot_that_grew_most_and_is_not_known() {
        let before = slots(&[(7, 100)]);
        // Upload 7's backlog still arrives; the new upload (8) reached 40.
        let after = slots(&[(7, 180), (8, 40)]);
        assert_eq!(grown_slot(&before, &after, &[7]), Some(8));
        // Not knowing 7, the one that grew most wins.
        assert_eq!(grown_slot(&before, &after, &[]), Some(7));
        // Known sessions are matched modulo the slots.
        assert_eq!(
            grown_slot(&before, &after, &[7 + SNAPSHOT_SESSIONS]),
            Some(8)
        );
        // Nothing arrived: no slot.
        assert_eq!(grown_slot(&before, &before, &[]), None);
    }
}
