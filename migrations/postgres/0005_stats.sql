-- Statistics (PostgreSQL): exact site totals kept by triggers, per-model counts, per-user
-- upload and view counts, and usage events with their daily rollups.
--
-- Every figure here changes in the transaction of the write that changes it, so reading
-- one is a primary-key lookup: nothing on a request path counts rows.
--
-- Lock order, the same on every path, so concurrent writers never deadlock: the owners'
-- users rows (in id order), then the site_totals row, then tag and count rows. Statement
-- triggers fire in name order: site_assets_* (users, site_totals), site_models_*, then
-- user_counts_*; a delete takes the owner's row and site_totals before its cascade.

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
    id            SMALLINT PRIMARY KEY CHECK (id = 1),
    users         BIGINT NOT NULL,
    assets        BIGINT NOT NULL,
    images        BIGINT NOT NULL,
    videos        BIGINT NOT NULL,
    -- Users with at least one asset (the seed's active_creators).
    creators      BIGINT NOT NULL,
    -- Every stored file once (originals, stills, posters; identical bytes are one file).
    storage_bytes BIGINT NOT NULL
);

-- A user's assets (to know when they become, or stop being, a creator) and the views of
-- their assets by other people. storage_bytes (0003) is now kept by the triggers below
-- too, so every way an asset arrives or goes charges or frees its owner's quota.
ALTER TABLE users ADD COLUMN asset_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN views_received BIGINT NOT NULL DEFAULT 0;
UPDATE users u SET asset_count = c.n, storage_bytes = c.bytes
  FROM (SELECT a.owner_id, COUNT(*) AS n, COALESCE(SUM(f.byte_size), 0) AS bytes
          FROM assets a LEFT JOIN files f ON f.id = a.file_id
         GROUP BY a.owner_id) c
 WHERE u.id = c.owner_id;

INSERT INTO site_totals (id, users, assets, images, videos, creators, storage_bytes)
SELECT 1, total_users, total_assets, total_images, total_videos, active_creators,
       (SELECT COALESCE(SUM(byte_size), 0) FROM files)
  FROM site_stats;

-- Statement-level, over the rows the statement changed (a bulk insert touches each row
-- here once, not once per asset).
CREATE FUNCTION site_users_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_totals SET users = users + (SELECT COUNT(*) FROM added) WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE FUNCTION site_users_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    -- A deleted user's assets go by cascade after the user's row, so their trigger finds
    -- no owner to update: a creator leaves here.
    UPDATE site_totals SET
        users = users - (SELECT COUNT(*) FROM removed),
        creators = creators - (SELECT COUNT(*) FROM removed WHERE asset_count > 0)
     WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER site_users_added AFTER INSERT ON users
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION site_users_added();
CREATE TRIGGER site_users_removed AFTER DELETE ON users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION site_users_removed();

-- `sign` is 1 for added assets, -1 for removed ones. The owners' rows are locked first,
-- in id order; each owner's count before and after says whether they became, or stopped
-- being, a creator (the row lock makes that exact under concurrent writers).
CREATE FUNCTION site_assets_apply(sign BIGINT, rows_owner BIGINT[], rows_type SMALLINT[],
                                  rows_file BIGINT[]) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    creators_delta BIGINT;
BEGIN
    PERFORM 1 FROM users WHERE id = ANY (rows_owner) ORDER BY id FOR UPDATE;
    WITH r AS (
        SELECT * FROM UNNEST(rows_owner, rows_type, rows_file) AS r(owner_id, media_type, file_id)
    ), per_owner AS (
        SELECT r.owner_id, COUNT(*) AS n, COALESCE(SUM(f.byte_size), 0) AS bytes
          FROM r LEFT JOIN files f ON f.id = r.file_id
         GROUP BY r.owner_id
    ), changed AS (
        UPDATE users u SET asset_count = u.asset_count + sign * p.n,
                           storage_bytes = u.storage_bytes + sign * p.bytes
          FROM per_owner p
         WHERE u.id = p.owner_id
        RETURNING u.asset_count - sign * p.n AS before, u.asset_count AS after
    )
    SELECT COALESCE(SUM(CASE WHEN before = 0 AND after > 0 THEN 1
                             WHEN before > 0 AND after = 0 THEN -1
                             ELSE 0 END), 0)
      INTO creators_delta FROM changed;
    UPDATE site_totals SET
        assets = assets + sign * cardinality(rows_owner),
        images = images + sign * (SELECT COUNT(*) FROM UNNEST(rows_type) t WHERE t = 0),
        videos = videos + sign * (SELECT COUNT(*) FROM UNNEST(rows_type) t WHERE t = 1),
        creators = creators + creators_delta
     WHERE id = 1;
END;
$$;
CREATE FUNCTION site_assets_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(1,
        ARRAY(SELECT owner_id FROM added), ARRAY(SELECT media_type FROM added),
        ARRAY(SELECT file_id FROM added));
    RETURN NULL;
END;
$$;
CREATE FUNCTION site_assets_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(-1,
        ARRAY(SELECT owner_id FROM removed), ARRAY(SELECT media_type FROM removed),
        ARRAY(SELECT file_id FROM removed));
    RETURN NULL;
