//! Sign in inside the popup: Server URL (the build's server unless the user chose
//! another), Username, Password. Host access for another server is asked for from the
//! click itself; errors say what to do.

use quizpulse::ConnState;
use quizpulse::messages::{Command, Secret, SignInStatus};
use quizpulse::settings::{DEFAULT_SERVER_URL, Settings};
use quizpulse::text::k;
use quizpulse_chrome::i18n::{isolate, render, t, tr};
use sycamore::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::reactive::{self, attr, dynamic, selector, text};
use crate::chrome;
use crate::live::Live;
use crate::model::needs_host_request;

/// The sign-in form.
pub(super) fn sign_in(live: Live) -> View {
    let server = create_signal(live.with(|s| {
        s.map_or_else(
            || DEFAULT_SERVER_URL.to_owned(),
            |s| s.settings.server_url.clone(),
        )
    }));
    let username = create_signal(live.with(|s| {
        s.and_then(|s| s.account.as_ref()?.username.clone())
            .unwrap_or_default()
    }));
    let password = create_signal(String::new());
    let server_error = create_signal(String::new());
    let form_error = create_signal(String::new());
    let asking = create_signal(false);
    let status =
        selector(move || live.with(|s| s.map_or(SignInStatus::Idle, |s| s.sign_in.clone())));
    let reason = selector(move || {
        live.with(|s| match s.map(|s| &s.connection) {
            Some(ConnState::AuthFailed { reason }) => Some(reason.clone()),
            _ => None,
        })
    });
    let busy = move || asking.get() || status.get_clone() == SignInStatus::InProgress;

    let submit = move |event: web_sys::SubmitEvent| {
        event.prevent_default();
        server_error.set(String::new());
        form_error.set(String::new());
        let candidate = Settings {
            server_url: server.get_clone(),
            ..Settings::default()
        };
        let settings = match candidate.validated() {
            Ok(settings) => settings,
            Err(err) => {
                server_error.set(render(&err.text()));
                return;
            }
        };
        let (user, pass) = (username.get_clone(), password.get_clone());
        if user.trim().is_empty() || pass.is_empty() {
            form_error.set(t("signin_missing"));
            return;
        }
        let command = Command::SignIn {
            server: settings.server_url.clone(),
            username: user.trim().to_owned(),
            password: Secret(pass),
        };
        let pattern = settings.host_permission_pattern();
        let manifest = chrome::manifest().unwrap_or_default();
        if !needs_host_request(&pattern, &manifest) {
            live.send(command);
            password.set(String::new());
            return;
        }
        // Asked from the click itself (a user gesture), answered later.
        asking.set(true);
        let answer = chrome::request_host_access(&pattern);
        spawn_local(async move {
            match answer.await {
                Ok(true) => {
                    live.send(command);
                    password.set(String::new());
                }
                Ok(false) => form_error.set(tr(
                    "signin_access_refused",
                    &[isolate(settings.api_base()), isolate(DEFAULT_SERVER_URL)],
                )),
                Err(err) => form_error.set(tr("signin_access_failed", &[err.words()])),
            }
            asking.set(false);
        });
    };

    // Built here, not inside `view!`: the macro wraps every call it finds there in one
    // more dynamic view.
    let refused = dynamic(move || {
        reason.get_clone().map(|reason| {
            let words = tr("signin_stopped", &[render(&reason)]);
            view! {
                p(class="note note--error", data-testid="auth-failed") { (words) }
            }
        })
    });
    let server_invalid = attr(move || {
        if server_error.with(String::is_empty) {
            "false"
        } else {
            "true"
        }
    });
    let server_problem = text(move || server_error.get_clone());
    let button_text = text(move || {
        t(if busy() {
            k("signin_busy")
        } else {
            k("signin_submit")
        })
    });
    let problem = text(move || {
        let local = form_error.get_clone();
        if !local.is_empty() {
            return local;
        }
        match status.get_clone() {
            SignInStatus::Failed(message) => render(&message),
            _ => String::new(),
        }
    });
    let (title, server_label, username_label, password_label) = (
        t("signin_title"),
        t("field_server_url"),
        t("signin_username"),
        t("signin_password"),
    );
    view! {
        section(class="card signin", data-testid="signed-out", aria-labelledby="signin-title") {
            h2(id="signin-title") { (title) }
            (refused)
            form(class="form", on:submit=reactive::submit(submit), novalidate=true) {
                label(r#for="signin-server") { (server_label) }
                input(
                    id="signin-server", r#type="url", inputmode="url", autocomplete="url", dir="ltr",
                    aria-invalid=server_invalid,
                    aria-describedby="signin-server-error",
                    bind:value=server,
                )
                p(id="signin-server-error", class="field-error") { (server_problem) }
                label(r#for="signin-username") { (username_label) }
                input(id="signin-username", r#type="text", autocomplete="username", dir="auto", bind:value=username)
                label(r#for="signin-password") { (password_label) }
                input(id="signin-password", r#type="password", autocomplete="current-password", bind:value=password)
                div(class="form__actions") {
                    button(class="button button--primary", r#type="submit", disabled=busy) {
                        (button_text)
                    }
                }
                p(class="field-error", role="alert", data-testid="signin-error") {
                    (problem)
                }
            }
        }
    }
}
