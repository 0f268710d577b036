//! Stored files: content-addressed rows for the bytes under the data directory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::FileId;

/// A file already written to storage, content-addressed by its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFile {
    pub sha256: String,
    pub byte_size: u64,
    pub mime_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// Path relative to the data directory's `files/` folder.
    pub storage_path: String,
    pub created_at: DateTime<Utc>,
}

/// A stored file as the media routes serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRef {
    pub sha256: String,
    pub mime_type: String,
    pub byte_size: u64,
    pub storage_path: String,
}

#[async_trait]
pub trait FileStore: Send + Sync {
    /// Records a stored file; the same SHA-256 twice returns the existing row.
    async fn put_file(&self, file: &NewFile) -> Result<FileId, StoreError>;

    /// Whether a `files` row has this SHA-256.
    async fn file_exists(&self, sha256: &str) -> Result<bool, StoreError>;

    /// Which of these storage paths a `files` row points to.
    async fn known_storage_paths(&self, paths: &[String]) -> Result<Vec<String>, StoreError>;
}
