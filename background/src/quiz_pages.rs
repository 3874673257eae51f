//! Quiz pages: the content script `quiz_page.js`, registered at run time for the
//! configured quiz site only, and only while the extension has host access to it.
//!
//! The script holds a port named `quiz:<id>` while its tab shows `/quizzes/<id>/`;
//! [`crate::ports`] turns those ports into the core's tab inputs.

use std::cell::RefCell;

use crate::chrome;
use crate::driver::{log_error, settings};

/// The registration's id.
const SCRIPT_ID: &str = "quiz-page";
/// The script file in `dist/`.
const SCRIPT_FILE: &str = "quiz_page.js";

#[derive(Default)]
struct Registration {
    /// The site pattern checked last, and whether access was granted for it.
    checked: Option<(String, bool)>,
    /// Check again even if the pattern did not change (permissions changed).
    stale: bool,
}

thread_local! {
    static STATE: RefCell<Registration> = const { RefCell::new(Registration { checked: None, stale: true }) };
}

/// The match pattern of the configured quiz site (`<site>/*`).
fn site_pattern() -> Option<String> {
    let settings = settings()?;
    let site = settings
        .site_url
        .as_deref()
        .unwrap_or_else(|| settings.api_base())
        .trim_end_matches('/')
        .to_owned();
    Some(format!("{site}/*"))
}

/// Host permissions changed: check again at the next [`sync`].
pub fn permissions_changed() {
    STATE.with(|s| s.borrow_mut().stale = true);
}

/// Makes the registration match the settings and the host access granted: registered
/// for the site's pattern when access is granted, absent otherwise. Quick when nothing
/// changed.
pub async fn sync() {
    let Some(pattern) = site_pattern() else {
        return;
    };
    let unchanged = STATE.with(|s| {
        let s = s.borrow();
        !s.stale && s.checked.as_ref().is_some_and(|(p, _)| *p == pattern)
    });
    if unchanged {
        return;
    }
    STATE.with(|s| s.borrow_mut().stale = false);
    let granted = match chrome::has_host_access(&pattern).await {
        Ok(granted) => granted,
        Err(err) => {
            log_error(&err.to_string());
            false
        }
    };
    STATE.with(|s| s.borrow_mut().checked = Some((pattern.clone(), granted)));
    if let Err(err) = register(&pattern, granted).await {
        log_error(&err.to_string());
    }
}

async fn register(site: &str, granted: bool) -> Result<(), chrome::ChromeError> {
    // As this browser reads match patterns (Firefox's have no port).
    let pattern = quizpulse_chrome::platform::current().pattern(site);
    let pattern = pattern.as_str();
    let registered = chrome::registered_scripts(SCRIPT_ID).await?;
    let current = registered.first();
    if granted && current.is_some_and(|m| m.len() == 1 && m[0] == pattern) {
        return Ok(());
    }
    if current.is_some() {
        chrome::unregister_script(SCRIPT_ID).await?;
    }
    if !granted {
        return Ok(());
    }
    chrome::register_script(SCRIPT_ID, pattern, SCRIPT_FILE).await?;
    // Tabs opened before the registration get the script now (it runs once per page).
    for tab in chrome::tabs(&chrome::object(&[("url", &pattern.into())])).await? {
        if let Some(id) = tab.id
            && let Err(err) = chrome::inject_script(id, SCRIPT_FILE).await
        {
            log_error(&err.to_string());
        }
    }
    Ok(())
}

/// A page finished loading in `tab`: if it is on the quiz site and the script is
/// registered, make sure it runs there (pages restored from the back/forward cache
/// or loaded before the registration; the script runs once per page).
pub async fn loaded(tab: f64, url: String) {
    let registered_for = STATE.with(|s| match &s.borrow().checked {
        Some((pattern, true)) => Some(pattern.clone()),
        _ => None,
    });
    let Some(pattern) = registered_for else {
        return;
    };
    if url.starts_with(pattern.trim_end_matches('*'))
        && let Err(err) = chrome::inject_script(tab, SCRIPT_FILE).await
    {
        log_error(&err.to_string());
    }
}
