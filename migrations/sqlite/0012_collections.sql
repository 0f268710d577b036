-- Collections (SQLite): titled, ordered sets of assets people curate together, with
-- members in roles (viewer, contributor, editor; the owner is `owner_id`).
--
-- An item's `position` orders the collection (ascending; new items go to the end, 1,024
-- apart, so that a move usually fits between two neighbours without touching the rest).
-- Whether a person may see an item is decided where it is read: public and unlisted
-- assets show to whoever sees the collection; a private one to its owner, and to
-- everyone with access to a private collection holding it.

CREATE TABLE collections (
    id             INTEGER PRIMARY KEY,
    public_id      TEXT    NOT NULL UNIQUE,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    visibility     TEXT    NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'unlisted', 'private')),
    cover_asset_id INTEGER REFERENCES assets (id) ON DELETE SET NULL ON UPDATE CASCADE,
    -- Unix microseconds.
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
-- A person's collections, most recently changed first.
CREATE INDEX idx_collections_owner ON collections (owner_id, updated_at);
CREATE INDEX idx_collections_cover ON collections (cover_asset_id);

CREATE TABLE collection_items (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    asset_id      INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    position      INTEGER NOT NULL,
    added_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    added_at      INTEGER NOT NULL,
    -- In asset key order: a collection's grid newest first, like a tag's range.
    PRIMARY KEY (collection_id, asset_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX idx_collection_items_position ON collection_items (collection_id, position);
-- "In collections: …" on an asset's page.
CREATE INDEX idx_collection_items_asset ON collection_items (asset_id);
CREATE INDEX idx_collection_items_added_by ON collection_items (added_by);
-- A collection's newest addition (its cover when none is chosen).
CREATE INDEX idx_collection_items_added ON collection_items (collection_id, added_at);

CREATE TABLE collection_members (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'contributor', 'editor')),
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (collection_id, user_id)
) WITHOUT ROWID;
-- The collections a person is a member of.
CREATE INDEX idx_collection_members_user ON collection_members (user_id);
