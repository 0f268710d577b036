-- Unlisted assets and the trash (SQLite).
--
-- A third visibility, 'unlisted': reachable by its link, never listed. SQLite cannot
-- change a CHECK constraint in place, so `assets` is rebuilt: a new table, the rows
-- copied, the old one dropped, the new one renamed. This runs with foreign keys off
-- (Db::open runs every migration so and checks the keys afterwards), else dropping the
-- old table would delete every tag link and job through their ON DELETE CASCADE.
--
-- `trashed_at` (Unix microseconds) is set while an asset is in its owner's trash. A
-- trashed asset is not counted anywhere (user_counts, model_counts, tags.asset_count,
-- users.asset_count, site_totals) and every query leaves it out; it stays charged to its
-- owner's storage until it is purged (deleted), which frees it.

-- Views naming `assets` would stop the rename; site_stats is made again below.
DROP VIEW site_stats;

CREATE TABLE assets_rebuilt (
    id                INTEGER PRIMARY KEY,
    public_id         TEXT    NOT NULL UNIQUE,
    owner_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title             TEXT    NOT NULL,
    prompt            TEXT    NOT NULL DEFAULT '',
    model             TEXT,
    -- 0 = image, 1 = video
    media_type        INTEGER NOT NULL CHECK (media_type IN (0, 1)),
    file_id           INTEGER REFERENCES files (id),
    thumb_file_id     INTEGER REFERENCES files (id),
    width             INTEGER,
    height            INTEGER,
    duration_ms       INTEGER,
    created_at        INTEGER NOT NULL,
    negative_prompt   TEXT    NOT NULL DEFAULT '',
    visibility        TEXT    NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'unlisted', 'private')),
    original_filename TEXT,
    preview_file_id   INTEGER REFERENCES files (id),
    generation        TEXT,
    raw_metadata      TEXT,
    parser_version    INTEGER NOT NULL DEFAULT 0,
    poster_file_id    INTEGER REFERENCES files (id),
    search_text       TEXT GENERATED ALWAYS AS (title || ' ' || prompt) VIRTUAL,
    metadata_dropped  TEXT,
    metadata_bytes    INTEGER NOT NULL DEFAULT 0,
    trashed_at        INTEGER
);
INSERT INTO assets_rebuilt (
    id, public_id, owner_id, title, prompt, model, media_type, file_id, thumb_file_id,
    width, height, duration_ms, created_at, negative_prompt, visibility, original_filename,
    preview_file_id, generation, raw_metadata, parser_version, poster_file_id,
    metadata_dropped, metadata_bytes)
SELECT
    id, public_id, owner_id, title, prompt, model, media_type, file_id, thumb_file_id,
    width, height, duration_ms, created_at, negative_prompt, visibility, original_filename,
    preview_file_id, generation, raw_metadata, parser_version, poster_file_id,
    metadata_dropped, metadata_bytes
  FROM assets;
-- Takes the old table's indexes and triggers with it; all are made again below. The
-- full-text index keeps its rows: it names the table, and the ids are the same.
DROP TABLE assets;
ALTER TABLE assets_rebuilt RENAME TO assets;

CREATE INDEX idx_assets_file    ON assets (file_id);
CREATE INDEX idx_assets_thumb   ON assets (thumb_file_id);
CREATE INDEX idx_assets_preview ON assets (preview_file_id);
CREATE INDEX idx_assets_poster  ON assets (poster_file_id);
CREATE INDEX idx_assets_owner   ON assets (owner_id, id);
CREATE INDEX idx_assets_type    ON assets (media_type, id);
CREATE INDEX idx_assets_model   ON assets (model COLLATE NOCASE, id);
-- An owner's trash, newest first, and the purge of the oldest: only trashed rows.
CREATE INDEX idx_assets_trashed ON assets (owner_id, trashed_at) WHERE trashed_at IS NOT NULL;

CREATE TRIGGER assets_id_is_created_at BEFORE INSERT ON assets
WHEN new.id IS NOT new.created_at
BEGIN
    SELECT RAISE(ABORT, 'assets.id must equal assets.created_at');
END;

-- Full text (as 0004): a trashed asset stays indexed; searches leave it out.
CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO assets_fts (rowid, search_text) VALUES (new.id, new.title || ' ' || new.prompt);
END;
CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN
    INSERT INTO assets_fts (assets_fts, rowid, search_text)
    VALUES ('delete', old.id, old.title || ' ' || old.prompt);
