//! Processing jobs: thumbnails and previews made after an upload, claimed by workers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::files::{NewFile, StoredRef};
use super::ids::{AssetId, UserId};
use crate::model::JobInfo;

/// A processing job a worker has claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    pub asset: AssetId,
    pub asset_public_id: String,
    pub attempts: u32,
    pub original: Option<StoredRef>,
    /// A video's poster frame, when the uploader's browser sent one.
    pub poster: Option<StoredRef>,
}

/// What a finished job made: the 512 px thumbnail and the 1024 px preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutput {
    pub thumb: Option<NewFile>,
    pub preview: Option<NewFile>,
    /// Set when the job is done but something could not be made (shown, not retried).
    pub note: Option<String>,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Takes the oldest pending job (marking it processing, attempts + 1).
    async fn claim_job(&self, now: DateTime<Utc>) -> Result<Option<ClaimedJob>, StoreError>;

    async fn set_job_progress(&self, job: i64, progress: u8) -> Result<(), StoreError>;

    /// Stores the job's files, points the asset at them and marks the job done, together.
    async fn complete_job(
        &self,
        job: &ClaimedJob,
        output: &JobOutput,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn fail_job(&self, job: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Jobs left `processing` by a server that stopped go back to `pending`; returns how many.
    async fn requeue_interrupted_jobs(&self) -> Result<u64, StoreError>;

    /// Puts the owner's failed job for an asset back in the queue. `None` when the asset is
    /// not theirs or has no job.
    async fn retry_job(
        &self,
        asset_public_id: &str,
        owner: UserId,
    ) -> Result<Option<JobInfo>, StoreError>;
}
