-- Stills and posters count against their owner's quota (Postgres). An asset charges its
-- owner for its original, each still it names (the 512 px thumbnail, the 1024 px preview,
-- a video's poster frame: each by the size of its file, also where two name the same
-- file) and the metadata kept with it (0007). The charge moves when a job sets or
-- replaces a still, and is freed with the asset.

-- The bytes of the stills an asset names. Files are never changed in place, so what this
-- reads when a still goes is what it read when the still came.
CREATE FUNCTION asset_stills_bytes(thumb BIGINT, preview BIGINT, poster BIGINT)
RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT byte_size FROM files WHERE id = thumb), 0)
         + COALESCE((SELECT byte_size FROM files WHERE id = preview), 0)
         + COALESCE((SELECT byte_size FROM files WHERE id = poster), 0)
$$;

UPDATE users u SET storage_bytes = COALESCE((
    SELECT SUM(COALESCE(f.byte_size, 0) + a.metadata_bytes
               + asset_stills_bytes(a.thumb_file_id, a.preview_file_id, a.poster_file_id))
      FROM assets a LEFT JOIN files f ON f.id = a.file_id
     WHERE a.owner_id = u.id), 0);

-- 0007's functions: what an asset charges beyond its original is its metadata and stills.
CREATE OR REPLACE FUNCTION site_assets_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(1,
        ARRAY(SELECT owner_id FROM added), ARRAY(SELECT media_type FROM added),
        ARRAY(SELECT file_id FROM added),
        ARRAY(SELECT metadata_bytes
                     + asset_stills_bytes(thumb_file_id, preview_file_id, poster_file_id)
                FROM added));
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION site_assets_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM site_assets_apply(-1,
        ARRAY(SELECT owner_id FROM removed), ARRAY(SELECT media_type FROM removed),
        ARRAY(SELECT file_id FROM removed),
        ARRAY(SELECT metadata_bytes
                     + asset_stills_bytes(thumb_file_id, preview_file_id, poster_file_id)
                FROM removed));
    RETURN NULL;
END;
$$;

-- A still set or replaced: the owner's charge moves by the difference. Writers take the
-- owner's row first (Backend::lock_counters), so this never waits on it.
CREATE FUNCTION assets_stills_update() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET storage_bytes = storage_bytes
        + asset_stills_bytes(new.thumb_file_id, new.preview_file_id, new.poster_file_id)
        - asset_stills_bytes(old.thumb_file_id, old.preview_file_id, old.poster_file_id)
     WHERE id = new.owner_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER assets_stills_update
    AFTER UPDATE OF thumb_file_id, preview_file_id, poster_file_id ON assets
    FOR EACH ROW
    WHEN (old.thumb_file_id IS DISTINCT FROM new.thumb_file_id
       OR old.preview_file_id IS DISTINCT FROM new.preview_file_id
       OR old.poster_file_id IS DISTINCT FROM new.poster_file_id)
    EXECUTE FUNCTION assets_stills_update();
