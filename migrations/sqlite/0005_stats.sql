-- Statistics (SQLite): exact site totals kept by triggers, per-model counts, per-user
-- upload and view counts, and usage events with their daily rollups.
--
-- Every figure here changes in the transaction of the write that changes it, so reading
-- one is a primary-key lookup: nothing on a request path counts rows.

-- The seed's view, kept as it was written: what the counters must always equal (the
-- tests compare them; the stats benchmark times it). Never queried on a request.
CREATE VIEW site_stats AS
SELECT
  (SELECT COUNT(*) FROM users)                        AS total_users,
  (SELECT COUNT(*) FROM assets)                       AS total_assets,
  (SELECT COUNT(*) FROM assets WHERE media_type = 0)  AS total_images,
  (SELECT COUNT(*) FROM assets WHERE media_type = 1)  AS total_videos,
  (SELECT COUNT(DISTINCT owner_id) FROM assets)       AS active_creators;

-- One row: the five figures of site_stats and the bytes the stored files take.
CREATE TABLE site_totals (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    users         INTEGER NOT NULL,
    assets        INTEGER NOT NULL,
    images        INTEGER NOT NULL,
    videos        INTEGER NOT NULL,
    -- Users with at least one asset (the seed's active_creators).
    creators      INTEGER NOT NULL,
    -- Every stored file once (originals, stills, posters; identical bytes are one file).
    storage_bytes INTEGER NOT NULL
);

-- A user's assets (to know when they become, or stop being, a creator) and the views of
-- their assets by other people. storage_bytes (0003) is now kept by the triggers below
-- too, so every way an asset arrives or goes charges or frees its owner's quota.
ALTER TABLE users ADD COLUMN asset_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN views_received INTEGER NOT NULL DEFAULT 0;
UPDATE users SET
    asset_count = (SELECT COUNT(*) FROM assets a WHERE a.owner_id = users.id),
    storage_bytes = (SELECT COALESCE(SUM(f.byte_size), 0)
                       FROM assets a JOIN files f ON f.id = a.file_id
                      WHERE a.owner_id = users.id);

INSERT INTO site_totals (id, users, assets, images, videos, creators, storage_bytes)
SELECT 1, total_users, total_assets, total_images, total_videos, active_creators,
       (SELECT COALESCE(SUM(byte_size), 0) FROM files)
  FROM site_stats;

CREATE TRIGGER site_users_insert AFTER INSERT ON users BEGIN
    UPDATE site_totals SET users = users + 1 WHERE id = 1;
END;
-- Whether the rows of a deleted user's assets go before or after the user's own (a
-- cascade), creators drops once: here when assets were left, in the asset trigger when
-- the last one went first.
CREATE TRIGGER site_users_delete AFTER DELETE ON users BEGIN
    UPDATE site_totals SET users = users - 1, creators = creators - (old.asset_count > 0)
     WHERE id = 1;
END;

CREATE TRIGGER site_assets_insert AFTER INSERT ON assets BEGIN
    UPDATE users SET
        asset_count = asset_count + 1,
        storage_bytes = storage_bytes
            + COALESCE((SELECT byte_size FROM files WHERE id = new.file_id), 0)
     WHERE id = new.owner_id;
    UPDATE site_totals SET
        assets = assets + 1,
        images = images + (new.media_type = 0),
        videos = videos + (new.media_type = 1),
        creators = creators
            + COALESCE((SELECT asset_count = 1 FROM users WHERE id = new.owner_id), 0)
     WHERE id = 1;
END;
CREATE TRIGGER site_assets_delete AFTER DELETE ON assets BEGIN
    UPDATE users SET
        asset_count = asset_count - 1,
        storage_bytes = storage_bytes
            - COALESCE((SELECT byte_size FROM files WHERE id = old.file_id), 0)
     WHERE id = old.owner_id;
    UPDATE site_totals SET
        assets = assets - 1,
        images = images - (old.media_type = 0),
        videos = videos - (old.media_type = 1),
        creators = creators
            - COALESCE((SELECT asset_count = 0 FROM users WHERE id = old.owner_id), 0)
     WHERE id = 1;
END;

-- An upsert that finds the row fires UPDATE triggers, not these.
CREATE TRIGGER site_files_insert AFTER INSERT ON files BEGIN
    UPDATE site_totals SET storage_bytes = storage_bytes + new.byte_size WHERE id = 1;
END;
CREATE TRIGGER site_files_delete AFTER DELETE ON files BEGIN
    UPDATE site_totals SET storage_bytes = storage_bytes - old.byte_size WHERE id = 1;
END;

-- Assets per model, compared without case as the model filter compares them; `name` is
-- the spelling first seen.
CREATE TABLE model_counts (
    model_key TEXT    PRIMARY KEY,
    name      TEXT    NOT NULL,
    assets    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO model_counts (model_key, name, assets)
SELECT lower(model), MIN(model), COUNT(*) FROM assets
 WHERE model IS NOT NULL AND model <> '' GROUP BY lower(model);
CREATE INDEX idx_model_counts_assets ON model_counts (assets);
CREATE INDEX idx_tags_asset_count ON tags (asset_count);

CREATE TRIGGER model_counts_insert AFTER INSERT ON assets
WHEN new.model IS NOT NULL AND new.model <> '' BEGIN
    INSERT INTO model_counts (model_key, name, assets) VALUES (lower(new.model), new.model, 1)
    ON CONFLICT (model_key) DO UPDATE SET assets = assets + 1;
END;
CREATE TRIGGER model_counts_delete AFTER DELETE ON assets
WHEN old.model IS NOT NULL AND old.model <> '' BEGIN
    UPDATE model_counts SET assets = assets - 1 WHERE model_key = lower(old.model);
END;
CREATE TRIGGER model_counts_update AFTER UPDATE OF model ON assets
WHEN old.model IS NOT new.model BEGIN
    UPDATE model_counts SET assets = assets - 1
     WHERE old.model IS NOT NULL AND old.model <> '' AND model_key = lower(old.model);
    INSERT INTO model_counts (model_key, name, assets)
    SELECT lower(new.model), new.model, 1 WHERE new.model IS NOT NULL AND new.model <> ''
    ON CONFLICT (model_key) DO UPDATE SET assets = assets + 1;
END;

-- One row per use of a feature, kept for the retention period (usage_retention_days).
-- user_id is NULL for someone not logged in; `day` is days since 1970-01-01 (UTC).
CREATE TABLE usage_events (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    feature TEXT    NOT NULL,
    user_id INTEGER,
    detail  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX idx_usage_events_at ON usage_events (at);

-- Rollups, kept forever, written in the same transaction as the events they count.
-- Per day and feature: events, and the distinct logged-in users who used it.
CREATE TABLE usage_daily (
    day     INTEGER NOT NULL,
    feature TEXT    NOT NULL,
    events  INTEGER NOT NULL,
    users   INTEGER NOT NULL,
    PRIMARY KEY (day, feature)
) WITHOUT ROWID;
-- Per day: every event, and the distinct logged-in users active at all.
CREATE TABLE usage_days (
    day    INTEGER PRIMARY KEY,
    events INTEGER NOT NULL,
    users  INTEGER NOT NULL
);
-- Per day, user and feature.
CREATE TABLE usage_user_daily (
    day     INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    feature TEXT    NOT NULL,
    events  INTEGER NOT NULL,
    PRIMARY KEY (day, user_id, feature)
) WITHOUT ROWID;
CREATE INDEX idx_usage_user_daily_user ON usage_user_daily (user_id, day);
-- Per day and user: any event (a row here is one active user that day).
CREATE TABLE usage_user_days (
    day     INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    events  INTEGER NOT NULL,
    PRIMARY KEY (day, user_id)
) WITHOUT ROWID;

INSERT INTO settings (key, value, updated_at) VALUES
    ('usage_tracking',       'on', CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('usage_retention_days', '90', CAST(strftime('%s', 'now') AS INTEGER) * 1000000)
ON CONFLICT (key) DO NOTHING;
