//! Who moved on a leaderboard: the difference between two versions of a board's top
//! entries, for leaderboard update alerts.
//!
//! Only the top [`TOP`] count. A player moved when their rank got better or when they
//! entered the top; players pushed down by them are the consequence, not news. Ties
//! reordered without a rank change, or scores changing without a rank change, are no
//! move at all.

use crate::text::Text;
use crate::wire::{Entry, UserId};

/// How many places of a board the alerts watch.
pub const TOP: u32 = 10;

/// One player's move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The player.
    pub username: String,
    /// The rank before (`None`: not in the top before).
    pub from: Option<u32>,
    /// The rank now.
    pub to: u32,
}

/// The moves from `old` to `new` (both a board's entries, best first), leaving out
/// `skip` (the signed-in user: their own upload is never news to them).
pub fn moves(old: &[Entry], new: &[Entry], skip: Option<&UserId>) -> Vec<Move> {
    let before = |user: &UserId| {
        old.iter()
            .find(|e| &e.user_id == user && e.rank <= TOP)
            .map(|e| e.rank)
    };
    new.iter()
        .filter(|e| e.rank <= TOP && Some(&e.user_id) != skip)
        .filter_map(|e| {
            let from = before(&e.user_id);
            let moved = from.is_none_or(|r| e.rank < r);
            moved.then(|| Move {
                username: e.username.clone(),
                from,
                to: e.rank,
            })
        })
        .collect()
}

/// What the moves say: each player's move (`bob moved up to #2 (from #5)`, `carol
/// entered the top 10 at #7`), the first three in a list, more than three ending with
/// `and N more`.
pub fn describe(moves: &[Move]) -> Text {
    const SHOWN: usize = 3;
    let mut parts: Vec<Text> = moves
        .iter()
        .take(SHOWN)
        .map(|m| match m.from {
            Some(from) => Text::new("move_up")
                .plain(m.username.as_str())
                .number(i64::from(m.to))
                .number(i64::from(from)),
            None => Text::new("move_entered")
                .plain(m.username.as_str())
                .number(i64::from(TOP))
                .number(i64::from(m.to)),
        })
        .collect();
    let more = moves.len().saturating_sub(SHOWN) as u64;
    let list = match (parts.len(), more) {
        (1, _) => return parts.remove(0),
        (2, _) => Text::new("moves_2"),
        (_, 0) => Text::new("moves_3"),
        _ => Text::new("moves_more"),
    };
    let list = parts.into_iter().fold(list, Text::text);
    if more > 0 { list.count(more) } else { list }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(rank: u32, user: &str) -> Entry {
        Entry {
            rank,
            user_id: user.into(),
            username: user.into(),
            score: 100.0 - f64::from(rank),
            sessions: 1,
        }
    }

    #[test]
    fn a_player_moving_up_or_entering_is_a_move_and_those_pushed_down_are_not() {
        let old = [e(1, "ann"), e(2, "bob"), e(3, "cy")];
        let new = [e(1, "cy"), e(2, "ann"), e(3, "bob")];
        assert_eq!(
            moves(&old, &new, None),
            vec![Move {
                username: "cy".into(),
                from: Some(3),
                to: 1
            }]
        );
        let new = [e(1, "ann"), e(2, "dee"), e(3, "bob")];
        let m = moves(&old, &new, None);
        assert_eq!(
            describe(&m),
            Text::new("move_entered").plain("dee").number(10).number(2)
        );
    }

    #[test]
    fn same_ranks_and_the_users_own_moves_are_no_news() {
        let old = [e(1, "ann"), e(2, "bob")];
        let mut new = [e(1, "ann"), e(2, "bob")];
        new[0].score = 120.0;
        assert!(moves(&old, &new, None).is_empty());
        let tied = [e(1, "bob"), e(1, "ann")];
        assert_eq!(moves(&old, &tied, None).len(), 1, "bob: #2 to #1");
        assert!(moves(&old, &tied, Some(&"bob".into())).is_empty());
    }

    #[test]
    fn only_the_top_ten_counts_and_long_lists_are_cut() {
        let old: Vec<Entry> = (1..=12).map(|r| e(r, &format!("u{r}"))).collect();
        let mut new = old.clone();
        new[10].rank = 12;
        new[11].rank = 11;
        assert!(moves(&old, &new, None).is_empty(), "below the top 10");
        let new: Vec<Entry> = (1..=5).map(|r| e(r, &format!("n{r}"))).collect();
        let text = describe(&moves(&old, &new, None));
        assert_eq!(text.key, "moves_more");
        assert_eq!(text.plural_count(), Some(2), "{text}");
        assert_eq!(text.args.len(), 4, "three moves and the count: {text}");
        let two = describe(&moves(&old, &new[..2], None));
        assert_eq!(two.key, "moves_2");
    }
}
