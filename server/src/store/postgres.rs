//! PostgreSQL: for larger or shared deployments. Bulk inserts go through `UNNEST` arrays,
//! a few round trips per batch whatever its size.

use std::{str::FromStr, time::Duration};

use app::account::{Role, UserStatus};
use app::model::{AssetDetail, AssetPage};
use app::store::{
    ActiveSession, Credentials, EndSessions, FileId, ListQuery, NewAsset, NewFile, NewSession,
    NewUser, SessionId, SessionRecord, Store, StoreError, User, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::Connection;

use super::{
    col, db_error, into_page, opt_i32, user_from_row, username_taken, AssetRow, FileRow, OpenError,
    FILE_COLUMNS, USER_COLUMNS, USER_RETURNING,
};

const BACKEND: &str = "postgres";

/// Rows per `UNNEST` insert.
const BATCH: usize = 5_000;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
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
    a.public_id, a.title, a.prompt, a.model, a.media_type, a.width, a.height, a.duration_ms,
    a.created_at, u.username AS owner, th.sha256 AS thumb_sha256, th.mime_type AS thumb_mime,
    ARRAY(SELECT t.name
            FROM asset_tags x JOIN tags t ON t.id = x.tag_id
           WHERE x.asset_id = a.id
           ORDER BY t.name) AS tags";

const ASSET_FROM: &str = "
    FROM assets a
    JOIN users u ON u.id = a.owner_id
    LEFT JOIN files th ON th.id = a.thumb_file_id";

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
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(FileId(id))
    }

    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for batch in assets.chunks(BATCH) {
            let column = |f: fn(&NewAsset) -> Option<i32>| batch.iter().map(f).collect::<Vec<_>>();
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "INSERT INTO assets
                    (public_id, owner_id, title, prompt, model, media_type, file_id,
                     thumb_file_id, width, height, duration_ms, created_at)
                 SELECT * FROM UNNEST(
                    $1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[],
                    $7::bigint[], $8::bigint[], $9::int[], $10::int[], $11::int[],
                    $12::timestamptz[])
                 RETURNING id, public_id",
            )
            .bind(
                batch
                    .iter()
                    .map(|a| a.public_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(batch.iter().map(|a| a.owner.0).collect::<Vec<_>>())
            .bind(batch.iter().map(|a| a.title.as_str()).collect::<Vec<_>>())
            .bind(batch.iter().map(|a| a.prompt.as_str()).collect::<Vec<_>>())
            .bind(batch.iter().map(|a| a.model.as_deref()).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|a| a.media_type.code())
                    .collect::<Vec<_>>(),
            )
            .bind(
                batch
                    .iter()
                    .map(|a| a.file.map(|f| f.0))
                    .collect::<Vec<_>>(),
            )
            .bind(
                batch
                    .iter()
                    .map(|a| a.thumb.map(|f| f.0))
                    .collect::<Vec<_>>(),
            )
            .bind(column(|a| opt_i32(a.width)))
            .bind(column(|a| opt_i32(a.height)))
            .bind(column(|a| opt_i32(a.duration_ms)))
            .bind(
                batch
                    .iter()
                    .map(|a| a.created_at)
                    .collect::<Vec<DateTime<Utc>>>(),
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
            let asset_ids: std::collections::HashMap<String, i64> = rows
                .into_iter()
                .map(|(id, public_id)| (public_id, id))
                .collect();

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
            .fetch_all(&mut *tx)
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
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn list_assets(&self, query: &ListQuery) -> Result<AssetPage, StoreError> {
        let fetch = i64::from(query.limit) + 1;
        let rows = match &query.after {
            None => {
                sqlx::query(&format!(
                    "SELECT {ASSET_COLUMNS} {ASSET_FROM}
                     ORDER BY a.created_at DESC, a.public_id DESC LIMIT $1"
                ))
                .bind(fetch)
                .fetch_all(&self.pool)
                .await
            }
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {ASSET_COLUMNS} {ASSET_FROM}
                     WHERE (a.created_at, a.public_id) < ($1, $2)
                     ORDER BY a.created_at DESC, a.public_id DESC LIMIT $3"
                ))
                .bind(after.created_at)
                .bind(&after.public_id)
                .bind(fetch)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db_error)?;
        let rows = rows.iter().map(asset_row).collect::<Result<Vec<_>, _>>()?;
        into_page(rows, query.limit)
    }

    async fn get_asset(&self, public_id: &str) -> Result<Option<AssetDetail>, StoreError> {
        let Some(row) = sqlx::query(&format!(
            "SELECT {ASSET_COLUMNS}, {FILE_COLUMNS} {ASSET_FROM}
             LEFT JOIN files f ON f.id = a.file_id
             WHERE a.public_id = $1"
        ))
        .bind(public_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        asset_row(&row)?.into_detail(FileRow::read(&row)?).map(Some)
    }

    async fn count_assets(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
