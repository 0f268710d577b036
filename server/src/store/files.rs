//! Stored files: one row per distinct content (SHA-256), pointing at its bytes on disk.

use std::future::Future;

use app::store::{FileId, FileStore, NewFile, StoreError, StoredRef};
use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, QueryBuilder, Row, Type};

use super::backend::Backend;
use super::types::{count, dim, size, Ts};
use super::{for_each_backend, Db};

/// Paths per `IN (…)` list when checking which are known.
const PATHS_PER_QUERY: usize = 500;

/// Statements on files that other domains run inside their own transactions.
pub(super) trait FileRows: Backend {
    /// Records a file on `conn`; the same SHA-256 twice returns the existing row.
    fn put_file(
        conn: &mut Self::Connection,
        file: &NewFile,
    ) -> impl Future<Output = Result<FileId, StoreError>> + Send;

    /// Deletes the file if no asset names it any more (as original, still or poster);
    /// returns it when it went, for its bytes to be removed.
    fn delete_unused_file(
        conn: &mut Self::Connection,
        file: i64,
    ) -> impl Future<Output = Result<Option<StoredRef>, StoreError>> + Send;
}

/// A `files` row as the media routes need it.
#[derive(sqlx::FromRow)]
struct StoredRow {
    sha256: String,
    mime_type: String,
    byte_size: i64,
    storage_path: String,
}

impl From<StoredRow> for StoredRef {
    fn from(row: StoredRow) -> StoredRef {
        StoredRef {
            sha256: row.sha256,
            mime_type: row.mime_type,
            byte_size: count(row.byte_size),
            storage_path: row.storage_path,
        }
    }
}

/// Columns for [`stored_ref`] from a `files` alias.
pub(super) fn stored_ref_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.sha256 AS {prefix}_sha256, {alias}.mime_type AS {prefix}_mime, \
         {alias}.byte_size AS {prefix}_size, {alias}.storage_path AS {prefix}_path"
    )
}

/// A [`StoredRef`] from the columns [`stored_ref_columns`] names (absent when the join
/// found no file).
pub(super) fn stored_ref<'r, R>(row: &'r R, prefix: &str) -> Result<Option<StoredRef>, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let Some(sha256) = row.try_get::<Option<String>, _>(format!("{prefix}_sha256").as_str())?
    else {
        return Ok(None);
    };
    Ok(Some(StoredRef {
        sha256,
        mime_type: row.try_get(format!("{prefix}_mime").as_str())?,
        byte_size: count(row.try_get(format!("{prefix}_size").as_str())?),
        storage_path: row.try_get(format!("{prefix}_path").as_str())?,
    }))
}

for_each_backend! {
    impl FileRows for DB {
        async fn put_file(
            conn: &mut <DB as sqlx::Database>::Connection,
            file: &NewFile,
        ) -> Result<FileId, StoreError> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO files
                    (sha256, byte_size, mime_type, width, height, duration_ms, storage_path,
                     created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256
                 RETURNING id",
            )
            .bind(&file.sha256)
            .bind(size(file.byte_size))
            .bind(&file.mime_type)
            .bind(dim(file.width))
            .bind(dim(file.height))
            .bind(dim(file.duration_ms))
            .bind(&file.storage_path)
            .bind(Ts(file.created_at))
            .fetch_one(&mut *conn)
            .await?;
            Ok(FileId(id))
        }

        async fn delete_unused_file(
            conn: &mut <DB as sqlx::Database>::Connection,
            file: i64,
        ) -> Result<Option<StoredRef>, StoreError> {
            let gone: Option<StoredRow> = sqlx::query_as(
                "DELETE FROM files WHERE id = $1
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE file_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE thumb_file_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE preview_file_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM assets WHERE poster_file_id = $1)
                 RETURNING sha256, mime_type, byte_size, storage_path",
            )
            .bind(file)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(gone.map(StoredRef::from))
        }
    }

    #[async_trait]
    impl FileStore for Db<DB> {
        async fn put_file(&self, file: &NewFile) -> Result<FileId, StoreError> {
            let mut tx = self.writer().begin().await?;
            DB::lock_counters(&mut *tx, &[]).await?;
            let id = <DB as FileRows>::put_file(&mut *tx, file).await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn file_exists(&self, sha256: &str) -> Result<bool, StoreError> {
            let found: Option<String> =
                sqlx::query_scalar("SELECT sha256 FROM files WHERE sha256 = $1")
                    .bind(sha256)
                    .fetch_optional(self.writer())
                    .await?;
            Ok(found.is_some())
        }

        async fn known_storage_paths(&self, paths: &[String]) -> Result<Vec<String>, StoreError> {
            let mut known = Vec::new();
            for chunk in paths.chunks(PATHS_PER_QUERY) {
                let mut query = QueryBuilder::<DB>::new(
                    "SELECT storage_path FROM files WHERE storage_path IN (",
                );
                let mut list = query.separated(", ");
                for path in chunk {
                    list.push_bind(path);
                }
                query.push(")");
                let rows: Vec<String> = query
                    .build_query_scalar()
                    .fetch_all(self.writer())
                    .await?;
                known.extend(rows);
            }
            Ok(known)
        }
    }
}
