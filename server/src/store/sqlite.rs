//! SQLite: the embedded default. WAL, `synchronous=NORMAL`, foreign keys on, a busy
//! timeout; one writer connection (so transactions never fight over the write lock) and a
//! small pool of readers.

use std::{collections::HashMap, str::FromStr, time::Duration};

use app::model::AssetPage;
use app::store::{FileId, ListQuery, NewAsset, NewFile, NewUser, Store, StoreError, User, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
    Row,
};

use super::{db_error, into_page, opt_i32, AssetRow, FileRow, OpenError};

const BACKEND: &str = "sqlite";

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
    let tags: Option<String> = row.try_get("tags").map_err(db_error)?;
    Ok(AssetRow {
        public_id: row.try_get("public_id").map_err(db_error)?,
        title: row.try_get("title").map_err(db_error)?,
        prompt: row.try_get("prompt").map_err(db_error)?,
        model: row.try_get("model").map_err(db_error)?,
        media_type: row.try_get("media_type").map_err(db_error)?,
        width: row.try_get("width").map_err(db_error)?,
        height: row.try_get("height").map_err(db_error)?,
        duration_ms: row.try_get("duration_ms").map_err(db_error)?,
        created_at: from_micros(row.try_get("created_at").map_err(db_error)?)?,
        owner: row.try_get("owner").map_err(db_error)?,
        tags: tags
            .map(|t| t.split(TAG_SEPARATOR).map(str::to_string).collect())
            .unwrap_or_default(),
        thumb_sha256: row.try_get("thumb_sha256").map_err(db_error)?,
        thumb_mime: row.try_get("thumb_mime").map_err(db_error)?,
    })
}

fn user_row(row: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(row.try_get("id").map_err(db_error)?),
        public_id: row.try_get("public_id").map_err(db_error)?,
        username: row.try_get("username").map_err(db_error)?,
        created_at: from_micros(row.try_get("created_at").map_err(db_error)?)?,
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
        let row = sqlx::query(
            "INSERT INTO users (public_id, username, password_hash, created_at)
             VALUES (?, ?, ?, ?)
             RETURNING id, public_id, username, created_at",
        )
        .bind(&user.public_id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(micros(user.created_at))
        .fetch_one(&self.writer)
        .await
        .map_err(|e| match db_error(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("the username “{}” is taken", user.username))
            }
            other => other,
        })?;
        user_row(&row)
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT id, public_id, username, created_at FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)?
            .as_ref()
            .map(user_row)
            .transpose()
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
        for asset in assets {
            let asset_id: i64 = sqlx::query_scalar(
                "INSERT INTO assets
                    (public_id, owner_id, title, prompt, model, media_type, file_id,
                     thumb_file_id, width, height, duration_ms, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 RETURNING id",
            )
            .bind(&asset.public_id)
            .bind(asset.owner.0)
            .bind(&asset.title)
            .bind(&asset.prompt)
            .bind(&asset.model)
            .bind(asset.media_type.code())
            .bind(asset.file.map(|f| f.0))
            .bind(asset.thumb.map(|f| f.0))
            .bind(opt_i32(asset.width))
            .bind(opt_i32(asset.height))
            .bind(opt_i32(asset.duration_ms))
            .bind(micros(asset.created_at))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
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
                sqlx::query(
                    "INSERT INTO asset_tags (asset_id, tag_id) VALUES (?, ?)
                     ON CONFLICT DO NOTHING",
                )
                .bind(asset_id)
                .bind(tag_id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
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
            "SELECT {ASSET_COLUMNS}, f.sha256 AS file_sha256, f.mime_type AS file_mime,
                    f.byte_size AS file_size
             {ASSET_FROM}
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
        let sha256: Option<String> = row.try_get("file_sha256").map_err(db_error)?;
        let file = match sha256 {
            Some(sha256) => Some(FileRow {
                sha256,
                mime_type: row.try_get("file_mime").map_err(db_error)?,
                byte_size: row.try_get("file_size").map_err(db_error)?,
            }),
            None => None,
        };
        asset_row(&row)?.into_detail(file).map(Some)
    }

    async fn count_assets(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets")
            .fetch_one(&self.reader)
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
