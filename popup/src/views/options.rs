//! The options page: the core's settings (saved through the worker with the core's
//! errors at their field), sign out, "Test connection" step by step, and the connection
//! event log, copyable.

use quizpulse::messages::{Command, Page, StepStatus, TestStep};
use quizpulse::settings::{DEFAULT_SERVER_URL, Settings};
use sycamore::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::reactive::{attr, click, dynamic, effect, selector, submit, text};
use super::{footer, header, offered, strip};
use crate::chrome;
use crate::live::{Cache, Live};
use crate::model::form::{Field, FieldError, SettingsForm, field_of};
use crate::model::{granted_hosts, settings_key, stored_settings};

/// Whether the extension may reach the configured server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostAccess {
    Checking,
    Granted,
    NotGranted,
    Unknown(String),
}

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

/// The form's fields, one signal each.
#[derive(Clone, Copy)]
struct FormSignals {
    server_url: Signal<String>,
    socket_url: Signal<String>,
    site_url: Signal<String>,
    board_limit: Signal<String>,
    follow_new_quizzes: Signal<bool>,
    allow_insecure: Signal<bool>,
    notify_enabled: Signal<bool>,
    notify_new_sessions: Signal<bool>,
    notify_leaderboard_changes: Signal<bool>,
    notify_rank_changes: Signal<bool>,
    notify_subscriptions: Signal<bool>,
    notify_connection: Signal<bool>,
    notify_account: Signal<bool>,
    keep_on_screen: Signal<bool>,
    quiet: Signal<bool>,
    quiet_start: Signal<String>,
    quiet_end: Signal<String>,
}

impl FormSignals {
    fn new(form: SettingsForm) -> FormSignals {
        FormSignals {
            server_url: create_signal(form.server_url),
            socket_url: create_signal(form.socket_url),
            site_url: create_signal(form.site_url),
            board_limit: create_signal(form.board_limit),
            follow_new_quizzes: create_signal(form.follow_new_quizzes),
            allow_insecure: create_signal(form.allow_insecure),
            notify_enabled: create_signal(form.notify_enabled),
            notify_new_sessions: create_signal(form.notify_new_sessions),
            notify_leaderboard_changes: create_signal(form.notify_leaderboard_changes),
            notify_rank_changes: create_signal(form.notify_rank_changes),
            notify_subscriptions: create_signal(form.notify_subscriptions),
            notify_connection: create_signal(form.notify_connection),
            notify_account: create_signal(form.notify_account),
            keep_on_screen: create_signal(form.keep_on_screen),
            quiet: create_signal(form.quiet),
            quiet_start: create_signal(form.quiet_start),
            quiet_end: create_signal(form.quiet_end),
        }
    }

    fn set(self, form: SettingsForm) {
        self.server_url.set(form.server_url);
        self.socket_url.set(form.socket_url);
        self.site_url.set(form.site_url);
        self.board_limit.set(form.board_limit);
        self.follow_new_quizzes.set(form.follow_new_quizzes);
        self.allow_insecure.set(form.allow_insecure);
        self.notify_enabled.set(form.notify_enabled);
        self.notify_new_sessions.set(form.notify_new_sessions);
        self.notify_leaderboard_changes
            .set(form.notify_leaderboard_changes);
        self.notify_rank_changes.set(form.notify_rank_changes);
        self.notify_subscriptions.set(form.notify_subscriptions);
        self.notify_connection.set(form.notify_connection);
        self.notify_account.set(form.notify_account);
        self.keep_on_screen.set(form.keep_on_screen);
        self.quiet.set(form.quiet);
        self.quiet_start.set(form.quiet_start);
        self.quiet_end.set(form.quiet_end);
    }

