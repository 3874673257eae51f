//! The Me tab: rank and score per subject, recent sessions, a sparkline of recent
//! scores.

use quizpulse_chrome::i18n::{ago, isolate, number, score, t, tn, tr};
use sycamore::prelude::*;

use super::board::{Query, query_note};
use super::list;
use super::reactive::dynamic;
use crate::live::Live;
use crate::model::sparkline::{VIEW_BOX, sparkline};
use crate::model::{recent_sessions, since};

/// The tab's content.
pub(super) fn me(live: Live) -> View {
    dynamic(move || {
        live.snapshot.get_clone().map(|s| {
            let query = &s.my_standing;
            let note = query_note(query, Query::Standing);
            let Some(perf) = query.data.as_ref() else { return note.unwrap_or_default() };
            let now = live.now.get_untracked();
            let standings: Vec<View> = perf.subjects.iter().map(|st| {
                let name = s.subject_names.get(&st.subject_id).cloned()
                    .unwrap_or_else(|| st.subject_id.to_string());
                let (rank, points, sessions) = (
                    tr("board_rank_value", &[number(u64::from(st.rank))]),
                    tr("me_points", &[score(st.score)]),
                    tn("me_sessions", u64::from(st.sessions), &[]),
                );
                view! {
                    li(class="standing") {
                        bdi(class="standing__subject") { (name) }
                        span(class="standing__rank") { (rank) }
                        span(class="standing__score") { (points) }
                        span(class="standing__sessions") { (sessions) }
                    }
                }
            }).collect();
            let recent = recent_sessions(perf, &s);
            let scores: Vec<f64> = recent.iter().rev().map(|r| r.score).collect();
            let spoken = tr(
                "me_sparkline",
                &[list(scores.iter().map(|s| score(*s)))],
            );
            let line: View = match sparkline(&scores) {
                Some(line) => {
                    let (points, (cx, cy)) = (line.points, line.last);
                    view! {
                        div(class="spark", role="img", aria-label=spoken) {
                            svg(viewBox=VIEW_BOX, width="240", height="64", aria-hidden="true") {
                                polyline(points=points, fill="none", stroke="currentColor", stroke-width="1.5",
                                    stroke-linejoin="round", stroke-linecap="round")
                                circle(cx=cx, cy=cy, r="2", fill="currentColor")
                            }
                        }
                    }
                }
                None => View::default(),
            };
            let rows: Vec<View> = recent.into_iter().map(|r| {
                let when = since(&r.completed_at, now).map_or_else(
                    || r.completed_at.clone(),
                    |span| ago(u64::try_from(span.as_millis()).unwrap_or(u64::MAX)),
                );
                let (title, points) = (r.title, score(r.score));
                view! {
                    li(class="recent") {
                        bdi(class="recent__title") { (title) }
                        span(class="recent__score") { (points) }
                        span(class="recent__when") { (when) }
                    }
                }
            }).collect();
            let who = tr("me_title", &[isolate(&perf.user.username)]);
            let standings = if standings.is_empty() {
                let empty = t("me_empty");
                view! { p(class="note") { (empty) } }
            } else {
                view! { ul(class="standings") { (standings) } }
            };
            let recent_title = t("me_recent");
            view! {
                (note)
                section(class="me", aria-labelledby="me-title") {
                    h2(id="me-title", class="section-title") { (who) }
                    (standings)
                }
                section(class="me", aria-labelledby="recent-title") {
                    h2(id="recent-title", class="section-title") { (recent_title) }
                    (line)
                    ul(class="recents") { (rows) }
                }
            }
        })
    })
}
