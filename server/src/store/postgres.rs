//! PostgreSQL: for larger or shared deployments. Bulk inserts go through `UNNEST` arrays,
//! a few round trips per batch whatever its size.

use std::{str::FromStr, time::Duration};

use app::model::{AssetDetail, AssetPage};
use app::store::{FileId, ListQuery, NewAsset, NewFile, NewUser, Store, StoreError, User, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::Connection;

use super::{
    col, db_error, into_page, opt_i32, username_taken, AssetRow, FileRow, OpenError, FILE_COLUMNS,
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
    Ok(User {
        id: UserId(col(row, "id")?),
        public_id: col(row, "public_id")?,
        username: col(row, "username")?,
        created_at: col(row, "created_at")?,
    })
}

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
        let row = sqlx::query(
            "INSERT INTO users (public_id, username, password_hash, created_at)
             VALUES ($1, $2, $3, $4)
             RETURNING id, public_id, username, created_at",
        )
        .bind(&user.public_id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| username_taken(e, &user.username))?;
        user_row(&row)
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT id, public_id, username, created_at FROM users
             WHERE lower(username) = lower($1)",
        )
        .bind(username)
        .fetch_optional(&self.pool)
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
