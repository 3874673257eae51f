//! `OpenTab`: focus a tab (and its window) that already shows the page, else open one.
//!
//! There is no `tabs` permission: host access to the quiz site is what lets
//! `chrome.tabs.query` show those tabs' URLs, and only those.

use crate::chrome::{self, ChromeError};

/// Whether `shown` is the page `url` (a trailing slash, query or fragment aside).
pub fn shows(shown: &str, url: &str) -> bool {
    let page = |u: &str| {
        let u = u.split(['#', '?']).next().unwrap_or(u);
        u.trim_end_matches('/').to_owned()
    };
    page(shown) == page(url)
}

/// Focuses the first tab showing `url`, or opens it in a new tab.
pub async fn open(url: &str) -> Result<(), ChromeError> {
    let all = chrome::tabs(&chrome::object(&[])).await?;
    match all
        .iter()
        .find(|t| t.url.as_deref().is_some_and(|shown| shows(shown, url)))
    {
        Some(tab) => chrome::focus_tab(tab).await,
        None => chrome::open_tab(url).await,
    }
}

#[cfg(test)]
mod tests {
    use super::shows;

    #[test]
    fn a_page_is_the_same_with_or_without_slash_query_or_fragment() {
        let url = "http://127.0.0.1:8000/quizzes/7";
        assert!(shows("http://127.0.0.1:8000/quizzes/7/", url));
        assert!(shows("http://127.0.0.1:8000/quizzes/7", url));
        assert!(shows("http://127.0.0.1:8000/quizzes/7/?tab=board#top", url));
        assert!(!shows("http://127.0.0.1:8000/quizzes/77/", url));
        assert!(!shows("http://127.0.0.1:8000/quizzes/", url));
        assert!(!shows("http://127.0.0.1:9000/quizzes/7/", url));
    }
}
