//! The Quizzes tab: every quiz with its follow switch; open one to see its board, kept
//! fresh while shown, with the subscription's state.

use quizpulse::messages::{Command, QuizRow, SubscriptionStatus};
use quizpulse::wire::QuizId;
use sycamore::prelude::*;

use super::board::{Query, caption, query_note, table};
use super::popup::Ui;
use super::reactive::{click, dynamic, keyed, selector, text};
use crate::live::Live;
use crate::model::since;
use quizpulse::Text;
use quizpulse::text::k;
use quizpulse_chrome::i18n::{isolate, render, t, tn, tr};

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
    let name = tr("quiz_follow", &[isolate(&title)]);
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
            query_note(&list, Query::Quizzes)
        } else {
            list.error.map(|error| {
                let text = tr("quizzes_stale", &[render(&error)]);
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
                        .and_then(|r| follow_words(&r))
                        .map(t)
                        .unwrap_or_default()
                })
            };
            let meta = tn("quiz_meta", row.quiz.sessions_count, &[isolate(&subject)]);
            let switch = follow_switch(live, id.clone(), title.clone());
            view! {
                li(class="quiz") {
                    button(class="quiz__open", r#type="button", on:click=click(open)) {
                        bdi(class="quiz__title") { (title) }
                        span(class="quiz__meta") {
                            (meta)
                            span(class="quiz__status") { (status) }
                        }
                    }
                    (switch)
                }
            }
        })
    });
    let label = t("tab_quizzes");
    view! {
        (note)
        ul(class="quizzes", aria-label=label) {
            (rows)
        }
    }
}

/// A quiz row's follow state: its catalog key (` · following`), if any.
fn follow_words(row: &QuizRow) -> Option<&'static str> {
    match (row.followed, row.open_in_tab, row.subscription) {
        (_, _, SubscriptionStatus::Unconfirmed) => Some(k("quiz_not_confirmed")),
        (true, _, _) => Some(k("quiz_following")),
        (false, true, _) => Some(k("quiz_open_in_tab")),
        (false, false, _) => None,
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
        t(row.with(|r| match r.as_ref().map(|r| r.subscription) {
            Some(SubscriptionStatus::Confirmed) => k("subscription_confirmed"),
            Some(SubscriptionStatus::Pending) => k("subscription_pending"),
            Some(SubscriptionStatus::Unconfirmed) => k("subscription_unconfirmed"),
            Some(SubscriptionStatus::None) | None => k("subscription_none"),
        }))
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
                let loading = t("board_loading");
                return view! { p(class="note") { (loading) } };
            };
            let note = query_note(&query, Query::Board);
            let Some(board) = query.data else {
                return view! { (note) };
            };
            let updated = board
                .updated_at
                .as_deref()
                .and_then(|at| since(at, live.now.get_untracked()));
            let rows = ui.rows(&format!("quiz:{id}"), &board.entries, me.as_deref());
            let caption = caption(&board.quiz.title);
            let body = if rows.is_empty() {
                let empty = t("board_empty");
                view! { p(class="note") { (empty) } }
            } else {
                table(caption, rows)
            };
            let updated: View = match updated {
                Some(ago) => {
                    let words = render(&Text::new("quiz_latest").ago(ago));
                    view! { p(class="hint") { (words) } }
                }
                None => View::default(),
            };
            view! { (note) (body) (updated) }
        }
    };
    let switch = follow_switch(live, id.clone(), title.clone());
    let (subscription, board, all) = (text(subscription), dynamic(board), t("quiz_back"));
    view! {
        section(class="detail", aria-labelledby="quiz-title") {
            div(class="detail__head") {
                button(class="button button--small button--quiet", r#type="button", on:click=click(back)) { (all) }
                h2(id="quiz-title", class="detail__title", dir="auto") { (title) }
                (switch)
            }
            p(class="note", role="status", data-testid="subscription") { (subscription) }
            (board)
        }
    }
}