    fn get(self) -> SettingsForm {
        SettingsForm {
            server_url: self.server_url.get_clone(),
            socket_url: self.socket_url.get_clone(),
            site_url: self.site_url.get_clone(),
            board_limit: self.board_limit.get_clone(),
            follow_new_quizzes: self.follow_new_quizzes.get(),
            allow_insecure: self.allow_insecure.get(),
            notify_enabled: self.notify_enabled.get(),
            notify_new_sessions: self.notify_new_sessions.get(),
            notify_leaderboard_changes: self.notify_leaderboard_changes.get(),
            notify_rank_changes: self.notify_rank_changes.get(),
            notify_subscriptions: self.notify_subscriptions.get(),
            notify_connection: self.notify_connection.get(),
            notify_account: self.notify_account.get(),
            keep_on_screen: self.keep_on_screen.get(),
            quiet: self.quiet.get(),
            quiet_start: self.quiet_start.get_clone(),
            quiet_end: self.quiet_end.get_clone(),
        }
    }
}

fn field_error(errors: Signal<Option<FieldError>>, field: Field) -> impl Fn() -> String + Copy {
    move || {
        errors.with(|e| {
            e.as_ref()
                .filter(|e| e.field == field)
                .map(|e| e.message.clone())
                .unwrap_or_default()
        })
    }
}

