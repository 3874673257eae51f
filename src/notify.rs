//! The notification policy: what raises a browser notification, what only counts
//! toward the badge, and how bursts are tamed.
//!
//! Rules, in order (each alert is checked against them):
//! 1. Every alert counts as unread (badge) and becomes an in-popup toast that expires
//!    after 5 s, except an alert about the quiz open in the active tab: the user is
//!    looking at it already (demanding-user point 6), so nothing at all.
//! 2. A browser notification needs notifications on, the alert's type on, no mute
//!    (one hour, one click) and no quiet hours.
//! 3. Bursts coalesce: alerts of one group (a quiz's sessions, a subject's rank) inside
//!    two minutes of the last one update the same notification ("3 new sessions on
//!    Quadratics") instead of raising a new one. An update is re-issued at most once per
//!    [`UPDATE_INTERVAL`]; what arrives in between is counted and flushed by timer
//!    ([`Notifier::poll_updates`]), so a busy quiz never turns into a flicker of re-drawn
//!    notifications.
//! 4. Rate limit: at most 3 new notifications a minute; the rest are counted and
//!    summed up in one "and 12 more" notification when the minute is over.
//!
//! The caller decides what is an alert at all (followed quizzes only, never the user's
//! own upload, never events older than the connection or data from a resync refetch).

use std::collections::VecDeque;

use crate::small::VecMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::settings::NotificationPrefs;
use crate::text::{Text, k};
use crate::time::Timestamp;
use crate::wire::QuizId;

/// How long a toast stays in the popup.
pub const TOAST_LIFETIME: Duration = Duration::from_secs(5);
/// Alerts of one group within this span of the previous one update its notification.
pub const COALESCE_WINDOW: Duration = Duration::from_secs(120);
/// A coalesced notification is re-issued at most this often.
pub const UPDATE_INTERVAL: Duration = Duration::from_secs(10);
/// The rate limit's window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// New notifications allowed per window.
pub const RATE_LIMIT: usize = 3;
/// How long "mute for an hour" mutes.
pub const MUTE_SPAN: Duration = Duration::from_secs(3600);
/// How many notification targets are remembered for clicks.
pub const MAX_TARGETS: usize = 50;
/// How many toasts are kept at once.
pub const MAX_TOASTS: usize = 5;

/// The kinds of notification, each with its own switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// New sessions on a followed quiz.
    NewSession,
    /// A followed quiz's top entries changed order or gained a player.
    BoardChange,
    /// The user's rank changed in a subject.
    RankChange,
    /// Sign-in problems: expiring or rejected.
    Account,
    /// The "and N more" summary.
    Summary,
    /// The connection stayed lost past the quick retries, or is back after that.
    Connection,
}

/// Something that may deserve the user's attention.
#[derive(Debug, Clone, PartialEq)]
pub enum Alert {
    /// Someone completed a followed quiz.
    NewSession {
        /// The quiz.
        quiz_id: QuizId,
        /// Its title (or a fallback).
        quiz_title: String,
        /// Who.
        username: String,
        /// Their score.
        score: f64,
        /// Where a click leads.
        target: String,
    },
    /// A followed quiz's top entries changed: who moved.
    BoardChange {
        /// The quiz.
        quiz_id: QuizId,
        /// Its title (or a fallback).
        quiz_title: String,
        /// Who moved ([`crate::moves::describe`]).
        moves: Text,
        /// Where a click leads.
        target: String,
    },
    /// The user's own rank moved.
    RankChange {
        /// The subject's name.
        subject: String,
        /// Rank before.
        from: u32,
        /// Rank now.
        to: u32,
        /// Where a click leads (the site), if anywhere.
        target: Option<String>,
    },
    /// The sign-in needs attention.
    Account {
        /// What to say.
        message: Text,
    },
    /// The connection is lost past the quick retries (`lost`), or back after that.
    Connection {
        /// Lost (`true`) or back.
        lost: bool,
        /// What to say.
        message: Text,
    },
}

impl Alert {
    fn kind(&self) -> NotifyKind {
        match self {
            Alert::NewSession { .. } => NotifyKind::NewSession,
            Alert::BoardChange { .. } => NotifyKind::BoardChange,
            Alert::RankChange { .. } => NotifyKind::RankChange,
            Alert::Account { .. } => NotifyKind::Account,
            Alert::Connection { .. } => NotifyKind::Connection,
        }
    }

