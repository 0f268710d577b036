-- Featured picks (Postgres): an admin features a public asset or collection; the shelf on
-- `/` and `sort=featured` list them, the most recently featured first.
--
-- `featured_at` is when it was featured, in Unix microseconds on both backends (an integer
-- the search cursor carries as it carries a count), NULL when it is not featured. Only a
-- few rows are ever featured, so each index holds only those.

ALTER TABLE assets ADD COLUMN featured_at BIGINT;
CREATE INDEX idx_assets_featured ON assets (featured_at, id) WHERE featured_at IS NOT NULL;

ALTER TABLE collections ADD COLUMN featured_at BIGINT;
CREATE INDEX idx_collections_featured ON collections (featured_at, id)
    WHERE featured_at IS NOT NULL;
