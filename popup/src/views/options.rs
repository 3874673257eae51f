//! The options page: the core's settings (saved through the worker with the core's
//! errors at their field), sign out, "Test connection" step by step, and the connection
//! event log, copyable.

use quizpulse::messages::{Command, Page, StepStatus, TestCheck, TestStep};
use quizpulse::settings::{DEFAULT_SERVER_URL, LANGUAGES, Settings};
use quizpulse::text::k;
use quizpulse_chrome::i18n::{clock, isolate, render, t, tr};
use sycamore::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::reactive::{attr, click, dynamic, effect, selector, submit, text};
use super::{footer, header, list, offered, strip};
use crate::chrome;
use crate::live::{Cache, Live};
use crate::model::form::{Field, FieldError, SettingsForm, parse_hhmm};
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
            Err(err) => HostAccess::Unknown(err.words()),
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
    language: Signal<String>,
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
            language: create_signal(form.language),
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
        self.language.set(form.language);
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
            language: self.language.get_clone(),
        }
    }
}

fn field_error(errors: Signal<Option<FieldError>>, field: Field) -> impl Fn() -> String + Copy {
    move || {
        errors.with(|e| {
            e.as_ref()
                .filter(|e| e.field == field)
                .map(|e| render(&e.message))
                .unwrap_or_default()
        })
    }
}

/// A labelled text input with its error and hint (`label`, `hint`: catalog keys).
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
    let (label, hint) = (t(label), t(hint));
    // URLs and numbers read left to right in every language.
    let dir = if kind == "url" { "ltr" } else { "auto" };
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
                id=id, name=id, r#type=kind, placeholder=placeholder, dir=dir,
                aria-invalid=invalid,
                aria-describedby=described,
                bind:value=value,
            )
            p(id=error_id, class="field-error", data-testid=test_id) { (error) }
            p(id=hint_id, class="hint") { (hint) }
        }
    }
}

/// One choice of the language list (`name`: a catalog key).
#[inline(never)]
fn language_choice(tag: &'static str, name: &'static str) -> View {
    let name = t(name);
    view! { option(value=tag) { (name) } }
}