    fn group(&self) -> String {
        match self {
            Alert::NewSession { quiz_id, .. } => format!("quiz:{quiz_id}"),
            Alert::BoardChange { quiz_id, .. } => format!("board:{quiz_id}"),
            Alert::RankChange { subject, .. } => format!("rank:{subject}"),
            Alert::Account { .. } => "account".into(),
            Alert::Connection { .. } => "connection".into(),
        }
    }

    fn quiz(&self) -> Option<&QuizId> {
        match self {
            Alert::NewSession { quiz_id, .. } | Alert::BoardChange { quiz_id, .. } => Some(quiz_id),
            _ => None,
        }
    }

    fn target(&self) -> Option<&str> {
        match self {
            Alert::NewSession { target, .. } | Alert::BoardChange { target, .. } => Some(target),
            Alert::RankChange { target, .. } => target.as_deref(),
            Alert::Account { .. } | Alert::Connection { .. } => None,
        }
    }
}

/// A browser notification to create, or to replace when one with `id` is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable per group, so an update replaces the notification.
    pub id: String,
    /// What kind it is.
    pub kind: NotifyKind,
    /// Title line, for the adapter to put into words.
    pub title: Text,
    /// Body text, for the adapter to put into words.
    pub message: Text,
    /// The page a click opens (also persisted: see [`Notifier::targets`]).
    pub target: Option<String>,
    /// `requireInteraction`: keep on screen until dismissed.
    pub require_interaction: bool,
    /// This replaces a notification of the same `id` issued before: update it in
    /// place (`chrome.notifications.update`) so it does not pop up again.
    #[serde(default)]
    pub update: bool,
}

/// How a toast looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToastLevel {
    /// News.
    Info,
    /// Something worked.
    Success,
    /// Something needs attention.
    Warning,
    /// Something failed.
    Error,
}

/// An in-popup message that disappears after [`TOAST_LIFETIME`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toast {
    /// Unique within the worker's life.
    pub id: u64,
    /// What it says, for the popup to put into words.
    pub text: Text,
    /// How it looks.
    pub level: ToastLevel,
    /// When it goes away.
    pub expires_at: Timestamp,
}

crate::from_json_enum!(ToastLevel {
    Info = "info",
    Success = "success",
    Warning = "warning",
    Error = "error",
});
crate::json_struct!(Toast {
    id: req,
    text: req,
    level: req,
    expires_at: req,
});

#[derive(Debug, Clone)]
struct Group {
    count: u32,
    last_at: Timestamp,
    /// When this group's notification was last issued (`None`: never, e.g. muted).
    issued_at: Option<Timestamp>,
    /// The latest alert, when an update of the notification is held back.
    pending: Option<Alert>,
}

/// The policy's state.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    groups: VecMap<String, Group>,
    shown: VecDeque<Timestamp>,
    suppressed: u32,
    summary_due: Option<Timestamp>,
    unread: u32,
    toasts: VecDeque<Toast>,
    next_toast: u64,
    muted_until: Option<Timestamp>,
    targets: VecMap<String, String>,
    targets_changed: bool,
}

/// What the policy needs to know about the world at the moment of an alert.
#[derive(Debug, Clone, Copy)]
pub struct AlertContext<'a> {
    /// The user's preferences.
    pub prefs: &'a NotificationPrefs,
    /// The local zone's offset from UTC, for quiet hours.
    pub utc_offset_minutes: i32,
    /// The quiz open in the active tab, if any.
    pub active_quiz: Option<&'a QuizId>,
}

impl Notifier {
    /// Restores what survives a worker restart: the mute and the click targets.
    pub fn restore(muted_until: Option<Timestamp>, targets: VecMap<String, String>) -> Self {
        Notifier {
            muted_until,
            targets,
            ..Notifier::default()
        }
    }

