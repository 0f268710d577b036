//! Accounts: who can log in, with which role, and their password hashes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::{SessionId, UserId};
use crate::account::{Role, UserStatus};

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

#[derive(Clone, Debug)]
pub struct NewUser {
    pub public_id: String,
    pub username: String,
    /// `None` for accounts that cannot log in (demo users).
    pub password_hash: Option<String>,
    /// The role it gets. Nothing is decided for it: the first account is an admin only
    /// when made so (`atelier user create --admin`, or the one-time setup link).
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

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;

    /// Whether an admin can log in (enabled, with a password): while none can,
    /// `atelier serve` offers the setup link.
    async fn has_admin(&self) -> Result<bool, StoreError>;

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
}
