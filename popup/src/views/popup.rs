//! The toolbar popup: connection strip, sign-in or the tabs, toasts.

use quizpulse::small::VecMap;

use quizpulse::ConnState;
use quizpulse::json::ToJson;
use quizpulse::messages::{Command, Page};
use quizpulse::wire::{Entry, QuizId};
use sycamore::prelude::*;

use super::board::{Query, caption, query_note, table};
use super::reactive::{attr, click, dynamic, selector};
use super::{footer, header, me, quizzes, sign_in, strip, toasts};
use gloo_storage::{LocalStorage, Storage};

use crate::live::{Cache, Live};
use crate::model::board::{Row, Seen, rows};
use crate::model::{Tab, UiState, since};
use quizpulse::Text;
use quizpulse::text::k;
use quizpulse_chrome::i18n::{dir, render, t};

/// Where the user is in the popup, kept in its `localStorage`.
#[derive(Clone, Copy)]
pub(super) struct Ui {
    /// The tab shown.
    pub tab: Signal<Tab>,
    /// The quiz whose board is open.
    pub open_quiz: Signal<Option<String>>,
    seen: Signal<VecMap<String, Seen>>,
}

impl Ui {
    /// The place as stored: `read` is what the loader read (`Some(None)`: nothing
    /// stored), or `None` to read it now.
    fn load(read: Option<Option<String>>) -> Ui {
        // gloo-storage's `get` would compile one more serde decoder per type: the text
        // is read raw and decoded by the core's reader, like everything else.
        let stored =
            read.unwrap_or_else(|| LocalStorage::raw().get_item(UiState::KEY).ok().flatten());
        let state = UiState::from_stored(stored.as_deref());
        Ui {
            tab: create_signal(state.tab),
            open_quiz: create_signal(state.open_quiz),
            seen: create_signal(state.seen),
        }
    }

    fn save(self) {
        let state = UiState {
            tab: self.tab.get_untracked(),
            open_quiz: self.open_quiz.get_clone_untracked(),
            seen: self.seen.get_clone_untracked(),
        };
        // A full storage only loses the place: nothing to tell the user. Written by the
        // core's JSON writer (gloo-storage's `set` would compile a serde serializer).
        let _ = LocalStorage::raw().set_item(UiState::KEY, &state.to_json_text());
    }

    /// Shows `tab`.
    pub fn show(self, tab: Tab) {
        self.tab.set(tab);
        self.save();
    }

    /// Opens a quiz's board (or goes back to the list), telling the worker which board
    /// to keep fresh.
    pub fn open(self, live: Live, quiz: Option<String>) {
        if let Some(old) = self.open_quiz.get_clone_untracked() {
            live.send(Command::CloseQuiz {
                quiz_id: QuizId::from(old),
            });
        }
        if let Some(new) = &quiz {
            live.send(Command::ViewQuiz {
                quiz_id: QuizId::from(new.as_str()),
            });
        }
        self.open_quiz.set(quiz);
        self.save();
    }

    /// A board's rows against what was shown last time (they flash when they differ);
    /// remembers what is shown now.
    pub fn rows(self, key: &str, entries: &[Entry], me: Option<&str>) -> Vec<Row> {
        let before = self.seen.with_untracked(|seen| seen.get(key).cloned());
        let shown = rows(entries, before.as_ref(), me);
        let now = Seen::of(entries);
        if before.as_ref() != Some(&now) {
            self.seen
                .update_silent(|seen| seen.insert(key.to_owned(), now));
            self.save();
        }
        shown
    }
}

/// The toolbar popup, first drawn from `cache`, on the tab and quiz of `place` (what
/// the loader read of the popup's `localStorage`, or `None` to read it now).
pub fn popup_page(cache: Cache, place: Option<Option<String>>) -> View {
    let live = Live::start(Page::Popup, cache);
    let ui = Ui::load(place);
    // The board the popup reopens on is kept fresh like any board it shows.
    if let Some(quiz) = ui.open_quiz.get_clone_untracked() {
        live.send(Command::ViewQuiz {
            quiz_id: QuizId::from(quiz),
        });
    }
    let signed_out = selector(move || {
        live.with(|s| match s {
            None => true,
            Some(s) => matches!(
                s.connection,
                ConnState::SignedOut | ConnState::AuthFailed { .. }
            ),
        })
    });
    let body = move || {
        if !live.ready.get() {
            let loading = t("popup_loading");
            view! { p(class="note") { (loading) } }
        } else if signed_out.get() {
            // Built untracked: what the builders read must not make this re-run.
            untrack(|| sign_in::sign_in(live))
        } else {
            untrack(|| tabs(live, ui))
        }
    };
    // Built here, not inside `view!`: the macro wraps every call it finds there in one
    // more dynamic view.
    let (head, strip, body) = (
        header(k("popup_subtitle")),
        strip::strip(live, true),
        dynamic(body),
    );
    let (toasts, footer) = (toasts::toasts(live), footer(live));
    view! {
        div(class="page page--popup") {
            (head)
            (strip)
            main(class="content") { (body) }
            (toasts)
            (footer)
        }
    }
}

