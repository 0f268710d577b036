//! Processing jobs: claimed by workers, completed with the files they made, retried.

use app::model::{JobInfo, JobState};
use app::store::{AssetId, ClaimedJob, JobOutput, JobStore, StoreError, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::backend::Backend;
use super::files::{stored_ref, stored_ref_columns, FileRows};
use super::types::Ts;
use super::{for_each_backend, Db};

/// The columns [`JobRow`] reads.
pub(super) const JOB_COLUMNS: &str = "state, progress, attempts, error, started_at, finished_at";

/// A job's state as stored.
#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    state: String,
    progress: i32,
    attempts: i32,
    error: Option<String>,
    started_at: Option<Ts>,
    finished_at: Option<Ts>,
}

impl TryFrom<JobRow> for JobInfo {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<JobInfo, StoreError> {
        Ok(JobInfo {
            state: JobState::parse(&row.state).ok_or_else(|| {
                StoreError::Database(format!("unknown job state “{}”", row.state))
            })?,
            progress: u8::try_from(row.progress.clamp(0, 100)).unwrap_or(0),
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            error: row.error,
            started_at: row.started_at.map(|t| t.0),
            finished_at: row.finished_at.map(|t| t.0),
        })
    }
}

for_each_backend! {
    #[async_trait]
    impl JobStore for Db<DB> {
        async fn claim_job(&self, now: DateTime<Utc>) -> Result<Option<ClaimedJob>, StoreError> {
            let mut tx = self.writer().begin().await?;
            let claimed: Option<(i64, i64, i32)> = sqlx::query_as(&format!(
                "UPDATE jobs SET state = 'processing', progress = 0, attempts = attempts + 1,
                                 started_at = $1, finished_at = NULL, error = NULL
                  WHERE id = (SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1
                              {})
                  RETURNING id, asset_id, attempts",
                DB::SKIP_LOCKED
            ))
            .bind(Ts(now))
            .fetch_optional(&mut *tx)
            .await?;
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
            .await?;
            let job = ClaimedJob {
                id,
                asset: AssetId(asset_id),
                asset_public_id: sqlx::Row::try_get(&row, "public_id")?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                original: stored_ref(&row, "original")?,
                poster: stored_ref(&row, "poster")?,
            };
            tx.commit().await?;
            Ok(Some(job))
        }

        async fn set_job_progress(&self, job: i64, progress: u8) -> Result<(), StoreError> {
            sqlx::query("UPDATE jobs SET progress = $1 WHERE id = $2 AND state = 'processing'")
                .bind(i32::from(progress.min(100)))
                .bind(job)
                .execute(self.writer())
                .await?;
            Ok(())
        }

        async fn complete_job(
            &self,
            job: &ClaimedJob,
            output: &JobOutput,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            let mut tx = self.writer().begin().await?;
            // The stills are charged to the asset's owner (a trigger): their row first.
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT owner_id FROM assets WHERE id = $1")
                    .bind(job.asset.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            DB::lock_counters(&mut *tx, owner.as_slice()).await?;
            let thumb = match &output.thumb {
                Some(file) => Some(DB::put_file(&mut *tx, file).await?.0),
                None => None,
            };
            let preview = match &output.preview {
                Some(file) => Some(DB::put_file(&mut *tx, file).await?.0),
                None => None,
            };
            sqlx::query(
                "UPDATE assets SET thumb_file_id = $1, preview_file_id = $2 WHERE id = $3",
            )
            .bind(thumb)
            .bind(preview)
            .bind(job.asset.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE jobs SET state = 'done', progress = 100, error = $1, finished_at = $2
                  WHERE id = $3",
            )
            .bind(&output.note)
            .bind(Ts(now))
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
            Ok(tx.commit().await?)
        }

        async fn fail_job(&self, job: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE jobs SET state = 'failed', error = $1, finished_at = $2 WHERE id = $3",
            )
            .bind(error)
            .bind(Ts(now))
            .bind(job)
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn requeue_interrupted_jobs(&self) -> Result<u64, StoreError> {
            let done = sqlx::query(
                "UPDATE jobs SET state = 'pending', progress = 0 WHERE state = 'processing'",
            )
            .execute(self.writer())
            .await?;
            Ok(done.rows_affected())
        }

        async fn retry_job(
            &self,
            asset_public_id: &str,
            owner: UserId,
        ) -> Result<Option<JobInfo>, StoreError> {
            let retried: Option<JobRow> = sqlx::query_as(&format!(
                "UPDATE jobs SET state = 'pending', progress = 0, error = NULL, finished_at = NULL
                  WHERE id = (SELECT j.id FROM jobs j JOIN assets a ON a.id = j.asset_id
                               WHERE a.public_id = $1 AND a.owner_id = $2
                                 AND a.trashed_at IS NULL
                               ORDER BY j.id DESC LIMIT 1)
                    AND state IN ('failed', 'done')
                  RETURNING {JOB_COLUMNS}"
            ))
            .bind(asset_public_id)
            .bind(owner.0)
            .fetch_optional(self.writer())
            .await?;
            let row = match retried {
                Some(row) => Some(row),
                // Not retried: already queued or running (say so), or not theirs (None).
                None => {
                    sqlx::query_as(&format!(
                        "SELECT {JOB_COLUMNS} FROM jobs j JOIN assets a ON a.id = j.asset_id
                          WHERE a.public_id = $1 AND a.owner_id = $2
                            AND a.trashed_at IS NULL
                          ORDER BY j.id DESC LIMIT 1"
                    ))
                    .bind(asset_public_id)
                    .bind(owner.0)
                    .fetch_optional(self.writer())
                    .await?
                }
            };
            row.map(JobInfo::try_from).transpose()
        }
    }
}
