-- Search (PostgreSQL): time-ordered asset ids, full-text search over title and prompt,
-- indexes for the filtered paths, per-tag and per-user counts.
--
-- An asset's id is its created_at in Unix microseconds, made unique by moving a clash on by
-- one microsecond. Newest-first is then id order everywhere at once: the primary key,
-- asset_tags (tag_id, asset_id) and the owner/type/model indexes; a date range is an id
-- range, and a cursor is one integer.

ALTER TABLE assets ALTER COLUMN id DROP IDENTITY;

-- Children follow their parent's new id.
ALTER TABLE asset_tags
    DROP CONSTRAINT asset_tags_asset_id_fkey,
    ADD CONSTRAINT asset_tags_asset_id_fkey FOREIGN KEY (asset_id)
        REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE jobs
    DROP CONSTRAINT jobs_asset_id_fkey,
    ADD CONSTRAINT jobs_asset_id_fkey FOREIGN KEY (asset_id)
        REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE;

-- new_id = n + max(micros_j - j for j <= n): at least created_at, strictly increasing.
CREATE TEMP TABLE asset_renumber AS
WITH ordered AS (
    SELECT id,
           (EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT AS micros,
           ROW_NUMBER() OVER (ORDER BY created_at, id) AS n
      FROM assets
)
SELECT id AS old_id,
       n + MAX(micros - n) OVER (ORDER BY n ROWS UNBOUNDED PRECEDING) AS new_id
  FROM ordered;

-- Through negative ids, so no new id meets an old one on the way.
UPDATE assets a SET id = -r.new_id FROM asset_renumber r WHERE a.id = r.old_id;
UPDATE assets SET id = -id;
UPDATE assets SET created_at = TIMESTAMPTZ 'epoch' + id * INTERVAL '1 microsecond';
DROP TABLE asset_renumber;

ALTER TABLE assets ADD CONSTRAINT assets_id_is_created_at
    CHECK (id = (EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT);

-- Keyset pagination runs over id, globally and per owner / type / model / tag.
DROP INDEX idx_assets_created;
DROP INDEX idx_assets_owner;
DROP INDEX idx_assets_media_type;
CREATE INDEX idx_assets_owner ON assets (owner_id, id);
CREATE INDEX idx_assets_type  ON assets (media_type, id);
CREATE INDEX idx_assets_model ON assets (lower(model), id);

-- Full text over title and prompt (one text, as SQLite indexes it), cut into runs of
-- letters and digits and lower-cased, without stemming or stop words, as SQLite's unicode61
-- tokenizer does, so both backends find the same assets.
ALTER TABLE assets ADD COLUMN search_vector TSVECTOR
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
        regexp_replace(title || ' ' || prompt, '[^[:alnum:]]+', ' ', 'g'))) STORED;
CREATE INDEX idx_assets_search ON assets USING GIN (search_vector);

-- How many assets carry each tag (to start a multi-tag search from the rarest one).
ALTER TABLE tags ADD COLUMN asset_count BIGINT NOT NULL DEFAULT 0;
UPDATE tags SET asset_count = (SELECT COUNT(*) FROM asset_tags x WHERE x.tag_id = tags.id);

-- Statement-level, over the rows the statement changed: one UPDATE per tag per statement
-- (a bulk insert of a million links touches each tag row once, not a million times).
CREATE FUNCTION asset_tags_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tags t SET asset_count = t.asset_count + d.n
      FROM (SELECT tag_id, COUNT(*) AS n FROM added GROUP BY tag_id) d
     WHERE t.id = d.tag_id;
    RETURN NULL;
END;
$$;
CREATE FUNCTION asset_tags_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tags t SET asset_count = t.asset_count - d.n
      FROM (SELECT tag_id, COUNT(*) AS n FROM removed GROUP BY tag_id) d
     WHERE t.id = d.tag_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER asset_tags_added AFTER INSERT ON asset_tags
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION asset_tags_added();
CREATE TRIGGER asset_tags_removed AFTER DELETE ON asset_tags
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION asset_tags_removed();

-- Each user's assets by type and visibility, for the profile's summary: kept exact by
-- triggers in the transaction of every write, never counted on a request.
CREATE TABLE user_counts (
    user_id    BIGINT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    media_type SMALLINT NOT NULL,
    visibility TEXT     NOT NULL,
    assets     BIGINT   NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, media_type, visibility)
);
INSERT INTO user_counts (user_id, media_type, visibility, assets)
SELECT owner_id, media_type, visibility, COUNT(*) FROM assets GROUP BY 1, 2, 3;

-- Statement-level, as for tags: one upsert per (user, type, visibility) per statement.
CREATE FUNCTION user_counts_apply(changes BIGINT, rows_user BIGINT, rows_type SMALLINT,
                                  rows_visibility TEXT) RETURNS VOID LANGUAGE sql AS $$
    INSERT INTO user_counts (user_id, media_type, visibility, assets)
    VALUES (rows_user, rows_type, rows_visibility, changes)
    ON CONFLICT (user_id, media_type, visibility)
    DO UPDATE SET assets = user_counts.assets + EXCLUDED.assets;
$$;
CREATE FUNCTION user_counts_inserted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_counts_apply(n, owner_id, media_type, visibility)
       FROM (SELECT owner_id, media_type, visibility, COUNT(*) AS n
               FROM added GROUP BY 1, 2, 3) d;
    RETURN NULL;
END;
$$;
CREATE FUNCTION user_counts_deleted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_counts_apply(-n, owner_id, media_type, visibility)
       FROM (SELECT owner_id, media_type, visibility, COUNT(*) AS n
               FROM removed GROUP BY 1, 2, 3) d;
    RETURN NULL;
END;
$$;
CREATE FUNCTION user_counts_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM user_counts_apply(n, owner_id, media_type, visibility)
       FROM (SELECT owner_id, media_type, visibility, SUM(n) AS n
               FROM (SELECT owner_id, media_type, visibility, -1 AS n FROM removed
                     UNION ALL
                     SELECT owner_id, media_type, visibility, 1 AS n FROM added) c
              GROUP BY 1, 2, 3) d
      WHERE n <> 0;
    RETURN NULL;
END;
$$;
CREATE TRIGGER user_counts_inserted AFTER INSERT ON assets
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION user_counts_inserted();
CREATE TRIGGER user_counts_deleted AFTER DELETE ON assets
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION user_counts_deleted();
CREATE TRIGGER user_counts_updated AFTER UPDATE ON assets
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION user_counts_updated();

ANALYZE assets;
ANALYZE asset_tags;
ANALYZE tags;
