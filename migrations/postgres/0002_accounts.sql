-- Accounts: roles and status on users, server-side sessions, runtime settings (PostgreSQL).

ALTER TABLE users
    ADD COLUMN role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    ADD COLUMN status        TEXT    NOT NULL DEFAULT 'enabled'
                                     CHECK (status IN ('enabled', 'disabled')),
    ADD COLUMN login_count   BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN last_login_at TIMESTAMPTZ;

-- One row per logged-in browser or client. The cookie carries a random 32-byte token;
-- only its SHA-256 is stored, so a copy of the database logs nobody in.
CREATE TABLE user_sessions (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id           TEXT COLLATE "C" NOT NULL UNIQUE,
    user_id             BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash          BYTEA       NOT NULL UNIQUE,
    created_at          TIMESTAMPTZ NOT NULL,
    last_seen_at        TIMESTAMPTZ NOT NULL,
    -- Sliding: last use + 30 days, never past absolute_expires_at (login + 1 year).
    expires_at          TIMESTAMPTZ NOT NULL,
    absolute_expires_at TIMESTAMPTZ NOT NULL,
    ip                  TEXT,
    user_agent          TEXT,
    device              TEXT        NOT NULL
);
CREATE INDEX idx_user_sessions_user    ON user_sessions (user_id, last_seen_at);
CREATE INDEX idx_user_sessions_expires ON user_sessions (expires_at);

-- Settings an admin changes at runtime (CLI now, admin UI later). Every key has a row,
-- seeded here with its default.
CREATE TABLE settings (
    key        TEXT        PRIMARY KEY,
    value      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
INSERT INTO settings (key, value, updated_at) VALUES ('registration_mode', 'open', now());
