-- Share links (Postgres): a random token that opens one unlisted or private asset or
-- collection to whoever holds it. Only the token's SHA-256 is kept, as for sessions.

CREATE TABLE share_links (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id      TEXT        NOT NULL UNIQUE,
    token_hash     BYTEA       NOT NULL UNIQUE,
    owner_id       BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id       BIGINT REFERENCES assets (id) ON DELETE CASCADE ON UPDATE CASCADE,
    collection_id  BIGINT REFERENCES collections (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ,
    opens          BIGINT      NOT NULL DEFAULT 0,
    last_opened_at TIMESTAMPTZ,
    CHECK ((asset_id IS NULL) <> (collection_id IS NULL))
);
-- A person's links, newest first (their account page).
CREATE INDEX idx_share_links_owner ON share_links (owner_id, created_at);
CREATE INDEX idx_share_links_asset ON share_links (asset_id);
CREATE INDEX idx_share_links_collection ON share_links (collection_id);
