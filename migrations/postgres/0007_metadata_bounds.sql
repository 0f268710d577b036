-- Generation metadata within limits (PostgreSQL). A file's metadata is kept up to the
-- limits of server/src/media/meta.rs (256 KiB a text, 512 KiB of raw JSON a file); what
-- was over them is named in `metadata_dropped` for the asset page. The bytes kept with an
-- asset (parsed, raw and that note, as the server wrote them: `metadata_bytes`) are
-- charged to its owner's storage with the file, and freed with the asset.
-- (Numbered as SQLite's: one change, one number; Postgres needed no 0006.)

ALTER TABLE assets ADD COLUMN metadata_dropped TEXT;
ALTER TABLE assets ADD COLUMN metadata_bytes BIGINT NOT NULL DEFAULT 0;

-- Metadata stored before the limits and over them is let go, said so, and left to
-- `atelier reparse` (parser version 0) to read again from the file within the limits.
UPDATE assets SET
    raw_metadata = NULL,
    metadata_dropped = 'everything (it was stored before atelier limited metadata; '
        || '`atelier reparse` reads it again within the limits)',
    parser_version = 0
 WHERE octet_length(raw_metadata::text) > 524288;
UPDATE assets SET generation = NULL, parser_version = 0
 WHERE octet_length(generation::text) > 262144;

-- What the rest takes is charged now, as it will be freed when the asset goes.
UPDATE assets SET metadata_bytes = COALESCE(octet_length(generation::text), 0)
                                 + COALESCE(octet_length(raw_metadata::text), 0)
                                 + COALESCE(octet_length(metadata_dropped), 0)
 WHERE generation IS NOT NULL OR raw_metadata IS NOT NULL OR metadata_dropped IS NOT NULL;
UPDATE users u SET storage_bytes = u.storage_bytes + m.bytes
  FROM (SELECT owner_id, SUM(metadata_bytes) AS bytes FROM assets GROUP BY owner_id) m
 WHERE u.id = m.owner_id AND m.bytes > 0;

-- 0005's functions, now charging and freeing the metadata with the original.
DROP FUNCTION site_assets_apply(BIGINT, BIGINT[], SMALLINT[], BIGINT[]);
CREATE FUNCTION site_assets_apply(sign BIGINT, rows_owner BIGINT[], rows_type SMALLINT[],
                                  rows_file BIGINT[], rows_meta BIGINT[])
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    creators_delta BIGINT;
BEGIN
    PERFORM 1 FROM users WHERE id = ANY (rows_owner) ORDER BY id FOR UPDATE;
    WITH r AS (
        SELECT owner_id, media_type, file_id, meta_bytes
          FROM UNNEST(rows_owner, rows_type, rows_file, rows_meta)
            AS r(owner_id, media_type, file_id, meta_bytes)
    ), per_owner AS (
        SELECT r.owner_id, COUNT(*) AS n,
               COALESCE(SUM(f.byte_size), 0) + COALESCE(SUM(r.meta_bytes), 0) AS bytes
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
CREATE OR REPLACE FUNCTION site_assets_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(1,
        ARRAY(SELECT owner_id FROM added), ARRAY(SELECT media_type FROM added),
        ARRAY(SELECT file_id FROM added), ARRAY(SELECT metadata_bytes FROM added));
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION site_assets_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(-1,
        ARRAY(SELECT owner_id FROM removed), ARRAY(SELECT media_type FROM removed),
        ARRAY(SELECT file_id FROM removed), ARRAY(SELECT metadata_bytes FROM removed));
    RETURN NULL;
END;
$$;
