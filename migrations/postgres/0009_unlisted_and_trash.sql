-- Unlisted assets and the trash (Postgres).
--
-- A third visibility, 'unlisted': reachable by its link, never listed.
--
-- `trashed_at` is set while an asset is in its owner's trash. A trashed asset is not
-- counted anywhere (user_counts, model_counts, tags.asset_count, users.asset_count,
-- site_totals) and every query leaves it out; it stays charged to its owner's storage
-- until it is purged (deleted), which frees it.

ALTER TABLE assets DROP CONSTRAINT assets_visibility_check;
ALTER TABLE assets ADD CONSTRAINT assets_visibility_check
    CHECK (visibility IN ('public', 'unlisted', 'private'));
ALTER TABLE assets ADD COLUMN trashed_at TIMESTAMPTZ;
-- An owner's trash, newest first, and the purge of the oldest: only trashed rows.
CREATE INDEX idx_assets_trashed ON assets (owner_id, trashed_at) WHERE trashed_at IS NOT NULL;

-- What an asset is charged: its original, metadata and stills.
CREATE FUNCTION asset_charge(file BIGINT, meta BIGINT, thumb BIGINT, preview BIGINT,
                             poster BIGINT) RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT byte_size FROM files WHERE id = file), 0) + meta
         + asset_stills_bytes(thumb, preview, poster)
$$;

