-- Generation metadata within limits (SQLite). A file's metadata is kept up to the limits
-- of server/src/media/meta.rs (256 KiB a text, 512 KiB of raw JSON a file); what was over
-- them is named in `metadata_dropped` for the asset page. The bytes kept with an asset
-- (parsed, raw and that note: `metadata_bytes`) are charged to its owner's storage with
-- the file, and freed with the asset.

ALTER TABLE assets ADD COLUMN metadata_dropped TEXT;
ALTER TABLE assets ADD COLUMN metadata_bytes INTEGER NOT NULL DEFAULT 0;

-- Metadata stored before the limits and over them is let go, said so, and left to
-- `atelier reparse` (parser version 0) to read again from the file within the limits.
UPDATE assets SET
    raw_metadata = NULL,
    metadata_dropped = 'everything (it was stored before atelier limited metadata; '
        || '`atelier reparse` reads it again within the limits)',
    parser_version = 0
 WHERE length(CAST(raw_metadata AS BLOB)) > 524288;
UPDATE assets SET generation = NULL, parser_version = 0
 WHERE length(CAST(generation AS BLOB)) > 262144;

-- What the rest takes is charged now, as it will be freed when the asset goes.
UPDATE assets SET metadata_bytes = COALESCE(length(CAST(generation AS BLOB)), 0)
                                 + COALESCE(length(CAST(raw_metadata AS BLOB)), 0)
                                 + COALESCE(length(CAST(metadata_dropped AS BLOB)), 0)
 WHERE generation IS NOT NULL OR raw_metadata IS NOT NULL OR metadata_dropped IS NOT NULL;
UPDATE users SET storage_bytes = storage_bytes
    + (SELECT COALESCE(SUM(metadata_bytes), 0) FROM assets a WHERE a.owner_id = users.id);

-- 0005's triggers, now charging and freeing the metadata with the original.
DROP TRIGGER site_assets_insert;
DROP TRIGGER site_assets_delete;
CREATE TRIGGER site_assets_insert AFTER INSERT ON assets BEGIN
    UPDATE users SET
        asset_count = asset_count + 1,
        storage_bytes = storage_bytes
            + COALESCE((SELECT byte_size FROM files WHERE id = new.file_id), 0)
            + new.metadata_bytes
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
            - old.metadata_bytes
     WHERE id = old.owner_id;
    UPDATE site_totals SET
        assets = assets - 1,
        images = images - (old.media_type = 0),
        videos = videos - (old.media_type = 1),
        creators = creators
            - COALESCE((SELECT asset_count = 0 FROM users WHERE id = old.owner_id), 0)
     WHERE id = 1;
END;
