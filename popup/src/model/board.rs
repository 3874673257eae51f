//! Leaderboard rows as shown: which rows changed since the user last saw the board
//! (they flash once) and which way each rank moved (an arrow).

use quizpulse::small::VecMap;

use quizpulse::Text;
use quizpulse::wire::Entry;
use serde::{Deserialize, Serialize};

/// What a board looked like when it was last shown: user id → (rank, score, sessions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen(VecMap<String, (u32, f64, u32)>);

impl quizpulse::json::FromJson for Seen {
    fn from_json(json: quizpulse::json::Json) -> Result<Self, serde_json::Error> {
        VecMap::from_json(json).map(Seen)
    }
}

impl quizpulse::json::ToJson for Seen {
    fn write_json(&self, out: &mut String) {
        self.0.write_json(out);
    }
}

impl Seen {
    /// Remembers `entries` as shown.
    pub fn of(entries: &[Entry]) -> Seen {
        Seen(
            entries
                .iter()
                .map(|e| (e.user_id.0.clone(), (e.rank, e.score, e.sessions)))
                .collect(),
        )
    }
}

/// How a row's rank moved since the board was last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Same rank, or nothing to compare with.
    Same,
    /// Better (smaller) rank, by this many places.
    Up(u32),
    /// Worse rank, by this many places.
    Down(u32),
    /// Not on the board before.
    New,
}

impl Move {
    /// The arrow, or nothing.
    pub fn arrow(self) -> &'static str {
        match self {
            Move::Same => "",
            Move::Up(_) => "▲",
            Move::Down(_) => "▼",
            Move::New => "★",
        }
    }

    /// The same for a screen reader (`None`: nothing to say).
    pub fn words(self) -> Option<Text> {
        match self {
            Move::Same => None,
            Move::Up(n) => Some(Text::new("board_moved_up").count(u64::from(n))),
            Move::Down(n) => Some(Text::new("board_moved_down").count(u64::from(n))),
            Move::New => Some(Text::new("board_new")),
        }
    }

    /// The CSS modifier.
    pub fn css(self) -> &'static str {
        match self {
            Move::Same => "move",
            Move::Up(_) | Move::New => "move move--up",
            Move::Down(_) => "move move--down",
        }
    }
}

/// One row to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The entry.
    pub entry: Entry,
    /// The signed-in user's own row.
    pub mine: bool,
    /// Different from when the board was last seen: flash once.
    pub changed: bool,
    /// Rank movement.
    pub moved: Move,
}

/// Annotates `entries` against what was last seen (`None`: never seen, nothing flashes)
/// and the signed-in user's id.
pub fn rows(entries: &[Entry], before: Option<&Seen>, me: Option<&str>) -> Vec<Row> {
    entries
        .iter()
        .map(|e| {
            let (changed, moved) = match before {
                None => (false, Move::Same),
                Some(seen) => match seen.0.get(e.user_id.as_str()) {
                    None => (true, Move::New),
                    Some(&(rank, score, sessions)) => {
                        let moved = if e.rank < rank {
                            Move::Up(rank - e.rank)
                        } else if e.rank > rank {
                            Move::Down(e.rank - rank)
                        } else {
                            Move::Same
                        };
                        (
                            rank != e.rank || score != e.score || sessions != e.sessions,
                            moved,
                        )
                    }
                },
            };
            Row {
                mine: me == Some(e.user_id.as_str()),
                entry: e.clone(),
                changed,
                moved,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rank: u32, id: &str, score: f64, sessions: u32) -> Entry {
        Entry {
            rank,
            user_id: id.into(),
            username: format!("user{id}"),
            score,
            sessions,
        }
    }

    #[test]
    fn first_sight_flashes_nothing_and_marks_the_users_row() {
        let board = [entry(1, "1", 90.0, 3), entry(2, "2", 80.0, 2)];
        let shown = rows(&board, None, Some("2"));
        assert!(shown.iter().all(|r| !r.changed && r.moved == Move::Same));
        assert_eq!(
            shown.iter().map(|r| r.mine).collect::<Vec<_>>(),
            [false, true]
        );
    }

    #[test]
    fn changed_rows_flash_and_rank_moves_get_arrows() {
        let before = Seen::of(&[
            entry(1, "1", 90.0, 3),
            entry(2, "2", 80.0, 2),
            entry(3, "3", 70.0, 1),
        ]);
        let now = [
            entry(1, "2", 95.0, 3),
            entry(2, "1", 90.0, 3),
            entry(3, "3", 70.0, 1),
            entry(4, "4", 10.0, 1),
        ];
        let shown = rows(&now, Some(&before), None);
        let summary: Vec<(bool, Move)> = shown.iter().map(|r| (r.changed, r.moved)).collect();
        assert_eq!(
            summary,
            [
                (true, Move::Up(1)),
                (true, Move::Down(1)),
                (false, Move::Same),
                (true, Move::New)
            ]
        );
        assert_eq!(
            Move::Up(1).words(),
            Some(Text::new("board_moved_up").count(1))
        );
        assert_eq!(Move::Same.words(), None);
        assert_eq!(Move::Down(2).arrow(), "▼");
        // The same board seen again: nothing flashes.
        let again = rows(&now, Some(&Seen::of(&now)), None);
        assert!(again.iter().all(|r| !r.changed));
    }

    #[test]
    fn a_new_score_with_the_same_rank_flashes_without_an_arrow() {
        let before = Seen::of(&[entry(1, "1", 90.0, 3)]);
        let shown = rows(&[entry(1, "1", 99.0, 4)], Some(&before), None);
        assert!(shown[0].changed);
        assert_eq!(shown[0].moved, Move::Same);
    }
}