END;
CREATE TRIGGER assets_fts_update AFTER UPDATE OF title, prompt ON assets BEGIN
    INSERT INTO assets_fts (assets_fts, rowid, search_text)
    VALUES ('delete', old.id, old.title || ' ' || old.prompt);
    INSERT INTO assets_fts (rowid, search_text) VALUES (new.id, new.title || ' ' || new.prompt);
END;

-- Storage: charged when an asset arrives, freed when it is deleted, trashed or not.
CREATE TRIGGER assets_charge_insert AFTER INSERT ON assets BEGIN
    UPDATE users SET storage_bytes = storage_bytes
            + COALESCE((SELECT byte_size FROM files WHERE id = new.file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.thumb_file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.preview_file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.poster_file_id), 0)
            + new.metadata_bytes
     WHERE id = new.owner_id;
END;
CREATE TRIGGER assets_charge_delete AFTER DELETE ON assets BEGIN
    UPDATE users SET storage_bytes = storage_bytes
            - COALESCE((SELECT byte_size FROM files WHERE id = old.file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.thumb_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.preview_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.poster_file_id), 0)
            - old.metadata_bytes
     WHERE id = old.owner_id;
END;
-- As 0008: a still set or replaced moves the charge by the difference.
CREATE TRIGGER assets_stills_update
AFTER UPDATE OF thumb_file_id, preview_file_id, poster_file_id ON assets BEGIN
    UPDATE users SET storage_bytes = storage_bytes
            + COALESCE((SELECT byte_size FROM files WHERE id = new.thumb_file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.preview_file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.poster_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.thumb_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.preview_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.poster_file_id), 0)
     WHERE id = new.owner_id;
END;

-- The counts: an asset counts while it is out of the trash. Arriving or being restored
-- counts it in; being deleted while counted, or trashed, counts it out.
CREATE TRIGGER site_assets_insert AFTER INSERT ON assets WHEN new.trashed_at IS NULL BEGIN
    UPDATE users SET asset_count = asset_count + 1 WHERE id = new.owner_id;
    UPDATE site_totals SET
        assets = assets + 1,
        images = images + (new.media_type = 0),
        videos = videos + (new.media_type = 1),
        creators = creators
            + COALESCE((SELECT asset_count = 1 FROM users WHERE id = new.owner_id), 0)
     WHERE id = 1;
END;
CREATE TRIGGER site_assets_restore AFTER UPDATE OF trashed_at ON assets
WHEN old.trashed_at IS NOT NULL AND new.trashed_at IS NULL BEGIN
    UPDATE users SET asset_count = asset_count + 1 WHERE id = new.owner_id;
    UPDATE site_totals SET
        assets = assets + 1,
        images = images + (new.media_type = 0),
        videos = videos + (new.media_type = 1),
        creators = creators
            + COALESCE((SELECT asset_count = 1 FROM users WHERE id = new.owner_id), 0)
     WHERE id = 1;
END;
CREATE TRIGGER site_assets_delete AFTER DELETE ON assets WHEN old.trashed_at IS NULL BEGIN
    UPDATE users SET asset_count = asset_count - 1 WHERE id = old.owner_id;
    UPDATE site_totals SET
        assets = assets - 1,
        images = images - (old.media_type = 0),
        videos = videos - (old.media_type = 1),
        creators = creators
            - COALESCE((SELECT asset_count = 0 FROM users WHERE id = old.owner_id), 0)
     WHERE id = 1;
END;
CREATE TRIGGER site_assets_trash AFTER UPDATE OF trashed_at ON assets
WHEN old.trashed_at IS NULL AND new.trashed_at IS NOT NULL BEGIN
    UPDATE users SET asset_count = asset_count - 1 WHERE id = old.owner_id;
    UPDATE site_totals SET
        assets = assets - 1,
        images = images - (old.media_type = 0),
        videos = videos - (old.media_type = 1),
        creators = creators
            - COALESCE((SELECT asset_count = 0 FROM users WHERE id = old.owner_id), 0)
     WHERE id = 1;
END;

CREATE TRIGGER user_counts_insert AFTER INSERT ON assets WHEN new.trashed_at IS NULL BEGIN
    INSERT INTO user_counts (user_id, media_type, visibility, assets)
    VALUES (new.owner_id, new.media_type, new.visibility, 1)
    ON CONFLICT (user_id, media_type, visibility) DO UPDATE SET assets = assets + 1;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON assets WHEN old.trashed_at IS NULL BEGIN
    UPDATE user_counts SET assets = assets - 1
     WHERE user_id = old.owner_id AND media_type = old.media_type
       AND visibility = old.visibility;
