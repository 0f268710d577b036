-- Likes and views (Postgres).
--
-- A person likes an asset once (`likes`, one row per person and asset); a viewer views it
-- once a day (`asset_views`, one row per asset, day and viewer, kept for today and
-- yesterday only: `LikeStore::prune_views`). The counts on `assets` and each owner's
-- `views_received` are kept by the triggers below, in the transaction that adds the row,
-- so they are exact and reading them costs nothing. Trashed assets keep theirs.
--
-- Lock order: whoever adds views takes the owners' `users` rows first (in id order, as
-- every writer does; see 0005), then the assets' rows through these triggers.

ALTER TABLE assets ADD COLUMN like_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN view_count BIGINT NOT NULL DEFAULT 0;
-- The sorts "most liked" and "most viewed" (then newest) read these in order.
CREATE INDEX idx_assets_liked  ON assets (like_count, id);
CREATE INDEX idx_assets_viewed ON assets (view_count, id);

CREATE TABLE likes (
    user_id  BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id BIGINT      NOT NULL REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    at       TIMESTAMPTZ NOT NULL,
    -- A person's likes in asset order: their "Liked" tab, and `liked:` searches.
    PRIMARY KEY (user_id, asset_id)
);
CREATE INDEX idx_likes_asset ON likes (asset_id);

CREATE FUNCTION likes_counted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE assets SET like_count = like_count + 1 WHERE id = NEW.asset_id;
    ELSE
        UPDATE assets SET like_count = like_count - 1 WHERE id = OLD.asset_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER likes_count AFTER INSERT OR DELETE ON likes
    FOR EACH ROW EXECUTE FUNCTION likes_counted();

CREATE TABLE asset_views (
    asset_id BIGINT  NOT NULL REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    -- Days since 1970-01-01, UTC.
    day      INTEGER NOT NULL,
    -- `u:{user id}`, or `v:{hash}` for a visitor (never an address).
    viewer   TEXT    NOT NULL,
    PRIMARY KEY (asset_id, day, viewer)
);
CREATE INDEX idx_asset_views_day ON asset_views (day);

-- Only rows that were added count: repeats are ignored by the insert (ON CONFLICT DO
-- NOTHING) and never reach the transition table. One statement counts a whole batch.
CREATE FUNCTION asset_views_counted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users u SET views_received = u.views_received + o.views
      FROM (SELECT a.owner_id, COUNT(*) AS views
              FROM added r JOIN assets a ON a.id = r.asset_id
             GROUP BY a.owner_id) o
     WHERE u.id = o.owner_id;
    UPDATE assets a SET view_count = a.view_count + n.views
      FROM (SELECT asset_id, COUNT(*) AS views FROM added GROUP BY asset_id) n
     WHERE a.id = n.asset_id;
    RETURN NULL;
END $$;
CREATE TRIGGER asset_views_count AFTER INSERT ON asset_views
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION asset_views_counted();

-- Secrets this instance makes for itself. `view_salt:{day}` keys the hash that stands for
-- a visitor in that day's asset_views rows; it is made on the day and deleted with them, so
-- that once they are gone nothing can tell whose address a hash was.
CREATE TABLE instance_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