/// The language list: the browser's, then each catalog's language by its own name. The
/// core's error for it (a tag it has no catalog for, which the list cannot give) shows
/// in place of the hint.
fn language_field(value: Signal<String>, errors: Signal<Option<FieldError>>) -> View {
    let error = field_error(errors, Field::Language);
    let hint = t("field_language_hint");
    let said = text(move || {
        let error = error();
        if error.is_empty() {
            hint.clone()
        } else {
            error
        }
    });
    let mut choices = vec![language_choice("", k("language_default"))];
    for (tag, name) in LANGUAGES {
        choices.push(language_choice(tag, name));
    }
    let label = t("field_language");
    view! {
        div(class="field") {
            label(r#for="language") { (label) }
            select(id="language", name="language", aria-describedby="language-hint", bind:value=value) { (choices) }
            p(id="language-hint", class="hint", data-testid="language-hint") { (said) }
        }
    }
}

/// A labelled checkbox (`label`, `hint`: catalog keys).
fn check(id: &'static str, label: &'static str, value: Signal<bool>, hint: &'static str) -> View {
    check_offered(id, label, value, t(hint), true)
}

/// A check box that the browser may not offer (`label`: a catalog key; `hint`: words;
/// `usable`: false, disabled, the hint saying why; see `offered`).
pub(super) fn check_offered(
    id: &'static str,
    label: &'static str,
    value: Signal<bool>,
    hint: String,
    usable: bool,
) -> View {
    let label = t(label);
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
            .map_err(|err| err.words())
            .and_then(|stored| {
                stored_settings(stored.as_ref())
                    .map_err(|err| tr("options_stored_unreadable", &[isolate(&err.0)]))
            });
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
            errors.set(Some(FieldError::from(err)));
            message.set(t("options_not_saved"));
            message_is_error.set(true);
            pending.set(None);
        } else if settings == want {
            // Another language: the page again, in its words.
            if saved.with_untracked(|s| s.language != want.language) {
                let _ = quizpulse_chrome::invoke("location.reload", &[]);
            }
            message.set(t("options_saved"));
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
            message.set(tr("options_not_saved_because", &[problem]));
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
                message.set(t("options_saving"));
                message_is_error.set(false);
                pending.set(Some(settings.clone()));
                live.problem.set(None);
                live.send(Command::SaveSettings { settings });
            }
            Err(err) => {
                message.set(t("options_not_saved"));
                message_is_error.set(true);
                errors.set(Some(err));
            }
        }
    };

    let server_field = text_field(
        "server-url",
        k("field_server_url"),
        "url",
        form.server_url,
        errors,
        Field::ServerUrl,
        DEFAULT_SERVER_URL,
        k("field_server_url_hint"),
    );
    let socket_field = text_field(
        "socket-url",
        k("field_socket_url"),
        "url",
        form.socket_url,
        errors,
        Field::SocketUrl,
        "wss://quiz.example.org/ws/leaderboard/",
        k("field_socket_url_hint"),
    );
    let site_field = text_field(
        "site-url",
        k("field_site_url"),
        "url",
        form.site_url,
        errors,
        Field::SiteUrl,
        "https://quiz.example.org",
        k("field_site_url_hint"),
    );
    let limit_field = text_field(
        "board-limit",
        k("field_board_limit"),
        "number",
        form.board_limit,
        errors,
        Field::BoardLimit,
        "10",
        k("field_board_limit_hint"),
    );
    let language = language_field(form.language, errors);
    let insecure_check = check(
        "allow-insecure",
        k("check_insecure"),
        form.allow_insecure,
        k("check_insecure_hint"),
    );
    let quiet_error = field_error(errors, Field::QuietHours);
    let checks: Vec<View> = vec![
        check(
            "follow-new",
            k("check_follow_new"),
            form.follow_new_quizzes,
            k("check_follow_new_hint"),
        ),
        check(
            "notify-enabled",
            k("check_notify"),
            form.notify_enabled,
            k("check_notify_hint"),
        ),
        check(
            "notify-sessions",
            k("check_sessions"),
            form.notify_new_sessions,
            k("check_sessions_hint"),
        ),
        check(
            "notify-boards",
            k("check_boards"),
            form.notify_leaderboard_changes,
            k("check_boards_hint"),
        ),
        check(
            "notify-ranks",
            k("check_ranks"),
            form.notify_rank_changes,
            k("check_ranks_hint"),
        ),
        check(
            "notify-subscriptions",
            k("check_subscriptions"),
            form.notify_subscriptions,
            k("check_subscriptions_hint"),
        ),
        check(
            "notify-connection",
            k("check_connection"),
            form.notify_connection,
            k("check_connection_hint"),
        ),
        check(
            "notify-account",
            k("check_account"),
            form.notify_account,
            k("check_account_hint"),
        ),
        offered::keep_on_screen(form.keep_on_screen),
        check("quiet", k("check_quiet"), form.quiet, k("check_quiet_hint")),
    ];
    // The quiet hours as the language writes clock times, while they are on.
    let quiet_span = text(move || {
        let (start, end) = (form.quiet_start.get_clone(), form.quiet_end.get_clone());
        match (form.quiet.get(), parse_hhmm(&start), parse_hhmm(&end)) {
            (true, Some(start), Some(end)) => tr("quiet_span", &[clock(start), clock(end)]),
            _ => String::new(),
        }
    });

    let signed_in =
        selector(move || live.with(|s| s.and_then(|s| s.account.as_ref()?.username.clone())));
    let sign_out = move |_| live.send(Command::SignOut);
    let account = move || match signed_in.get_clone() {
        Some(name) => {
            let (said, sign_out_words) = (t("options_signed_in_as"), t("options_sign_out"));
            view! {
                p { (said) " " strong(data-testid="account") { bdi { (name) } } }
                div(class="form__actions") {
                    button(class="button", r#type="button", on:click=click(sign_out)) { (sign_out_words) }
                }
            }
        }
        None => {
            let words = t("options_signed_out");
            view! { p { (words) } }
        }
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
    let (head, strip) = (header(k("options_subtitle")), strip::strip(live, false));
    let (account_title, settings_title, notifications_legend, from, until, save_words) = (
        t("options_account"),
        t("options_settings"),
        t("options_notifications"),
        t("quiet_from"),
        t("quiet_until"),
        t("options_save"),
    );
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
                    h2(id="account-title") { (account_title) }
                    (account)
                }
                section(class="card", aria-labelledby="settings-title") {
                    h2(id="settings-title") { (settings_title) }
                    form(class="form", on:submit=submit(save), novalidate=true) {
                        (server_field)
                        (socket_field)
                        (insecure_check)
                        (site_field)
                        (limit_field)
                        (language)
                        fieldset(class="fieldset") {
                            legend { (notifications_legend) }
                            (checks)
                            div(class="times") {
                                label(r#for="quiet-start") { (from) }
                                input(id="quiet-start", r#type="time", disabled=move || !form.quiet.get(),
                                    aria-invalid=quiet_invalid,
                                    aria-describedby="quiet-error", bind:value=form.quiet_start)
                                label(r#for="quiet-end") { (until) }
                                input(id="quiet-end", r#type="time", disabled=move || !form.quiet.get(),
                                    aria-invalid=quiet_invalid_end,
                                    aria-describedby="quiet-error", bind:value=form.quiet_end)
                            }
                            p(class="hint", data-testid="quiet-span") { (quiet_span) }
                            p(id="quiet-error", class="field-error", data-testid="quiet-error") { (quiet_problem) }
                        }
                        div(class="form__actions") {
                            button(class="button button--primary", r#type="submit", disabled=move || pending.with(Option::is_some)) { (save_words) }
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
            t("access_none")
        } else {
            list(hosts.into_iter())
        }
    });
    let pattern = text(move || saved.with(Settings::host_permission_pattern));
    let state = dynamic(move || {
        let (class, words) = match access.get_clone() {
            HostAccess::Checking => ("access__state", t("access_checking")),
            HostAccess::Granted => ("access__state access__state--granted", t("access_granted")),
            HostAccess::NotGranted => ("access__state access__state--missing", t("access_missing")),
            HostAccess::Unknown(why) => (
                "access__state access__state--missing",
                tr("access_unknown", &[why]),
            ),
        };
        view! { span(class=class) { (words) } }
    });
    let (title, hosts, server) = (t("access_title"), t("access_hosts"), t("access_server"));
    view! {
        section(class="card", aria-labelledby="access-title") {
            h2(id="access-title") { (title) }
            p { (hosts) " " strong(data-testid="granted-hosts", dir="ltr") { (granted) } }
            p(class="access", data-testid="server-access") {
                (server) " " code(dir="ltr") { (pattern) } " " (state)
            }
        }
    }
}

/// A test step's outcome: its catalog key and its CSS class.
fn step_words(status: StepStatus) -> (&'static str, &'static str) {
    match status {
        StepStatus::Waiting => (k("step_waiting"), "step step--waiting"),
        StepStatus::Running => (k("step_running"), "step step--running"),
        StepStatus::Passed => (k("step_passed"), "step step--passed"),
        StepStatus::Failed => (k("step_failed"), "step step--failed"),
        StepStatus::Skipped => (k("step_skipped"), "step step--skipped"),
    }
}

/// A test step's name: its catalog key.
fn check_name(check: TestCheck) -> &'static str {
    match check {
        TestCheck::ServerUrl => k("step_server_url"),
        TestCheck::HostAccess => k("step_host_access"),
        TestCheck::Token => k("step_token"),
        TestCheck::Socket => k("step_socket"),
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
                    let head = tr("step_head", &[t(check_name(step.check)), t(words)]);
                    let detail = step.detail.as_ref().map(render).unwrap_or_default();
                    view! {
                        li(class=class) {
                            span(class="step__mark", aria-hidden="true")
                            span(class="step__head") { (head) }
                            p(class="step__detail") { (detail) }
                        }
                    }
                })
                .collect();
            let label = t("test_steps");
            view! { ol(class="steps", aria-label=label) { (items) } }
        })
    };
    let list = dynamic(list);
    let (title, about, button) = (t("test_title"), t("test_about"), t("test_run"));
    view! {
        section(class="card", aria-labelledby="test-title") {
            h2(id="test-title") { (title) }
            p { (about) }
            div(class="form__actions") {
                button(class="button", r#type="button", on:click=click(run)) { (button) }
            }
            div(role="status", data-testid="test-steps") { (list) }
        }
    }
}

