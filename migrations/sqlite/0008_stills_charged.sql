-- Stills and posters count against their owner's quota (SQLite). An asset charges its
-- owner for its original, each still it names (the 512 px thumbnail, the 1024 px preview,
-- a video's poster frame: each by the size of its file, also where two name the same
-- file) and the metadata kept with it (0007). The charge moves when a job sets or
-- replaces a still, and is freed with the asset.

UPDATE users SET storage_bytes = (
    SELECT COALESCE(SUM(
               COALESCE((SELECT byte_size FROM files WHERE id = a.file_id), 0)
             + COALESCE((SELECT byte_size FROM files WHERE id = a.thumb_file_id), 0)
             + COALESCE((SELECT byte_size FROM files WHERE id = a.preview_file_id), 0)
             + COALESCE((SELECT byte_size FROM files WHERE id = a.poster_file_id), 0)
             + a.metadata_bytes), 0)
      FROM assets a WHERE a.owner_id = users.id);

-- 0007's triggers, now charging and freeing the stills too.
DROP TRIGGER site_assets_insert;
DROP TRIGGER site_assets_delete;
CREATE TRIGGER site_assets_insert AFTER INSERT ON assets BEGIN
    UPDATE users SET
        asset_count = asset_count + 1,
        storage_bytes = storage_bytes
            + COALESCE((SELECT byte_size FROM files WHERE id = new.file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.thumb_file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.preview_file_id), 0)
            + COALESCE((SELECT byte_size FROM files WHERE id = new.poster_file_id), 0)
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
            - COALESCE((SELECT byte_size FROM files WHERE id = old.thumb_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.preview_file_id), 0)
            - COALESCE((SELECT byte_size FROM files WHERE id = old.poster_file_id), 0)
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
-- A still set or replaced (the thumbnail job, a finished upload's poster): the owner's
-- charge moves by the difference. Files are never changed in place, so the old sizes
-- read now are the sizes charged then.
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
