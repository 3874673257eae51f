-- QuizPulse reference server: initial schema.
--
-- Times are INTEGER microseconds since the Unix epoch (UTC); the API formats
-- them as RFC 3339. Subject and quiz ids are TEXT (slugs); user and session ids
-- are INTEGER rowids, sent on the wire as strings.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE subjects (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE quizzes (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects (id)
);
CREATE INDEX quizzes_by_subject ON quizzes (subject_id);

-- Every uploaded session; never updated, never deleted.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    quiz_id      TEXT    NOT NULL REFERENCES quizzes (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    score        REAL    NOT NULL,
    duration_s   REAL    NOT NULL,
    completed_at INTEGER NOT NULL
);
-- recent_sessions of one user, newest first
CREATE INDEX sessions_by_user_time ON sessions (user_id, completed_at DESC);
CREATE INDEX sessions_by_quiz_time ON sessions (quiz_id, completed_at);

-- One row per (quiz, user) with that user's best score and session count on
-- the quiz, maintained by the trigger below in the same statement as the
-- insert. Leaderboards read this table, so their cost grows with the number of
-- players, not with the number of sessions.
CREATE TABLE quiz_user_stats (
    quiz_id    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    subject_id TEXT    NOT NULL,
    best       REAL    NOT NULL,
    sessions   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (quiz_id, user_id)
) WITHOUT ROWID;
-- quiz board: best first
CREATE INDEX quiz_user_stats_by_best ON quiz_user_stats (quiz_id, best DESC);
-- subject board: group by user inside a subject (quiz_id order inside a group
-- keeps every sum in the same order, so equal totals compare equal)
CREATE INDEX quiz_user_stats_by_subject ON quiz_user_stats (subject_id, user_id);
-- performance: the subjects a user has played
CREATE INDEX quiz_user_stats_by_user ON quiz_user_stats (user_id, subject_id);

CREATE TRIGGER sessions_maintain_stats AFTER INSERT ON sessions
BEGIN
    INSERT INTO quiz_user_stats (quiz_id, user_id, subject_id, best, sessions, last_at)
    VALUES (
        NEW.quiz_id,
        NEW.user_id,
        (SELECT subject_id FROM quizzes WHERE id = NEW.quiz_id),
        NEW.score,
        1,
        NEW.completed_at
    )
    ON CONFLICT (quiz_id, user_id) DO UPDATE SET
        best     = max(best, excluded.best),
        sessions = sessions + 1,
        last_at  = max(last_at, excluded.last_at);
END;