fn tabs(live: Live, ui: Ui) -> View {
    let forward = if dir() == "rtl" { -1 } else { 1 };
    let buttons: Vec<View> = Tab::ALL
        .iter()
        .map(|&tab| {
            let selected = selector(move || ui.tab.get() == tab);
            let keydown = move |event: web_sys::KeyboardEvent| {
                // The arrow toward the next tab: right, or left when the page is mirrored.
                let step = match event.key().as_str() {
                    "ArrowRight" => 1,
                    "ArrowLeft" => -1,
                    _ => return,
                } * forward;
                event.prevent_default();
                let next = ui.tab.get_untracked().step(step);
                ui.show(next);
                if let Some(el) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id(&format!("tab-{}", next.id())))
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
                {
                    let _ = el.focus();
                }
            };
            let aria_selected = attr(move || if selected.get() { "true" } else { "false" });
            let tabindex = attr(move || if selected.get() { "0" } else { "-1" });
            let (id, panel, label) = (
                format!("tab-{}", tab.id()),
                format!("panel-{}", tab.id()),
                t(tab.label()),
            );
            view! {
                button(
                    id=id,
                    class="tab",
                    role="tab",
                    r#type="button",
                    aria-controls=panel,
                    aria-selected=aria_selected,
                    tabindex=tabindex,
                    on:click=click(move |_| ui.show(tab)),
                    on:keydown=keydown,
                ) { (label) }
            }
        })
        .collect();
    let panel = move || {
        let tab = ui.tab.get();
        let content = untrack(|| match tab {
            Tab::Subjects => subjects(live, ui),
            Tab::Quizzes => quizzes::quizzes(live, ui),
            Tab::Me => me::me(live),
        });
        let (id, labelled) = (format!("panel-{}", tab.id()), format!("tab-{}", tab.id()));
        view! {
            div(id=id, class="panel", role="tabpanel", aria-labelledby=labelled, tabindex="0") {
                (content)
            }
        }
    };
    let (panel, views) = (dynamic(panel), t("popup_views"));
    view! {
        div(class="tabs", role="tablist", aria-label=views) { (buttons) }
        (panel)
    }
}

/// The Subjects tab: a board per subject.
fn subjects(live: Live, ui: Ui) -> View {
    // Only a change of the boards re-renders them (a re-render would cut a flash short).
    let data = selector(move || {
        live.with(|s| {
            s.map(|s| {
                let me = s.account.as_ref().and_then(|a| a.user_id.clone());
                (s.subject_boards.clone(), me)
            })
        })
    });
    dynamic(move || {
        data.get_clone().map(|(query, me)| {
            let note = query_note(&query, Query::Subjects);
            let now = live.now.get_untracked();
            let boards: Vec<View> = query
                .data
                .iter()
                .flatten()
                .map(|board| {
                    let rows = ui.rows(
                        &format!("subject:{}", board.subject.id),
                        &board.entries,
                        me.as_deref(),
                    );
                    let name = board.subject.name.clone();
                    let caption = caption(&name);
                    let updated: View =
                        match board.updated_at.as_deref().and_then(|at| since(at, now)) {
                            Some(ago) => {
                                let text = render(&Text::new("subject_latest").ago(ago));
                                view! { span(class="section-meta") { (text) } }
                            }
                            None => View::default(),
                        };
                    let body = if rows.is_empty() {
                        let empty = t("subject_empty");
                        view! { p(class="note") { (empty) } }
                    } else {
                        table(caption, rows)
                    };
                    view! {
                        section(class="subject") {
                            div(class="section-head") {
                                h2(class="section-title", dir="auto") { (name) }
                                (updated)
                            }
                            (body)
                        }
                    }
                })
                .collect();
            view! { (note) (boards) }
        })
    })
}
