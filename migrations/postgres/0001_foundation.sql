-- atelier foundation schema (PostgreSQL).
-- Internal integer ids never leave the server; public_id is what URLs and the API show.
-- public_id sorts by bytes (COLLATE "C"), as SQLite does, so both backends page identically.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id     TEXT COLLATE "C" NOT NULL UNIQUE,
    username      TEXT        NOT NULL,
    -- NULL: the account cannot log in (demo users).
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX idx_users_username ON users (lower(username));
CREATE INDEX idx_users_created ON users (created_at);

-- Content-addressed stored files (the seed's file_storage): one row per distinct SHA-256.
CREATE TABLE files (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256       TEXT        NOT NULL UNIQUE,
    byte_size    BIGINT      NOT NULL,
    mime_type    TEXT        NOT NULL,
    width        INTEGER,
    height       INTEGER,
    duration_ms  INTEGER,
    storage_type TEXT        NOT NULL DEFAULT 'local',
    storage_path TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE assets (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id     TEXT COLLATE "C" NOT NULL UNIQUE,
    owner_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         TEXT        NOT NULL,
    prompt        TEXT        NOT NULL DEFAULT '',
    model         TEXT,
    -- 0 = image, 1 = video (as in the MVP design)
    media_type    SMALLINT    NOT NULL CHECK (media_type IN (0, 1)),
    file_id       BIGINT REFERENCES files (id),
    thumb_file_id BIGINT REFERENCES files (id),
    width         INTEGER,
    height        INTEGER,
    duration_ms   INTEGER,
    created_at    TIMESTAMPTZ NOT NULL
);
-- Keyset pagination runs over (created_at, public_id), globally and per owner / type.
CREATE INDEX idx_assets_created    ON assets (created_at, public_id);
CREATE INDEX idx_assets_owner      ON assets (owner_id, created_at, public_id);
CREATE INDEX idx_assets_media_type ON assets (media_type, created_at, public_id);
CREATE INDEX idx_assets_file       ON assets (file_id);
CREATE INDEX idx_assets_thumb      ON assets (thumb_file_id);

CREATE TABLE tags (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE
);

CREATE TABLE asset_tags (
    asset_id BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    tag_id   BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (asset_id, tag_id)
);
CREATE INDEX idx_asset_tags_tag ON asset_tags (tag_id, asset_id);
