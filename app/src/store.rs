//! The seam between the application and its database. One trait, one implementation per
//! backend (`server/src/store/{sqlite,postgres}.rs`), one story test run against both.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};

use crate::account::{Role, UserStatus};
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
    /// The role asked for. The first account that can log in on an instance becomes
    /// admin whatever is asked (decided inside the insert, so two racing sign-ups cannot
    /// both become the first).
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub public_id: String,
    pub username: String,
    pub role: Role,
    pub status: UserStatus,
    pub login_count: u64,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A user with the stored password hash, for checking a login.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: User,
    /// PHC string; `None` when the account cannot log in with a password.
    pub password_hash: Option<String>,
}

/// Internal row id of a session. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(pub i64);

/// A session about to start: the SHA-256 of its cookie token, never the token.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub public_id: String,
    pub token_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device: String,
}

/// A live session found by its token, with its (enabled) user.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveSession {
    pub id: SessionId,
    pub public_id: String,
    pub user: User,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
}

/// A session as its owner's list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub public_id: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device: String,
}

/// Which of a user's sessions end when the password changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndSessions {
    /// None (a rehash with new parameters is not a new password).
    None,
    /// All but this one (changing it from the account page).
    AllExcept(SessionId),
    /// All (a reset by an admin).
    All,
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

    /// The user and password hash for a login attempt (name ignoring case).
    async fn find_credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError>;

    /// Stores a new password hash and ends sessions as asked, in one transaction.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        end: EndSessions,
    ) -> Result<(), StoreError>;

    /// Sets the role; `None` when no such user.
    async fn set_role(&self, username: &str, role: Role) -> Result<Option<User>, StoreError>;

    /// Enables or disables an account; disabling ends all its sessions in the same
    /// transaction. `None` when no such user.
    async fn set_status(
        &self,
        username: &str,
        status: UserStatus,
    ) -> Result<Option<User>, StoreError>;

    /// Every account that can log in, oldest first (for the CLI).
    async fn list_accounts(&self) -> Result<Vec<User>, StoreError>;

    /// Records a successful login: the new session, `login_count + 1`, `last_login_at`.
    async fn start_session(
        &self,
        user: UserId,
        session: &NewSession,
    ) -> Result<SessionId, StoreError>;

    /// The session whose token hashes to `token_hash`, if it has not expired at `now` and
    /// its user is enabled.
    async fn find_session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveSession>, StoreError>;

    /// Marks a session used at `now`, sliding its idle expiry to `expires_at`.
    async fn touch_session(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Ends the session with this token (logging out). True when there was one.
    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError>;

    /// A user's unexpired sessions, most recently used first.
    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Ends one of the user's sessions by its public id. True when it was theirs and live.
    async fn revoke_session(&self, user: UserId, public_id: &str) -> Result<bool, StoreError>;

    /// Ends all of the user's sessions but `keep`; returns how many ended.
    async fn revoke_other_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError>;

    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// A runtime setting's stored value.
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores a runtime setting (the caller has validated it).
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every runtime setting, by key.
    async fn list_settings(&self) -> Result<Vec<(String, String)>, StoreError>;

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
