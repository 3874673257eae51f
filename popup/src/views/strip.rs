//! The connection strip: the dot and the state in words, "updated 4 s ago" ticking,
//! "retry 2 of 5 in 3 s" with "Retry now" while retrying, mute for an hour, and a
//! mark when what is shown is the cached snapshot.

use quizpulse::ConnState;
use quizpulse::messages::Command;
use sycamore::prelude::*;

use super::reactive::{attr, click, dynamic, selector, text};
use crate::live::Live;
use crate::model::{dot_css, muted_text, updated_ago};
use quizpulse_chrome::i18n::{render, t};

/// The strip. `controls`: show Retry now and the mute button (the popup).
pub(super) fn strip(live: Live, controls: bool) -> View {
    let state =
        selector(move || live.with(|s| s.map_or(ConnState::SignedOut, |s| s.connection.clone())));
    let signed_in = selector(move || live.with(|s| s.is_some_and(|s| s.account.is_some())));
    let muted_until = selector(move || live.with(|s| s.and_then(|s| s.muted_until)));
    let last_update = selector(move || live.with(|s| s.and_then(|s| s.last_update)));
    let can_retry = selector(move || state.with(ConnState::can_retry_now));
    let is_muted = selector(move || {
        muted_until
            .get()
            .is_some_and(|until| until > live.now.get())
    });
    let sentence = text(move || state.with(|s| render(&s.describe(live.now.get()))));
    let retry = move |_| live.send(Command::RetryNow);
    let mute = move |_| live.send(Command::MuteForAnHour);
    let unmute = move |_| live.send(Command::Unmute);
    // Children and attributes are built here, not inside `view!`: the macro wraps
    // every call it finds there in one more dynamic view.
    let label = attr(move || state.with(|s| render(&s.name())));
    let dot = attr(move || state.with(dot_css));
    let updated = dynamic(move || {
        updated_ago(last_update.get(), live.now.get()).map(|text| {
            let text = render(&text);
            view! { span(class="strip__updated", data-testid="updated") { (text) } }
        })
    });
    let cached = dynamic(move || {
        live.cached.get().then(|| {
            let (chip, why) = (t("strip_cached"), t("strip_cached_title"));
            view! {
                span(class="chip", data-testid="cached", title=why) { (chip) }
            }
        })
    });
    let actions = if controls {
        let retry_button = dynamic(move || {
            can_retry.get().then(|| {
                let words = t("strip_retry_now");
                view! { button(class="button button--small", r#type="button", on:click=click(retry)) { (words) } }
            })
        });
        let mute_controls = dynamic(move || {
            if !signed_in.get() {
                View::default()
            } else if is_muted.get() {
                let left = text(move || {
                    muted_text(muted_until.get(), live.now.get())
                        .map(|left| render(&left))
                        .unwrap_or_default()
                });
                let words = t("strip_unmute");
                view! {
                    span(class="strip__muted", data-testid="muted") { (left) }
                    button(class="button button--small button--quiet", r#type="button", on:click=click(unmute)) { (words) }
                }
            } else {
                let words = t("strip_mute");
                view! {
                    button(class="button button--small button--quiet", r#type="button", on:click=click(mute)) { (words) }
                }
            }
        });
        view! { div(class="strip__actions") { (retry_button) (mute_controls) } }
    } else {
        View::default()
    };
    view! {
        div(class="strip") {
            p(class="strip__state", role="status", aria-label=label, data-testid="connection") {
                span(class=dot, aria-hidden="true")
                span(class="strip__text") { (sentence) }
            }
            (updated)
            (cached)
            (actions)
        }
    }
}
