//! The Me tab: rank and score per subject, recent sessions, a sparkline of recent
//! scores.

use quizpulse_chrome::i18n::{ago, isolate, number, score, t, tn, tr};
use sycamore::prelude::*;

use quizpulse::messages::Command;

use super::board::{Query, query_note};
use super::list;
use super::reactive::{click, dynamic, selector};
use crate::live::Live;
use crate::model::sparkline::{VIEW_BOX, sparkline};
use crate::model::{recent_sessions, since};

/// The tab's content: the account, then the standing.
pub(super) fn me(live: Live) -> View {
    let (account, standing) = (account(live), standing(live));
    view! { (account) (standing) }
}

/// Who is signed in and to which server, and Sign out (what the options page's does:
/// the socket closes, no token is kept, the sign-in form comes back).
fn account(live: Live) -> View {
    // One `Option<String>` selector, a type the pages already use (each signal type is
    // more wasm). The server cannot change under a sign-in: changing it signs out.
    let who = selector(move || {
        live.with(|s| {
            s.map(|s| {
                s.account
                    .as_ref()
                    .and_then(|a| a.username.clone())
                    .unwrap_or_default()
            })
        })
    });
    let sign_out = move |_| live.send(Command::SignOut);
    dynamic(move || {
        who.get_clone().map(|name| {
            let host = live.snapshot.with_untracked(|s| {
                s.as_ref().map_or_else(String::new, |s| {
                    let server = s.settings.server_url.as_str();
                    server.split_once("://").map_or(server, |(_, h)| h).to_owned()
                })
            });
            let (label, as_, on, sign_out_words) = (
                t("options_account"),
                t("options_signed_in_as"),
                t("me_on_server"),
                t("options_sign_out"),
            );
            view! {
                section(class="account", aria-label=label) {
                    p(class="account__who", data-testid="signed-in-as") {
                        (as_) " " strong { bdi { (name) } } " " (on) " " bdi { (host) }
                    }
                    button(class="button button--small", r#type="button", data-testid="sign-out", on:click=click(sign_out)) { (sign_out_words) }
                }
            }
        })
    })
}

/// Rank and score per subject, recent sessions, the sparkline.
fn standing(live: Live) -> View {
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
