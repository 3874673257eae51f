//! The popup and options page, in Sycamore. Usernames and titles are always text
//! nodes, never HTML.

mod board;
mod me;
mod offered;
mod options;
mod popup;
mod quizzes;
mod reactive;
mod sign_in;
mod strip;
mod toasts;

pub use options::Options;
pub use popup::popup_page;

use quizpulse::messages::Command;
use quizpulse_chrome::i18n::{t, tr};
use sycamore::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::chrome;
use crate::live::Live;
use crate::model::WorkerStatus;

/// The extension's version, shown in footers.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The header both pages share: mark, name and the page's subtitle (a catalog key).
fn header(subtitle: &str) -> View {
    let (name, subtitle) = (t("ext_name"), t(subtitle));
    view! {
        header(class="bar") {
            img(class="bar__logo", src="icons/icon-48.png", alt="", width="28", height="28")
            div(class="bar__title") {
                h1 { (name) }
                p(class="bar__subtitle") { (subtitle) }
            }
        }
    }
}

/// Items as a list in the language (`a, b, c`).
fn list(items: impl Iterator<Item = String>) -> String {
    let separator = t("list_separator");
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(&separator);
        }
        out.push_str(&item);
    }
    out
}

/// Asks the worker for its version and puts the answer in `worker`.
fn ping_worker(worker: Signal<WorkerStatus>) {
    spawn_local(async move {
        let status = match chrome::send_message(&Command::Ping).await {
            Ok(answer) => WorkerStatus::from_answer(answer),
            Err(err) => WorkerStatus::Unavailable(err.words()),
        };
        worker.set(status);
    });
}

/// The footer: version, the worker's answer to a ping, and what went wrong talking
/// to it.
fn footer(live: Live) -> View {
    let worker = create_signal(WorkerStatus::Asking);
    ping_worker(worker);
    // Built here, not inside `view!`: the macro wraps every call it finds there in one
    // more dynamic view.
    let status = reactive::text(move || match worker.get_clone() {
        WorkerStatus::Asking => t("worker_asking"),
        WorkerStatus::Ready(version) => tr("worker_ready", &[version]),
        WorkerStatus::Unavailable(why) => tr("worker_unavailable", &[why]),
        WorkerStatus::Unexpected => tr("worker_unavailable", &[t("worker_odd_answer")]),
    });
    let problem = reactive::dynamic(move || {
        live.problem.get_clone().map(|problem| {
            let said = tr("worker_problem", &[problem]);
            view! {
                p(class="problem", role="alert", data-testid="worker-problem") { (said) }
            }
        })
    });
    let version = tr("footer_version", &[VERSION.to_owned()]);
    view! {
        footer(class="foot") {
            span { (version) }
            span(class="foot__sep", aria-hidden="true") { "·" }
            span(class="foot__worker", data-testid="worker-status") { (status) }
        }
        (problem)
    }
}
