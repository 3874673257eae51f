//! `Fetch`: one HTTP request with gloo-net (it calls the global `fetch`, so it runs in
//! the worker's scope, where there is no `window`), with the bearer token and JSON
//! body the core gives, aborted after [`TIME_LIMIT_MS`]. Any answer is a
//! [`FetchResult::Response`], whatever its status; no answer is a
//! [`FetchResult::NetworkError`], said as the browser's error says itself
//! (`TypeError: Failed to fetch`).
//!
//! gloo-net is the design's HTTP client: its typed `Request`/`Headers`/`Response`
//! cost about 2.2 KB of gzip over calling `fetch` by name (measured, BENCHMARKS.md).

use gloo_net::http::{Request, RequestBuilder};
use quizpulse::cache::{FetchResult, ResponseHeaders};
use quizpulse::client::{FetchRequest, Method};
use quizpulse_chrome::i18n::{isolate, span, tr};
use wasm_bindgen::prelude::*;
use web_sys::AbortController;

use crate::chrome;

/// A request with no answer after this long is aborted.
pub const TIME_LIMIT_MS: f64 = 15_000.0;

/// Performs `request`; never fails, the outcome is the result.
pub async fn perform(request: &FetchRequest) -> FetchResult {
    let controller = match AbortController::new() {
        Ok(c) => c,
        Err(err) => {
            return network_error(&tr(
                "fetch_cannot_start",
                &[isolate(&chrome::describe(&err))],
            ));
        }
    };
    let abort = {
        let controller = controller.clone();
        Closure::once(move || controller.abort())
    };
    let timer = chrome::set_timeout(abort.as_ref().unchecked_ref(), TIME_LIMIT_MS);
    let result = send(request, &controller).await;
    chrome::clear_timeout(timer);
    let timed_out = controller.signal().aborted();
    drop(abort);
    match result {
        Ok(result) => result,
        Err(_) if timed_out => network_error(&tr(
            "fetch_timeout",
            &[isolate(&request.url), span(TIME_LIMIT_MS as u64)],
        )),
        Err(message) => network_error(&message),
    }
}

fn network_error(message: &str) -> FetchResult {
    FetchResult::NetworkError {
        message: message.to_owned(),
    }
}

/// What a gloo-net error says: the browser's own error's `toString()` (`TypeError:
/// Failed to fetch`).
fn error_text(err: gloo_net::Error) -> String {
    err.to_string()
}

async fn send(request: &FetchRequest, controller: &AbortController) -> Result<FetchResult, String> {
    let mut builder: RequestBuilder = match request.method {
        Method::Get => Request::get(&request.url),
        Method::Post => Request::post(&request.url),
    };
    builder = builder
        .header("Accept", "application/json")
        .abort_signal(Some(&controller.signal()));
    if let Some(token) = &request.bearer {
        builder = builder.header("Authorization", &format!("Bearer {token}"));
    }
    let sent = match &request.body {
        Some(body) => {
            builder
                .header("Content-Type", "application/json")
                .body(body.as_str())
                .map_err(error_text)?
                .send()
                .await
        }
        None => builder.send().await,
    };
    let response = sent.map_err(error_text)?;
    let status = response.status();
    let headers = ResponseHeaders {
        date: response.headers().get("date"),
        retry_after: response.headers().get("retry-after"),
    };
    let body = response.text().await.map_err(error_text)?;
    Ok(FetchResult::Response {
        status,
        body,
        headers,
    })
}
