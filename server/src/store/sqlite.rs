//! SQLite: the embedded default. WAL, `synchronous=NORMAL`, foreign keys on, a busy
//! timeout; one writer connection (so transactions never fight over the write lock) and a
//! small pool of readers.

use std::{collections::HashMap, str::FromStr, time::Duration};

use app::account::{Role, UserStatus};
use app::model::AssetPage;
use app::store::{
    ActiveSession, Credentials, EndSessions, FileId, ListQuery, NewAsset, NewFile, NewSession,
    NewUser, SessionId, SessionRecord, Store, StoreError, User, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::{
    col, db_error, into_page, opt_i32, user_from_row, username_taken, AssetRow, FileRow, OpenError,
    FILE_COLUMNS, USER_COLUMNS, USER_RETURNING,
};

const BACKEND: &str = "sqlite";

/// Rows per multi-row `INSERT` (12 parameters each, far below SQLite's 32,766 limit).
const ROWS_PER_INSERT: usize = 200;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
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
            .pragma("cache_size", "-32000");
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
    a.public_id, a.title, a.prompt, a.model, a.media_type, a.width, a.height, a.duration_ms,
    a.created_at, u.username AS owner, th.sha256 AS thumb_sha256, th.mime_type AS thumb_mime,
    (SELECT group_concat(t.name, char(31) ORDER BY t.name)
       FROM asset_tags x JOIN tags t ON t.id = x.tag_id
      WHERE x.asset_id = a.id) AS tags";

const ASSET_FROM: &str = "
    FROM assets a
    JOIN users u ON u.id = a.owner_id
    LEFT JOIN files th ON th.id = a.thumb_file_id";

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
        .fetch_one(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(FileId(id))
    }

    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let mut tag_ids: HashMap<&str, i64> = HashMap::new();
        // Multi-row statements: a handful per chunk instead of several per asset.
        for chunk in assets.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO assets
                    (public_id, owner_id, title, prompt, model, media_type, file_id,
                     thumb_file_id, width, height, duration_ms, created_at) ",
            );
            insert.push_values(chunk, |mut row, asset| {
                row.push_bind(&asset.public_id)
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
                    .push_bind(micros(asset.created_at));
            });
            insert.push(" RETURNING public_id, id");
            let ids: HashMap<String, i64> = insert
                .build_query_as::<(String, i64)>()
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?
                .into_iter()
                .collect();

            let mut links = Vec::new();
            for asset in chunk {
                let asset_id = *ids.get(&asset.public_id).ok_or_else(|| {
                    StoreError::Database(format!("insert did not return asset {}", asset.public_id))
                })?;
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
                            .fetch_one(&mut *tx)
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
                insert.build().execute(&mut *tx).await.map_err(db_error)?;
            }
        }
        tx.commit().await.map_err(db_error)
    }

    async fn list_assets(&self, query: &ListQuery) -> Result<AssetPage, StoreError> {
        let fetch = i64::from(query.limit) + 1;
        let rows = match &query.after {
            None => {
                sqlx::query(&format!(
                    "SELECT {ASSET_COLUMNS} {ASSET_FROM}
                     ORDER BY a.created_at DESC, a.public_id DESC LIMIT ?"
                ))
                .bind(fetch)
                .fetch_all(&self.reader)
                .await
            }
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {ASSET_COLUMNS} {ASSET_FROM}
                     WHERE (a.created_at, a.public_id) < (?, ?)
                     ORDER BY a.created_at DESC, a.public_id DESC LIMIT ?"
                ))
                .bind(micros(after.created_at))
                .bind(&after.public_id)
                .bind(fetch)
                .fetch_all(&self.reader)
                .await
            }
        }
        .map_err(db_error)?;
        let rows = rows.iter().map(asset_row).collect::<Result<Vec<_>, _>>()?;
        into_page(rows, query.limit)
    }

    async fn get_asset(
        &self,
        public_id: &str,
    ) -> Result<Option<app::model::AssetDetail>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS}, {FILE_COLUMNS} {ASSET_FROM}
             LEFT JOIN files f ON f.id = a.file_id
             WHERE a.public_id = ?"
        ))
        .bind(public_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        asset_row(&row)?.into_detail(FileRow::read(&row)?).map(Some)
    }

    async fn count_assets(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
