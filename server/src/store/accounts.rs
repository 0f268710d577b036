//! Accounts: users, their roles, statuses and password hashes.

use app::account::{Role, UserStatus};
use app::store::{AccountStore, Credentials, EndSessions, NewUser, StoreError, User, UserId};
use async_trait::async_trait;

use super::types::Ts;
use super::{for_each_backend, username_taken, Db};

/// The columns [`UserRow`] reads, from `users u`.
pub(super) const USER_COLUMNS: &str = "u.id, u.public_id, u.username, u.role, u.status, \
     u.login_count, u.last_login_at, u.created_at";

/// The same columns, unqualified, for `RETURNING`.
const USER_RETURNING: &str =
    "id, public_id, username, role, status, login_count, last_login_at, created_at";

/// How a statement finds a user by name, ignoring case: `lower()` on both sides, which
/// an index serves on both backends (SQLite: 0006; Postgres: the unique index of 0001).
pub(super) const SAME_NAME: &str = "lower(u.username) = lower($1)";

/// A user as stored.
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: i64,
    public_id: String,
    username: String,
    role: String,
    status: String,
    login_count: i64,
    last_login_at: Option<Ts>,
    created_at: Ts,
}

impl UserRow {
    pub(super) fn id(&self) -> i64 {
        self.id
    }
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(row.id),
            public_id: row.public_id,
            username: row.username,
            role: Role::parse(&row.role)
                .ok_or_else(|| StoreError::Database(format!("unknown role “{}”", row.role)))?,
            status: UserStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Database(format!("unknown status “{}”", row.status)))?,
            login_count: u64::try_from(row.login_count).unwrap_or(0),
            last_login_at: row.last_login_at.map(|t| t.0),
            created_at: row.created_at.0,
        })
    }
}

/// A user with the stored password hash.
#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
}

/// The session id kept when a password changes, as `id <> $2` reads it (`-1`: none).
fn sessions_kept(end: EndSessions) -> Option<i64> {
    match end {
        EndSessions::None => None,
        EndSessions::All => Some(-1),
        EndSessions::AllExcept(keep) => Some(keep.0),
    }
}

for_each_backend! {
    #[async_trait]
    impl AccountStore for Db<DB> {
        async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
            let row: UserRow = sqlx::query_as(&format!(
                "INSERT INTO users (public_id, username, password_hash, role, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING {USER_RETURNING}"
            ))
            .bind(&user.public_id)
            .bind(&user.username)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(Ts(user.created_at))
            .fetch_one(self.writer())
            .await
            .map_err(|e| username_taken(e, &user.username))?;
            row.try_into()
        }

        async fn has_admin(&self) -> Result<bool, StoreError> {
            // A count of at most one: the same integer type on both backends.
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM users
                  WHERE role = 'admin' AND status = 'enabled' AND password_hash IS NOT NULL
                  LIMIT 1) AS any_admin",
            )
            .fetch_one(self.reader())
            .await?;
            Ok(admins > 0)
        }

        async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
            sqlx::query_as::<_, UserRow>(&format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE {SAME_NAME}"
            ))
            .bind(username)
            .fetch_optional(self.reader())
            .await?
            .map(User::try_from)
            .transpose()
        }

        async fn find_credentials(
            &self,
            username: &str,
        ) -> Result<Option<Credentials>, StoreError> {
            let Some(row) = sqlx::query_as::<_, CredentialsRow>(&format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE {SAME_NAME}"
            ))
            .bind(username)
            .fetch_optional(self.reader())
            .await?
            else {
                return Ok(None);
            };
            Ok(Some(Credentials {
                user: row.user.try_into()?,
                password_hash: row.password_hash,
            }))
        }

        async fn set_password(
            &self,
            user: UserId,
            password_hash: &str,
            end: EndSessions,
        ) -> Result<(), StoreError> {
            let mut tx = self.writer().begin().await?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
            if let Some(keep) = sessions_kept(end) {
                sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2")
                    .bind(user.0)
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(tx.commit().await?)
        }

        async fn set_role(&self, username: &str, role: Role) -> Result<Option<User>, StoreError> {
            sqlx::query_as::<_, UserRow>(&format!(
                "UPDATE users AS u SET role = $2 WHERE {SAME_NAME} RETURNING {USER_RETURNING}"
            ))
            .bind(username)
            .bind(role.as_str())
            .fetch_optional(self.writer())
            .await?
            .map(User::try_from)
            .transpose()
        }

        async fn set_status(
            &self,
            username: &str,
            status: UserStatus,
        ) -> Result<Option<User>, StoreError> {
            let mut tx = self.writer().begin().await?;
            let Some(row) = sqlx::query_as::<_, UserRow>(&format!(
                "UPDATE users AS u SET status = $2 WHERE {SAME_NAME} RETURNING {USER_RETURNING}"
            ))
            .bind(username)
            .bind(status.as_str())
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let user = User::try_from(row)?;
            if status == UserStatus::Disabled {
                sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
                    .bind(user.id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Some(user))
        }

        async fn list_accounts(&self) -> Result<Vec<User>, StoreError> {
            sqlx::query_as::<_, UserRow>(&format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE u.password_hash IS NOT NULL
                 ORDER BY u.created_at, u.id"
            ))
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(User::try_from)
            .collect()
        }
    }
}
