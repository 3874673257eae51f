//! The popup and options page, in Sycamore.

use serde_json::{Value, json};
use sycamore::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use crate::chrome;
use crate::model::{Connection, Settings, WorkerStatus, granted_hosts, normalize_server_url};

/// The extension's version, shown in footers.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The header both pages share: mark, name, and the connection dot with its words.
fn header(subtitle: &'static str, connection: ReadSignal<Connection>) -> View {
    view! {
        header(class="bar") {
            img(class="bar__logo", src="icons/icon-48.png", alt="", width="28", height="28")
            div(class="bar__title") {
                h1 { "QuizPulse" }
                p(class="bar__subtitle") { (subtitle) }
            }
            span(class=move || connection.get().css(), role="status", title="Live connection") {
                span(class="status__dot", aria-hidden="true")
                span(class="status__text") { (move || connection.get().label()) }
            }
        }
    }
}

/// Asks the worker for its version and puts the answer in `worker`.
fn ping_worker(worker: Signal<WorkerStatus>) {
    spawn_local(async move {
        let status = match chrome::send_message(&json!({"type": "ping"})).await {
            Ok(answer) => WorkerStatus::from_pong(&answer),
            Err(err) => WorkerStatus::Unavailable(err.to_string()),
        };
        worker.set(status);
    });
}

fn worker_footer(worker: ReadSignal<WorkerStatus>) -> View {
    view! {
        footer(class="foot") {
            span { "v" (VERSION) }
            span(class="foot__sep", aria-hidden="true") { "·" }
            span(class="foot__worker", data-testid="worker-status") {
                (move || match worker.get_clone() {
                    WorkerStatus::Asking => "checking background worker…".to_string(),
                    WorkerStatus::Ready(version) => format!("background worker {version} ready"),
                    WorkerStatus::Unavailable(why) => format!("background worker not responding: {why}"),
                })
            }
        }
    }
}

/// The toolbar popup.
#[component]
pub fn Popup() -> View {
    let connection = create_signal(Connection::SignedOut);
    let loaded = create_signal(false);
    let worker = create_signal(WorkerStatus::Asking);
    let open_error = create_signal(String::new());

    spawn_local(async move {
        match chrome::session_value("snapshot").await {
            Ok(snapshot) => connection.set(Connection::from_snapshot(snapshot.as_ref())),
            Err(err) => web_sys::console::warn_1(&format!("QuizPulse: {err}").into()),
        }
        loaded.set(true);
    });
    ping_worker(worker);

    let open_settings = move |_| {
        spawn_local(async move {
            if let Err(err) = chrome::open_options_page().await {
                open_error.set(err.to_string());
            }
        });
    };

    view! {
        div(class="page page--popup") {
            (header("Live leaderboards", *connection))
            main(class="content") {
                (if !loaded.get() {
                    view! { p(class="muted") { "Loading…" } }
                } else if connection.get() == Connection::SignedOut {
                    view! {
                        section(class="empty", data-testid="signed-out") {
                            div(class="empty__art", aria-hidden="true") {
                                span(class="empty__bar empty__bar--2") {}
                                span(class="empty__bar empty__bar--1") {}
                                span(class="empty__bar empty__bar--3") {}
                            }
                            h2 { "You're not signed in" }
                            p {
                                "Connect QuizPulse to your quiz server to see subject leaderboards, "
                                "the quizzes you follow and your own standing, live."
                            }
                            button(class="button button--primary", r#type="button", on:click=open_settings) {
                                "Open settings"
                            }
                            p(class="error", role="alert") { (open_error.get_clone()) }
                        }
                    }
                } else {
                    view! {
                        p(class="muted") { "Waiting for the first update from the background worker." }
                    }
                })
            }
            (worker_footer(*worker))
        }
    }
}

/// Fetches `build.json` (written by `cargo xtask dist`): the server this build is for.
async fn build_server() -> Option<String> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str("build.json"))
        .await
        .ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    let json = JsFuture::from(response.json().ok()?).await.ok()?;
    let json: Value = serde_wasm_bindgen::from_value(json).ok()?;
    json.get("server")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The options page.
#[component]
pub fn Options() -> View {
    let connection = create_signal(Connection::SignedOut);
    let worker = create_signal(WorkerStatus::Asking);
    let server_url = create_signal(String::new());
    let placeholder = create_signal(String::from("https://quiz.example.org"));
    let message = create_signal(String::new());
    let message_is_error = create_signal(false);
    let saving = create_signal(false);
    let hosts = create_signal(match chrome::manifest() {
        Ok(manifest) => granted_hosts(&manifest),
        Err(_) => Vec::new(),
    });

    spawn_local(async move {
        if let Some(server) = build_server().await {
            placeholder.set(server);
        }
        match chrome::local_value(Settings::KEY).await {
            Ok(Some(stored)) => {
                if let Ok(settings) = serde_json::from_value::<Settings>(stored) {
                    server_url.set(settings.server_url.unwrap_or_default());
                }
            }
            Ok(None) => {}
            Err(err) => {
                message.set(err.to_string());
                message_is_error.set(true);
            }
        }
    });
    ping_worker(worker);

    let save = move |event: web_sys::SubmitEvent| {
        event.prevent_default();
        let url = match normalize_server_url(&server_url.get_clone()) {
            Ok(url) => url,
            Err(err) => {
                message.set(err.to_string());
                message_is_error.set(true);
                return;
            }
        };
        saving.set(true);
        spawn_local(async move {
            let settings = Settings {
                server_url: Some(url.clone()),
            };
            match chrome::set_local_value(Settings::KEY, &settings).await {
                Ok(()) => {
                    server_url.set(url);
                    message.set("Saved.".into());
                    message_is_error.set(false);
                }
                Err(err) => {
                    message.set(err.to_string());
                    message_is_error.set(true);
                }
            }
            saving.set(false);
        });
    };

    view! {
        div(class="page page--options") {
            (header("Settings", *connection))
            main(class="content") {
                section(class="card") {
                    h2 { "Quiz server" }
                    form(class="form", on:submit=save, novalidate=true) {
                        label(r#for="server-url") { "Server address" }
                        input(
                            id="server-url",
                            name="server-url",
                            r#type="url",
                            inputmode="url",
                            autocomplete="url",
                            placeholder=move || placeholder.get_clone(),
                            bind:value=server_url,
                        )
                        p(class="hint") {
                            "The address of the quiz platform you use, for example "
                            code { (move || placeholder.get_clone()) } "."
                        }
                        div(class="form__actions") {
                            button(class="button button--primary", r#type="submit", disabled=move || saving.get()) {
                                (move || if saving.get() { "Saving…" } else { "Save" })
                            }
                            span(
                                class=move || if message_is_error.get() { "form__message form__message--error" } else { "form__message" },
                                role="status",
                                data-testid="save-message",
                            ) {
                                (move || message.get_clone())
                            }
                        }
                    }
                }
                section(class="card") {
                    h2 { "Host access" }
                    p {
                        "This build may reach these hosts without asking: "
                        strong { (move || {
                            let hosts = hosts.get_clone();
                            if hosts.is_empty() { "none".to_string() } else { hosts.join(", ") }
                        }) }
                        "."
                    }
                }
            }
            (worker_footer(*worker))
        }
    }
}
