-- Bounded subject totals (issue 18). Uploads are now bounded by the server's
-- --max-score, but rows stored before could hold any finite score, and two
-- bests near 1.7e308 summed to infinity, which the API sent as null. Each best
-- now counts at most 1e300 in its subject's total, so a total of up to 10^8
-- quizzes stays finite; the totals are recomputed with that clamp (the same
-- sum in the same quiz_id order as the triggers, so equal bests still tie).
--
-- Also: an index for the periodic check for disabled accounts.

DROP TRIGGER quiz_user_stats_after_insert;
DROP TRIGGER quiz_user_stats_after_update;

CREATE TRIGGER quiz_user_stats_after_insert AFTER INSERT ON quiz_user_stats
BEGIN
    INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
    SELECT NEW.subject_id, NEW.user_id, SUM(min(best, 1e300)), SUM(sessions), MAX(last_at)
    FROM quiz_user_stats
    WHERE subject_id = NEW.subject_id AND user_id = NEW.user_id
    ON CONFLICT (subject_id, user_id) DO UPDATE SET
        score    = excluded.score,
        sessions = excluded.sessions,
        last_at  = excluded.last_at;
END;

CREATE TRIGGER quiz_user_stats_after_update AFTER UPDATE ON quiz_user_stats
BEGIN
    INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
    SELECT NEW.subject_id, NEW.user_id, SUM(min(best, 1e300)), SUM(sessions), MAX(last_at)
    FROM quiz_user_stats
    WHERE subject_id = NEW.subject_id AND user_id = NEW.user_id
    ON CONFLICT (subject_id, user_id) DO UPDATE SET
        score    = excluded.score,
        sessions = excluded.sessions,
        last_at  = excluded.last_at;
END;

UPDATE subject_user_stats SET score = (
    SELECT SUM(min(q.best, 1e300))
    FROM quiz_user_stats q
    WHERE q.subject_id = subject_user_stats.subject_id
      AND q.user_id = subject_user_stats.user_id
);

CREATE INDEX users_by_active ON users (is_active);
