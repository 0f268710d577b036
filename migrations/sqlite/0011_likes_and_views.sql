-- Likes and views (SQLite).
--
-- A person likes an asset once (`likes`, one row per person and asset); a viewer views it
-- once a day (`asset_views`, one row per asset, day and viewer, kept for today and
-- yesterday only: `LikeStore::prune_views`). The counts on `assets` and each owner's
-- `views_received` are kept by the triggers below, in the transaction that adds the row,
-- so they are exact and reading them costs nothing. Trashed assets keep theirs.

ALTER TABLE assets ADD COLUMN like_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN view_count INTEGER NOT NULL DEFAULT 0;
-- The sorts "most liked" and "most viewed" (then newest) read these in order.
CREATE INDEX idx_assets_liked  ON assets (like_count, id);
CREATE INDEX idx_assets_viewed ON assets (view_count, id);

CREATE TABLE likes (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    -- Unix microseconds.
    at       INTEGER NOT NULL,
    -- A person's likes in asset order: their "Liked" tab, and `liked:` searches.
    PRIMARY KEY (user_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX idx_likes_asset ON likes (asset_id);

CREATE TRIGGER likes_count_insert AFTER INSERT ON likes BEGIN
    UPDATE assets SET like_count = like_count + 1 WHERE id = new.asset_id;
END;
CREATE TRIGGER likes_count_delete AFTER DELETE ON likes BEGIN
    UPDATE assets SET like_count = like_count - 1 WHERE id = old.asset_id;
END;

CREATE TABLE asset_views (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    -- Days since 1970-01-01, UTC.
    day      INTEGER NOT NULL,
    -- `u:{user id}`, or `v:{hash}` for a visitor (never an address).
    viewer   TEXT    NOT NULL,
    PRIMARY KEY (asset_id, day, viewer)
) WITHOUT ROWID;
CREATE INDEX idx_asset_views_day ON asset_views (day);

-- Only a row that was added counts: a repeat is ignored by the insert (ON CONFLICT DO
-- NOTHING) before any trigger runs.
CREATE TRIGGER asset_views_count AFTER INSERT ON asset_views BEGIN
    UPDATE assets SET view_count = view_count + 1 WHERE id = new.asset_id;
    UPDATE users SET views_received = views_received + 1
     WHERE id = (SELECT owner_id FROM assets WHERE id = new.asset_id);
END;

-- Secrets this instance makes for itself. `view_salt:{day}` keys the hash that stands for
-- a visitor in that day's asset_views rows; it is made on the day and deleted with them, so
-- that once they are gone nothing can tell whose address a hash was.
CREATE TABLE instance_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
