//! The popup's toasts: taken from snapshots, shown until their time is up, with the
//! clock paused while the pointer (or focus) is on one.
//!
//! The worker drops a toast from its snapshots when it expires; a toast the user is
//! hovering must stay, so the popup keeps its own shelf and its own deadlines.

use quizpulse::small::VecSet;

use quizpulse::Timestamp;
use quizpulse::notify::Toast;

#[derive(Debug, Clone, PartialEq)]
struct Item {
    toast: Toast,
    /// When it goes, counting pauses so far.
    deadline: Timestamp,
    /// Paused since then.
    paused_at: Option<Timestamp>,
}

/// The toasts on screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shelf {
    items: Vec<Item>,
    /// Ids already shown and gone: never shown again.
    gone: VecSet<u64>,
}

impl Shelf {
    /// Takes in the toasts of a snapshot: new ones join (unless already expired),
    /// known ones keep their clock.
    pub fn take(&mut self, toasts: &[Toast], now: Timestamp) {
        for toast in toasts {
            if self.gone.contains(&toast.id) || toast.expires_at <= now {
                continue;
            }
            if let Some(item) = self.items.iter_mut().find(|i| i.toast.id == toast.id) {
                item.toast.text.clone_from(&toast.text);
                continue;
            }
            self.items.push(Item {
                toast: toast.clone(),
                deadline: toast.expires_at,
                paused_at: None,
            });
        }
    }

    /// Drops the toasts whose time is up; returns their ids (to tell the worker).
    pub fn expire(&mut self, now: Timestamp) -> Vec<u64> {
        let mut expired = Vec::new();
        self.items.retain(|i| {
            let keep = i.paused_at.is_some() || now < i.deadline;
            if !keep {
                expired.push(i.toast.id);
            }
            keep
        });
        self.gone.extend(expired.iter().copied());
        expired
    }

    /// The user closed one.
    pub fn dismiss(&mut self, id: u64) {
        self.items.retain(|i| i.toast.id != id);
        self.gone.insert(id);
    }

    /// The pointer or focus is on a toast: stop its clock.
    pub fn pause(&mut self, id: u64, now: Timestamp) {
        if let Some(item) = self.items.iter_mut().find(|i| i.toast.id == id) {
            item.paused_at.get_or_insert(now);
        }
    }

    /// The pointer or focus left: its clock runs on from where it stopped.
    pub fn resume(&mut self, id: u64, now: Timestamp) {
        if let Some(item) = self.items.iter_mut().find(|i| i.toast.id == id)
            && let Some(since) = item.paused_at.take()
        {
            item.deadline = item.deadline + now.saturating_since(since);
        }
    }

    /// What to show, oldest first: the newest [`MAX_SHOWN`] (the board stays readable).
    pub fn visible(&self) -> Vec<Toast> {
        let skip = self.hidden();
        self.items
            .iter()
            .skip(skip)
            .map(|i| i.toast.clone())
            .collect()
    }

    /// How many older toasts wait behind the ones shown ("and 3 more"); their clocks
    /// run on, so a burst does not queue for minutes.
    pub fn hidden(&self) -> usize {
        self.items.len().saturating_sub(MAX_SHOWN)
    }
}

/// The most toasts on screen at once.
pub const MAX_SHOWN: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use quizpulse::notify::ToastLevel;

    fn toast(id: u64, expires: u64) -> Toast {
        Toast {
            id,
            text: quizpulse::Text::plain_text(format!("toast {id}")),
            level: ToastLevel::Info,
            expires_at: Timestamp::from_millis(expires),
        }
    }

    fn ids(shelf: &Shelf) -> Vec<u64> {
        shelf.visible().iter().map(|t| t.id).collect()
    }

    #[test]
    fn toasts_go_at_their_time_and_never_come_back() {
        let mut shelf = Shelf::default();
        shelf.take(
            &[toast(1, 5_000), toast(2, 9_000)],
            Timestamp::from_millis(0),
        );
        assert_eq!(ids(&shelf), [1, 2]);
        assert!(shelf.expire(Timestamp::from_millis(4_999)).is_empty());
        assert_eq!(shelf.expire(Timestamp::from_millis(5_000)), [1]);
        // A later snapshot still carrying it does not bring it back.
        shelf.take(
            &[toast(1, 5_000), toast(2, 9_000)],
            Timestamp::from_millis(4_000),
        );
        assert_eq!(ids(&shelf), [2]);
    }

    #[test]
    fn at_most_two_are_shown_and_the_rest_counted() {
        let mut shelf = Shelf::default();
        let burst: Vec<Toast> = (1..=5).map(|id| toast(id, 5_000 + id * 100)).collect();
        shelf.take(&burst, Timestamp::from_millis(0));
        assert_eq!(ids(&shelf), [4, 5], "the newest two");
        assert_eq!(shelf.hidden(), 3);
        // The hidden ones go at their own time.
        assert_eq!(shelf.expire(Timestamp::from_millis(5_250)), [1, 2]);
        assert_eq!((ids(&shelf), shelf.hidden()), (vec![4, 5], 1));
        shelf.dismiss(5);
        assert_eq!((ids(&shelf), shelf.hidden()), (vec![3, 4], 0));
    }

    #[test]
    fn cached_toasts_already_expired_are_not_shown() {
        let mut shelf = Shelf::default();
        shelf.take(&[toast(1, 5_000)], Timestamp::from_millis(60_000));
        assert!(shelf.visible().is_empty());
    }

    #[test]
    fn hover_pauses_the_clock() {
        let mut shelf = Shelf::default();
        shelf.take(&[toast(1, 5_000)], Timestamp::from_millis(0));
        shelf.pause(1, Timestamp::from_millis(4_000));
        assert!(shelf.expire(Timestamp::from_millis(60_000)).is_empty());
        shelf.resume(1, Timestamp::from_millis(60_000));
        // One second was left when the pointer arrived.
        assert!(shelf.expire(Timestamp::from_millis(60_999)).is_empty());
        assert_eq!(shelf.expire(Timestamp::from_millis(61_000)), [1]);
    }

    #[test]
    fn dismissed_toasts_stay_gone() {
        let mut shelf = Shelf::default();
        shelf.take(&[toast(3, 5_000)], Timestamp::from_millis(0));
        shelf.dismiss(3);
        shelf.take(&[toast(3, 5_000)], Timestamp::from_millis(1));
        assert!(shelf.visible().is_empty());
    }
}
