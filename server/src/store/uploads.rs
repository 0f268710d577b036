//! Uploads in progress, and finishing one: the transaction that makes it an asset.

use app::store::{
    FinishOutcome, FinishUpload, NewUpload, OpenUploads, StoreError, UploadRecord, UploadRoom,
    UploadStart, UploadStore, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::assets::insert_assets;
use super::backend::Backend;
use super::files::FileRows;
use super::types::{count, size, Json, Ts};
use super::{for_each_backend, Db};

/// The columns [`UploadRow`] reads.
const UPLOAD_COLUMNS: &str = "public_id, owner_id, filename, byte_size, received, \
     expected_sha256, CAST(probe AS TEXT) AS probe, error, error_status, created_at, \
     updated_at, expires_at";

/// The status of a refusal stored without one.
const DEFAULT_REFUSAL_STATUS: u16 = 422;

#[derive(sqlx::FromRow)]
struct UploadRow {
    public_id: String,
    owner_id: i64,
    filename: String,
    byte_size: i64,
    received: i64,
    expected_sha256: Option<String>,
    probe: Option<String>,
    error: Option<String>,
    error_status: Option<i32>,
    created_at: Ts,
    updated_at: Ts,
    expires_at: Ts,
}

impl From<UploadRow> for UploadRecord {
    fn from(row: UploadRow) -> UploadRecord {
        let status = row
            .error_status
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(DEFAULT_REFUSAL_STATUS);
        UploadRecord {
            public_id: row.public_id,
            owner: UserId(row.owner_id),
            filename: row.filename,
            byte_size: count(row.byte_size),
            received: count(row.received),
            expected_sha256: row.expected_sha256,
            probe: row.probe,
            error: row.error.map(|e| (e, status)),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            expires_at: row.expires_at.0,
        }
    }
}

for_each_backend! {
    /// The owner's unfinished uploads that were not refused (a refused upload's bytes are
    /// gone).
    async fn open_uploads(
        conn: &mut <DB as sqlx::Database>::Connection,
        owner: UserId,
    ) -> Result<OpenUploads, StoreError> {
        let (n, bytes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(byte_size), 0) AS BIGINT)
               FROM uploads WHERE owner_id = $1 AND error IS NULL",
        )
        .bind(owner.0)
        .fetch_one(&mut *conn)
        .await?;
        Ok(OpenUploads {
            count: u32::try_from(n).unwrap_or(u32::MAX),
            bytes: count(bytes),
        })
    }

    #[async_trait]
    impl UploadStore for Db<DB> {
        async fn create_upload(
            &self,
            upload: &NewUpload,
            room: UploadRoom,
        ) -> Result<UploadStart, StoreError> {
            let mut tx = self.writer().begin().await?;
            // The owner's row, held to the commit: a second start of theirs waits here and
            // then counts this one (SQLite's one writer already runs them one at a time).
            let used: Option<i64> = sqlx::query_scalar(
                "UPDATE users SET storage_bytes = storage_bytes WHERE id = $1
                 RETURNING storage_bytes",
            )
            .bind(upload.owner.0)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(used) = used.map(count) else {
                return Err(StoreError::Database(format!(
                    "no user {} to start an upload for",
                    upload.owner.0
                )));
            };
            let open = open_uploads(&mut tx, upload.owner).await?;
            if open.count >= room.max_open {
                return Ok(UploadStart::TooManyOpen { open });
            }
            if used
                .saturating_add(open.bytes)
                .saturating_add(upload.byte_size)
                > room.quota
            {
                return Ok(UploadStart::OverQuota { used, open });
            }
            sqlx::query(
                "INSERT INTO uploads (public_id, owner_id, filename, byte_size, expected_sha256,
                                      created_at, updated_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
            )
            .bind(&upload.public_id)
            .bind(upload.owner.0)
            .bind(&upload.filename)
            .bind(size(upload.byte_size))
            .bind(&upload.expected_sha256)
            .bind(Ts(upload.created_at))
            .bind(Ts(upload.expires_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(UploadStart::Started)
        }

        async fn open_uploads(&self, owner: UserId) -> Result<OpenUploads, StoreError> {
            let mut conn = self.writer().acquire().await?;
            open_uploads(&mut conn, owner).await
        }

        async fn extend_upload(
            &self,
            public_id: &str,
            expires_at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE uploads SET expires_at = $1 WHERE public_id = $2 AND expires_at < $1",
            )
            .bind(Ts(expires_at))
            .bind(public_id)
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn find_upload(&self, public_id: &str) -> Result<Option<UploadRecord>, StoreError> {
            // The writer: a chunk's receipt must be visible to the very next request.
            let row: Option<UploadRow> = sqlx::query_as(&format!(
                "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE public_id = $1"
            ))
            .bind(public_id)
            .fetch_optional(self.writer())
            .await?;
            Ok(row.map(UploadRecord::from))
        }

        async fn set_upload_received(
            &self,
            public_id: &str,
            received: u64,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE uploads
                    SET received = CASE WHEN received > $1 THEN received ELSE $1 END,
                        updated_at = $2
                  WHERE public_id = $3",
            )
            .bind(size(received))
            .bind(Ts(now))
            .bind(public_id)
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn set_upload_result(
            &self,
            public_id: &str,
            probe: Option<&str>,
            error: Option<(&str, u16)>,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE uploads SET probe = $1, error = $2, error_status = $3, updated_at = $4
                  WHERE public_id = $5",
            )
            .bind(probe.map(Json))
            .bind(error.map(|(e, _)| e))
            .bind(error.map(|(_, s)| i32::from(s)))
            .bind(Ts(now))
            .bind(public_id)
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn delete_upload(&self, public_id: &str) -> Result<bool, StoreError> {
            let done = sqlx::query("DELETE FROM uploads WHERE public_id = $1")
                .bind(public_id)
                .execute(self.writer())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn expired_uploads(
            &self,
            now: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<String>, StoreError> {
            Ok(sqlx::query_scalar(
                "SELECT public_id FROM uploads WHERE expires_at < $1 ORDER BY expires_at LIMIT $2",
            )
            .bind(Ts(now))
            .bind(i64::from(limit))
            .fetch_all(self.writer())
            .await?)
        }

        async fn storage_used(&self, user: UserId) -> Result<u64, StoreError> {
            let used: Option<i64> =
                sqlx::query_scalar("SELECT storage_bytes FROM users WHERE id = $1")
                    .bind(user.0)
                    .fetch_optional(self.writer())
                    .await?;
            Ok(used.map(count).unwrap_or(0))
        }

        async fn finish_upload(&self, finish: &FinishUpload) -> Result<FinishOutcome, StoreError> {
            let owner = finish.asset.owner;
            let mut tx = self.writer().begin().await?;
            let gone = sqlx::query("DELETE FROM uploads WHERE public_id = $1 AND owner_id = $2")
                .bind(&finish.upload_id)
                .bind(owner.0)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 0;
            if gone {
                return Ok(FinishOutcome::UploadGone);
            }
            // The asset's triggers charge the bytes (the file's, the poster's and the
            // metadata's kept with it); this checks there is room for them and holds the owner's row
            // until the commit (first, as every writer takes it; see
            // Backend::lock_counters).
            let charged = sqlx::query(
                "UPDATE users SET storage_bytes = storage_bytes
                  WHERE id = $1 AND storage_bytes + $2 <= $3",
            )
            .bind(owner.0)
            .bind(size(finish.charge()))
            .bind(size(finish.quota))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if !charged {
                drop(tx);
                let used = self.storage_used(owner).await?;
                return Ok(FinishOutcome::QuotaExceeded { used });
            }
            DB::lock_counters(&mut *tx, &[]).await?;
            let file = DB::put_file(&mut *tx, &finish.file).await?;
            let mut asset = finish.asset.clone();
            asset.file = Some(file);
            asset.thumb = None;
            asset.preview = None;
            let ids = insert_assets::<DB>(&mut *tx, std::slice::from_ref(&asset)).await?;
            if let (Some(poster), Some(id)) = (&finish.poster, ids.first()) {
                let poster = DB::put_file(&mut *tx, poster).await?;
                sqlx::query("UPDATE assets SET poster_file_id = $1 WHERE id = $2")
                    .bind(poster.0)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            for id in ids {
                sqlx::query(
                    "INSERT INTO jobs (asset_id, kind, created_at) VALUES ($1, 'thumbnails', $2)",
                )
                .bind(id.0)
                .bind(Ts(asset.created_at))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(FinishOutcome::Finished)
        }
    }
}