    /// Offers an alert; returns the notification to show (or replace), if any.
    pub fn offer(
        &mut self,
        alert: Alert,
        ctx: &AlertContext<'_>,
        now: Timestamp,
    ) -> Option<Notification> {
        if alert.quiz().is_some() && alert.quiz() == ctx.active_quiz {
            return None;
        }
        self.unread = self.unread.saturating_add(1);
        // Groups whose window has passed are over: forget them (bounded memory).
        self.groups
            .retain(|_, g| now.saturating_since(g.last_at) <= COALESCE_WINDOW);
        let (kind, group_id) = (alert.kind(), alert.group());
        let group = self.groups.get_or_insert_with(group_id.clone(), || Group {
            count: 0,
            last_at: now,
            issued_at: None,
            pending: None,
        });
        group.count = group.count.saturating_add(1);
        group.last_at = now;
        let (count, issued_at) = (group.count, group.issued_at);
        let (title, message) = describe(&alert, count);
        let level = match kind {
            NotifyKind::Account => ToastLevel::Warning,
            _ => ToastLevel::Info,
        };
        self.toast(
            Text::new("toast_alert").text(title).text(message),
            level,
            now,
        );
        if !self.allowed(kind, ctx, now) {
            return None;
        }
        if let Some(at) = issued_at
            && now.saturating_since(at) < UPDATE_INTERVAL
        {
            // Shown moments ago: hold the update back, flush it by timer.
            if let Some(g) = self.groups.get_mut(&group_id) {
                g.pending = Some(alert);
            }
            return None;
        }
        if count == 1 {
            self.shown
                .retain(|t| now.saturating_since(*t) < RATE_WINDOW);
            if self.shown.len() >= RATE_LIMIT {
                self.suppressed = self.suppressed.saturating_add(1);
                self.groups.remove(&group_id);
                if self.summary_due.is_none() {
                    let oldest = self.shown.front().copied().unwrap_or(now);
                    self.summary_due = Some(oldest + RATE_WINDOW);
                }
                return None;
            }
            self.shown.push_back(now);
        }
        Some(self.issue(&group_id, &alert, ctx, now))
    }

    /// Builds the notification of `group_id` for its latest `alert` and records that
    /// it was issued.
    fn issue(
        &mut self,
        group_id: &str,
        alert: &Alert,
        ctx: &AlertContext<'_>,
        now: Timestamp,
    ) -> Notification {
        let (count, update) = match self.groups.get_mut(group_id) {
            Some(g) => {
                let update = g.issued_at.is_some();
                g.issued_at = Some(now);
                g.pending = None;
                (g.count, update)
            }
            None => (1, false),
        };
        let (title, message) = describe(alert, count);
        let target = alert.target().map(str::to_owned);
        if let Some(t) = &target {
            self.remember_target(group_id, t);
        }
        Notification {
            id: group_id.to_owned(),
            kind: alert.kind(),
            title,
            message,
            target,
            require_interaction: ctx.prefs.keep_on_screen,
            update,
        }
    }

    /// A one-off notification outside the alert rules' counting: no unread count, no
    /// toast (the caller shows its own), no coalescing and no rate limit, but the
    /// switches, mute and quiet hours apply. A later notice of the same group replaces
    /// the earlier one (the connection's "back" replaces its "lost").
    pub fn notice(
        &mut self,
        alert: Alert,
        ctx: &AlertContext<'_>,
        now: Timestamp,
    ) -> Option<Notification> {
        let kind = alert.kind();
        if !self.allowed(kind, ctx, now) {
            return None;
        }
        let (title, message) = describe(&alert, 1);
        Some(Notification {
            id: alert.group(),
            kind,
            title,
            message,
            target: alert.target().map(str::to_owned),
            require_interaction: ctx.prefs.keep_on_screen,
            update: false,
        })
    }

    /// The held-back updates of coalesced notifications whose interval has passed.
    pub fn poll_updates(&mut self, ctx: &AlertContext<'_>, now: Timestamp) -> Vec<Notification> {
        let due: Vec<(String, Alert)> = self
            .groups
            .iter()
            .filter_map(|(id, g)| {
                let pending = g.pending.as_ref()?;
                let ready = g
                    .issued_at
                    .is_none_or(|at| now.saturating_since(at) >= UPDATE_INTERVAL);
                ready.then(|| (id.clone(), pending.clone()))
            })
            .collect();
        due.into_iter()
            .filter_map(|(id, alert)| {
                if self.allowed(alert.kind(), ctx, now) {
                    Some(self.issue(&id, &alert, ctx, now))
                } else {
                    if let Some(g) = self.groups.get_mut(&id) {
                        g.pending = None;
                    }
                    None
                }
            })
            .collect()
    }

    /// Whether the click targets changed since the last call (then persist them).
    pub fn take_targets_changed(&mut self) -> bool {
        std::mem::take(&mut self.targets_changed)
    }

