-- Accounts: roles and status on users, server-side sessions, runtime settings (SQLite).
-- Timestamps are Unix microseconds (UTC), as in 0001.

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
    CHECK (role IN ('user', 'admin'));
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'enabled'
    CHECK (status IN ('enabled', 'disabled'));
ALTER TABLE users ADD COLUMN login_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_login_at INTEGER;

-- One row per logged-in browser or client. The cookie carries a random 32-byte token;
-- only its SHA-256 is stored, so a copy of the database logs nobody in.
CREATE TABLE user_sessions (
    id                  INTEGER PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash          BLOB    NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    -- Sliding: last use + 30 days, never past absolute_expires_at (login + 1 year).
    expires_at          INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    ip                  TEXT,
    user_agent          TEXT,
    device              TEXT    NOT NULL
);
CREATE INDEX idx_user_sessions_user    ON user_sessions (user_id, last_seen_at);
CREATE INDEX idx_user_sessions_expires ON user_sessions (expires_at);

-- Settings an admin changes at runtime (CLI now, admin UI later). Every key has a row,
-- seeded here with its default.
CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO settings (key, value, updated_at)
VALUES ('registration_mode', 'open', CAST(strftime('%s', 'now') AS INTEGER) * 1000000);
