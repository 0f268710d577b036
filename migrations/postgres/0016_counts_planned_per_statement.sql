-- The like and view counts' triggers (0011, 0015) plan their UPDATEs on each run (Postgres
-- only: SQLite counts with row triggers).
--
-- PL/pgSQL keeps a statement's plan for the life of the connection, until the table's
-- statistics change. A plan made while `assets` was small joins it by scanning all of it
-- (a hash join), and a pooled connection kept that plan while the table grew: seeding a
-- million assets with their likes and views slowed from 50,000 assets a minute to 23,000
-- at 465,000, each batch of views scanning the whole table once more. Planned on each run
-- (EXECUTE), the update finds each counted asset by its key. Planning costs a fraction of
-- a millisecond, once per statement that adds likes or views, not per row.

CREATE OR REPLACE FUNCTION asset_views_counted() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'UPDATE users u SET views_received = u.views_received + o.views
               FROM (SELECT a.owner_id, COUNT(*) AS views
                       FROM added r JOIN assets a ON a.id = r.asset_id
                      GROUP BY a.owner_id) o
              WHERE u.id = o.owner_id';
    EXECUTE 'UPDATE assets a SET view_count = a.view_count + n.views
               FROM (SELECT asset_id, COUNT(*) AS views FROM added GROUP BY asset_id) n
              WHERE a.id = n.asset_id';
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION likes_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'UPDATE assets a SET like_count = a.like_count + n.likes
               FROM (SELECT asset_id, COUNT(*) AS likes FROM added GROUP BY asset_id) n
              WHERE a.id = n.asset_id';
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION likes_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'UPDATE assets a SET like_count = a.like_count - n.likes
               FROM (SELECT asset_id, COUNT(*) AS likes FROM removed GROUP BY asset_id) n
              WHERE a.id = n.asset_id';
    RETURN NULL;
END $$;