    fn allowed(&self, kind: NotifyKind, ctx: &AlertContext<'_>, now: Timestamp) -> bool {
        let p = ctx.prefs;
        let type_on = match kind {
            NotifyKind::NewSession => p.new_sessions,
            NotifyKind::BoardChange => p.leaderboard_changes,
            NotifyKind::RankChange => p.rank_changes,
            NotifyKind::Account => p.account,
            NotifyKind::Connection => p.connection,
            NotifyKind::Summary => true,
        };
        let quiet = p
            .quiet_hours
            .is_some_and(|q| q.contains(now.local_minute_of_day(ctx.utc_offset_minutes)));
        p.enabled && type_on && !self.is_muted(now) && !quiet
    }

    fn remember_target(&mut self, id: &str, url: &str) {
        if self.targets.get(id).is_some_and(|t| t == url) {
            return;
        }
        self.targets_changed = true;
        self.targets.insert(id.to_owned(), url.to_owned());
        while self.targets.len() > MAX_TARGETS {
            let Some(first) = self.targets.keys().next().cloned() else {
                break;
            };
            self.targets.remove(&first);
        }
    }

    /// The summary of rate-limited alerts, when its time has come.
    pub fn poll_summary(&mut self, ctx: &AlertContext<'_>, now: Timestamp) -> Option<Notification> {
        let due = self.summary_due?;
        if due > now {
            return None;
        }
        self.summary_due = None;
        let n = std::mem::take(&mut self.suppressed);
        if n == 0 || !self.allowed(NotifyKind::Summary, ctx, now) {
            return None;
        }
        self.shown.push_back(now);
        Some(Notification {
            id: "summary".into(),
            kind: NotifyKind::Summary,
            title: Text::new("ext_name"),
            message: Text::new("notify_summary").count(u64::from(n)),
            target: None,
            require_interaction: ctx.prefs.keep_on_screen,
            update: false,
        })
    }

    /// Adds a toast (the oldest goes when there are too many).
    pub fn toast(&mut self, text: Text, level: ToastLevel, now: Timestamp) {
        self.next_toast = self.next_toast.wrapping_add(1);
        if self.toasts.len() >= MAX_TOASTS {
            self.toasts.pop_front();
        }
        self.toasts.push_back(Toast {
            id: self.next_toast,
            text,
            level,
            expires_at: now + TOAST_LIFETIME,
        });
    }

    /// Drops expired toasts; returns whether any went.
    pub fn expire_toasts(&mut self, now: Timestamp) -> bool {
        let before = self.toasts.len();
        self.toasts.retain(|t| t.expires_at > now);
        before != self.toasts.len()
    }

    /// Removes one toast (the user closed it).
    pub fn dismiss_toast(&mut self, id: u64) -> bool {
        let before = self.toasts.len();
        self.toasts.retain(|t| t.id != id);
        before != self.toasts.len()
    }

    /// Live toasts, oldest first.
    pub fn toasts(&self) -> impl Iterator<Item = &Toast> {
        self.toasts.iter()
    }

    /// The next time something here needs a callback (a toast expiring, the summary).
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let toast = self.toasts.iter().map(|t| t.expires_at).min();
        let update = self
            .groups
            .values()
            .filter(|g| g.pending.is_some())
            .filter_map(|g| g.issued_at.map(|at| at + UPDATE_INTERVAL))
            .min();
        [toast, self.summary_due, self.muted_until, update]
            .into_iter()
            .flatten()
            .min()
    }

    /// Unread alerts (the badge's number).
    pub fn unread(&self) -> u32 {
        self.unread
    }

    /// The user saw everything (popup opened, notification clicked).
    pub fn mark_read(&mut self) {
        self.unread = 0;
    }

    /// Mutes browser notifications until `until`.
    pub fn mute_until(&mut self, until: Timestamp) {
        self.muted_until = Some(until);
    }

    /// Ends a mute.
    pub fn unmute(&mut self) {
        self.muted_until = None;
    }

    /// When the mute ends, if muted at `now`.
    pub fn muted_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.muted_until.filter(|t| *t > now)
    }

    /// Whether muted at `now`.
    pub fn is_muted(&self, now: Timestamp) -> bool {
        self.muted_until(now).is_some()
    }

    /// Forgets an expired mute; returns whether it just ended.
    pub fn expire_mute(&mut self, now: Timestamp) -> bool {
        if self.muted_until.is_some_and(|t| t <= now) {
            self.muted_until = None;
            return true;
        }
        false
    }

    /// Where notification `id` leads (survives worker restarts via persistence).
    pub fn target_of(&self, id: &str) -> Option<&str> {
        self.targets.get(id).map(String::as_str)
    }

    /// The notification left the screen. Dismissed by the user (`by_user`): its group
    /// starts afresh and its target is forgotten. Closed by the system (a timeout, as
    /// headless and some desktops do after a few seconds): the group goes on, so the next
    /// alert of that group is still a coalesced update (re-created, since it is gone) and
    /// not a new notification under the rate limit; its target stays for a click from a
    /// notification centre.
    pub fn closed(&mut self, id: &str, by_user: bool) {
        if by_user {
            self.groups.remove(id);
            self.targets_changed |= self.targets.remove(id).is_some();
        }
    }

    /// Every remembered target, for persistence.
    pub fn targets(&self) -> &VecMap<String, String> {
        &self.targets
    }
}

