//! The Me tab: rank and score per subject, recent sessions, a sparkline of recent
//! scores.

use sycamore::prelude::*;

use quizpulse::messages::Command;

use super::board::query_note;
use super::reactive::{click, dynamic, selector};
use crate::live::Live;
use crate::model::board::format_score;
use crate::model::sparkline::{VIEW_BOX, sparkline};
use crate::model::{ago, recent_sessions};

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
            view! {
                section(class="account", aria-label="Account") {
                    p(class="account__who", data-testid="signed-in-as") {
                        "Signed in as " strong { bdi { (name) } } " on " bdi { (host) }
                    }
                    button(class="button button--small", r#type="button", data-testid="sign-out", on:click=click(sign_out)) { "Sign out" }
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
            let note = query_note(query, "your standing");
            let Some(perf) = query.data.as_ref() else { return note.unwrap_or_default() };
            let now = live.now.get_untracked();
            let standings: Vec<View> = perf.subjects.iter().map(|st| {
                let name = s.subject_names.get(&st.subject_id).cloned()
                    .unwrap_or_else(|| st.subject_id.to_string());
                let (rank, score, sessions) = (st.rank, format_score(st.score), st.sessions);
                view! {
                    li(class="standing") {
                        span(class="standing__subject") { (name) }
                        span(class="standing__rank") { "#" (rank) }
                        span(class="standing__score") { (score) " pts" }
                        span(class="standing__sessions") { (sessions) " sessions" }
                    }
                }
            }).collect();
            let recent = recent_sessions(perf, &s);
            let scores: Vec<f64> = recent.iter().rev().map(|r| r.score).collect();
            let spoken = format!(
                "Recent scores, oldest first: {}",
                scores.iter().map(|s| format_score(*s)).collect::<Vec<_>>().join(", ")
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
                let when = ago(&r.completed_at, now);
                let (title, score) = (r.title, format_score(r.score));
                view! {
                    li(class="recent") {
                        span(class="recent__title") { (title) }
                        span(class="recent__score") { (score) }
                        span(class="recent__when") { (when) }
                    }
                }
            }).collect();
            let who = perf.user.username.clone();
            let standings = if standings.is_empty() {
                view! { p(class="note") { "No sessions yet: finish a quiz to get a rank." } }
            } else {
                view! { ul(class="standings") { (standings) } }
            };
            view! {
                (note)
                section(class="me", aria-labelledby="me-title") {
                    h2(id="me-title", class="section-title") { "Your standing, " (who) }
                    (standings)
                }
                section(class="me", aria-labelledby="recent-title") {
                    h2(id="recent-title", class="section-title") { "Recent sessions" }
                    (line)
                    ul(class="recents") { (rows) }
                }
            }
        })
    })
}
