//! The seam between the application and its database. One trait, one implementation per
//! backend (`server/src/store/{sqlite,postgres}.rs`), one story test run against both.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};

use crate::model::{AssetDetail, AssetPage, MediaType};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (username, public id) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
}

/// Internal row id of a user. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// Internal row id of a stored file. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId(pub i64);

#[derive(Clone, Debug)]
pub struct NewUser {
    pub public_id: String,
    pub username: String,
    /// `None` for accounts that cannot log in (demo users).
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub public_id: String,
    pub username: String,
    pub created_at: DateTime<Utc>,
}

/// A file already written to storage, content-addressed by its SHA-256.
#[derive(Clone, Debug)]
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

#[derive(Clone, Debug)]
pub struct NewAsset {
    pub public_id: String,
    pub owner: UserId,
    pub title: String,
    pub prompt: String,
    pub model: Option<String>,
    pub media_type: MediaType,
    pub file: Option<FileId>,
    pub thumb: Option<FileId>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// Already normalised (see [`crate::model::normalize_tags`]).
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Position in the newest-first order: the last item of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub public_id: String,
}

impl Cursor {
    /// Opaque to clients: base64url of `micros:public_id`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}:{}",
            self.created_at.timestamp_micros(),
            self.public_id
        ))
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (micros, id) = raw.split_once(':')?;
        let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        if !crate::ids::is_public_id(id) {
            return None;
        }
        Some(Cursor {
            created_at,
            public_id: id.to_string(),
        })
    }
}

#[derive(Clone, Debug)]
pub struct ListQuery {
    pub limit: u32,
    /// Continue after this position; `None` starts at the newest asset.
    pub after: Option<Cursor>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Answers when the database does (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finishes outstanding work and closes connections (SQLite checkpoints its WAL).
    async fn close(&self);

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;

    /// Finds a user by name, ignoring case.
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// Records a stored file; the same SHA-256 twice returns the existing row.
    async fn put_file(&self, file: &NewFile) -> Result<FileId, StoreError>;

    /// Inserts assets and their tags in one transaction: all of them or none.
    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError>;

    /// Newest first, keyset-paginated over `(created_at, public_id)`.
    async fn list_assets(&self, query: &ListQuery) -> Result<AssetPage, StoreError>;

    async fn get_asset(&self, public_id: &str) -> Result<Option<AssetDetail>, StoreError>;

    /// Exact count; for the CLI, never for a request path.
    async fn count_assets(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_767_225_600_123_456).expect("valid"),
            public_id: "Ab3dEf6hIj9k".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode("12:../../etc")),
            None
        );
    }
}
