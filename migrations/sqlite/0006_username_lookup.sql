-- Names are found ignoring case with the same SQL on both backends:
-- `lower(u.username) = lower($1)`. Postgres has had this index since 0001 (as the unique
-- index); SQLite's column is `COLLATE NOCASE`, whose unique index that expression cannot
-- use. SQLite's lower() folds ASCII only, as NOCASE does.
CREATE INDEX idx_users_lower_username ON users (lower(username));
