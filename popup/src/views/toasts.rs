//! Toasts: arriving events, announced politely, gone after 5 s unless the pointer or
//! focus is on them.

use quizpulse::messages::Command;
use quizpulse::notify::{Toast, ToastLevel};
use quizpulse_chrome::i18n::{render, t, tn};
use sycamore::prelude::*;

use super::reactive::{click, dynamic, effect, keyed, selector};
use crate::live::{Live, now};
use crate::model::toasts::Shelf;

/// The toast region (always in the page, so screen readers announce what joins it).
pub(super) fn toasts(live: Live) -> View {
    let shelf = create_signal(Shelf::default());
    effect(move || {
        let at = now();
        // Signals must not change inside a read (`with`): take the toasts out first.
        if let Some(toasts) = live.with(|s| s.map(|s| s.toasts.clone())) {
            shelf.update(|shelf| shelf.take(&toasts, at));
        }
    });
    effect(move || {
        let at = live.now.get();
        let expired = shelf.update_silent(|shelf| shelf.expire(at));
        if !expired.is_empty() {
            shelf.update(|_| ());
            // The cached snapshot's toasts are not the live worker's to dismiss.
            if !live.cached.get_untracked() {
                for id in expired {
                    live.send(Command::DismissToast { id });
                }
            }
        }
    });
    // Keyed by the toast's id as text: the one keyed list instance the pages share.
    let ids = selector(move || {
        shelf.with(|shelf| {
            shelf
                .visible()
                .iter()
                .map(|toast| toast.id.to_string())
                .collect()
        })
    });
    let list = keyed(ids, move |key| {
        let toast = shelf.with_untracked(|shelf| {
            shelf
                .visible()
                .into_iter()
                .find(|toast| toast.id.to_string() == key)
        });
        toast.map_or_else(View::default, |toast| toast_view(live, shelf, toast))
    });
    let hidden = selector(move || shelf.with(Shelf::hidden));
    let more = dynamic(move || match hidden.get() {
        0 => View::default(),
        n => {
            let words = tn("toasts_more", n as u64, &[]);
            view! { p(class="toasts__more", data-testid="toasts-more") { (words) } }
        }
    });
    view! {
        div(class="toasts", aria-live="polite", aria-relevant="additions text", data-testid="toasts") {
            (list)
            (more)
        }
    }
}

/// One toast, with its close button; hovering or focusing it pauses its clock.
fn toast_view(live: Live, shelf: Signal<Shelf>, toast: Toast) -> View {
    let id = toast.id;
    let class = match toast.level {
        ToastLevel::Info => "toast",
        ToastLevel::Success => "toast toast--success",
        ToastLevel::Warning => "toast toast--warning",
        ToastLevel::Error => "toast toast--error",
    };
    let (words, close) = (render(&toast.text), t("toast_dismiss"));
    let dismiss = move |_| {
        shelf.update(|s| s.dismiss(id));
        live.send(Command::DismissToast { id });
    };
    view! {
        div(
            class=class,
            data-testid="toast",
            on:mouseenter=move |_| shelf.update(|s| s.pause(id, now())),
            on:mouseleave=move |_| shelf.update(|s| s.resume(id, now())),
            on:focusin=move |_| shelf.update(|s| s.pause(id, now())),
            on:focusout=move |_| shelf.update(|s| s.resume(id, now())),
        ) {
            p(class="toast__text") { (words) }
            button(class="toast__close", r#type="button", aria-label=close, on:click=click(dismiss)) { "×" }
        }
    }
}
