//! The Quizzes tab: every quiz with its follow switch; open one to see its board, kept
//! fresh while shown, with the subscription's state.

use quizpulse::messages::{Command, QuizRow, SubscriptionStatus};
use quizpulse::wire::QuizId;
use sycamore::prelude::*;

use super::board::{query_note, table};
use super::popup::Ui;
use super::reactive::{click, dynamic, keyed, selector, text};
use crate::live::Live;
use crate::model::ago;

/// The tab's content: the open quiz's board, or the list.
pub(super) fn quizzes(live: Live, ui: Ui) -> View {
    dynamic(move || match ui.open_quiz.get_clone() {
        Some(id) => untrack(|| quiz_board(live, ui, id)),
        None => untrack(|| quiz_list(live, ui)),
    })
}

fn row_of(live: Live, id: &str) -> Option<QuizRow> {
    live.with(|s| {
        s?.quizzes
            .iter()
            .find(|q| q.quiz.id.as_str() == id)
            .cloned()
    })
}

/// The follow switch of a quiz, named "Follow <title>".
fn follow_switch(live: Live, id: String, title: String) -> View {
    let followed = {
        let id = id.clone();
        selector(move || row_of(live, &id).is_some_and(|r| r.followed))
    };
    let toggle = move |event: web_sys::Event| {
        let on = event
            .current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
            .is_some_and(|input| input.checked());
        let quiz_id = QuizId::from(id.as_str());
        live.send(if on {
            Command::Follow { quiz_id }
        } else {
            Command::Unfollow { quiz_id }
        });
    };
    let name = format!("Follow {title}");
    view! {
        label(class="switch") {
            input(
                class="switch__input",
                r#type="checkbox",
                aria-label=name,
                prop:checked=move || wasm_bindgen::JsValue::from_bool(followed.get()),
                on:change=toggle,
            )
            span(class="switch__track", aria-hidden="true")
        }
    }
}

fn quiz_list(live: Live, ui: Ui) -> View {
    let ids = selector(move || {
        live.with(|s| {
            s.map(|s| {
                s.quizzes
                    .iter()
                    .map(|q| q.quiz.id.to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        })
    });
    let list =
        selector(move || live.with(|s| s.map(|s| (s.quiz_list.clone(), s.quizzes.is_empty()))));
    // Views are built outside reads (`with`): building one changes signals.
    let note = move || {
        let (list, empty) = list.get_clone()?;
        if empty {
            query_note(&list, "quizzes")
        } else {
            list.error.map(|error| {
                let text =
                    format!("Showing the last quiz list received; refreshing failed: {error}");
                view! { p(class="note note--error") { (text) } }
            })
        }
    };
    let note = dynamic(note);
    let rows = keyed(ids, move |id| {
        untrack(|| {
            let Some(row) = row_of(live, &id) else {
                return View::default();
            };
            let title = row.quiz.title.clone();
            let subject = live
                .with(|s| s.and_then(|s| s.subject_names.get(&row.quiz.subject_id).cloned()))
                .unwrap_or_else(|| row.quiz.subject_id.to_string());
            let open = {
                let id = id.clone();
                move |_| ui.open(live, Some(id.clone()))
            };
            let status = {
                let id = id.clone();
                text(move || {
                    row_of(live, &id)
                        .map(|r| follow_words(&r).to_owned())
                        .unwrap_or_default()
                })
            };
            let sessions = row.quiz.sessions_count;
            let switch = follow_switch(live, id.clone(), title.clone());
            view! {
                li(class="quiz") {
                    button(class="quiz__open", r#type="button", on:click=click(open)) {
                        span(class="quiz__title") { (title) }
                        span(class="quiz__meta") {
                            (subject) " · " (sessions) " sessions"
                            span(class="quiz__status") { (status) }
                        }
                    }
                    (switch)
                }
            }
        })
    });
    view! {
        (note)
        ul(class="quizzes", aria-label="Quizzes") {
            (rows)
        }
    }
}

/// A quiz row's follow state in words.
fn follow_words(row: &QuizRow) -> &'static str {
    match (row.followed, row.open_in_tab, row.subscription) {
        (_, _, SubscriptionStatus::Unconfirmed) => " · not confirmed",
        (true, _, _) => " · following",
        (false, true, _) => " · open in a tab",
        (false, false, _) => "",
    }
}

fn quiz_board(live: Live, ui: Ui, id: String) -> View {
    let row = {
        let id = id.clone();
        selector(move || row_of(live, &id))
    };
    let title = row
        .with_untracked(|r| r.as_ref().map(|r| r.quiz.title.clone()))
        .unwrap_or_else(|| id.clone());
    let back = move |_| ui.open(live, None);
    let subscription = move || {
        let words = row.with(|r| match r.as_ref().map(|r| r.subscription) {
            Some(SubscriptionStatus::Confirmed) => "Subscription confirmed: updates arrive live.",
            Some(SubscriptionStatus::Pending) => "Subscribing to live updates…",
            Some(SubscriptionStatus::Unconfirmed) => {
                "The server has not confirmed the subscription; the board is refetched instead."
            }
            Some(SubscriptionStatus::None) | None => {
                "Not followed: this board refreshes while it is shown."
            }
        });
        words.to_owned()
    };
    let data = {
        let id = id.clone();
        selector(move || {
            live.with(|s| {
                let s = s?;
                let me = s.account.as_ref().and_then(|a| a.user_id.clone());
                Some((s.quiz_boards.get(&id).cloned(), me))
            })
        })
    };
    let board = {
        let id = id.clone();
        move || {
            let (query, me) = data.get_clone().unwrap_or_default();
            let Some(query) = query else {
                return view! { p(class="note") { "Loading the board…" } };
            };
            let note = query_note(&query, "this board");
            let Some(board) = query.data else {
                return view! { (note) };
            };
            let updated = board
                .updated_at
                .clone()
                .map(|at| ago(&at, live.now.get_untracked()));
            let rows = ui.rows(&format!("quiz:{id}"), &board.entries, me.as_deref());
            let caption = format!("{} leaderboard", board.quiz.title);
            let body = if rows.is_empty() {
                view! { p(class="note") { "No sessions on this quiz yet." } }
            } else {
                table(caption, rows)
            };
            let updated: View = match updated {
                Some(u) => view! { p(class="hint") { "Latest session " (u) } },
                None => View::default(),
            };
            view! { (note) (body) (updated) }
        }
    };
    let switch = follow_switch(live, id.clone(), title.clone());
    let (subscription, board) = (text(subscription), dynamic(board));
    view! {
        section(class="detail", aria-labelledby="quiz-title") {
            div(class="detail__head") {
                button(class="button button--small button--quiet", r#type="button", on:click=click(back)) { "‹ All quizzes" }
                h2(id="quiz-title", class="detail__title") { (title) }
                (switch)
            }
            p(class="note", role="status", data-testid="subscription") { (subscription) }
            (board)
        }
    }
}
