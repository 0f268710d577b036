//! Login sessions: started at login, found by the cookie's token hash, slid, listed, ended.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::accounts::User;
use super::error::StoreError;
use super::ids::{SessionId, UserId};

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

#[async_trait]
pub trait SessionStore: Send + Sync {
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
}
