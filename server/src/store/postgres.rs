//! PostgreSQL: for larger or shared deployments. Bulk inserts go through `UNNEST` arrays,
//! a few round trips per batch whatever its size.

use std::{str::FromStr, time::Duration};

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
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, QueryBuilder};

use app::search::Search;

use super::search::{self, SearchPlan};
use super::usage;
use super::{
    col, db_error, into_page, job_info, key_time, opt_i32, profile_record, site_totals,
    stored_file, stored_ref, stored_ref_columns, unique_files, unique_keys, user_figures,
    user_from_row, username_taken, AssetRow, FileRow, FoundTags, OpenError, TextQuery,
    FILE_COLUMNS, FILE_JOINS, USER_COLUMNS, USER_RETURNING,
};

const BACKEND: &str = "postgres";

/// Rows per `UNNEST` insert.
const BATCH: usize = 5_000;
/// How far an asset's key may move past taken ones (one microsecond each).
const MAX_KEY_MOVES: usize = 1_000;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
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

    /// `(name, id, asset_count)` of the tags a search names that exist.
    async fn find_tags(&self, search: &Search) -> Result<FoundTags, StoreError> {
        let names: Vec<&str> = search
            .tags
            .iter()
            .chain(&search.exclude_tags)
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query_as("SELECT name, id, asset_count FROM tags WHERE name = ANY($1)")
            .bind(names)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }

    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| OpenError::BadUrl {
            backend: BACKEND,
            reason: e.to_string(),
        })?;
        let connect_error = |e: sqlx::Error| OpenError::Connect {
            backend: BACKEND,
            reason: e.to_string(),
        };
        // One direct attempt first: a pool would retry until its timeout and then report
        // only "timed out", hiding the real reason (refused, bad password, no database).
        PgConnection::connect_with(&options)
            .await
            .map_err(connect_error)?
            .close()
            .await
            .map_err(connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| OpenError::Migrate {
                backend: BACKEND,
                reason: e.to_string(),
            })?;
        Ok(PgStore { pool })
    }
}

const ASSET_COLUMNS: &str = "
    a.id, a.public_id, a.title, a.prompt, a.model, a.media_type, a.width, a.height, a.duration_ms,
    a.created_at, u.username AS owner, th.sha256 AS thumb_sha256,
    pv.sha256 AS preview_sha256, a.visibility,
    ARRAY(SELECT t.name
            FROM asset_tags x JOIN tags t ON t.id = x.tag_id
           WHERE x.asset_id = a.id
           ORDER BY t.name) AS tags";

const ASSET_FROM: &str = "
    FROM assets a
    JOIN users u ON u.id = a.owner_id
    LEFT JOIN files th ON th.id = a.thumb_file_id
    LEFT JOIN files pv ON pv.id = a.preview_file_id";

/// `@@` this, and (for relevance) `ts_rank` of it.
fn push_tsquery(core: &mut QueryBuilder<'_, Postgres>, text: &TextQuery) {
    core.push("(");
    let mut all = core.separated(" && ");
    if !text.words.is_empty() {
        all.push("plainto_tsquery('simple', ")
            .push_bind_unseparated(text.words.join(" "))
            .push_unseparated(")");
    }
    for phrase in &text.phrases {
        all.push("phraseto_tsquery('simple', ")
            .push_bind_unseparated(phrase.join(" "))
            .push_unseparated(")");
    }
    core.push(")");
}

/// The matches of a search, written after `FROM`: with a tag, the rarest tag's asset_tags
/// range (ordered by asset key); otherwise the planner picks among the primary key, the
/// owner/type/model indexes and the full-text GIN index. Returns the source's key column.
fn push_matches<'q>(core: &mut QueryBuilder<'q, Postgres>, plan: &SearchPlan<'q>) -> &'static str {
    let (key, extra_tags) = if let Some((tag, rest)) = plan.include.split_first() {
        core.push("asset_tags d JOIN assets a ON a.id = d.asset_id WHERE d.tag_id = ")
            .push_bind(*tag);
        ("d.asset_id", rest)
    } else {
        core.push("assets a WHERE TRUE");
        ("a.id", &[][..])
    };
    search::push_filters(
        core,
        plan,
        key,
        extra_tags,
        ("lower(a.model) = lower(", ")"),
    );
    if let Some(text) = &plan.text {
        core.push(" AND a.search_vector @@ ");
        push_tsquery(core, text);
    }
    key
}

