//! `Fetch`: one HTTP request through the global `fetch` (the worker's scope: there is
//! no `window`), with the bearer token and JSON body the core gives, aborted after
//! [`TIME_LIMIT_MS`]. Any answer is a [`FetchResult::Response`], whatever its status;
//! no answer is a [`FetchResult::NetworkError`], said as the browser's error says
//! itself (`TypeError: Failed to fetch`).
//!
//! The call goes through `quizpulse-chrome`'s generic calls with a plain options
//! object: typed `Request`/`Headers`/`Response` bindings (gloo-net) would add a shim
//! per method to the JS glue and their request-building code to the wasm.

use js_sys::Promise;
use quizpulse::cache::{FetchResult, ResponseHeaders};
use quizpulse::client::{FetchRequest, Method};
use quizpulse_chrome::i18n::{isolate, span, tr};
use quizpulse_chrome::{call_method, invoke};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
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

/// What a thrown or rejected value says of itself: an `Error`'s `toString()`
/// (`TypeError: Failed to fetch`), else the core's description of it.
fn error_text(err: &JsValue) -> String {
    match err.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.to_string()),
        None => chrome::describe(err),
    }
}

/// Awaits what `returned` holds (a promise, or a plain value).
async fn settle(
    returned: Result<JsValue, quizpulse_chrome::ChromeError>,
) -> Result<JsValue, String> {
    let returned = returned.map_err(|e| e.message)?;
    JsFuture::from(Promise::resolve(&returned))
        .await
        .map_err(|err| error_text(&err))
}

async fn send(request: &FetchRequest, controller: &AbortController) -> Result<FetchResult, String> {
    let mut headers = vec![("Accept", JsValue::from_str("application/json"))];
    if let Some(token) = &request.bearer {
        headers.push(("Authorization", format!("Bearer {token}").into()));
    }
    let method = match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let mut init = vec![("method", JsValue::from_str(method))];
    if let Some(body) = &request.body {
        headers.push(("Content-Type", JsValue::from_str("application/json")));
        init.push(("body", JsValue::from_str(body)));
    }
    let headers: Vec<(&str, &JsValue)> = headers.iter().map(|(k, v)| (*k, v)).collect();
    let headers = chrome::object(&headers);
    let signal = JsValue::from(controller.signal());
    init.push(("headers", headers));
    init.push(("signal", signal));
    let init: Vec<(&str, &JsValue)> = init.iter().map(|(k, v)| (*k, v)).collect();
    let init = chrome::object(&init);
    let url = JsValue::from_str(&request.url);
    let response = settle(invoke("fetch", &[&url, &init])).await?;
    let status = chrome::property(&response, "status")
        .as_f64()
        .unwrap_or(0.0) as u16;
    let response_headers = chrome::property(&response, "headers");
    let header = |name: &str| {
        call_method("Headers.get", &response_headers, "get", &[&name.into()])
            .ok()
            .and_then(|value| value.as_string())
    };
    let headers = ResponseHeaders {
        date: header("date"),
        retry_after: header("retry-after"),
    };
    let body = settle(call_method("Response.text", &response, "text", &[])).await?;
    let body = body.as_string().unwrap_or_default();
    Ok(FetchResult::Response {
        status,
        body,
        headers,
    })
}
