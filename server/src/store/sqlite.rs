//! SQLite: the embedded default. WAL, `synchronous=NORMAL`, foreign keys on, a busy
//! timeout, pages read through a memory map; one writer connection (so transactions never
//! fight over the write lock) and a small pool of readers.

use std::{collections::HashMap, str::FromStr, time::Duration};

use app::account::{Role, UserStatus};
use app::model::{AssetPage, Facets};
use app::stats::{Day, FeatureUsage, NamedCount, SiteTotals};
use app::store::{
    ActiveSession, AssetId, AssetMedia, AssetQuery, ClaimedJob, Credentials, EndSessions, FileId,
    FinishOutcome, FinishUpload, JobOutput, NewAsset, NewFile, NewSession, NewUpload, NewUser,
    ProfileRecord, ReparseItem, SessionId, SessionRecord, Store, StoreError, StoredRef,
    UploadRecord, UsageEvent, UsageRollup, User, UserFeatureCount, UserFigures, UserId,
};
use app::upload::{JobInfo, Visibility};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use app::search::Search;

use super::search::{self, SearchPlan};
use super::usage;
use super::{
    col, db_error, into_page, job_info, opt_i32, profile_record, site_totals, stored_file,
    stored_ref, stored_ref_columns, unique_files, unique_keys, user_figures, user_from_row,
    username_taken, AssetRow, FileRow, FoundTags, OpenError, FILE_COLUMNS, FILE_JOINS,
    USER_COLUMNS, USER_RETURNING,
};

const BACKEND: &str = "sqlite";

/// Rows per multi-row `INSERT` (19 parameters each, far below SQLite's 32,766 limit).
const ROWS_PER_INSERT: usize = 200;
/// How far an asset's key may move past taken ones (one microsecond each).
const MAX_KEY_MOVES: usize = 1_000;
/// Full-text index segments tolerated before [`Store::tidy_search_index`] merges them.
const MAX_FTS_SEGMENTS: i64 = 4;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// `(name, id, asset_count)` of the tags a search names that exist.
    async fn find_tags(&self, search: &Search) -> Result<FoundTags, StoreError> {
        let names: Vec<&String> = search.tags.iter().chain(&search.exclude_tags).collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT name, id, asset_count FROM tags WHERE name IN (");
        let mut list = query.separated(", ");
        for name in names {
            list.push_bind(name);
        }
        query.push(")");
        query
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)
    }

    /// The owner a search names (`Some(None)` when nobody here has that name) and the tags
    /// it names that exist.
    async fn resolve(
        &self,
        search: &Search,
    ) -> Result<(Option<Option<i64>>, FoundTags), StoreError> {
        let owner = match &search.owner {
            None => None,
            Some(name) => Some(self.find_user(name).await?.map(|u| u.id.0)),
        };
        Ok((owner, self.find_tags(search).await?))
    }

    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| OpenError::BadUrl {
                backend: BACKEND,
                reason: e.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000")
            .pragma("mmap_size", "1073741824");
        let connect_error = |e: sqlx::Error| OpenError::Connect {
            backend: BACKEND,
            reason: e.to_string(),
        };
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| OpenError::Migrate {
                backend: BACKEND,
                reason: e.to_string(),
            })?;
        let readers = std::thread::available_parallelism()
            .map(|n| n.get() as u32 * 2)
            .unwrap_or(4)
            .clamp(2, 16);
        let reader = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await
            .map_err(connect_error)?;
        Ok(SqliteStore { writer, reader })
    }
}

/// The matches of a search, written after `FROM`: the page's ids are read in key order
/// from the narrowest ordered source (the full-text index, whose rowids are asset keys;
/// the rarest tag's asset_tags range; or an assets index the planner picks), and
/// everything else is checked per row. Returns the source's key column.
fn push_matches<'q>(core: &mut QueryBuilder<'q, Sqlite>, plan: &SearchPlan<'q>) -> &'static str {
    let (key, extra_tags) = if let Some(text) = &plan.text {
        core.push(
            "assets_fts CROSS JOIN assets a ON a.id = assets_fts.rowid WHERE assets_fts MATCH ",
        )
        .push_bind(text.fts5());
        ("assets_fts.rowid", &plan.include[..])
    } else if let Some((tag, rest)) = plan.include.split_first() {
        core.push("asset_tags d CROSS JOIN assets a ON a.id = d.asset_id WHERE d.tag_id = ")
            .push_bind(*tag);
        ("d.asset_id", rest)
    } else {
        core.push("assets a WHERE 1 = 1");
        ("a.id", &[][..])
    };
    search::push_filters(
        core,
        plan,
        key,
        extra_tags,
        ("a.model = ", " COLLATE NOCASE"),
    );
    key
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Database(format!("timestamp out of range: {micros}")))
}

