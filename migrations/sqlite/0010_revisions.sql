-- Revisions (SQLite): every edit of an asset keeps what it changed, as it was before, so
-- its owner can read the history and restore an earlier version. `number` counts an
-- asset's revisions from 1; `fields` names the fields the edit changed (comma-separated)
-- and `old` holds their values before it (JSON). Revisions go with their asset.
CREATE TABLE asset_revisions (
    asset_id  INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    number    INTEGER NOT NULL,
    -- Who edited; NULL once their account is gone.
    editor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    at        INTEGER NOT NULL,
    fields    TEXT    NOT NULL,
    old       TEXT    NOT NULL,
    PRIMARY KEY (asset_id, number)
) WITHOUT ROWID;
CREATE INDEX idx_asset_revisions_editor ON asset_revisions (editor_id);
