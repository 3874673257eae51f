//! The quiz site's pages: `GET /quizzes/<id>/`, a plain HTML page with the quiz's
//! title and board (no script), so that the extension's quiz page script runs against
//! something real. Every name is HTML-escaped.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use quizpulse::wire::QuizBoard;

use crate::{AppState, db};

/// Entries shown on a quiz page.
const PAGE_LIMIT: u32 = 10;

/// `GET /quizzes/<id>/`: the quiz's page; 404 (also HTML) for an unknown quiz.
pub async fn quiz_page(State(state): State<AppState>, Path(quiz_id): Path<String>) -> Response {
    let board = match db::quiz(&state.db, &quiz_id).await {
        Ok(Some(quiz)) => db::quiz_board(&state.db, quiz, PAGE_LIMIT).await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match board {
        Ok(Some(board)) => html(StatusCode::OK, render(&board)),
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            page(
                "Quiz not found",
                &format!("<p>No quiz with id {}.</p>", escape(&quiz_id)),
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "quiz page");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page("Server error", "<p>The board could not be read.</p>"),
            )
        }
    }
}

/// `GET /quizzes/<id>`: Django's trailing-slash redirect.
pub async fn quiz_page_redirect(Path(quiz_id): Path<String>) -> Redirect {
    Redirect::permanent(&format!("/quizzes/{}/", percent_path(&quiz_id)))
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn page(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    )
}

/// The page of one board.
pub fn render(board: &QuizBoard) -> String {
    let mut rows = String::new();
    for e in &board.entries {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            e.rank,
            escape(&e.username),
            e.score,
            e.sessions
        ));
    }
    let updated = board
        .updated_at
        .as_deref()
        .map(|at| format!("<p>Updated {}.</p>\n", escape(at)))
        .unwrap_or_default();
    page(
        &board.quiz.title,
        &format!(
            "<table id=\"board\">\n<thead><tr><th>Rank</th><th>Player</th><th>Score</th><th>Sessions</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n{updated}"
        ),
    )
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment (everything but unreserved characters).
fn percent_path(text: &str) -> String {
    quizpulse::settings::percent_encode(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quizpulse::wire::{Entry, QuizRef};

    #[test]
    fn names_are_escaped_and_the_board_is_listed() {
        let board = QuizBoard {
            quiz: QuizRef {
                id: "1".into(),
                title: "Q&A <b>".into(),
                subject_id: "m".into(),
            },
            entries: vec![Entry {
                rank: 1,
                user_id: "u".into(),
                username: "<img src=x onerror=alert(1)>".into(),
                score: 91.5,
                sessions: 2,
            }],
            updated_at: Some("2026-11-29T21:00:00Z".into()),
        };
        let html = render(&board);
        assert!(html.contains("<title>Q&amp;A &lt;b&gt;</title>"));
        assert!(html.contains("<td>&lt;img src=x onerror=alert(1)&gt;</td><td>91.5</td>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_redirect_keeps_an_odd_id_in_one_segment() {
        assert_eq!(percent_path("a/b c"), "a%2Fb%20c");
    }
}
