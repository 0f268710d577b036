-- Likes counted per statement (Postgres only: SQLite has no statement triggers, and its
-- row trigger of 0011 is an in-place update there).
--
-- 0011 counted each like with a row trigger: one UPDATE of its asset per like, and each of
-- those UPDATEs ran the statement triggers on assets (0004, 0005, 0009) again, four
-- statements a like. Adding many at once (seed-demo's million assets, an import) spent
-- most of its time there. These count a whole statement's likes with one UPDATE, as 0011
-- does for views; one like at a time costs what it did.

DROP TRIGGER likes_count ON likes;
DROP FUNCTION likes_counted();

CREATE FUNCTION likes_added() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assets a SET like_count = a.like_count + n.likes
      FROM (SELECT asset_id, COUNT(*) AS likes FROM added GROUP BY asset_id) n
     WHERE a.id = n.asset_id;
    RETURN NULL;
END $$;

CREATE FUNCTION likes_removed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE assets a SET like_count = a.like_count - n.likes
      FROM (SELECT asset_id, COUNT(*) AS likes FROM removed GROUP BY asset_id) n
     WHERE a.id = n.asset_id;
    RETURN NULL;
END $$;

-- Only rows that were added or deleted reach the transition tables: a repeated like
-- (ON CONFLICT DO NOTHING) never counts.
CREATE TRIGGER likes_count_added AFTER INSERT ON likes
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION likes_added();
CREATE TRIGGER likes_count_removed AFTER DELETE ON likes
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION likes_removed();