/// A labelled text input with its error and hint.
#[allow(clippy::too_many_arguments)]
fn text_field(
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    value: Signal<String>,
    errors: Signal<Option<FieldError>>,
    field: Field,
    placeholder: &'static str,
    hint: &'static str,
) -> View {
    let error = field_error(errors, field);
    let (error_id, hint_id) = (format!("{id}-error"), format!("{id}-hint"));
    let described = format!("{error_id} {hint_id}");
    let test_id = format!("{id}-error");
    let (invalid, error) = (
        attr(move || if error().is_empty() { "false" } else { "true" }),
        text(error),
    );
    view! {
        div(class="field") {
            label(r#for=id) { (label) }
            input(
                id=id, name=id, r#type=kind, placeholder=placeholder,
                aria-invalid=invalid,
                aria-describedby=described,
                bind:value=value,
            )
            p(id=error_id, class="field-error", data-testid=test_id) { (error) }
            p(id=hint_id, class="hint") { (hint) }
        }
    }
}

/// A labelled checkbox.
fn check(id: &'static str, label: &'static str, value: Signal<bool>, hint: &'static str) -> View {
    check_offered(id, label, value, hint.into(), true)
}

/// A check box that the browser may not offer (`usable`: false, disabled; the hint says
/// why; see `offered`).
pub(super) fn check_offered(
    id: &'static str,
    label: &'static str,
    value: Signal<bool>,
    hint: String,
    usable: bool,
) -> View {
    let hint_id = format!("{id}-hint");
    let described = hint_id.clone();
    view! {
        div(class="check") {
            input(id=id, r#type="checkbox", aria-describedby=described, disabled=!usable, bind:checked=value)
            label(r#for=id) { (label) }
            p(id=hint_id, class="hint") { (hint) }
        }
    }
}

/// The options page.
#[component]
pub fn Options() -> View {
    let live = Live::start(Page::Options, Cache::Unread);
    let form = FormSignals::new(SettingsForm::from_settings(&Settings::default()));
    let errors = create_signal(None::<FieldError>);
    let message = create_signal(String::new());
    let message_is_error = create_signal(false);
    let pending = create_signal(None::<Settings>);
    let access = create_signal(HostAccess::Checking);
    let hosts = create_signal(
        chrome::manifest()
            .map(|m| granted_hosts(&m))
            .unwrap_or_default(),
    );
    let saved = create_signal(Settings::default());

    spawn_local(async move {
        let loaded = chrome::local_value(settings_key())
            .await
            .map_err(|err| err.to_string())
            .and_then(|stored| stored_settings(stored.as_ref()).map_err(|err| err.to_string()));
        match loaded {
            Ok(loaded) => {
                form.set(SettingsForm::from_settings(&loaded));
                check_host_access(&loaded, access);
                saved.set(loaded);
            }
            Err(err) => {
                message.set(err);
                message_is_error.set(true);
                check_host_access(&Settings::default(), access);
            }
        }
    });

    // A save is done when the worker's snapshot carries the settings, or its error.
    effect(move || {
        let Some(want) = pending.get_clone() else {
            return;
        };
        // Signals must not change inside a read (`with`): take what is needed out first.
        let Some((error, settings)) =
            live.with(|s| s.map(|s| (s.settings_error.clone(), s.settings.clone())))
        else {
            return;
        };
        if let Some(err) = error {
            errors.set(Some(FieldError {
                field: field_of(&err),
                message: err,
            }));
            message.set("Not saved: see the field above.".into());
            message_is_error.set(true);
            pending.set(None);
        } else if settings == want {
            message.set("Saved.".into());
            message_is_error.set(false);
            check_host_access(&want, access);
            saved.set(want);
            pending.set(None);
        }
    });
    effect(move || {
        if let Some(problem) = live.problem.get_clone()
            && pending.with_untracked(Option::is_some)
        {
            message.set(format!("Not saved: {problem}"));
            message_is_error.set(true);
            pending.set(None);
        }
    });

    let save = move |event: web_sys::SubmitEvent| {
        event.prevent_default();
        errors.set(None);
        message.set(String::new());
        match form.get().to_settings() {
            Ok(settings) => {
                message.set("Saving…".into());
                message_is_error.set(false);
                pending.set(Some(settings.clone()));
                live.problem.set(None);
                live.send(Command::SaveSettings { settings });
            }
            Err(err) => {
                message.set("Not saved: see the field above.".into());
                message_is_error.set(true);
                errors.set(Some(err));
            }
        }
    };

    let server_field = text_field(
        "server-url",
        "Server URL",
        "url",
        form.server_url,
        errors,
        Field::ServerUrl,
        DEFAULT_SERVER_URL,
        "The quiz platform's address (REST and, unless set below, the live socket).",
    );
    let socket_field = text_field(
        "socket-url",
        "Socket URL (optional)",
        "url",
        form.socket_url,
        errors,
        Field::SocketUrl,
        "wss://quiz.example.org/ws/leaderboard/",
        "Only when the live socket is not at the server's /ws/leaderboard/.",
    );
    let site_field = text_field(
        "site-url",
        "Quiz site URL (optional)",
        "url",
        form.site_url,
        errors,
        Field::SiteUrl,
        "https://quiz.example.org",
        "Where quiz links and notifications lead (/quizzes/<id>); the server when empty.",
    );
    let limit_field = text_field(
        "board-limit",
        "Leaderboard size",
        "number",
        form.board_limit,
        errors,
        Field::BoardLimit,
        "10",
        "Rows per board, 1 to 100.",
    );
    let insecure_check = check(
        "allow-insecure",
        "Allow unencrypted connections",
        form.allow_insecure,
        "Lets http:// and ws:// reach a server on another computer: your password and sign-in would cross the network in clear text. Only on a network you trust.",
    );
    let quiet_error = field_error(errors, Field::QuietHours);
    let checks: Vec<View> = vec![
        check(
            "follow-new",
            "Follow new quizzes",
            form.follow_new_quizzes,
            "Quizzes that appear after the first list are followed at once.",
        ),
        check(
            "notify-enabled",
            "Browser notifications",
            form.notify_enabled,
            "Off: only the badge and the popup's toasts.",
        ),
        check(
            "notify-sessions",
            "New sessions on followed quizzes",
            form.notify_new_sessions,
            "Bursts arrive as one notification.",
        ),
        check(
            "notify-boards",
            "Leaderboard changes on followed quizzes",
            form.notify_leaderboard_changes,
            "Who moved in a followed quiz's top 10.",
        ),
        check(
            "notify-ranks",
            "My rank changes",
            form.notify_rank_changes,
            "When you move up or down in a subject.",
        ),
        check(
            "notify-subscriptions",
            "Subscription confirmations",
            form.notify_subscriptions,
            "When the server confirms a quiz you follow.",
        ),
        check(
            "notify-connection",
            "Connection lost and back",
            form.notify_connection,
            "When the live connection is down for a while, and when it returns.",
        ),
        check(
            "notify-account",
            "Sign-in problems",
            form.notify_account,
            "A sign-in about to run out, or refused.",
        ),
        offered::keep_on_screen(form.keep_on_screen),
        check(
            "quiet",
            "Quiet hours",
            form.quiet,
            "No notifications between these local times; the badge still counts.",
        ),
    ];

    let signed_in =
        selector(move || live.with(|s| s.and_then(|s| s.account.as_ref()?.username.clone())));
    let sign_out = move |_| live.send(Command::SignOut);
    let account = move || match signed_in.get_clone() {
        Some(name) => view! {
            p { "Signed in as " strong(data-testid="account") { (name) } "." }
            div(class="form__actions") {
                button(class="button", r#type="button", on:click=click(sign_out)) { "Sign out" }
            }
        },
        None => view! {
            p { "Not signed in. Sign in from the QuizPulse button in the toolbar." }
        },
    };

    let account = dynamic(account);
    let quiet_invalid = attr(move || {
        if quiet_error().is_empty() {
            "false"
        } else {
            "true"
        }
    });
    let quiet_invalid_end = attr(move || {
        if quiet_error().is_empty() {
            "false"
        } else {
            "true"
        }
    });
    let quiet_problem = text(quiet_error);
    let message_class = attr(move || {
        if message_is_error.get() {
            "form__message form__message--error"
        } else {
            "form__message"
        }
    });
    let message_text = text(move || message.get_clone());
    let (head, strip) = (header("Settings"), strip::strip(live, false));
    let (access, test, log) = (
        access_card(saved, hosts, access),
        test_card(live),
        log_card(live),
    );
    let footer = footer(live);
    view! {
        div(class="page page--options") {
            (head)
            (strip)
            main(class="content") {
                section(class="card", aria-labelledby="account-title") {
                    h2(id="account-title") { "Account" }
                    (account)
                }
                section(class="card", aria-labelledby="settings-title") {
                    h2(id="settings-title") { "Quiz server and notifications" }
                    form(class="form", on:submit=submit(save), novalidate=true) {
                        (server_field)
                        (socket_field)
                        (insecure_check)
                        (site_field)
                        (limit_field)
                        fieldset(class="fieldset") {
                            legend { "Notifications" }
                            (checks)
                            div(class="times") {
                                label(r#for="quiet-start") { "From" }
                                input(id="quiet-start", r#type="time", disabled=move || !form.quiet.get(),
                                    aria-invalid=quiet_invalid,
                                    aria-describedby="quiet-error", bind:value=form.quiet_start)
                                label(r#for="quiet-end") { "until" }
                                input(id="quiet-end", r#type="time", disabled=move || !form.quiet.get(),
                                    aria-invalid=quiet_invalid_end,
                                    aria-describedby="quiet-error", bind:value=form.quiet_end)
                            }
                            p(id="quiet-error", class="field-error", data-testid="quiet-error") { (quiet_problem) }
                        }
                        div(class="form__actions") {
                            button(class="button button--primary", r#type="submit", disabled=move || pending.with(Option::is_some)) { "Save" }
                            span(
                                class=message_class,
                                role="status",
                                data-testid="save-message",
                            ) { (message_text) }
                        }
                    }
                }
                (access)
                (test)
                (log)
            }
            (footer)
        }
    }
}

fn access_card(
    saved: Signal<Settings>,
    hosts: Signal<Vec<String>>,
    access: Signal<HostAccess>,
) -> View {
    // Built here, not inside `view!`: the macro wraps every call it finds there in one
    // more dynamic view.
    let granted = text(move || {
        let hosts = hosts.get_clone();
        if hosts.is_empty() {
            "none".to_string()
        } else {
            hosts.join(", ")
        }
    });
    let pattern = text(move || saved.with(Settings::host_permission_pattern));
    let state = dynamic(move || match access.get_clone() {
        HostAccess::Checking => view! { span(class="access__state") { "checking…" } },
        HostAccess::Granted => {
            view! { span(class="access__state access__state--granted") { "access granted" } }
        }
        HostAccess::NotGranted => {
            view! { span(class="access__state access__state--missing") { "no access granted yet (sign in from the popup to ask for it)" } }
        }
        HostAccess::Unknown(why) => {
            view! { span(class="access__state access__state--missing") { "could not be checked (" (why) ")" } }
        }
    });
    view! {
        section(class="card", aria-labelledby="access-title") {
            h2(id="access-title") { "Host access" }
            p {
                "This build may reach these hosts without asking: "
                strong(data-testid="granted-hosts") { (granted) }
                "."
            }
            p(class="access", data-testid="server-access") {
                "Your server, "
                code { (pattern) }
                ": "
                (state)
                "."
            }
        }
    }
}

fn step_words(status: StepStatus) -> (&'static str, &'static str) {
    match status {
        StepStatus::Waiting => ("waiting", "step step--waiting"),
        StepStatus::Running => ("checking…", "step step--running"),
        StepStatus::Passed => ("passed", "step step--passed"),
        StepStatus::Failed => ("failed", "step step--failed"),
        StepStatus::Skipped => ("skipped", "step step--skipped"),
    }
}

fn test_card(live: Live) -> View {
    let steps = selector(move || live.with(|s| s.and_then(|s| s.test.clone())));
    let run = move |_| live.send(Command::TestConnection);
    let list = move || {
        steps.get_clone().map(|steps: Vec<TestStep>| {
            let items: Vec<View> = steps
                .into_iter()
                .map(|step| {
                    let (words, class) = step_words(step.status);
                    let (name, detail) = (step.name, step.detail);
                    view! {
                        li(class=class) {
                            span(class="step__mark", aria-hidden="true")
                            span(class="step__head") {
                                span(class="step__name") { (name) }
                                span(class="step__status") { ": " (words) }
                            }
                            p(class="step__detail") { (detail) }
                        }
                    }
                })
                .collect();
            view! { ol(class="steps", aria-label="Test steps") { (items) } }
        })
    };
    let list = dynamic(list);
    view! {
        section(class="card", aria-labelledby="test-title") {
            h2(id="test-title") { "Test connection" }
            p { "Checks the server URL, host access, the sign-in token and the live socket, one by one." }
            div(class="form__actions") {
                button(class="button", r#type="button", on:click=click(run)) { "Test connection" }
            }
            div(role="status", data-testid="test-steps") { (list) }
        }
    }
}

fn log_card(live: Live) -> View {
    let entries = selector(move || live.with(|s| s.map(|s| s.events.clone()).unwrap_or_default()));
    let log_text =
        selector(move || live.with(|s| s.map(|s| s.events_text.clone()).unwrap_or_default()));
    let copied = create_signal(String::new());
    let copy = move |_| {
        let text = log_text.get_clone();
        spawn_local(async move {
            copied.set(match chrome::copy_text(&text).await {
                Ok(()) => "Copied.".into(),
                Err(err) => format!("Could not copy ({err}); select the text below instead."),
            });
        });
    };
    let list = move || {
        let items: Vec<View> = entries
            .get_clone()
            .into_iter()
            .rev()
            .map(|e| {
                let at = e.at.to_rfc3339();
                let datetime = at.clone();
                let text = e.text;
                view! { li { time(datetime=datetime) { (at) } " " (text) } }
            })
            .collect();
        if items.is_empty() {
            view! { p(class="note") { "No connection events yet." } }
        } else {
            view! { ol(class="log", aria-label="Connection events, newest first", tabindex="0") { (items) } }
        }
    };
    let (list, copied_text) = (dynamic(list), text(move || copied.get_clone()));
    view! {
        section(class="card", aria-labelledby="log-title") {
            h2(id="log-title") { "Connection log" }
            p { "The last connection events (times in UTC), for a bug report." }
            div(class="form__actions") {
                button(class="button", r#type="button", on:click=click(copy)) { "Copy log" }
                span(class="form__message", role="status") { (copied_text) }
            }
            (list)
        }
    }
}
