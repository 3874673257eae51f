//! Leaderboard tables (subject and quiz boards) and a query's loading/error notes.

use quizpulse::messages::QueryView;
use quizpulse::text::k;
use quizpulse_chrome::i18n::{isolate, number, render, score, t, tr};
use sycamore::prelude::*;

use crate::model::board::Row;

/// A board as a table: rank (with its move), player, score, sessions. Rows that
/// changed since the board was last seen flash once; the user's row is marked.
/// `caption` names the board for screen readers.
pub(super) fn table(caption: String, rows: Vec<Row>) -> View {
    let rows: Vec<View> = rows.into_iter().map(row).collect();
    let (rank, player, points, sessions) = (
        t("board_rank"),
        t("board_player"),
        t("board_score"),
        t("board_sessions"),
    );
    view! {
        table(class="board") {
            caption(class="sr-only") { (caption) }
            thead {
                tr {
                    th(scope="col", class="board__rank") { (rank) }
                    th(scope="col") { (player) }
                    th(scope="col", class="num") { (points) }
                    th(scope="col", class="num") { (sessions) }
                }
            }
            tbody { (rows) }
        }
    }
}

/// A board's caption: `Mathematics leaderboard`.
pub(super) fn caption(name: &str) -> String {
    tr("board_caption", &[isolate(name)])
}

fn row(row: Row) -> View {
    let mut class = String::from("board__row");
    if row.changed {
        class.push_str(" board__row--changed");
    }
    if row.mine {
        class.push_str(" board__row--mine");
    }
    let moved: View = match row.moved.words() {
        None => View::default(),
        Some(words) => {
            let (css, arrow, words) = (
                row.moved.css(),
                row.moved.arrow(),
                tr("board_moved", &[render(&words)]),
            );
            view! {
                span(class=css, aria-hidden="true") { (arrow) }
                span(class="sr-only") { (words) }
            }
        }
    };
    let you: View = if row.mine {
        let you = t("board_you");
        view! { span(class="you") { (you) } }
    } else {
        View::default()
    };
    let (rank, username) = (
        tr("board_rank_value", &[number(u64::from(row.entry.rank))]),
        row.entry.username,
    );
    let (score, sessions) = (
        score(row.entry.score),
        number(u64::from(row.entry.sessions)),
    );
    view! {
        tr(class=class) {
            td(class="board__rank") { (rank) (moved) }
            td(class="board__user") {
                bdi(class="board__name") { (username) }
                (you)
            }
            td(class="num") { (score) }
            td(class="num") { (sessions) }
        }
    }
}

/// Which query a note is about: each has its own sentences.
#[derive(Clone, Copy)]
pub(super) enum Query {
    /// The subject leaderboards.
    Subjects,
    /// The quiz list.
    Quizzes,
    /// A quiz's board.
    Board,
    /// The user's standing.
    Standing,
}

/// What to say about a query besides its data: loading, never loaded, failed.
pub(super) fn query_note<T>(query: &QueryView<T>, what: Query) -> Option<View> {
    // One catalog message per query and state: [failed, stale, loading, empty].
    let keys = match what {
        Query::Subjects => [
            k("subjects_failed"),
            k("subjects_stale"),
            k("subjects_loading"),
            k("subjects_empty"),
        ],
        Query::Quizzes => [
            k("quizzes_failed"),
            k("quizzes_stale"),
            k("quizzes_loading"),
            k("quizzes_empty"),
        ],
        Query::Board => [
            k("board_failed"),
            k("board_stale"),
            k("board_loading"),
            k("board_empty"),
        ],
        Query::Standing => [
            k("standing_failed"),
            k("standing_stale"),
            k("standing_loading"),
            k("standing_empty"),
        ],
    };
    let error = query.error.as_ref().map(render).unwrap_or_default();
    let text = match (&query.data, &query.error, query.fetching) {
        (None, Some(_), _) => tr(keys[0], &[error]),
        (Some(_), Some(_), _) => tr(keys[1], &[error]),
        (None, None, true) => t(keys[2]),
        (None, None, false) => t(keys[3]),
        (Some(_), None, _) => return None,
    };
    let class = if query.error.is_some() {
        "note note--error"
    } else {
        "note"
    };
    Some(view! { p(class=class) { (text) } })
}
