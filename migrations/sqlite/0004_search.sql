-- Search (SQLite): time-ordered asset ids, full-text search over title and prompt, indexes
-- for the filtered paths, per-tag and per-user counts.
--
-- An asset's id is its created_at (Unix microseconds), made unique by moving a clash on by
-- one microsecond. Newest-first is then id order everywhere at once: the table itself,
-- asset_tags (tag_id, asset_id), the owner/type/model indexes and the full-text index's
-- rowids; a date range is an id range, and a cursor is one integer.

-- Children are renumbered with their parent; checked when the migration commits.
PRAGMA defer_foreign_keys = ON;

-- new_id = n + max(created_at_j - j for j <= n): at least created_at, strictly increasing.
CREATE TEMP TABLE asset_renumber AS
WITH ordered AS (
    SELECT id, created_at, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM assets
)
SELECT id AS old_id,
       n + MAX(created_at - n) OVER (ORDER BY n ROWS UNBOUNDED PRECEDING) AS new_id
  FROM ordered;
CREATE UNIQUE INDEX temp.asset_renumber_old ON asset_renumber (old_id);

-- Through negative ids, so no new id meets an old one on the way.
UPDATE asset_tags SET asset_id = -(SELECT new_id FROM asset_renumber WHERE old_id = asset_id);
UPDATE jobs SET asset_id = -(SELECT new_id FROM asset_renumber WHERE old_id = asset_id);
UPDATE assets SET id = -(SELECT new_id FROM asset_renumber WHERE old_id = id);
UPDATE asset_tags SET asset_id = -asset_id;
UPDATE jobs SET asset_id = -asset_id;
UPDATE assets SET id = -id, created_at = -id;
DROP TABLE asset_renumber;

-- Every insert names its id, and it must be the creation time.
CREATE TRIGGER assets_id_is_created_at BEFORE INSERT ON assets
WHEN new.id IS NOT new.created_at
BEGIN
    SELECT RAISE(ABORT, 'assets.id must equal assets.created_at');
END;

-- Keyset pagination runs over id, globally and per owner / type / model / tag.
DROP INDEX idx_assets_created;
DROP INDEX idx_assets_owner;
DROP INDEX idx_assets_media_type;
CREATE INDEX idx_assets_owner ON assets (owner_id, id);
CREATE INDEX idx_assets_type  ON assets (media_type, id);
CREATE INDEX idx_assets_model ON assets (model COLLATE NOCASE, id);

-- Full text over title and prompt (one text, as Postgres indexes it). The tokenizer keeps
-- diacritics, as Postgres's 'simple' configuration does, so both backends agree.
ALTER TABLE assets ADD COLUMN search_text TEXT
    GENERATED ALWAYS AS (title || ' ' || prompt) VIRTUAL;
CREATE VIRTUAL TABLE assets_fts USING fts5(
    search_text,
    content = 'assets',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO assets_fts (assets_fts) VALUES ('rebuild');

CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO assets_fts (rowid, search_text) VALUES (new.id, new.title || ' ' || new.prompt);
END;
CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN
    INSERT INTO assets_fts (assets_fts, rowid, search_text)
    VALUES ('delete', old.id, old.title || ' ' || old.prompt);
END;
CREATE TRIGGER assets_fts_update AFTER UPDATE OF title, prompt ON assets BEGIN
    INSERT INTO assets_fts (assets_fts, rowid, search_text)
    VALUES ('delete', old.id, old.title || ' ' || old.prompt);
    INSERT INTO assets_fts (rowid, search_text) VALUES (new.id, new.title || ' ' || new.prompt);
END;

-- How many assets carry each tag (to start a multi-tag search from the rarest one).
ALTER TABLE tags ADD COLUMN asset_count INTEGER NOT NULL DEFAULT 0;
UPDATE tags SET asset_count = (SELECT COUNT(*) FROM asset_tags x WHERE x.tag_id = tags.id);
CREATE TRIGGER asset_tags_count_insert AFTER INSERT ON asset_tags BEGIN
    UPDATE tags SET asset_count = asset_count + 1 WHERE id = new.tag_id;
END;
CREATE TRIGGER asset_tags_count_delete AFTER DELETE ON asset_tags BEGIN
    UPDATE tags SET asset_count = asset_count - 1 WHERE id = old.tag_id;
END;

-- Each user's assets by type and visibility, for the profile's summary: kept exact by
-- triggers in the transaction of every write, never counted on a request.
CREATE TABLE user_counts (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    media_type INTEGER NOT NULL,
    visibility TEXT    NOT NULL,
    assets     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, media_type, visibility)
) WITHOUT ROWID;
INSERT INTO user_counts (user_id, media_type, visibility, assets)
SELECT owner_id, media_type, visibility, COUNT(*) FROM assets GROUP BY 1, 2, 3;

CREATE TRIGGER user_counts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO user_counts (user_id, media_type, visibility, assets)
    VALUES (new.owner_id, new.media_type, new.visibility, 1)
    ON CONFLICT (user_id, media_type, visibility) DO UPDATE SET assets = assets + 1;
END;
CREATE TRIGGER user_counts_delete AFTER DELETE ON assets BEGIN
    UPDATE user_counts SET assets = assets - 1
     WHERE user_id = old.owner_id AND media_type = old.media_type
       AND visibility = old.visibility;
END;
CREATE TRIGGER user_counts_update AFTER UPDATE OF owner_id, media_type, visibility ON assets
BEGIN
    UPDATE user_counts SET assets = assets - 1
     WHERE user_id = old.owner_id AND media_type = old.media_type
       AND visibility = old.visibility;
    INSERT INTO user_counts (user_id, media_type, visibility, assets)
    VALUES (new.owner_id, new.media_type, new.visibility, 1)
    ON CONFLICT (user_id, media_type, visibility) DO UPDATE SET assets = assets + 1;
END;

-- Fresh statistics for the planner (the indexes above changed).
ANALYZE;
