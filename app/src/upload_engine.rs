//! The upload engine's seam (server only): what the upload and asset server functions ask
//! of the server crate, which owns the storage and the media pipeline.

use crate::error::ApiError;
use crate::model::JobInfo;
use crate::store::User;
use crate::upload::{FinishedUpload, UploadForm, UploadLimits, UploadStatus, UploadTicket};

/// The upload engine the server functions drive (implemented by the server crate, which
/// owns the storage and the media pipeline). The chunk endpoint streams bytes and is
/// served by the server crate directly.
#[async_trait::async_trait]
pub trait Uploads: Send + Sync + 'static {
    async fn start(
        &self,
        user: &User,
        filename: &str,
        size: u64,
        sha256: Option<&str>,
    ) -> Result<UploadTicket, ApiError>;

    async fn status(&self, user: &User, upload_id: &str) -> Result<UploadStatus, ApiError>;

    async fn limits_for(&self, user: &User) -> Result<UploadLimits, ApiError>;

    async fn finish(
        &self,
        user: &User,
        upload_id: &str,
        form: UploadForm,
    ) -> Result<FinishedUpload, ApiError>;

    /// Drops an unfinished upload and its bytes.
    async fn cancel(&self, user: &User, upload_id: &str) -> Result<(), ApiError>;

    /// Runs an asset's failed processing job again.
    async fn retry_job(&self, user: &User, asset_id: &str) -> Result<JobInfo, ApiError>;

    /// Deletes an asset in the trash of `user`'s (anyone's when `any_owner`) for good, and
    /// the stored files nothing else names. `false` when there was no such asset in the
    /// trash.
    async fn purge_asset(
        &self,
        user: &User,
        asset_id: &str,
        any_owner: bool,
    ) -> Result<bool, ApiError>;

    /// Deletes what is in `user`'s trash for good, up to
    /// [`crate::model::EMPTY_TRASH_MAX`] assets.
    async fn empty_trash(&self, user: &User) -> Result<crate::model::EmptiedTrash, ApiError>;
}
