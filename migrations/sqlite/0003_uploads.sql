-- Uploads: resumable uploads, generation metadata, visibility, processing jobs, storage
-- use per user (SQLite). Timestamps are Unix microseconds (UTC), as in 0001.

ALTER TABLE assets ADD COLUMN negative_prompt TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
    CHECK (visibility IN ('public', 'private'));
-- The file's name on the uploader's machine, for Content-Disposition.
ALTER TABLE assets ADD COLUMN original_filename TEXT;
-- The 1024 px still for the asset page (thumb_file_id is the 512 px one).
ALTER TABLE assets ADD COLUMN preview_file_id INTEGER REFERENCES files (id);
-- What the file said about its generation: parsed (JSON of model::Generation), the raw
-- text chunks it came from (JSON object), and the parser version that read them.
ALTER TABLE assets ADD COLUMN generation TEXT;
ALTER TABLE assets ADD COLUMN raw_metadata TEXT;
ALTER TABLE assets ADD COLUMN parser_version INTEGER NOT NULL DEFAULT 0;
-- A video's poster frame, captured by the uploader's browser (the job makes the stills from it).
ALTER TABLE assets ADD COLUMN poster_file_id INTEGER REFERENCES files (id);
CREATE INDEX idx_assets_preview ON assets (preview_file_id);
CREATE INDEX idx_assets_poster  ON assets (poster_file_id);

-- Bytes of originals a user's assets hold (a file shared by two assets counts twice:
-- each upload is the user's own). Changed in the same transaction as the assets.
ALTER TABLE users ADD COLUMN storage_bytes INTEGER NOT NULL DEFAULT 0;

-- An upload in progress: bytes arrive in chunks into <data>/tmp/upload-<public_id>.
-- `received` is the truth; the temp file is cut back to it before each chunk.
CREATE TABLE uploads (
    id             INTEGER PRIMARY KEY,
    public_id      TEXT    NOT NULL UNIQUE,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    filename       TEXT    NOT NULL,
    byte_size      INTEGER NOT NULL,
    received       INTEGER NOT NULL DEFAULT 0,
    -- Hex SHA-256 the client announced, checked at the end.
    expected_sha256 TEXT,
    -- After all bytes are in: what the content is (JSON of the server's probe and
    -- metadata), or why it was refused.
    probe          TEXT,
    error          TEXT,
    error_status   INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX idx_uploads_owner   ON uploads (owner_id, created_at);
CREATE INDEX idx_uploads_expires ON uploads (expires_at);

-- Work done after an upload (the seed's process_records): thumbnails and posters.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    asset_id    INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('thumbnails')),
    state       TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'processing', 'done', 'failed')),
    progress    INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE INDEX idx_jobs_state ON jobs (state, id);
CREATE INDEX idx_jobs_asset ON jobs (asset_id);

INSERT INTO settings (key, value, updated_at) VALUES
    ('upload_quota',          '2GiB',   CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('max_image_size',        '50MiB',  CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('max_video_size',        '512MiB', CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('upload_expiry_hours',   '24',     CAST(strftime('%s', 'now') AS INTEGER) * 1000000);
