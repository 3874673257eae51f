-- Bounded subject totals, PostgreSQL dialect of
-- ../sqlite/20261210000003_bounded_totals.sql. Here a sum that overflowed
-- failed its insert instead of storing infinity, but one best near 1.7e308
-- could still be stored; each best now counts at most 1e300 in its subject's
-- total, and the totals are recomputed with that clamp.

CREATE OR REPLACE FUNCTION quiz_user_stats_maintain_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO subject_user_stats (subject_id, user_id, score, sessions, last_at)
    SELECT NEW.subject_id, NEW.user_id,
           SUM(LEAST(best, CAST(1e300 AS DOUBLE PRECISION)) ORDER BY quiz_id),
           SUM(sessions), MAX(last_at)
    FROM quiz_user_stats
    WHERE subject_id = NEW.subject_id AND user_id = NEW.user_id
    ON CONFLICT (subject_id, user_id) DO UPDATE SET
        score    = excluded.score,
        sessions = excluded.sessions,
        last_at  = excluded.last_at;
    RETURN NULL;
END;
$$;

UPDATE subject_user_stats s
SET score = t.total
FROM (
    SELECT subject_id, user_id,
           SUM(LEAST(best, CAST(1e300 AS DOUBLE PRECISION)) ORDER BY quiz_id) AS total
    FROM quiz_user_stats
    GROUP BY subject_id, user_id
) t
WHERE s.subject_id = t.subject_id AND s.user_id = t.user_id;

CREATE INDEX users_by_active ON users (is_active);
