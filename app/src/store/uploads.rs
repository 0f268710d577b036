//! Uploads in progress, and the one transaction that turns a finished upload into an asset.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::assets::NewAsset;
use super::error::StoreError;
use super::files::NewFile;
use super::ids::UserId;

/// An upload about to start receiving bytes.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub public_id: String,
    pub owner: UserId,
    pub filename: String,
    pub byte_size: u64,
    pub expected_sha256: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What an upload may start within: its owner's storage quota (what their assets hold
/// plus what their unfinished uploads announced) and how many unfinished uploads they may
/// have at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadRoom {
    pub quota: u64,
    pub max_open: u32,
}

/// A person's unfinished uploads (not refused): how many, and the bytes they announced,
/// which they hold against the quota until they finish, are cancelled or expire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenUploads {
    pub count: u32,
    pub bytes: u64,
}

/// Whether an upload started; when it did not, nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadStart {
    Started,
    /// Its size would take the owner past their quota: `used` by their assets, `open` by
    /// their unfinished uploads.
    OverQuota {
        used: u64,
        open: OpenUploads,
    },
    /// The owner already has as many unfinished uploads as they may.
    TooManyOpen {
        open: OpenUploads,
    },
}

/// An upload in progress, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadRecord {
    pub public_id: String,
    pub owner: UserId,
    pub filename: String,
    pub byte_size: u64,
    pub received: u64,
    pub expected_sha256: Option<String>,
    /// JSON the server wrote once every byte was in and the file was recognised.
    pub probe: Option<String>,
    /// Why the file was refused, with the HTTP status that says so.
    pub error: Option<(String, u16)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Everything that must commit together when an upload becomes an asset: the stored file
/// (or the existing row with the same SHA-256), the owner's storage use (within quota),
/// the asset with its tags, its processing job, and the upload row's removal.
#[derive(Clone, Debug)]
pub struct FinishUpload {
    pub upload_id: String,
    pub file: NewFile,
    /// `file` and `thumb` are ignored: the asset gets the file above, thumbnails come
    /// from the job.
    pub asset: NewAsset,
    /// The owner's storage quota in bytes.
    pub quota: u64,
    /// A video's poster frame from the uploader's browser, already stored.
    pub poster: Option<NewFile>,
}

impl FinishUpload {
    /// What the asset charges its owner when it is made: the file, the poster frame and
    /// the metadata kept (its thumbnails are charged when its job makes them).
    pub fn charge(&self) -> u64 {
        self.file
            .byte_size
            .saturating_add(self.asset.metadata_bytes())
            .saturating_add(self.poster.as_ref().map_or(0, |p| p.byte_size))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishOutcome {
    Finished,
    /// Nothing was written: the asset would take the owner past their quota.
    QuotaExceeded {
        used: u64,
    },
    /// Nothing was written: no such upload (finished or cancelled meanwhile).
    UploadGone,
}

#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Starts an upload if it fits `room`, counting the owner's unfinished uploads, in one
    /// transaction that holds the owner's row (two starts at once cannot both take the
    /// last room).
    async fn create_upload(
        &self,
        upload: &NewUpload,
        room: UploadRoom,
    ) -> Result<UploadStart, StoreError>;

    /// The owner's unfinished uploads that were not refused.
    async fn open_uploads(&self, owner: UserId) -> Result<OpenUploads, StoreError>;

    /// Moves an upload's expiry to `expires_at` if that is later (bytes are arriving).
    async fn extend_upload(
        &self,
        public_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn find_upload(&self, public_id: &str) -> Result<Option<UploadRecord>, StoreError>;

    /// Records how many bytes are safely in the temp file (never fewer than before: syncs
    /// may finish out of order).
    async fn set_upload_received(
        &self,
        public_id: &str,
        received: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records what the complete file is (`probe` JSON) or why it was refused.
    async fn set_upload_result(
        &self,
        public_id: &str,
        probe: Option<&str>,
        error: Option<(&str, u16)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// True when there was such an upload.
    async fn delete_upload(&self, public_id: &str) -> Result<bool, StoreError>;

    /// Public ids of uploads that expired before `now`, at most `limit`.
    async fn expired_uploads(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// Bytes the user's assets hold (kept in step with every asset write).
    async fn storage_used(&self, user: UserId) -> Result<u64, StoreError>;

    /// Turns an upload into an asset in one transaction (see [`FinishUpload`]).
    async fn finish_upload(&self, finish: &FinishUpload) -> Result<FinishOutcome, StoreError>;
}
