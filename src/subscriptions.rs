//! What the socket should be subscribed to, and why.
//!
//! A quiz is wanted while at least one reason holds it: the user's follow toggle
//! (persisted) or an open tab showing its page (one reference per tab, released when
//! the tab closes or navigates elsewhere). The socket sees one `subscribe_quiz` when
//! the first reason appears and one `unsubscribe_quiz` when the last one goes,
//! however many reasons came and went in between.
//!
//! While the socket is not open, changes are not queued: every open sends the whole
//! wanted set ([`Subscriptions::wanted`]), which covers whatever changed meanwhile.

use crate::small::{VecMap, VecSet};

use serde::{Deserialize, Serialize};

use crate::wire::{ClientMessage, QuizId};

/// A browser tab's id, as the adapter knows it.
pub type TabId = i64;

/// The longest quiz id a page may ask to follow.
pub const MAX_PAGE_QUIZ_ID: usize = 64;

/// Whether `id`, read by the quiz-site page script from a tab's URL, may be followed:
/// 1 to [`MAX_PAGE_QUIZ_ID`] URL-safe characters (letters, digits, `-`, `_`, `.`, `~`:
/// integer, UUID and slug ids). A page cannot make the socket carry anything else.
pub fn is_page_quiz_id(id: &str) -> bool {
    (1..=MAX_PAGE_QUIZ_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// A change the socket must hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubChange {
    /// The first reason to follow this quiz appeared.
    Subscribe(QuizId),
    /// The last reason went away.
    Unsubscribe(QuizId),
}

impl SubChange {
    /// The client message for this change.
    pub fn to_message(&self) -> ClientMessage {
        match self {
            SubChange::Subscribe(q) => ClientMessage::SubscribeQuiz { quiz_id: q.clone() },
            SubChange::Unsubscribe(q) => ClientMessage::UnsubscribeQuiz { quiz_id: q.clone() },
        }
    }
}

/// The persisted part of the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowState {
    /// Quizzes the user follows.
    pub follows: VecSet<QuizId>,
    /// Quizzes seen at least once (for "follow newly seen quizzes by default").
    pub seen: VecSet<QuizId>,
    /// Whether a quiz list was ever seen (the first one is a baseline, not "new").
    pub baseline_taken: bool,
}

crate::json_struct!(FollowState default {
    follows,
    seen,
    baseline_taken,
});

/// The registry of reasons to follow quizzes.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    state: FollowState,
    tabs: VecMap<TabId, QuizId>,
}

impl Subscriptions {
    /// A registry restored from storage.
    pub fn from_state(state: FollowState) -> Self {
        Subscriptions {
            state,
            tabs: VecMap::new(),
        }
    }

    /// The persisted part.
    pub fn state(&self) -> &FollowState {
        &self.state
    }

    /// Every quiz the socket should be subscribed to.
    pub fn wanted(&self) -> VecSet<QuizId> {
        let mut all = self.state.follows.clone();
        all.extend(self.tabs.values().cloned());
        all
    }

    /// Whether any reason holds `quiz`.
    pub fn is_wanted(&self, quiz: &QuizId) -> bool {
        self.state.follows.contains(quiz) || self.tabs.values().any(|q| q == quiz)
    }

    /// Whether the user follows `quiz` (the toggle, not a tab).
    pub fn is_followed(&self, quiz: &QuizId) -> bool {
        self.state.follows.contains(quiz)
    }

    /// How many open tabs show `quiz`.
    pub fn tab_count(&self, quiz: &QuizId) -> usize {
        self.tabs.values().filter(|q| *q == quiz).count()
    }

    /// The quiz a tab shows, if it shows one.
    pub fn quiz_in_tab(&self, tab: TabId) -> Option<&QuizId> {
        self.tabs.get(&tab)
    }

    fn diff(&self, before: &VecSet<QuizId>) -> Vec<SubChange> {
        let after = self.wanted();
        let mut out: Vec<SubChange> = after
            .difference(before)
            .cloned()
            .map(SubChange::Subscribe)
            .collect();
        out.extend(
            before
                .difference(&after)
                .cloned()
                .map(SubChange::Unsubscribe),
        );
        out
    }

    fn change(&mut self, f: impl FnOnce(&mut Self)) -> Vec<SubChange> {
        let before = self.wanted();
        f(self);
        self.diff(&before)
    }