-- 0007's function, now told per row whether the asset counts (is out of the trash) and
-- what it is charged: `sign` 1 adds, -1 takes away. Trashing and restoring move counts
-- and no bytes; arriving and being deleted move the bytes, and the counts of the rows
-- that count.
DROP FUNCTION site_assets_apply(BIGINT, BIGINT[], SMALLINT[], BIGINT[], BIGINT[]);
CREATE FUNCTION site_assets_apply(sign BIGINT, rows_owner BIGINT[], rows_type SMALLINT[],
                                  rows_bytes BIGINT[], rows_counted BOOLEAN[])
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    creators_delta BIGINT;
BEGIN
    IF cardinality(rows_owner) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM users WHERE id = ANY (rows_owner) ORDER BY id FOR UPDATE;
    WITH r AS (
        SELECT owner_id, media_type, bytes, counted
          FROM UNNEST(rows_owner, rows_type, rows_bytes, rows_counted)
            AS r(owner_id, media_type, bytes, counted)
    ), per_owner AS (
        SELECT owner_id, COUNT(*) FILTER (WHERE counted) AS n, SUM(bytes) AS bytes
          FROM r GROUP BY owner_id
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
        assets = assets + sign * (SELECT COUNT(*) FROM UNNEST(rows_counted) c WHERE c),
        images = images + sign * (SELECT COUNT(*) FROM UNNEST(rows_type, rows_counted) t(ty, c)
                                   WHERE c AND ty = 0),
        videos = videos + sign * (SELECT COUNT(*) FROM UNNEST(rows_type, rows_counted) t(ty, c)
                                   WHERE c AND ty = 1),
        creators = creators + creators_delta
     WHERE id = 1;
END;
$$;
CREATE OR REPLACE FUNCTION site_assets_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(1,
        ARRAY(SELECT owner_id FROM added), ARRAY(SELECT media_type FROM added),
        ARRAY(SELECT asset_charge(file_id, metadata_bytes, thumb_file_id, preview_file_id,
                                  poster_file_id) FROM added),
        ARRAY(SELECT trashed_at IS NULL FROM added));
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION site_assets_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(-1,
        ARRAY(SELECT owner_id FROM removed), ARRAY(SELECT media_type FROM removed),
        ARRAY(SELECT asset_charge(file_id, metadata_bytes, thumb_file_id, preview_file_id,
                                  poster_file_id) FROM removed),
        ARRAY(SELECT trashed_at IS NULL FROM removed));
    RETURN NULL;
END;
$$;
-- Trashed (-1) and restored (+1) assets: their counts move, their charge stays. Their
-- tags' counts move with them.
CREATE FUNCTION site_assets_trashed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(-1,
        ARRAY(SELECT o.owner_id FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NULL AND n.trashed_at IS NOT NULL),
        ARRAY(SELECT o.media_type FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NULL AND n.trashed_at IS NOT NULL),
        ARRAY(SELECT 0::BIGINT FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NULL AND n.trashed_at IS NOT NULL),
        ARRAY(SELECT true FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NULL AND n.trashed_at IS NOT NULL));
    PERFORM site_assets_apply(1,
        ARRAY(SELECT n.owner_id FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NOT NULL AND n.trashed_at IS NULL),
        ARRAY(SELECT n.media_type FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NOT NULL AND n.trashed_at IS NULL),
        ARRAY(SELECT 0::BIGINT FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NOT NULL AND n.trashed_at IS NULL),
        ARRAY(SELECT true FROM removed o JOIN added n ON n.id = o.id
               WHERE o.trashed_at IS NOT NULL AND n.trashed_at IS NULL));
    UPDATE tags t SET asset_count = t.asset_count + d.n
      FROM (SELECT x.tag_id, SUM(CASE WHEN n.trashed_at IS NULL THEN 1 ELSE -1 END) AS n
              FROM removed o JOIN added n ON n.id = o.id
              JOIN asset_tags x ON x.asset_id = n.id
             WHERE (o.trashed_at IS NULL) <> (n.trashed_at IS NULL)
             GROUP BY x.tag_id ORDER BY x.tag_id) d
     WHERE t.id = d.tag_id AND d.n <> 0;
    RETURN NULL;
END;
$$;
-- Named site_assets_* to take the owners' rows and site_totals before site_models_*.
CREATE TRIGGER site_assets_trashed AFTER UPDATE ON assets
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION site_assets_trashed();

-- 0004's and 0005's per-user and per-model counts, of the assets that count.
CREATE OR REPLACE FUNCTION user_counts_inserted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_counts_apply(n, owner_id, media_type, visibility)
       FROM (SELECT owner_id, media_type, visibility, COUNT(*) AS n
               FROM added WHERE trashed_at IS NULL GROUP BY 1, 2, 3) d;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION user_counts_deleted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_counts_apply(-n, owner_id, media_type, visibility)
       FROM (SELECT owner_id, media_type, visibility, COUNT(*) AS n
               FROM removed WHERE trashed_at IS NULL GROUP BY 1, 2, 3) d;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION user_counts_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_counts_apply(n, owner_id, media_type, visibility)
       FROM (SELECT owner_id, media_type, visibility, SUM(n) AS n
               FROM (SELECT owner_id, media_type, visibility, -1 AS n FROM removed
                      WHERE trashed_at IS NULL
                     UNION ALL
                     SELECT owner_id, media_type, visibility, 1 AS n FROM added
                      WHERE trashed_at IS NULL) c
              GROUP BY 1, 2, 3) d
      WHERE n <> 0;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION model_counts_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model_counts_apply(n, k, spelling)
       FROM (SELECT lower(model) AS k, MIN(model) AS spelling, COUNT(*) AS n FROM added
              WHERE model IS NOT NULL AND model <> '' AND trashed_at IS NULL
              GROUP BY 1 ORDER BY 1) d;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION model_counts_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model_counts_apply(-n, k, spelling)
       FROM (SELECT lower(model) AS k, MIN(model) AS spelling, COUNT(*) AS n FROM removed
              WHERE model IS NOT NULL AND model <> '' AND trashed_at IS NULL
              GROUP BY 1 ORDER BY 1) d;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION model_counts_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model_counts_apply(n, k, spelling)
       FROM (SELECT k, MIN(spelling) AS spelling, SUM(n) AS n
               FROM (SELECT lower(model) AS k, model AS spelling, -1 AS n FROM removed
                      WHERE model IS NOT NULL AND model <> '' AND trashed_at IS NULL
                     UNION ALL
                     SELECT lower(model), model, 1 FROM added
                      WHERE model IS NOT NULL AND model <> '' AND trashed_at IS NULL) c
              GROUP BY k ORDER BY k) d
      WHERE n <> 0;
    RETURN NULL;
END;
$$;

-- Tags count the assets out of the trash that carry them. A link made or removed counts
-- unless its asset is in the trash (site_assets_trashed moves all of an asset's links).
CREATE OR REPLACE FUNCTION asset_tags_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tags t SET asset_count = t.asset_count + d.n
      FROM (SELECT tag_id, COUNT(*) AS n FROM added
             WHERE NOT EXISTS (SELECT 1 FROM assets a
                                WHERE a.id = added.asset_id AND a.trashed_at IS NOT NULL)
             GROUP BY tag_id) d
     WHERE t.id = d.tag_id;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION asset_tags_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tags t SET asset_count = t.asset_count - d.n
      FROM (SELECT tag_id, COUNT(*) AS n FROM removed
             WHERE NOT EXISTS (SELECT 1 FROM assets a
                                WHERE a.id = removed.asset_id AND a.trashed_at IS NOT NULL)
             GROUP BY tag_id) d
     WHERE t.id = d.tag_id;
    RETURN NULL;
END;
$$;
-- The cascade that removes a deleted asset's links runs once its row is gone, when the
-- function above can no longer see that it was trashed (and its links uncounted): a
-- trashed asset's links go first, while it is still there to say so.
CREATE FUNCTION asset_tags_purge() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM asset_tags WHERE asset_id = old.id;
    RETURN old;
END;
$$;
CREATE TRIGGER asset_tags_purge BEFORE DELETE ON assets
    FOR EACH ROW WHEN (old.trashed_at IS NOT NULL) EXECUTE FUNCTION asset_tags_purge();

-- The seed's view (0005), of the assets that count.
CREATE OR REPLACE VIEW site_stats AS
SELECT
  (SELECT COUNT(*) FROM users) AS total_users,
  (SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL) AS total_assets,
  (SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL AND media_type = 0) AS total_images,
  (SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL AND media_type = 1) AS total_videos,
  (SELECT COUNT(DISTINCT owner_id) FROM assets WHERE trashed_at IS NULL) AS active_creators;
