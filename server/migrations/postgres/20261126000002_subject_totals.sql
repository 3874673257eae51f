-- Subject totals per user, PostgreSQL dialect of
-- ../sqlite/20261126000002_subject_totals.sql.
--
-- The trigger recomputes the user's total from quiz_user_stats, summed in
-- quiz_id order (SUM ... ORDER BY), instead of adding the difference, so two
-- users with the same bests always get bit-identical totals and tie.

CREATE TABLE subject_user_stats (
    subject_id TEXT   NOT NULL,
    user_id    BIGINT NOT NULL,
    score      DOUBLE PRECISION NOT NULL,
    sessions   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (subject_id, user_id)
);
CREATE INDEX subject_user_stats_by_score ON subject_user_stats (subject_id, score DESC);
CREATE INDEX subject_user_stats_by_user ON subject_user_stats (user_id);

INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
SELECT subject_id, user_id, SUM(best ORDER BY quiz_id), SUM(sessions), MAX(last_at)
FROM quiz_user_stats
GROUP BY subject_id, user_id;

CREATE FUNCTION quiz_user_stats_maintain_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
    SELECT NEW.subject_id, NEW.user_id, SUM(best ORDER BY quiz_id), SUM(sessions), MAX(last_at)
    FROM quiz_user_stats
    WHERE subject_id = NEW.subject_id AND user_id = NEW.user_id
    ON CONFLICT (subject_id, user_id) DO UPDATE SET
        score    = excluded.score,
        sessions = excluded.sessions,
        last_at  = excluded.last_at;
    RETURN NULL;
END;
$$;

CREATE TRIGGER quiz_user_stats_after_insert AFTER INSERT ON quiz_user_stats
FOR EACH ROW EXECUTE FUNCTION quiz_user_stats_maintain_totals();

CREATE TRIGGER quiz_user_stats_after_update AFTER UPDATE ON quiz_user_stats
FOR EACH ROW EXECUTE FUNCTION quiz_user_stats_maintain_totals();