fn asset_row(row: &PgRow) -> Result<AssetRow, StoreError> {
    AssetRow::read(row, col(row, "created_at")?, col(row, "tags")?)
}

fn user_row(row: &PgRow) -> Result<User, StoreError> {
    user_from_row(row, col(row, "created_at")?, col(row, "last_login_at")?)
}

fn session_record(row: &PgRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: SessionId(col(row, "id")?),
        public_id: col(row, "public_id")?,
        created_at: col(row, "created_at")?,
        last_seen_at: col(row, "last_seen_at")?,
        ip: col(row, "ip")?,
        user_agent: col(row, "user_agent")?,
        device: col(row, "device")?,
    })
}

/// Inserts rows with the keys given, skipping any whose key is taken; returns the
/// `(key, public_id)` of the rows inserted.
async fn insert_keyed(
    conn: &mut PgConnection,
    rows: &[(i64, &NewAsset)],
) -> Result<Vec<(i64, String)>, StoreError> {
    let times = rows
        .iter()
        .map(|(key, _)| key_time(*key))
        .collect::<Result<Vec<DateTime<Utc>>, _>>()?;
    let column =
        |f: fn(&NewAsset) -> Option<i32>| rows.iter().map(|(_, a)| f(a)).collect::<Vec<_>>();
    sqlx::query_as(
            "INSERT INTO assets
                (id, public_id, owner_id, title, prompt, model, media_type, file_id,
                 thumb_file_id, width, height, duration_ms, created_at, negative_prompt,
                 visibility, original_filename, preview_file_id, generation, raw_metadata,
                 parser_version)
             SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16,
                    c17::jsonb, c18::jsonb, c19
               FROM UNNEST(
                $20::bigint[], $1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[],
                $7::bigint[], $8::bigint[], $9::int[], $10::int[], $11::int[],
                $12::timestamptz[], $13::text[], $14::text[], $15::text[], $16::bigint[],
                $17::text[], $18::text[], $19::int[])
                AS u(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16,
                     c17, c18, c19)
             ON CONFLICT (id) DO NOTHING
             RETURNING id, public_id",
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.public_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.owner.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.title.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.prompt.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.model.as_deref()).collect::<Vec<_>>())
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.media_type.code())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.file.map(|f| f.0))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.thumb.map(|f| f.0))
                .collect::<Vec<_>>(),
        )
        .bind(column(|a| opt_i32(a.width)))
        .bind(column(|a| opt_i32(a.height)))
        .bind(column(|a| opt_i32(a.duration_ms)))
        .bind(&times)
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.negative_prompt.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.visibility.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.original_filename.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.preview.map(|f| f.0))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.generation.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.raw_metadata.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(column(|a| i32::try_from(a.parser_version).ok()))
        .bind(rows.iter().map(|(key, _)| *key).collect::<Vec<i64>>())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)
}