END;
$$;
-- Named to fire before user_counts_* (statement triggers fire in name order).
CREATE TRIGGER site_assets_added AFTER INSERT ON assets
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION site_assets_added();
CREATE TRIGGER site_assets_removed AFTER DELETE ON assets
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION site_assets_removed();

-- For INSERT … ON CONFLICT DO UPDATE, `added` holds only the rows really inserted.
CREATE FUNCTION site_files_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_totals SET storage_bytes = storage_bytes
        + (SELECT COALESCE(SUM(byte_size), 0) FROM added) WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE FUNCTION site_files_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE site_totals SET storage_bytes = storage_bytes
        - (SELECT COALESCE(SUM(byte_size), 0) FROM removed) WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER site_files_added AFTER INSERT ON files
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION site_files_added();
CREATE TRIGGER site_files_removed AFTER DELETE ON files
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION site_files_removed();

-- Assets per model, compared without case as the model filter compares them; `name` is
-- the spelling first seen.
CREATE TABLE model_counts (
    model_key TEXT COLLATE "C" PRIMARY KEY,
    name      TEXT   NOT NULL,
    assets    BIGINT NOT NULL
);
INSERT INTO model_counts (model_key, name, assets)
SELECT lower(model), MIN(model), COUNT(*) FROM assets
 WHERE model IS NOT NULL AND model <> '' GROUP BY lower(model);
CREATE INDEX idx_model_counts_assets ON model_counts (assets);
CREATE INDEX idx_tags_asset_count ON tags (asset_count);

CREATE FUNCTION model_counts_apply(changes BIGINT, key TEXT, spelling TEXT)
RETURNS VOID LANGUAGE sql AS $$
    INSERT INTO model_counts (model_key, name, assets) VALUES (key, spelling, changes)
    ON CONFLICT (model_key) DO UPDATE SET assets = model_counts.assets + EXCLUDED.assets;
$$;
CREATE FUNCTION model_counts_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model_counts_apply(n, k, spelling)
       FROM (SELECT lower(model) AS k, MIN(model) AS spelling, COUNT(*) AS n FROM added
              WHERE model IS NOT NULL AND model <> '' GROUP BY 1 ORDER BY 1) d;
    RETURN NULL;
END;
$$;
CREATE FUNCTION model_counts_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model_counts_apply(-n, k, spelling)
       FROM (SELECT lower(model) AS k, MIN(model) AS spelling, COUNT(*) AS n FROM removed
              WHERE model IS NOT NULL AND model <> '' GROUP BY 1 ORDER BY 1) d;
    RETURN NULL;
END;
$$;
CREATE FUNCTION model_counts_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model_counts_apply(n, k, spelling)
       FROM (SELECT k, MIN(spelling) AS spelling, SUM(n) AS n
               FROM (SELECT lower(model) AS k, model AS spelling, -1 AS n FROM removed
                      WHERE model IS NOT NULL AND model <> ''
                     UNION ALL
                     SELECT lower(model), model, 1 FROM added
                      WHERE model IS NOT NULL AND model <> '') c
              GROUP BY k ORDER BY k) d
      WHERE n <> 0;
    RETURN NULL;
END;
$$;
-- Named site_models_* to fire after site_assets_* (which take the site_totals row first).
CREATE TRIGGER site_models_added AFTER INSERT ON assets
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION model_counts_added();
CREATE TRIGGER site_models_removed AFTER DELETE ON assets
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION model_counts_removed();
CREATE TRIGGER site_models_updated AFTER UPDATE ON assets
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION model_counts_updated();

-- One row per use of a feature, kept for the retention period (usage_retention_days).
-- user_id is NULL for someone not logged in; `day` is days since 1970-01-01 (UTC).
CREATE TABLE usage_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    day     INTEGER     NOT NULL,
    feature TEXT        NOT NULL,
    user_id BIGINT,
    detail  TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX idx_usage_events_at ON usage_events (at);

-- Rollups, kept forever, written in the same transaction as the events they count.
-- Per day and feature: events, and the distinct logged-in users who used it.
CREATE TABLE usage_daily (
    day     INTEGER NOT NULL,
    feature TEXT    NOT NULL,
    events  BIGINT  NOT NULL,
    users   BIGINT  NOT NULL,
    PRIMARY KEY (day, feature)
);
-- Per day: every event, and the distinct logged-in users active at all.
CREATE TABLE usage_days (
    day    INTEGER PRIMARY KEY,
    events BIGINT NOT NULL,
    users  BIGINT NOT NULL
);
-- Per day, user and feature.
CREATE TABLE usage_user_daily (
    day     INTEGER NOT NULL,
    user_id BIGINT  NOT NULL,
    feature TEXT    NOT NULL,
    events  BIGINT  NOT NULL,
    PRIMARY KEY (day, user_id, feature)
);
CREATE INDEX idx_usage_user_daily_user ON usage_user_daily (user_id, day);
-- Per day and user: any event (a row here is one active user that day).
CREATE TABLE usage_user_days (
    day     INTEGER NOT NULL,
    user_id BIGINT  NOT NULL,
    events  BIGINT  NOT NULL,
    PRIMARY KEY (day, user_id)
);

INSERT INTO settings (key, value, updated_at) VALUES
    ('usage_tracking',       'on', now()),
    ('usage_retention_days', '90', now())
ON CONFLICT (key) DO NOTHING;
