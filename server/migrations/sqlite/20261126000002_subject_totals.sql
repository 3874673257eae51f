-- Subject totals per user (sum of that user's best per quiz of the subject),
-- kept by triggers on quiz_user_stats, so a subject board is an index scan
-- instead of a GROUP BY over every (quiz, user) row of the subject.
--
-- Each trigger recomputes the user's total from quiz_user_stats (a handful of
-- rows, summed in quiz_id order through quiz_user_stats_by_subject) instead of
-- adding the difference, so two users with the same bests always get
-- bit-identical totals and tie, whatever order their sessions came in.

CREATE TABLE subject_user_stats (
    subject_id TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    score      REAL    NOT NULL,
    sessions   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (subject_id, user_id)
) WITHOUT ROWID;
CREATE INDEX subject_user_stats_by_score ON subject_user_stats (subject_id, score DESC);
CREATE INDEX subject_user_stats_by_user ON subject_user_stats (user_id);

INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
SELECT subject_id, user_id, SUM(best), SUM(sessions), MAX(last_at)
FROM quiz_user_stats
GROUP BY subject_id, user_id;

CREATE TRIGGER quiz_user_stats_after_insert AFTER INSERT ON quiz_user_stats
BEGIN
    INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
    SELECT NEW.subject_id, NEW.user_id, SUM(best), SUM(sessions), MAX(last_at)
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
    SELECT NEW.subject_id, NEW.user_id, SUM(best), SUM(sessions), MAX(last_at)
    FROM quiz_user_stats
    WHERE subject_id = NEW.subject_id AND user_id = NEW.user_id
    ON CONFLICT (subject_id, user_id) DO UPDATE SET
        score    = excluded.score,
        sessions = excluded.sessions,
        last_at  = excluded.last_at;
END;