/// Tags travel as one string joined by the unit separator, sorted by name.
const TAG_SEPARATOR: char = '\u{1f}';

const ASSET_COLUMNS: &str = "
    a.id, a.public_id, a.title, a.prompt, a.model, a.media_type, a.width, a.height, a.duration_ms,
    a.created_at, u.username AS owner, th.sha256 AS thumb_sha256,
    pv.sha256 AS preview_sha256, a.visibility,
    (SELECT group_concat(t.name, char(31) ORDER BY t.name)
       FROM asset_tags x JOIN tags t ON t.id = x.tag_id
      WHERE x.asset_id = a.id) AS tags";

const ASSET_FROM: &str = "
    FROM assets a
    JOIN users u ON u.id = a.owner_id
    LEFT JOIN files th ON th.id = a.thumb_file_id
    LEFT JOIN files pv ON pv.id = a.preview_file_id";

fn asset_row(row: &SqliteRow) -> Result<AssetRow, StoreError> {
    let tags: Option<String> = col(row, "tags")?;
    let tags = tags
        .map(|t| t.split(TAG_SEPARATOR).map(str::to_string).collect())
        .unwrap_or_default();
    AssetRow::read(row, from_micros(col(row, "created_at")?)?, tags)
}

fn user_row(row: &SqliteRow) -> Result<User, StoreError> {
    let last_login: Option<i64> = col(row, "last_login_at")?;
    user_from_row(
        row,
        from_micros(col(row, "created_at")?)?,
        last_login.map(from_micros).transpose()?,
    )
}

fn session_record(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: SessionId(col(row, "id")?),
        public_id: col(row, "public_id")?,
        created_at: from_micros(col(row, "created_at")?)?,
        last_seen_at: from_micros(col(row, "last_seen_at")?)?,
        ip: col(row, "ip")?,
        user_agent: col(row, "user_agent")?,
        device: col(row, "device")?,
    })
}

/// Inserts rows with the keys given, skipping any whose key is taken; returns the
/// `(public_id, key)` of the rows inserted.
async fn insert_keyed(
    conn: &mut sqlx::SqliteConnection,
    rows: &[(i64, &NewAsset)],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO assets
            (id, public_id, owner_id, title, prompt, model, media_type, file_id,
             thumb_file_id, width, height, duration_ms, created_at, negative_prompt,
             visibility, original_filename, preview_file_id, generation, raw_metadata,
             parser_version) ",
    );
    insert.push_values(rows, |mut row, (key, asset)| {
        row.push_bind(*key)
            .push_bind(&asset.public_id)
            .push_bind(asset.owner.0)
            .push_bind(&asset.title)
            .push_bind(&asset.prompt)
            .push_bind(&asset.model)
            .push_bind(asset.media_type.code())
            .push_bind(asset.file.map(|f| f.0))
            .push_bind(asset.thumb.map(|f| f.0))
            .push_bind(opt_i32(asset.width))
            .push_bind(opt_i32(asset.height))
            .push_bind(opt_i32(asset.duration_ms))
            .push_bind(*key)
            .push_bind(&asset.negative_prompt)
            .push_bind(asset.visibility.as_str())
            .push_bind(&asset.original_filename)
            .push_bind(asset.preview.map(|f| f.0))
            .push_bind(&asset.generation)
            .push_bind(&asset.raw_metadata)
            .push_bind(i64::from(asset.parser_version));
    });
    insert.push(" ON CONFLICT (id) DO NOTHING RETURNING public_id, id");
    insert
        .build_query_as::<(String, i64)>()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)
}

/// Inserts assets and their tags on `conn` (inside the caller's transaction); returns the
/// new rows' ids in the order given. Each asset's id is its creation time in microseconds;
/// a time already taken moves on by a microsecond until it is free.
async fn insert_assets(
    conn: &mut sqlx::SqliteConnection,
    assets: &[NewAsset],
) -> Result<Vec<AssetId>, StoreError> {
    let mut tag_ids: HashMap<&str, i64> = HashMap::new();
    let mut out = Vec::with_capacity(assets.len());
    let keys = unique_keys(assets);
    // Multi-row statements: a handful per chunk instead of several per asset.
    for (chunk, keys) in assets
        .chunks(ROWS_PER_INSERT)
        .zip(keys.chunks(ROWS_PER_INSERT))
    {
        let mut pending: Vec<(i64, &NewAsset)> = keys.iter().copied().zip(chunk).collect();
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(chunk.len());
        for _ in 0..MAX_KEY_MOVES {
            if pending.is_empty() {
                break;
            }
            ids.extend(insert_keyed(conn, &pending).await?);
            pending.retain(|(_, asset)| !ids.contains_key(&asset.public_id));
            for (key, _) in &mut pending {
                *key += 1;
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Database(format!(
                "no free asset key near {} after {MAX_KEY_MOVES} tries",
                pending[0].0
            )));
        }

        let mut links = Vec::new();
        for asset in chunk {
            let asset_id = *ids.get(&asset.public_id).ok_or_else(|| {
                StoreError::Database(format!("insert did not return asset {}", asset.public_id))
            })?;
            out.push(AssetId(asset_id));
            for tag in &asset.tags {
                let tag_id = match tag_ids.get(tag.as_str()) {
                    Some(id) => *id,
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO tags (name) VALUES (?)
                             ON CONFLICT (name) DO UPDATE SET name = excluded.name
                             RETURNING id",
                        )
                        .bind(tag)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(db_error)?;
                        tag_ids.insert(tag, id);
                        id
                    }
                };
                links.push((asset_id, tag_id));
            }
        }
        for links in links.chunks(ROWS_PER_INSERT * 4) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO asset_tags (asset_id, tag_id) ");
            insert.push_values(links, |mut row, (asset_id, tag_id)| {
                row.push_bind(*asset_id).push_bind(*tag_id);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(&mut *conn).await.map_err(db_error)?;
        }
    }
    Ok(out)
}

