//! Leaderboard tables (subject and quiz boards) and a query's loading/error notes.

use quizpulse::messages::QueryView;
use sycamore::prelude::*;

use crate::model::board::{Row, format_score};

/// A board as a table: rank (with its move), player, score, sessions. Rows that
/// changed since the board was last seen flash once; the user's row is marked.
pub(super) fn table(caption: String, rows: Vec<Row>) -> View {
    let rows: Vec<View> = rows.into_iter().map(row).collect();
    view! {
        table(class="board") {
            caption(class="sr-only") { (caption) }
            thead {
                tr {
                    th(scope="col", class="board__rank") { "#" }
                    th(scope="col") { "Player" }
                    th(scope="col", class="num") { "Score" }
                    th(scope="col", class="num") { "Sessions" }
                }
            }
            tbody { (rows) }
        }
    }
}

fn row(row: Row) -> View {
    let mut class = String::from("board__row");
    if row.changed {
        class.push_str(" board__row--changed");
    }
    if row.mine {
        class.push_str(" board__row--mine");
    }
    let words = row.moved.words();
    let moved: View = if words.is_empty() {
        View::default()
    } else {
        let (css, arrow) = (row.moved.css(), row.moved.arrow());
        view! {
            span(class=css, aria-hidden="true") { (arrow) }
            span(class="sr-only") { " (" (words) ")" }
        }
    };
    let you: View = if row.mine {
        view! { span(class="you") { "you" } }
    } else {
        View::default()
    };
    let (rank, username, sessions) = (row.entry.rank, row.entry.username, row.entry.sessions);
    let score = format_score(row.entry.score);
    view! {
        tr(class=class) {
            td(class="board__rank") { (rank) (moved) }
            td(class="board__user") {
                span(class="board__name") { (username) }
                (you)
            }
            td(class="num") { (score) }
            td(class="num") { (sessions) }
        }
    }
}

/// What to say about a query besides its data: loading, never loaded, failed.
pub(super) fn query_note<T>(query: &QueryView<T>, what: &str) -> Option<View> {
    let text = match (&query.data, &query.error, query.fetching) {
        (None, Some(error), _) => format!("Could not load {what}: {error}"),
        (Some(_), Some(error), _) => {
            format!("Showing the last {what} received; refreshing failed: {error}")
        }
        (None, None, true) => format!("Loading {what}…"),
        (None, None, false) => format!("No {what} yet."),
        (Some(_), None, _) => return None,
    };
    let class = if query.error.is_some() {
        "note note--error"
    } else {
        "note"
    };
    Some(view! { p(class=class) { (text) } })
}