END;
CREATE TRIGGER user_counts_update
AFTER UPDATE OF owner_id, media_type, visibility, trashed_at ON assets BEGIN
    UPDATE user_counts SET assets = assets - 1
     WHERE old.trashed_at IS NULL
       AND user_id = old.owner_id AND media_type = old.media_type
       AND visibility = old.visibility;
    INSERT INTO user_counts (user_id, media_type, visibility, assets)
    SELECT new.owner_id, new.media_type, new.visibility, 1 WHERE new.trashed_at IS NULL
    ON CONFLICT (user_id, media_type, visibility) DO UPDATE SET assets = assets + 1;
END;

CREATE TRIGGER model_counts_insert AFTER INSERT ON assets
WHEN new.model IS NOT NULL AND new.model <> '' AND new.trashed_at IS NULL BEGIN
    INSERT INTO model_counts (model_key, name, assets) VALUES (lower(new.model), new.model, 1)
    ON CONFLICT (model_key) DO UPDATE SET assets = assets + 1;
END;
CREATE TRIGGER model_counts_delete AFTER DELETE ON assets
WHEN old.model IS NOT NULL AND old.model <> '' AND old.trashed_at IS NULL BEGIN
    UPDATE model_counts SET assets = assets - 1 WHERE model_key = lower(old.model);
END;
CREATE TRIGGER model_counts_update AFTER UPDATE OF model, trashed_at ON assets
WHEN old.model IS NOT new.model OR (old.trashed_at IS NULL) <> (new.trashed_at IS NULL) BEGIN
    UPDATE model_counts SET assets = assets - 1
     WHERE old.model IS NOT NULL AND old.model <> '' AND old.trashed_at IS NULL
       AND model_key = lower(old.model);
    INSERT INTO model_counts (model_key, name, assets)
    SELECT lower(new.model), new.model, 1
     WHERE new.model IS NOT NULL AND new.model <> '' AND new.trashed_at IS NULL
    ON CONFLICT (model_key) DO UPDATE SET assets = assets + 1;
END;

-- Tags count the assets out of the trash that carry them. A link made or removed counts
-- unless its asset is in the trash; trashing and restoring count all of an asset's links.
DROP TRIGGER asset_tags_count_insert;
DROP TRIGGER asset_tags_count_delete;
CREATE TRIGGER asset_tags_count_insert AFTER INSERT ON asset_tags
WHEN NOT EXISTS (SELECT 1 FROM assets WHERE id = new.asset_id AND trashed_at IS NOT NULL)
BEGIN
    UPDATE tags SET asset_count = asset_count + 1 WHERE id = new.tag_id;
END;
CREATE TRIGGER asset_tags_count_delete AFTER DELETE ON asset_tags
WHEN NOT EXISTS (SELECT 1 FROM assets WHERE id = old.asset_id AND trashed_at IS NOT NULL)
BEGIN
    UPDATE tags SET asset_count = asset_count - 1 WHERE id = old.tag_id;
END;
CREATE TRIGGER asset_tags_trash AFTER UPDATE OF trashed_at ON assets
WHEN old.trashed_at IS NULL AND new.trashed_at IS NOT NULL BEGIN
    UPDATE tags SET asset_count = asset_count - 1
     WHERE id IN (SELECT tag_id FROM asset_tags WHERE asset_id = new.id);
END;
CREATE TRIGGER asset_tags_restore AFTER UPDATE OF trashed_at ON assets
WHEN old.trashed_at IS NOT NULL AND new.trashed_at IS NULL BEGIN
    UPDATE tags SET asset_count = asset_count + 1
     WHERE id IN (SELECT tag_id FROM asset_tags WHERE asset_id = new.id);
END;
-- The cascade that removes a deleted asset's links runs once its row is gone, when the
-- trigger above can no longer see that it was trashed (and its links uncounted): a
-- trashed asset's links go first, while it is still there to say so.
CREATE TRIGGER asset_tags_purge BEFORE DELETE ON assets WHEN old.trashed_at IS NOT NULL
BEGIN
    DELETE FROM asset_tags WHERE asset_id = old.id;
END;

-- The seed's view (0005), of the assets that count.
CREATE VIEW site_stats AS
SELECT
  (SELECT COUNT(*) FROM users) AS total_users,
  (SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL) AS total_assets,
  (SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL AND media_type = 0) AS total_images,
  (SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL AND media_type = 1) AS total_videos,
  (SELECT COUNT(DISTINCT owner_id) FROM assets WHERE trashed_at IS NULL) AS active_creators;

ANALYZE assets;