/// Inserts assets and their tags on `conn` (inside the caller's transaction); returns the
/// new rows' ids in the order given. Each asset's id is its creation time in microseconds;
/// a time already taken moves on by a microsecond until it is free.
async fn insert_assets(
    conn: &mut PgConnection,
    assets: &[NewAsset],
) -> Result<Vec<AssetId>, StoreError> {
    let mut out = Vec::with_capacity(assets.len());
    let keys = unique_keys(assets);
    for (batch, keys) in assets.chunks(BATCH).zip(keys.chunks(BATCH)) {
        let mut pending: Vec<(i64, &NewAsset)> = keys.iter().copied().zip(batch).collect();
        let mut rows: Vec<(i64, String)> = Vec::with_capacity(batch.len());
        for _ in 0..MAX_KEY_MOVES {
            if pending.is_empty() {
                break;
            }
            let inserted = insert_keyed(conn, &pending).await?;
            let done: std::collections::HashSet<&str> =
                inserted.iter().map(|(_, id)| id.as_str()).collect();
            pending.retain(|(_, asset)| !done.contains(asset.public_id.as_str()));
            rows.extend(inserted);
            for (key, _) in &mut pending {
                *key += 1;
            }
        }
        if let Some((key, _)) = pending.first() {
            return Err(StoreError::Database(format!(
                "no free asset key near {key} after {MAX_KEY_MOVES} tries"
            )));
        }
        let asset_ids: std::collections::HashMap<String, i64> = rows
            .into_iter()
            .map(|(id, public_id)| (public_id, id))
            .collect();
        for asset in batch {
            let id = asset_ids.get(&asset.public_id).ok_or_else(|| {
                StoreError::Database(format!("insert did not return asset {}", asset.public_id))
            })?;
            out.push(AssetId(*id));
        }

        let mut names: Vec<&str> = batch
            .iter()
            .flat_map(|a| a.tags.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            continue;
        }
        let tags: Vec<(i64, String)> = sqlx::query_as(
            "INSERT INTO tags (name) SELECT * FROM UNNEST($1::text[])
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
             RETURNING id, name",
        )
        .bind(&names)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        let tag_ids: std::collections::HashMap<String, i64> =
            tags.into_iter().map(|(id, name)| (name, id)).collect();

        let (mut link_assets, mut link_tags) = (Vec::new(), Vec::new());
        for asset in batch {
            let Some(asset_id) = asset_ids.get(&asset.public_id) else {
                return Err(StoreError::Database(format!(
                    "insert did not return asset {}",
                    asset.public_id
                )));
            };
            for tag in &asset.tags {
                if let Some(tag_id) = tag_ids.get(tag) {
                    link_assets.push(*asset_id);
                    link_tags.push(*tag_id);
                }
            }
        }
        sqlx::query(
            "INSERT INTO asset_tags (asset_id, tag_id)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[])
             ON CONFLICT DO NOTHING",
        )
        .bind(&link_assets)
        .bind(&link_tags)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(out)
}

/// Takes, inside the caller's transaction, the rows every asset or file write changes, in
/// the one order all writers use (see migrations/postgres/0005_stats.sql): the owners' users
/// rows by id, then site_totals. Taken up front, before a file row or a foreign key's share
/// lock is, no two writers can wait on each other.
async fn lock_counters(conn: &mut PgConnection, owners: &[i64]) -> Result<(), StoreError> {
    if !owners.is_empty() {
        sqlx::query("SELECT 1 FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(owners)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    sqlx::query("SELECT 1 FROM site_totals WHERE id = 1 FOR UPDATE")
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Records a file on `conn`; the same SHA-256 twice returns the existing row.
async fn put_file(conn: &mut PgConnection, file: &NewFile) -> Result<FileId, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO files
            (sha256, byte_size, mime_type, width, height, duration_ms, storage_path, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (sha256) DO UPDATE SET sha256 = EXCLUDED.sha256
         RETURNING id",
    )
    .bind(&file.sha256)
    .bind(i64::try_from(file.byte_size).unwrap_or(i64::MAX))
    .bind(&file.mime_type)
    .bind(opt_i32(file.width))
    .bind(opt_i32(file.height))
    .bind(opt_i32(file.duration_ms))
    .bind(&file.storage_path)
    .bind(file.created_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(FileId(id))
}

const UPLOAD_COLUMNS: &str =
    "public_id, owner_id, filename, byte_size, received, expected_sha256, \
     CAST(probe AS TEXT) AS probe, error, error_status, created_at, updated_at, expires_at";

fn upload_record(row: &PgRow) -> Result<UploadRecord, StoreError> {
    let error: Option<String> = col(row, "error")?;
    let status: Option<i32> = col(row, "error_status")?;
    Ok(UploadRecord {
        public_id: col(row, "public_id")?,
        owner: UserId(col(row, "owner_id")?),
        filename: col(row, "filename")?,
        byte_size: u64::try_from(col::<_, i64>(row, "byte_size")?).unwrap_or(0),
        received: u64::try_from(col::<_, i64>(row, "received")?).unwrap_or(0),
        expected_sha256: col(row, "expected_sha256")?,
        probe: col(row, "probe")?,
        error: error.map(|e| (e, status.and_then(|s| u16::try_from(s).ok()).unwrap_or(422))),
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        expires_at: col(row, "expires_at")?,
    })
}

fn job_row(row: &PgRow) -> Result<JobInfo, StoreError> {
    job_info(row, col(row, "started_at")?, col(row, "finished_at")?)
}

const JOB_COLUMNS: &str = "state, progress, attempts, error, started_at, finished_at";

/// Key of the advisory lock that serialises "is this the first account?" with the insert.
const FIRST_ACCOUNT_LOCK: i64 = 0x6174_656c_6965_7201;

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn analyze(&self) -> Result<(), StoreError> {
        // VACUUM too: after a bulk load the visibility map is empty, so index-only scans
        // (asset_tags for facets and tag pages) would visit the table for every row, and
        // autovacuum would do this work later, in the middle of serving.
        sqlx::query("VACUUM (ANALYZE)")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn tidy_search_index(&self) -> Result<bool, StoreError> {
        // The GIN index moves its pending entries into the tree itself (on insert when the
        // list is full, and on autovacuum): nothing to do here.
        Ok(false)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Two sign-ups on an empty instance must not both see "no accounts yet".
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_ACCOUNT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let row = sqlx::query(&format!(
            "INSERT INTO users (public_id, username, password_hash, role, created_at)
             VALUES ($1, $2, $3,
                     CASE WHEN $3::text IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)
                          THEN 'admin' ELSE $4 END,
                     $5)
             RETURNING {USER_RETURNING}"
        ))
        .bind(&user.public_id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| username_taken(e, &user.username))?;
        let created = user_row(&row)?;
        tx.commit().await.map_err(db_error)?;
        Ok(created)
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE lower(u.username) = lower($1)"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    async fn find_credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u
              WHERE lower(u.username) = lower($1)"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
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
            sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2")
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
            "UPDATE users SET role = $1 WHERE lower(username) = lower($2)
             RETURNING {USER_RETURNING}"
        ))
        .bind(role.as_str())
        .bind(username)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let Some(row) = sqlx::query(&format!(
            "UPDATE users SET status = $1 WHERE lower(username) = lower($2)
             RETURNING {USER_RETURNING}"
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
            sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
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
        .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO user_sessions
                (public_id, user_id, token_hash, created_at, last_seen_at, expires_at,
                 absolute_expires_at, ip, user_agent, device)
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)
             RETURNING id",
        )
        .bind(&session.public_id)
        .bind(user.0)
        .bind(&session.token_hash[..])
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.absolute_expires_at)
        .bind(&session.ip)
        .bind(&session.user_agent)
        .bind(&session.device)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query(
            "UPDATE users SET login_count = login_count + 1, last_login_at = $1 WHERE id = $2",
        )
        .bind(session.created_at)
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
              WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.absolute_expires_at > $2
                AND u.status = 'enabled'"
        ))
        .bind(&token_hash[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        Ok(Some(ActiveSession {
            id: SessionId(col(&row, "session_id")?),
            public_id: col(&row, "session_public_id")?,
            user: user_row(&row)?,
            last_seen_at: col(&row, "session_last_seen")?,
            expires_at: col(&row, "session_expires")?,
            absolute_expires_at: col(&row, "session_absolute")?,
        }))
    }

    async fn touch_session(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE user_sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3")
            .bind(now)
            .bind(expires_at)
            .bind(session.0)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(&token_hash[..])
            .execute(&self.pool)
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
              WHERE user_id = $1 AND expires_at > $2 AND absolute_expires_at > $2
              ORDER BY last_seen_at DESC, id DESC",
        )
        .bind(user.0)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(session_record)
        .collect()
    }

    async fn revoke_session(&self, user: UserId, public_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND public_id = $2")
            .bind(user.0)
            .bind(public_id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_other_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2")
            .bind(user.0)
            .bind(keep.map_or(-1, |k| k.0))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM user_sessions WHERE expires_at <= $1 OR absolute_expires_at <= $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
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
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,
                                             updated_at = EXCLUDED.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn list_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as("SELECT key, value FROM settings ORDER BY key")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn put_file(&self, file: &NewFile) -> Result<FileId, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        lock_counters(&mut tx, &[]).await?;
        let id = put_file(&mut tx, file).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(id)
    }

    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut owners: Vec<i64> = assets.iter().map(|a| a.owner.0).collect();
        owners.sort_unstable();
        owners.dedup();
        lock_counters(&mut tx, &owners).await?;
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
        // A relevance sort takes the newest candidates and ranks them by ts_rank (negated:
        // lower is better).
        let mut core = search::start::<Postgres>(ASSET_COLUMNS);
        match &plan.text {
            Some(text) if plan.relevant => {
                core.push("-ts_rank(a.search_vector, ");
                push_tsquery(&mut core, text);
                core.push(")::float8 AS score FROM ");
            }
            _ => {
                core.push("NULL::float8 AS score FROM ");
            }
        }
        let key = push_matches(&mut core, &plan);
        search::push_page(&mut core, &plan, key);
        let rows = core.build().fetch_all(&self.pool).await.map_err(db_error)?;
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
        let rows = search::facets_query(&plan, push_matches, ("JOIN", " COLLATE \"C\""))
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        search::facets_from_rows(rows)
    }

    async fn profile(&self, username: &str) -> Result<Option<ProfileRecord>, StoreError> {
        let Some(user) = self.find_user(username).await? else {
            return Ok(None);
        };
        let counts: Vec<(i16, String, i64)> = sqlx::query_as(
            "SELECT media_type, visibility, assets FROM user_counts WHERE user_id = $1",
        )
        .bind(user.id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let figures: (i64, i64) =
            sqlx::query_as("SELECT views_received, storage_bytes FROM users WHERE id = $1")
                .bind(user.id.0)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(Some(profile_record(user, &counts, figures)))
    }

    async fn count_assets(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
            .fetch_one(&self.pool)
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
              WHERE asset_id = (SELECT id FROM assets WHERE public_id = $1)
              ORDER BY id DESC LIMIT 1"
        ))
        .bind(public_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|row| job_row(&row))
        .transpose()?;
        let Some(row) = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS}, {FILE_COLUMNS} {ASSET_FROM}
             {FILE_JOINS}
             WHERE a.public_id = $1 AND (a.visibility = 'public' OR a.owner_id = $2)"
        ))
        .bind(public_id)
        .bind(viewer.map(|v| v.0))
        .fetch_optional(&self.pool)
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
              WHERE a.public_id = $1",
            stored_ref_columns("f", "original"),
            stored_ref_columns("th", "thumb"),
            stored_ref_columns("pv", "preview"),
        ))
        .bind(public_id)
        .fetch_optional(&self.pool)
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&upload.public_id)
        .bind(upload.owner.0)
        .bind(&upload.filename)
        .bind(i64::try_from(upload.byte_size).unwrap_or(i64::MAX))
        .bind(&upload.expected_sha256)
        .bind(upload.created_at)
        .bind(upload.created_at)
        .bind(upload.expires_at)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn find_upload(&self, public_id: &str) -> Result<Option<UploadRecord>, StoreError> {
        // The writer: a chunk's receipt must be visible to the very next request.
        sqlx::query(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE public_id = $1"
        ))
        .bind(public_id)
        .fetch_optional(&self.pool)
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
        sqlx::query("UPDATE uploads SET received = GREATEST(received, $1), updated_at = $2 WHERE public_id = $3")
            .bind(i64::try_from(received).unwrap_or(i64::MAX))
            .bind(now)
            .bind(public_id)
            .execute(&self.pool)
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
            "UPDATE uploads SET probe = $1::jsonb, error = $2, error_status = $3, updated_at = $4
              WHERE public_id = $5",
        )
        .bind(probe)
        .bind(error.map(|(e, _)| e))
        .bind(error.map(|(_, s)| i32::from(s)))
        .bind(now)
        .bind(public_id)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn delete_upload(&self, public_id: &str) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM uploads WHERE public_id = $1")
            .bind(public_id)
            .execute(&self.pool)
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
            "SELECT public_id FROM uploads WHERE expires_at < $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    async fn storage_used(&self, user: UserId) -> Result<u64, StoreError> {
        let used: Option<i64> = sqlx::query_scalar("SELECT storage_bytes FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(used.and_then(|u| u64::try_from(u).ok()).unwrap_or(0))
    }

    async fn finish_upload(&self, finish: &FinishUpload) -> Result<FinishOutcome, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let gone = sqlx::query("DELETE FROM uploads WHERE public_id = $1 AND owner_id = $2")
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
        // and locks the owner's row until the commit (first, as every writer does).
        let charged = sqlx::query(
            "UPDATE users SET storage_bytes = storage_bytes
              WHERE id = $1 AND storage_bytes + $2 <= $3",
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
        lock_counters(&mut tx, &[]).await?;
        let file = put_file(&mut tx, &finish.file).await?;
        let mut asset = finish.asset.clone();
        asset.file = Some(file);
        asset.thumb = None;
        asset.preview = None;
        let ids = insert_assets(&mut tx, std::slice::from_ref(&asset)).await?;
        if let (Some(poster), Some(id)) = (&finish.poster, ids.first()) {
            let poster = put_file(&mut tx, poster).await?;
            sqlx::query("UPDATE assets SET poster_file_id = $1 WHERE id = $2")
                .bind(poster.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        for id in ids {
            sqlx::query(
                "INSERT INTO jobs (asset_id, kind, created_at) VALUES ($1, 'thumbnails', $2)",
            )
            .bind(id.0)
            .bind(asset.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(FinishOutcome::Finished)
    }

    async fn file_exists(&self, sha256: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar::<_, i32>("SELECT 1 FROM files WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map(|row| row.is_some())
            .map_err(db_error)
    }

    async fn known_storage_paths(&self, paths: &[String]) -> Result<Vec<String>, StoreError> {
        let mut known = Vec::new();
        for chunk in paths.chunks(500) {
            let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(
                "SELECT storage_path FROM files WHERE storage_path IN (",
            );
            let mut list = query.separated(", ");
            for path in chunk {
                list.push_bind(path);
            }
            query.push(")");
            let rows: Vec<String> = query
                .build_query_scalar()
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
            known.extend(rows);
        }
        Ok(known)
    }

    async fn claim_job(&self, now: DateTime<Utc>) -> Result<Option<ClaimedJob>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let claimed: Option<(i64, i64, i32)> = sqlx::query_as(
            "UPDATE jobs SET state = 'processing', progress = 0, attempts = attempts + 1,
                             started_at = $1, finished_at = NULL, error = NULL
              WHERE id = (SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1
                           FOR UPDATE SKIP LOCKED)
              RETURNING id, asset_id, attempts",
        )
        .bind(now)
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
              WHERE a.id = $1",
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
        sqlx::query("UPDATE jobs SET progress = $1 WHERE id = $2 AND state = 'processing'")
            .bind(i32::from(progress.min(100)))
            .bind(job)
            .execute(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        lock_counters(&mut tx, &[]).await?;
        let thumb = match &output.thumb {
            Some(file) => Some(put_file(&mut tx, file).await?.0),
            None => None,
        };
        let preview = match &output.preview {
            Some(file) => Some(put_file(&mut tx, file).await?.0),
            None => None,
        };
        sqlx::query("UPDATE assets SET thumb_file_id = $1, preview_file_id = $2 WHERE id = $3")
            .bind(thumb)
            .bind(preview)
            .bind(job.asset.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        sqlx::query(
            "UPDATE jobs SET state = 'done', progress = 100, error = $1, finished_at = $2
              WHERE id = $3",
        )
        .bind(&output.note)
        .bind(now)
        .bind(job.id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn fail_job(&self, job: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET state = 'failed', error = $1, finished_at = $2 WHERE id = $3")
            .bind(error)
            .bind(now)
            .bind(job)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db_error)
    }

    async fn requeue_interrupted_jobs(&self) -> Result<u64, StoreError> {
        sqlx::query("UPDATE jobs SET state = 'pending', progress = 0 WHERE state = 'processing'")
            .execute(&self.pool)
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
                           WHERE a.public_id = $1 AND a.owner_id = $2
                           ORDER BY j.id DESC LIMIT 1)
                AND state IN ('failed', 'done')
              RETURNING {JOB_COLUMNS}"
        ))
        .bind(asset_public_id)
        .bind(owner.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => job_row(&row).map(Some),
            None => {
                // Not retried: already queued or running (say so), or not theirs (None).
                sqlx::query(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs j JOIN assets a ON a.id = j.asset_id
                      WHERE a.public_id = $1 AND a.owner_id = $2 ORDER BY j.id DESC LIMIT 1"
                ))
                .bind(asset_public_id)
                .bind(owner.0)
                .fetch_optional(&self.pool)
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
              WHERE a.id > $1 AND a.parser_version < $2 ORDER BY a.id LIMIT $3",
            stored_ref_columns("f", "original")
        ))
        .bind(after.0)
        .bind(i32::try_from(version).unwrap_or(i32::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
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
        .fetch_one(&self.pool)
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row: Option<(i64, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>)> =
            sqlx::query_as(
                "SELECT id, owner_id, file_id, thumb_file_id, preview_file_id, poster_file_id
                   FROM assets WHERE public_id = $1",
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
        // Before the delete cascades to tags and files: the order every writer takes.
        lock_counters(&mut tx, &[owner]).await?;
        let deleted = sqlx::query("DELETE FROM assets WHERE id = $1")
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
                "DELETE FROM files WHERE id = $1
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE file_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE thumb_file_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE preview_file_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE poster_file_id = $1)
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
              ORDER BY asset_count DESC, name LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(usage::named_counts(rows))
    }

    async fn top_models(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, assets FROM model_counts WHERE assets > 0
              ORDER BY assets DESC, model_key LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(usage::named_counts(rows))
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let batch = usage::Batch::of(events);
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // One statement text whatever the batch's size (arrays, not a VALUES list), so it
        // is parsed and planned once per connection.
        sqlx::query(
            "INSERT INTO usage_events (at, day, feature, user_id, detail)
             SELECT * FROM UNNEST($1::timestamptz[], $2::int[], $3::text[], $4::bigint[], $5::text[])",
        )
        .bind(events.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| Day::of(e.at).0).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.feature.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.user.map(|u| u.0)).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        usage::fold_in!(Postgres, tx, &batch)?;
        tx.commit().await.map_err(db_error)
    }

    async fn usage_rollup(&self, first: Day, last: Day) -> Result<UsageRollup, StoreError> {
        let features: Vec<(i32, String, i64, i64)> = sqlx::query_as(
            "SELECT day, feature, events, users FROM usage_daily
              WHERE day BETWEEN $1 AND $2 ORDER BY day, feature",
        )
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let active: Vec<(i32, i64)> = sqlx::query_as(
            "SELECT day, users FROM usage_days WHERE day BETWEEN $1 AND $2 ORDER BY day",
        )
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(usage::rollup(features, active))
    }

    async fn feature_usage(&self, first: Day, last: Day) -> Result<Vec<FeatureUsage>, StoreError> {
        let sql = usage::FEATURE_USAGE_SQL
            .replace("{first}", "$1")
            .replace("{last}", "$2");
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(&sql)
            .bind(first.0)
            .bind(last.0)
            .fetch_all(&self.pool)
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
              WHERE day BETWEEN $1 AND $2 GROUP BY user_id, feature",
        )
        .bind(first.0)
        .bind(last.0)
        .fetch_all(&self.pool)
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
                       FROM usage_user_days WHERE day BETWEEN $1 AND $2
                      GROUP BY user_id ORDER BY events DESC, user_id LIMIT $3) a
               JOIN users u ON u.id = a.user_id
              ORDER BY a.events DESC, u.id",
        )
        .bind(first.0)
        .bind(last.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
                    (SELECT id FROM usage_events WHERE at < $1 LIMIT 10000)",
            )
            .bind(before)
            .execute(&self.pool)
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
            "UPDATE assets SET generation = $1::jsonb, raw_metadata = $2::jsonb, parser_version = $3
              WHERE id = $4",
        )
        .bind(generation)
        .bind(raw_metadata)
        .bind(i32::try_from(version).unwrap_or(i32::MAX))
        .bind(asset.0)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(db_error)
    }

    async fn suggest_tags(&self, prefix: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        // A range over the unique index: every name that starts with the prefix.
        let upper = format!("{prefix}{}", char::MAX);
        sqlx::query_scalar(
            "SELECT name FROM tags WHERE name >= $1 AND name < $2 ORDER BY name LIMIT $3",
        )
        .bind(prefix)
        .bind(upper)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}