/// A notification's title and message for `alert`, the `count`th of its group.
fn describe(alert: &Alert, count: u32) -> (Text, Text) {
    let count = u64::from(count);
    match alert {
        Alert::NewSession {
            quiz_title,
            username,
            score,
            ..
        } => {
            let message = if count == 1 {
                Text::new("notify_new_session")
                    .plain(username.as_str())
                    .score(*score)
            } else {
                Text::new("notify_new_sessions")
                    .count(count)
                    .plain(quiz_title.as_str())
                    .plain(username.as_str())
                    .score(*score)
            };
            (Text::plain_text(quiz_title.as_str()), message)
        }
        Alert::RankChange {
            subject, from, to, ..
        } => {
            let key = if to < from {
                k("notify_rank_up")
            } else {
                k("notify_rank_down")
            };
            let message = Text::new(key)
                .number(i64::from(*from))
                .number(i64::from(*to));
            (Text::plain_text(subject.as_str()), message)
        }
        Alert::BoardChange {
            quiz_title, moves, ..
        } => {
            let message = if count == 1 {
                moves.clone()
            } else {
                Text::new("notify_board_changes")
                    .count(count)
                    .text(moves.clone())
            };
            (
                Text::new("board_caption").plain(quiz_title.as_str()),
                message,
            )
        }
        Alert::Account { message } => (Text::new("notify_account_title"), message.clone()),
        Alert::Connection { message, .. } => {
            (Text::new("notify_connection_title"), message.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::QuietHours;

    fn session(quiz: &str, user: &str) -> Alert {
        Alert::NewSession {
            quiz_id: quiz.into(),
            quiz_title: format!("Quiz {quiz}"),
            username: user.into(),
            score: 87.0,
            target: format!("https://site/quizzes/{quiz}"),
        }
    }

    fn ctx(prefs: &NotificationPrefs) -> AlertContext<'_> {
        AlertContext {
            prefs,
            utc_offset_minutes: 0,
            active_quiz: None,
        }
    }

    #[test]
    fn burst_on_one_quiz_coalesces_into_one_updated_notification() {
        let prefs = NotificationPrefs::default();
        let mut n = Notifier::default();
        let t = Timestamp(10_000_000);
        let a = n.offer(session("1", "ann"), &ctx(&prefs), t).unwrap();
        assert!(!a.update);
        let b = n
            .offer(
                session("1", "bob"),
                &ctx(&prefs),
                t + Duration::from_secs(11),
            )
            .unwrap();
        let c = n
            .offer(
                session("1", "cy"),
                &ctx(&prefs),
                t + Duration::from_secs(22),
            )
            .unwrap();
        assert_eq!(a.id, b.id);
        assert!(b.update && c.update, "replaced in place, not popped again");
        assert_eq!(
            c.message,
            Text::new("notify_new_sessions")
                .count(3)
                .plain("Quiz 1")
                .plain("cy")
                .score(87.0)
        );
        assert_eq!(c.title, Text::plain_text("Quiz 1"));
        assert_eq!(n.unread(), 3);
        assert_eq!(n.target_of("quiz:1"), Some("https://site/quizzes/1"));
    }

    #[test]
    fn a_busy_quiz_updates_its_notification_at_most_every_ten_seconds() {
        let prefs = NotificationPrefs::default();
        let mut n = Notifier::default();
        let t = Timestamp(10_000_000);
        let mut issued = 0;
        for i in 0..100u64 {
            let at = t + Duration::from_millis(100 * i);
            issued += usize::from(n.offer(session("1", "ann"), &ctx(&prefs), at).is_some());
            issued += n.poll_updates(&ctx(&prefs), at).len();
        }
        // 10 s of sessions every 100 ms: the first, then nothing until the interval.
        assert_eq!(issued, 1);
        assert_eq!(
            n.next_deadline().map(|d| d >= t + UPDATE_INTERVAL),
            Some(true)
        );
        let flushed = n.poll_updates(&ctx(&prefs), t + UPDATE_INTERVAL);
        assert_eq!(flushed.len(), 1);
        assert!(flushed[0].update);
        assert_eq!(
            flushed[0].message,
            Text::new("notify_new_sessions")
                .count(100)
                .plain("Quiz 1")
                .plain("ann")
                .score(87.0)
        );
        assert!(
            n.poll_updates(&ctx(&prefs), t + UPDATE_INTERVAL * 3)
                .is_empty()
        );
    }

    #[test]
    fn rate_limit_shows_a_few_then_one_summary() {
        let prefs = NotificationPrefs::default();
        let mut n = Notifier::default();
        let t = Timestamp(10_000_000);
        let shown = (0..15)
            .filter(|i| {
                n.offer(session(&i.to_string(), "ann"), &ctx(&prefs), t)
                    .is_some()
            })
            .count();
        assert_eq!(shown, RATE_LIMIT);
        assert_eq!(n.next_deadline(), Some(t + TOAST_LIFETIME));
        assert!(
            n.poll_summary(&ctx(&prefs), t + Duration::from_secs(59))
                .is_none()
        );
        let s = n.poll_summary(&ctx(&prefs), t + RATE_WINDOW).unwrap();
        assert_eq!(s.message, Text::new("notify_summary").count(12));
        assert!(n.poll_summary(&ctx(&prefs), t + RATE_WINDOW * 2).is_none());
    }

    #[test]
    fn mute_for_an_hour_silences_notifications_but_counts_unread() {
        let prefs = NotificationPrefs::default();
        let mut n = Notifier::default();
        let t = Timestamp(10_000_000);
        n.mute_until(t + MUTE_SPAN);
        assert!(n.offer(session("1", "ann"), &ctx(&prefs), t).is_none());
        assert_eq!(n.unread(), 1);
        assert_eq!(n.toasts().count(), 1);
        assert!(n.expire_mute(t + MUTE_SPAN));
        assert!(
            n.offer(session("2", "ann"), &ctx(&prefs), t + MUTE_SPAN)
                .is_some()
        );
    }

    #[test]
    fn quiet_hours_and_per_type_switches_are_respected() {
        let mut prefs = NotificationPrefs::default();
        let t = Timestamp::parse_rfc3339("2026-03-01T23:00:00Z").unwrap();
        prefs.quiet_hours = Some(QuietHours {
            start_minute: 22 * 60,
            end_minute: 7 * 60,
        });
        let mut n = Notifier::default();
        assert!(n.offer(session("1", "a"), &ctx(&prefs), t).is_none());
        prefs.quiet_hours = None;
        prefs.new_sessions = false;
        assert!(n.offer(session("2", "a"), &ctx(&prefs), t).is_none());
        let rank = Alert::RankChange {
            subject: "Maths".into(),
            from: 5,
            to: 3,
            target: None,
        };
        let r = n.offer(rank, &ctx(&prefs), t).unwrap();
        assert_eq!(r.message, Text::new("notify_rank_up").number(5).number(3));
    }

    #[test]
    fn no_alert_for_the_quiz_in_the_active_tab() {
        let prefs = NotificationPrefs::default();
        let mut n = Notifier::default();
        let active = QuizId::from("1");
        let c = AlertContext {
            prefs: &prefs,
            utc_offset_minutes: 0,
            active_quiz: Some(&active),
        };
        assert!(n.offer(session("1", "a"), &c, Timestamp(1)).is_none());
        assert_eq!(n.unread(), 0);
        assert!(n.offer(session("2", "a"), &c, Timestamp(1)).is_some());
    }

    #[test]
    fn keep_on_screen_sets_require_interaction() {
        let prefs = NotificationPrefs {
            keep_on_screen: true,
            ..NotificationPrefs::default()
        };
        let mut n = Notifier::default();
        assert!(
            n.offer(session("1", "a"), &ctx(&prefs), Timestamp(1))
                .unwrap()
                .require_interaction
        );
    }

    #[test]
    fn toasts_expire_after_five_seconds() {
        let mut n = Notifier::default();
        n.toast(Text::new("hi"), ToastLevel::Info, Timestamp(0));
        assert!(!n.expire_toasts(Timestamp(4_999)));
        assert!(n.expire_toasts(Timestamp(5_000)));
        assert_eq!(n.toasts().count(), 0);
    }
}