fn log_card(live: Live) -> View {
    let entries = selector(move || live.with(|s| s.map(|s| s.events.clone()).unwrap_or_default()));
    let copied = create_signal(String::new());
    let copy = move |_| {
        // One `time  what happened` line per entry, oldest first: the times stay
        // RFC 3339 in UTC for the bug report, the words are the user's language.
        let text: String = entries.with_untracked(|entries| {
            entries
                .iter()
                .map(|e| format!("{}  {}\n", e.at.to_rfc3339(), render(&e.text)))
                .collect()
        });
        spawn_local(async move {
            copied.set(match chrome::copy_text(&text).await {
                Ok(()) => t("log_copied"),
                Err(err) => tr("log_copy_failed", &[err.words()]),
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
                let text = render(&e.text);
                view! { li { time(datetime=datetime, dir="ltr") { (at) } " " (text) } }
            })
            .collect();
        if items.is_empty() {
            let empty = t("log_empty");
            view! { p(class="note") { (empty) } }
        } else {
            let label = t("log_list");
            view! { ol(class="log", aria-label=label, tabindex="0") { (items) } }
        }
    };
    let (list, copied_text) = (dynamic(list), text(move || copied.get_clone()));
    let (title, about, button) = (t("log_title"), t("log_about"), t("log_copy"));
    view! {
        section(class="card", aria-labelledby="log-title") {
            h2(id="log-title") { (title) }
            p { (about) }
            div(class="form__actions") {
                button(class="button", r#type="button", on:click=click(copy)) { (button) }
                span(class="form__message", role="status") { (copied_text) }
            }
            (list)
        }
    }
}