/// Records a file on `conn`; the same SHA-256 twice returns the existing row.
async fn put_file(conn: &mut sqlx::SqliteConnection, file: &NewFile) -> Result<FileId, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO files
            (sha256, byte_size, mime_type, width, height, duration_ms, storage_path, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256
         RETURNING id",
    )
    .bind(&file.sha256)
    .bind(i64::try_from(file.byte_size).unwrap_or(i64::MAX))
    .bind(&file.mime_type)
    .bind(opt_i32(file.width))
    .bind(opt_i32(file.height))
    .bind(opt_i32(file.duration_ms))
    .bind(&file.storage_path)
    .bind(micros(file.created_at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(FileId(id))
}

fn upload_record(row: &SqliteRow) -> Result<UploadRecord, StoreError> {
    let error: Option<String> = col(row, "error")?;
    let status: Option<i64> = col(row, "error_status")?;
    Ok(UploadRecord {
        public_id: col(row, "public_id")?,
        owner: UserId(col(row, "owner_id")?),
        filename: col(row, "filename")?,
        byte_size: u64::try_from(col::<_, i64>(row, "byte_size")?).unwrap_or(0),
        received: u64::try_from(col::<_, i64>(row, "received")?).unwrap_or(0),
        expected_sha256: col(row, "expected_sha256")?,
        probe: col(row, "probe")?,
        error: error.map(|e| (e, status.and_then(|s| u16::try_from(s).ok()).unwrap_or(422))),
        created_at: from_micros(col(row, "created_at")?)?,
        updated_at: from_micros(col(row, "updated_at")?)?,
        expires_at: from_micros(col(row, "expires_at")?)?,
    })
}

fn job_row(row: &SqliteRow) -> Result<JobInfo, StoreError> {
    let started: Option<i64> = col(row, "started_at")?;
    let finished: Option<i64> = col(row, "finished_at")?;
    job_info(
        row,
        started.map(from_micros).transpose()?,
        finished.map(from_micros).transpose()?,
    )
}

const JOB_COLUMNS: &str = "state, progress, attempts, error, started_at, finished_at";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE")
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn tidy_search_index(&self) -> Result<bool, StoreError> {
        // Every write adds a segment to the FTS5 index and FTS5 merges them only level by
        // level, so a search walks a dozen or more; one segment makes a word search about
        // five times cheaper (0.15 → 0.03 ms at a million assets), and merging them all
        // takes about 1.5 s there.
        let segments: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT segid) FROM assets_fts_idx")
            .fetch_one(&self.writer)
            .await
            .map_err(db_error)?;
        if segments <= MAX_FTS_SEGMENTS {
            return Ok(false);
        }
        sqlx::query("INSERT INTO assets_fts (assets_fts) VALUES ('optimize')")
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(true)
    }

    async fn close(&self) {
        self.reader.close().await;
        // Fold the WAL back into the main file so a copied database is complete.
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(%err, "WAL checkpoint at shutdown failed");
        }
        self.writer.close().await;
    }

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        // One writer connection: the "is this the first account?" check and the insert
        // cannot interleave with another sign-up.
        let row = sqlx::query(&format!(
            "INSERT INTO users (public_id, username, password_hash, role, created_at)
             VALUES (?, ?, ?,
                     CASE WHEN ? IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)
                          THEN 'admin' ELSE ? END,
                     ?)
             RETURNING {USER_RETURNING}"
        ))
        .bind(&user.public_id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(micros(user.created_at))
        .fetch_one(&self.writer)
        .await
        .map_err(|e| username_taken(e, &user.username))?;
        user_row(&row)
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?"
        ))
        .bind(username)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    async fn find_credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?"
        ))
        .bind(username)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            user: user_row(&row)?,
            password_hash: col(&row, "password_hash")?,
        }))
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        end: EndSessions,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let keep = match end {
            EndSessions::None => None,
            EndSessions::All => Some(-1),
            EndSessions::AllExcept(keep) => Some(keep.0),
        };
        if let Some(keep) = keep {
            sqlx::query("DELETE FROM user_sessions WHERE user_id = ? AND id <> ?")
                .bind(user.0)
                .bind(keep)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn set_role(&self, username: &str, role: Role) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "UPDATE users SET role = ? WHERE username = ? RETURNING {USER_RETURNING}"
        ))
        .bind(role.as_str())
        .bind(username)
        .fetch_optional(&self.writer)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    async fn set_status(
        &self,
        username: &str,
        status: UserStatus,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let Some(row) = sqlx::query(&format!(
            "UPDATE users SET status = ? WHERE username = ? RETURNING {USER_RETURNING}"
        ))
        .bind(status.as_str())
        .bind(username)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        let user = user_row(&row)?;
        if status == UserStatus::Disabled {
            sqlx::query("DELETE FROM user_sessions WHERE user_id = ?")
                .bind(user.id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(Some(user))
    }

    async fn list_accounts(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.password_hash IS NOT NULL
             ORDER BY u.created_at, u.id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?
        .iter()
        .map(user_row)
        .collect()
    }

    async fn start_session(
        &self,
        user: UserId,
        session: &NewSession,
    ) -> Result<SessionId, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO user_sessions
                (public_id, user_id, token_hash, created_at, last_seen_at, expires_at,
                 absolute_expires_at, ip, user_agent, device)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             RETURNING id",
        )
        .bind(&session.public_id)
        .bind(user.0)
        .bind(&session.token_hash[..])
        .bind(micros(session.created_at))
        .bind(micros(session.created_at))
        .bind(micros(session.expires_at))
        .bind(micros(session.absolute_expires_at))
        .bind(&session.ip)
        .bind(&session.user_agent)
        .bind(&session.device)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "UPDATE users SET login_count = login_count + 1, last_login_at = ? WHERE id = ?",
        )
        .bind(micros(session.created_at))
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(SessionId(id))
    }

    async fn find_session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveSession>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.id AS session_id, s.public_id AS session_public_id,
                    s.last_seen_at AS session_last_seen, s.expires_at AS session_expires,
                    s.absolute_expires_at AS session_absolute
               FROM user_sessions s JOIN users u ON u.id = s.user_id
              WHERE s.token_hash = ? AND s.expires_at > ? AND s.absolute_expires_at > ?
                AND u.status = 'enabled'"
        ))
        .bind(&token_hash[..])
        .bind(micros(now))
        .bind(micros(now))
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some(ActiveSession {
            id: SessionId(col(&row, "session_id")?),
            public_id: col(&row, "session_public_id")?,
            user: user_row(&row)?,
            last_seen_at: from_micros(col(&row, "session_last_seen")?)?,
            expires_at: from_micros(col(&row, "session_expires")?)?,
            absolute_expires_at: from_micros(col(&row, "session_absolute")?)?,
        }))
    }

    async fn touch_session(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE user_sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?")
            .bind(micros(now))
            .bind(micros(expires_at))
            .bind(session.0)
            .execute(&self.writer)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE token_hash = ?")
            .bind(&token_hash[..])
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sqlx::query(
            "SELECT id, public_id, created_at, last_seen_at, ip, user_agent, device
               FROM user_sessions
              WHERE user_id = ? AND expires_at > ? AND absolute_expires_at > ?
              ORDER BY last_seen_at DESC, id DESC",
        )
        .bind(user.0)
        .bind(micros(now))
        .bind(micros(now))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?
        .iter()
        .map(session_record)
        .collect()
    }

    async fn revoke_session(&self, user: UserId, public_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = ? AND public_id = ?")
            .bind(user.0)
            .bind(public_id)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_other_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = ? AND id <> ?")
            .bind(user.0)
            .bind(keep.map_or(-1, |k| k.0))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM user_sessions WHERE expires_at <= ? OR absolute_expires_at <= ?",
        )
        .bind(micros(now))
        .bind(micros(now))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                             updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(micros(now))
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn list_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as("SELECT key, value FROM settings ORDER BY key")
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)
    }

    async fn put_file(&self, file: &NewFile) -> Result<FileId, StoreError> {
        let mut conn = self.writer.acquire().await.map_err(db_error)?;
        put_file(&mut conn, file).await
    }

    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        insert_assets(&mut tx, assets).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn search_assets(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
        let (owner, found) = self.resolve(&query.search).await?;
        let Some(plan) = SearchPlan::new(query, owner, &found) else {
            return Ok(AssetPage {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        // A relevance sort takes the newest candidates and ranks them by bm25.
        let mut core = search::start::<Sqlite>(ASSET_COLUMNS);
        core.push(if plan.relevant {
            "bm25(assets_fts) AS score FROM "
        } else {
            "NULL AS score FROM "
        });
        let key = push_matches(&mut core, &plan);
        search::push_page(&mut core, &plan, key);
        let rows = core
            .build()
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        let rows = rows
            .iter()
            .map(|row| Ok((asset_row(row)?, col::<_, Option<f64>>(row, "score")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        into_page(rows, plan.limit, plan.sort)
    }

    async fn facets(&self, search: &Search, viewer: Option<UserId>) -> Result<Facets, StoreError> {
        let query = AssetQuery::facets(search, viewer);
        let (owner, found) = self.resolve(search).await?;
        let Some(plan) = SearchPlan::new(&query, owner, &found) else {
            return Ok(Facets::default());
        };
        let rows = search::facets_query(&plan, push_matches, ("CROSS JOIN", ""))
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        search::facets_from_rows(rows)
    }

    async fn profile(&self, username: &str) -> Result<Option<ProfileRecord>, StoreError> {
        let Some(user) = self.find_user(username).await? else {
            return Ok(None);
        };
        let counts: Vec<(i16, String, i64)> = sqlx::query_as(
            "SELECT media_type, visibility, assets FROM user_counts WHERE user_id = ?",
        )
        .bind(user.id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        let figures: (i64, i64) =
            sqlx::query_as("SELECT views_received, storage_bytes FROM users WHERE id = ?")
                .bind(user.id.0)
                .fetch_one(&self.reader)
                .await
                .map_err(db_error)?;
        Ok(Some(profile_record(user, &counts, figures)))
    }

    async fn count_assets(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn view_asset(
        &self,
        public_id: &str,
        viewer: Option<UserId>,
    ) -> Result<Option<app::model::AssetDetail>, StoreError> {
        // The job first: a job seen done was committed with its thumbnails, so the asset
        // read next shows them.
        let job = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs
              WHERE asset_id = (SELECT id FROM assets WHERE public_id = ?)
              ORDER BY id DESC LIMIT 1"
        ))
        .bind(public_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        .map(|row| job_row(&row))
        .transpose()?;
        let Some(row) = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS}, {FILE_COLUMNS} {ASSET_FROM}
             {FILE_JOINS}
             WHERE a.public_id = ? AND (a.visibility = 'public' OR a.owner_id = ?)"
        ))
        .bind(public_id)
        .bind(viewer.map(|v| v.0))
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        asset_row(&row)?
            .into_detail(FileRow::read(&row)?, job)
            .map(Some)
    }

    async fn asset_media(&self, public_id: &str) -> Result<Option<AssetMedia>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT a.owner_id, a.visibility, a.title, a.original_filename, {}, {}, {}
               FROM assets a
               LEFT JOIN files f ON f.id = a.file_id
               LEFT JOIN files th ON th.id = a.thumb_file_id
               LEFT JOIN files pv ON pv.id = a.preview_file_id
              WHERE a.public_id = ?",
            stored_ref_columns("f", "original"),
            stored_ref_columns("th", "thumb"),
            stored_ref_columns("pv", "preview"),
        ))
        .bind(public_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        let Some(row) = row else { return Ok(None) };
        let visibility: String = col(&row, "visibility")?;
        Ok(Some(AssetMedia {
            owner: UserId(col(&row, "owner_id")?),
            visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Private),
            title: col(&row, "title")?,
            original_filename: col(&row, "original_filename")?,
            original: stored_ref(&row, "original")?,
            thumb: stored_ref(&row, "thumb")?,
            preview: stored_ref(&row, "preview")?,
        }))
    }

    async fn create_upload(&self, upload: &NewUpload) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO uploads (public_id, owner_id, filename, byte_size, expected_sha256,
                                  created_at, updated_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&upload.public_id)
        .bind(upload.owner.0)
        .bind(&upload.filename)
        .bind(i64::try_from(upload.byte_size).unwrap_or(i64::MAX))
        .bind(&upload.expected_sha256)
        .bind(micros(upload.created_at))
        .bind(micros(upload.created_at))
        .bind(micros(upload.expires_at))
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn find_upload(&self, public_id: &str) -> Result<Option<UploadRecord>, StoreError> {
        // The writer: a chunk's receipt must be visible to the very next request.
        sqlx::query("SELECT * FROM uploads WHERE public_id = ?")
            .bind(public_id)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)?
            .map(|row| upload_record(&row))
            .transpose()
    }

    async fn set_upload_received(
        &self,
        public_id: &str,
        received: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE uploads SET received = MAX(received, ?), updated_at = ? WHERE public_id = ?",
        )
        .bind(i64::try_from(received).unwrap_or(i64::MAX))
        .bind(micros(now))
        .bind(public_id)
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn set_upload_result(
        &self,
        public_id: &str,
        probe: Option<&str>,
        error: Option<(&str, u16)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE uploads SET probe = ?, error = ?, error_status = ?, updated_at = ?
              WHERE public_id = ?",
        )
        .bind(probe)
        .bind(error.map(|(e, _)| e))
        .bind(error.map(|(_, s)| i64::from(s)))
        .bind(micros(now))
        .bind(public_id)
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn delete_upload(&self, public_id: &str) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM uploads WHERE public_id = ?")
            .bind(public_id)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(db_error)
    }

    async fn expired_uploads(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT public_id FROM uploads WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
        )
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(db_error)
    }

    async fn storage_used(&self, user: UserId) -> Result<u64, StoreError> {
        let used: Option<i64> = sqlx::query_scalar("SELECT storage_bytes FROM users WHERE id = ?")
            .bind(user.0)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(used.and_then(|u| u64::try_from(u).ok()).unwrap_or(0))
    }

    async fn finish_upload(&self, finish: &FinishUpload) -> Result<FinishOutcome, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let gone = sqlx::query("DELETE FROM uploads WHERE public_id = ? AND owner_id = ?")
            .bind(&finish.upload_id)
            .bind(finish.asset.owner.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
            == 0;
        if gone {
            return Ok(FinishOutcome::UploadGone);
        }
        let size = i64::try_from(finish.file.byte_size).unwrap_or(i64::MAX);
        let quota = i64::try_from(finish.quota).unwrap_or(i64::MAX);
        // The asset's insert trigger charges the bytes; this checks there is room for them
        // (and holds the owner's row until the commit).
        let charged = sqlx::query(
            "UPDATE users SET storage_bytes = storage_bytes
              WHERE id = ? AND storage_bytes + ? <= ?",
        )
        .bind(finish.asset.owner.0)
        .bind(size)
        .bind(quota)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected()
            > 0;
        if !charged {
            drop(tx);
            let used = self.storage_used(finish.asset.owner).await?;
            return Ok(FinishOutcome::QuotaExceeded { used });
        }
        let file = put_file(&mut tx, &finish.file).await?;
        let mut asset = finish.asset.clone();
        asset.file = Some(file);
        asset.thumb = None;
        asset.preview = None;
        let ids = insert_assets(&mut tx, std::slice::from_ref(&asset)).await?;
        if let (Some(poster), Some(id)) = (&finish.poster, ids.first()) {
            let poster = put_file(&mut tx, poster).await?;
            sqlx::query("UPDATE assets SET poster_file_id = ? WHERE id = ?")
                .bind(poster.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        for id in ids {
            sqlx::query(
                "INSERT INTO jobs (asset_id, kind, created_at) VALUES (?, 'thumbnails', ?)",
            )
            .bind(id.0)
            .bind(micros(asset.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(FinishOutcome::Finished)
    }

    async fn file_exists(&self, sha256: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT 1 FROM files WHERE sha256 = ?")
            .bind(sha256)
            .fetch_optional(&self.writer)
            .await
            .map(|row| row.is_some())
            .map_err(db_error)
    }

    async fn known_storage_paths(&self, paths: &[String]) -> Result<Vec<String>, StoreError> {
        let mut known = Vec::new();
        for chunk in paths.chunks(500) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT storage_path FROM files WHERE storage_path IN (",
            );
            let mut list = query.separated(", ");
            for path in chunk {
                list.push_bind(path);
            }
            query.push(")");
            let rows: Vec<String> = query
                .build_query_scalar()
                .fetch_all(&self.writer)
                .await
                .map_err(db_error)?;
            known.extend(rows);
        }
        Ok(known)
    }

    async fn claim_job(&self, now: DateTime<Utc>) -> Result<Option<ClaimedJob>, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let claimed: Option<(i64, i64, i64)> = sqlx::query_as(
            "UPDATE jobs SET state = 'processing', progress = 0, attempts = attempts + 1,
                             started_at = ?, finished_at = NULL, error = NULL
              WHERE id = (SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1)
              RETURNING id, asset_id, attempts",
        )
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some((id, asset_id, attempts)) = claimed else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "SELECT a.public_id, {}, {} FROM assets a
               LEFT JOIN files f ON f.id = a.file_id
               LEFT JOIN files p ON p.id = a.poster_file_id
              WHERE a.id = ?",
            stored_ref_columns("f", "original"),
            stored_ref_columns("p", "poster")
        ))
        .bind(asset_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        let job = ClaimedJob {
            id,
            asset: AssetId(asset_id),
            asset_public_id: col(&row, "public_id")?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            original: stored_ref(&row, "original")?,
            poster: stored_ref(&row, "poster")?,
        };
        tx.commit().await.map_err(db_error)?;
        Ok(Some(job))
    }

    async fn set_job_progress(&self, job: i64, progress: u8) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET progress = ? WHERE id = ? AND state = 'processing'")
            .bind(i64::from(progress.min(100)))
            .bind(job)
            .execute(&self.writer)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn complete_job(
        &self,
        job: &ClaimedJob,
        output: &JobOutput,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let thumb = match &output.thumb {
            Some(file) => Some(put_file(&mut tx, file).await?.0),
            None => None,
        };
        let preview = match &output.preview {
            Some(file) => Some(put_file(&mut tx, file).await?.0),
            None => None,
        };
        sqlx::query("UPDATE assets SET thumb_file_id = ?, preview_file_id = ? WHERE id = ?")
            .bind(thumb)
            .bind(preview)
            .bind(job.asset.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "UPDATE jobs SET state = 'done', progress = 100, error = ?, finished_at = ?
              WHERE id = ?",
        )
        .bind(&output.note)
        .bind(micros(now))
        .bind(job.id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn fail_job(&self, job: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE id = ?")
            .bind(error)
            .bind(micros(now))
            .bind(job)
            .execute(&self.writer)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn requeue_interrupted_jobs(&self) -> Result<u64, StoreError> {
        sqlx::query("UPDATE jobs SET state = 'pending', progress = 0 WHERE state = 'processing'")
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected())
            .map_err(db_error)
    }

    async fn retry_job(
        &self,
        asset_public_id: &str,
        owner: UserId,
    ) -> Result<Option<JobInfo>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE jobs SET state = 'pending', progress = 0, error = NULL, finished_at = NULL
              WHERE id = (SELECT j.id FROM jobs j JOIN assets a ON a.id = j.asset_id
                           WHERE a.public_id = ? AND a.owner_id = ?
                           ORDER BY j.id DESC LIMIT 1)
                AND state IN ('failed', 'done')
              RETURNING {JOB_COLUMNS}"
        ))
        .bind(asset_public_id)
        .bind(owner.0)
        .fetch_optional(&self.writer)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => job_row(&row).map(Some),
            None => {
                // Not retried: already queued or running (say so), or not theirs (None).
                sqlx::query(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs j JOIN assets a ON a.id = j.asset_id
                      WHERE a.public_id = ? AND a.owner_id = ? ORDER BY j.id DESC LIMIT 1"
                ))
                .bind(asset_public_id)
                .bind(owner.0)
                .fetch_optional(&self.writer)
                .await
                .map_err(db_error)?
                .map(|row| job_row(&row))
                .transpose()
            }
        }
    }

    async fn reparse_batch(
        &self,
        version: u32,
        after: AssetId,
        limit: u32,
    ) -> Result<Vec<ReparseItem>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT a.id, a.public_id, {} FROM assets a JOIN files f ON f.id = a.file_id
              WHERE a.id > ? AND a.parser_version < ? ORDER BY a.id LIMIT ?",
            stored_ref_columns("f", "original")
        ))
        .bind(after.0)
        .bind(i64::from(version))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            // An inner join: every row has its original.
            if let Some(original) = stored_ref(row, "original")? {
                items.push(ReparseItem {
                    asset: AssetId(col(row, "id")?),
                    public_id: col(row, "public_id")?,
                    original,
                });
            }
        }
        Ok(items)
    }

    async fn site_totals(&self) -> Result<SiteTotals, StoreError> {
        let row: Option<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT users, assets, images, videos, creators, storage_bytes
               FROM site_totals WHERE id = 1",
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        row.map(site_totals)
            .ok_or_else(|| usage::totals_error("site_totals"))
    }

    async fn count_site_totals(&self) -> Result<SiteTotals, StoreError> {
        let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT total_users, total_assets, total_images, total_videos, active_creators,
                    (SELECT CAST(COALESCE(SUM(byte_size), 0) AS BIGINT) FROM files)
               FROM site_stats",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(site_totals(row))
    }

    async fn delete_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
    ) -> Result<Option<Vec<StoredRef>>, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let row: Option<(i64, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> =
            sqlx::query_as(
                "SELECT id, owner_id, file_id, thumb_file_id, preview_file_id, poster_file_id
                   FROM assets WHERE public_id = ?",
            )
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        let Some((id, owner, file, thumb, preview, poster)) = row else {
            return Ok(None);
        };
        if owner != actor.0 && !any_owner {
            return Ok(None);
        }
        let deleted = sqlx::query("DELETE FROM assets WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
        if deleted == 0 {
            // Deleted by someone else since it was read.
            return Ok(None);
        }
        let mut freed = Vec::new();
        for file in unique_files([file, thumb, preview, poster]) {
            let gone: Option<(String, String, i64, String)> = sqlx::query_as(
                "DELETE FROM files WHERE id = ?1
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE file_id = ?1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE thumb_file_id = ?1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE preview_file_id = ?1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE poster_file_id = ?1)
                 RETURNING sha256, mime_type, byte_size, storage_path",
            )
            .bind(file)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
            freed.extend(gone.map(stored_file));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(Some(freed))
    }

    async fn top_tags(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, asset_count FROM tags WHERE asset_count > 0
              ORDER BY asset_count DESC, name LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(usage::named_counts(rows))
    }

    async fn top_models(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, assets FROM model_counts WHERE assets > 0
              ORDER BY assets DESC, model_key LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(usage::named_counts(rows))
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let batch = usage::Batch::of(events);
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        for chunk in events.chunks(usage::ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO usage_events (at, day, feature, user_id, detail) ",
            );
            insert.push_values(chunk, |mut row, event| {
                row.push_bind(micros(event.at))
                    .push_bind(Day::of(event.at).0)
                    .push_bind(event.feature.as_str())
                    .push_bind(event.user.map(|u| u.0))
                    .push_bind(&event.detail);
            });
            insert.build().execute(&mut *tx).await.map_err(db_error)?;
        }
        usage::fold_in!(Sqlite, tx, &batch)?;
        tx.commit().await.map_err(db_error)
    }

    async fn usage_rollup(&self, first: Day, last: Day) -> Result<UsageRollup, StoreError> {
        let features: Vec<(i32, String, i64, i64)> = sqlx::query_as(
            "SELECT day, feature, events, users FROM usage_daily
              WHERE day BETWEEN ? AND ? ORDER BY day, feature",
        )
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        let active: Vec<(i32, i64)> = sqlx::query_as(
            "SELECT day, users FROM usage_days WHERE day BETWEEN ? AND ? ORDER BY day",
        )
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(usage::rollup(features, active))
    }

    async fn feature_usage(&self, first: Day, last: Day) -> Result<Vec<FeatureUsage>, StoreError> {
        let sql = usage::FEATURE_USAGE_SQL
            .replace("{first}", "?1")
            .replace("{last}", "?2");
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(&sql)
            .bind(first.0)
            .bind(last.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(usage::feature_usage(rows))
    }

    async fn user_feature_counts(
        &self,
        first: Day,
        last: Day,
    ) -> Result<Vec<UserFeatureCount>, StoreError> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT user_id, feature, CAST(SUM(events) AS BIGINT) FROM usage_user_daily
              WHERE day BETWEEN ? AND ? GROUP BY user_id, feature",
        )
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(usage::user_feature_counts(rows))
    }

    async fn active_user_figures(
        &self,
        first: Day,
        last: Day,
        limit: u32,
    ) -> Result<Vec<UserFigures>, StoreError> {
        let rows: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT u.id, u.username, u.asset_count, u.views_received, u.storage_bytes, a.days
               FROM (SELECT user_id, COUNT(*) AS days, CAST(SUM(events) AS BIGINT) AS events
                       FROM usage_user_days WHERE day BETWEEN ? AND ?
                      GROUP BY user_id ORDER BY events DESC, user_id LIMIT ?) a
               JOIN users u ON u.id = a.user_id
              ORDER BY a.events DESC, u.id",
        )
        .bind(first.0)
        .bind(last.0)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(user_figures).collect())
    }

    async fn prune_usage_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut removed = 0;
        // In slices, so the writer is never held for long.
        loop {
            let n = sqlx::query(
                "DELETE FROM usage_events WHERE id IN
                    (SELECT id FROM usage_events WHERE at < ? LIMIT 10000)",
            )
            .bind(micros(before))
            .execute(&self.writer)
            .await
            .map_err(db_error)?
            .rows_affected();
            removed += n;
            if n < 10_000 {
                return Ok(removed);
            }
        }
    }

    async fn set_generation(
        &self,
        asset: AssetId,
        generation: Option<&str>,
        raw_metadata: Option<&str>,
        version: u32,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assets SET generation = ?, raw_metadata = ?, parser_version = ? WHERE id = ?",
        )
        .bind(generation)
        .bind(raw_metadata)
        .bind(i64::from(version))
        .bind(asset.0)
        .execute(&self.writer)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn suggest_tags(&self, prefix: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        // A range over the unique index: every name that starts with the prefix.
        let upper = format!("{prefix}{}", char::MAX);
        sqlx::query_scalar(
            "SELECT name FROM tags WHERE name >= ? AND name < ? ORDER BY name LIMIT ?",
        )
        .bind(prefix)
        .bind(upper)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)
    }
}
