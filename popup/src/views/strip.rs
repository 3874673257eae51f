//! The connection strip: the dot and the state in words, "updated 4 s ago" ticking,
//! "retry 2 of 5 in 3 s" with "Retry now" while retrying, mute for an hour, and a
//! mark when what is shown is the cached snapshot.

use quizpulse::ConnState;
use quizpulse::messages::Command;
use sycamore::prelude::*;

use crate::live::Live;
use crate::model::{connection_name, dot_css, muted_text, updated_ago};

/// The strip. `controls`: show Retry now and the mute button (the popup).
pub(super) fn strip(live: Live, controls: bool) -> View {
    let state = create_selector(move || {
        live.with(|s| s.map_or(ConnState::SignedOut, |s| s.connection.clone()))
    });
    let signed_in = create_selector(move || live.with(|s| s.is_some_and(|s| s.account.is_some())));
    let muted_until = create_selector(move || live.with(|s| s.and_then(|s| s.muted_until)));
    let last_update = create_selector(move || live.with(|s| s.and_then(|s| s.last_update)));
    let can_retry = create_selector(move || state.with(ConnState::can_retry_now));
    let is_muted = create_selector(move || {
        muted_until
            .get()
            .is_some_and(|until| until > live.now.get())
    });
    let sentence = move || state.with(|s| s.describe(live.now.get()));
    let retry = move |_| live.send(Command::RetryNow);
    let mute = move |_| live.send(Command::MuteForAnHour);
    let unmute = move |_| live.send(Command::Unmute);
    view! {
        div(class="strip") {
            p(
                class="strip__state",
                role="status",
                aria-label=move || state.with(connection_name),
                data-testid="connection",
            ) {
                span(class=move || state.with(dot_css), aria-hidden="true")
                span(class="strip__text") { (sentence) }
            }
            (move || updated_ago(last_update.get(), live.now.get()).map(|text| view! {
                span(class="strip__updated", data-testid="updated") { (text) }
            }))
            (move || live.cached.get().then(|| view! {
                span(class="chip", data-testid="cached", title="Shown from the last saved view; live data replaces it") { "saved view" }
            }))
            (if controls {
                Some(view! {
                    div(class="strip__actions") {
                        (move || can_retry.get().then(|| view! {
                            button(class="button button--small", r#type="button", on:click=retry) { "Retry now" }
                        }))
                        (move || signed_in.get().then(|| if is_muted.get() {
                            view! {
                                span(class="strip__muted", data-testid="muted") {
                                    (move || muted_text(muted_until.get(), live.now.get()).unwrap_or_default())
                                }
                                button(class="button button--small button--quiet", r#type="button", on:click=unmute) { "Unmute" }
                            }
                        } else {
                            view! {
                                button(class="button button--small button--quiet", r#type="button", on:click=mute) { "Mute for an hour" }
                            }
                        }))
                    }
                })
            } else {
                None
            })
        }
    }
}
