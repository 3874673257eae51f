//! The popup and options page, in Sycamore.

use quizpulse::messages::Command;
use quizpulse::settings::{DEFAULT_SERVER_URL, Settings, SettingsError};
use sycamore::prelude::*;
use wasm_bindgen_futures::spawn_local;

use crate::chrome;
use crate::model::{Connection, WorkerStatus, granted_hosts, settings_key, stored_settings};

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
        let status = match chrome::send_message(&Command::Ping).await {
            Ok(answer) => WorkerStatus::from_answer(answer),
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

/// Whether the extension may reach the configured server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostAccess {
    /// Not checked yet.
    Checking,
    /// Granted (at install or later).
    Granted,
    /// Not granted.
    NotGranted,
    /// The browser could not say.
    Unknown(String),
}

/// Checks host access for the core's match pattern of `settings`' server.
fn check_host_access(settings: &Settings, access: Signal<HostAccess>) {
    let pattern = settings.host_permission_pattern();
    access.set(HostAccess::Checking);
    spawn_local(async move {
        access.set(match chrome::has_host_access(&pattern).await {
            Ok(true) => HostAccess::Granted,
            Ok(false) => HostAccess::NotGranted,
            Err(err) => HostAccess::Unknown(err.to_string()),
        });
    });
}

/// The options page: edits the core's [`Settings`], stored under the key the core reads.
#[component]
pub fn Options() -> View {
    let connection = create_signal(Connection::SignedOut);
    let worker = create_signal(WorkerStatus::Asking);
    let settings = create_signal(Settings::default());
    let server_url = create_signal(String::new());
    let server_error = create_signal(String::new());
    let message = create_signal(String::new());
    let message_is_error = create_signal(false);
    let saving = create_signal(false);
    let access = create_signal(HostAccess::Checking);
    let hosts = create_signal(match chrome::manifest() {
        Ok(manifest) => granted_hosts(&manifest),
        Err(_) => Vec::new(),
    });

    spawn_local(async move {
        let loaded = chrome::local_value(settings_key())
            .await
            .map_err(|err| err.to_string())
            .and_then(|stored| stored_settings(stored).map_err(|err| err.to_string()));
        match loaded {
            Ok(loaded) => settings.set(loaded),
            Err(err) => {
                message.set(err);
                message_is_error.set(true);
            }
        }
        server_url.set(settings.with(|s| s.server_url.clone()));
        check_host_access(&settings.get_clone(), access);
    });
    ping_worker(worker);

    let save = move |event: web_sys::SubmitEvent| {
        event.prevent_default();
        server_error.set(String::new());
        message.set(String::new());
        let edited = Settings {
            server_url: server_url.get_clone(),
            ..settings.get_clone()
        };
        let valid = match edited.validated() {
            Ok(valid) => valid,
            Err(err @ SettingsError::ServerUrl(_)) => {
                server_error.set(err.to_string());
                return;
            }
            Err(err) => {
                message.set(err.to_string());
                message_is_error.set(true);
                return;
            }
        };
        saving.set(true);
        spawn_local(async move {
            let saved = match serde_json::to_string(&valid) {
                Ok(json) => chrome::set_local_value(settings_key(), &json)
                    .await
                    .map_err(|err| err.to_string()),
                Err(err) => Err(err.to_string()),
            };
            match saved {
                Ok(()) => {
                    server_url.set(valid.server_url.clone());
                    check_host_access(&valid, access);
                    settings.set(valid);
                    message.set("Saved.".into());
                    message_is_error.set(false);
                }
                Err(err) => {
                    message.set(err);
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
                        label(r#for="server-url") { "Server URL" }
                        input(
                            id="server-url",
                            name="server-url",
                            r#type="url",
                            inputmode="url",
                            autocomplete="url",
                            placeholder=DEFAULT_SERVER_URL,
                            aria-invalid=move || if server_error.with(String::is_empty) { "false" } else { "true" },
                            aria-describedby="server-url-error server-url-hint",
                            bind:value=server_url,
                        )
                        p(id="server-url-error", class="field-error", data-testid="server-url-error") {
                            (move || server_error.get_clone())
                        }
                        p(id="server-url-hint", class="hint") {
                            "The address of the quiz platform you use, for example "
                            code { (DEFAULT_SERVER_URL) } "."
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
                        strong(data-testid="granted-hosts") { (move || {
                            let hosts = hosts.get_clone();
                            if hosts.is_empty() { "none".to_string() } else { hosts.join(", ") }
                        }) }
                        "."
                    }
                    p(class="access", data-testid="server-access") {
                        "Your server, "
                        code { (move || settings.with(Settings::host_permission_pattern)) }
                        ": "
                        (move || match access.get_clone() {
                            HostAccess::Checking => view! { span(class="access__state") { "checking…" } },
                            HostAccess::Granted => view! { span(class="access__state access__state--granted") { "access granted" } },
                            HostAccess::NotGranted => view! { span(class="access__state access__state--missing") { "no access granted yet" } },
                            HostAccess::Unknown(why) => view! { span(class="access__state access__state--missing") { "could not be checked (" (why) ")" } },
                        })
                        "."
                    }
                }
            }
            (worker_footer(*worker))
        }
    }
}