    /// The user turns the follow toggle on.
    pub fn follow(&mut self, quiz: QuizId) -> Vec<SubChange> {
        self.change(|s| {
            s.state.seen.insert(quiz.clone());
            s.state.follows.insert(quiz);
        })
    }

    /// The user turns the follow toggle off.
    pub fn unfollow(&mut self, quiz: &QuizId) -> Vec<SubChange> {
        self.change(|s| {
            s.state.follows.remove(quiz);
        })
    }

    /// A tab now shows `quiz`'s page (a tab that showed another quiz releases it).
    pub fn tab_shows(&mut self, tab: TabId, quiz: QuizId) -> Vec<SubChange> {
        self.change(|s| {
            s.tabs.insert(tab, quiz);
        })
    }

    /// A tab closed or navigated away from a quiz page.
    pub fn tab_gone(&mut self, tab: TabId) -> Vec<SubChange> {
        self.change(|s| {
            s.tabs.remove(&tab);
        })
    }

    /// Every tab reference dropped (the worker lost track of tabs).
    pub fn clear_tabs(&mut self) -> Vec<SubChange> {
        self.change(|s| s.tabs.clear())
    }

    /// Records quizzes seen in a quiz list or a message. Returns the quizzes that are
    /// new and should be followed because `follow_new` is on; the first list ever
    /// seen (`is_full_list`) is a baseline and follows nothing.
    pub fn saw_quizzes<'a>(
        &mut self,
        quizzes: impl IntoIterator<Item = &'a QuizId>,
        is_full_list: bool,
        follow_new: bool,
    ) -> Vec<QuizId> {
        let baseline = !self.state.baseline_taken;
        if is_full_list {
            self.state.baseline_taken = true;
        }
        let mut new = Vec::new();
        for q in quizzes {
            if self.state.seen.insert(q.clone()) && !baseline && follow_new {
                new.push(q.clone());
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_may_ask_only_for_short_url_safe_ids() {
        for ok in [
            "7",
            "quadratics-1",
            "0b4a7f3e-9c1d-4e2a-8f00-123456789abc",
            "a.b_c~d",
        ] {
            assert!(is_page_quiz_id(ok), "{ok}");
        }
        let long = "x".repeat(MAX_PAGE_QUIZ_ID + 1);
        for bad in [
            "",
            long.as_str(),
            "a b",
            "a/b",
            "q\"",
            "é",
            "a%20b",
            "<img>",
        ] {
            assert!(!is_page_quiz_id(bad), "{bad}");
        }
    }

    fn q(id: &str) -> QuizId {
        QuizId::from(id)
    }

    #[test]
    fn follow_and_tab_hold_one_subscription_released_by_the_last_reason() {
        let mut s = Subscriptions::default();
        assert_eq!(s.follow(q("1")), vec![SubChange::Subscribe(q("1"))]);
        assert_eq!(s.tab_shows(10, q("1")), vec![]);
        assert_eq!(s.tab_shows(11, q("1")), vec![]);
        assert_eq!(s.unfollow(&q("1")), vec![]);
        assert_eq!(s.tab_gone(10), vec![]);
        assert_eq!(s.tab_count(&q("1")), 1);
        assert_eq!(s.tab_gone(11), vec![SubChange::Unsubscribe(q("1"))]);
        assert!(s.wanted().is_empty());
    }

    #[test]
    fn tab_navigating_to_another_quiz_releases_the_first() {
        let mut s = Subscriptions::default();
        assert_eq!(s.tab_shows(1, q("a")), vec![SubChange::Subscribe(q("a"))]);
        assert_eq!(
            s.tab_shows(1, q("b")),
            vec![SubChange::Subscribe(q("b")), SubChange::Unsubscribe(q("a"))]
        );
        assert_eq!(s.tab_gone(1), vec![SubChange::Unsubscribe(q("b"))]);
        assert_eq!(s.tab_gone(1), vec![]);
    }

    #[test]
    fn follow_new_quizzes_skips_the_first_list_and_follows_later_newcomers() {
        let mut s = Subscriptions::default();
        let first = [q("1"), q("2")];
        assert!(s.saw_quizzes(first.iter(), true, true).is_empty());
        let second = [q("1"), q("2"), q("3")];
        assert_eq!(s.saw_quizzes(second.iter(), true, true), vec![q("3")]);
        assert!(s.saw_quizzes([q("4")].iter(), false, false).is_empty());
        assert!(s.saw_quizzes([q("4")].iter(), false, true).is_empty());
    }
}
