-- atelier foundation schema (SQLite). Timestamps are Unix microseconds (UTC).
-- Internal integer ids never leave the server; public_id is what URLs and the API show.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    public_id     TEXT    NOT NULL UNIQUE,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- NULL: the account cannot log in (demo users).
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX idx_users_created ON users (created_at);

-- Content-addressed stored files (the seed's file_storage): one row per distinct SHA-256.
CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT    NOT NULL UNIQUE,
    byte_size    INTEGER NOT NULL,
    mime_type    TEXT    NOT NULL,
    width        INTEGER,
    height       INTEGER,
    duration_ms  INTEGER,
    storage_type TEXT    NOT NULL DEFAULT 'local',
    storage_path TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE assets (
    id            INTEGER PRIMARY KEY,
    public_id     TEXT    NOT NULL UNIQUE,
    owner_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    prompt        TEXT    NOT NULL DEFAULT '',
    model         TEXT,
    -- 0 = image, 1 = video (as in the MVP design)
    media_type    INTEGER NOT NULL CHECK (media_type IN (0, 1)),
    file_id       INTEGER REFERENCES files (id),
    thumb_file_id INTEGER REFERENCES files (id),
    width         INTEGER,
    height        INTEGER,
    duration_ms   INTEGER,
    created_at    INTEGER NOT NULL
);
-- Keyset pagination runs over (created_at, public_id), globally and per owner / type.
CREATE INDEX idx_assets_created    ON assets (created_at, public_id);
CREATE INDEX idx_assets_owner      ON assets (owner_id, created_at, public_id);
CREATE INDEX idx_assets_media_type ON assets (media_type, created_at, public_id);
CREATE INDEX idx_assets_file       ON assets (file_id);
CREATE INDEX idx_assets_thumb      ON assets (thumb_file_id);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE asset_tags (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (asset_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX idx_asset_tags_tag ON asset_tags (tag_id, asset_id);
