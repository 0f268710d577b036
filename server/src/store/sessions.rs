//! Login sessions, found by the SHA-256 of their cookie's token.

use app::store::{
    ActiveSession, NewSession, SessionId, SessionRecord, SessionStore, StoreError, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::accounts::{UserRow, USER_COLUMNS};
use super::types::Ts;
use super::{for_each_backend, Db};

/// A live session with its user.
#[derive(sqlx::FromRow)]
struct ActiveRow {
    #[sqlx(flatten)]
    user: UserRow,
    session_id: i64,
    session_public_id: String,
    session_last_seen: Ts,
    session_expires: Ts,
    session_absolute: Ts,
}

/// A session as its owner's list shows it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    public_id: String,
    created_at: Ts,
    last_seen_at: Ts,
    ip: Option<String>,
    user_agent: Option<String>,
    device: String,
}

impl From<SessionRow> for SessionRecord {
    fn from(row: SessionRow) -> SessionRecord {
        SessionRecord {
            id: SessionId(row.id),
            public_id: row.public_id,
            created_at: row.created_at.0,
            last_seen_at: row.last_seen_at.0,
            ip: row.ip,
            user_agent: row.user_agent,
            device: row.device,
        }
    }
}

for_each_backend! {
    #[async_trait]
    impl SessionStore for Db<DB> {
        async fn start_session(
            &self,
            user: UserId,
            session: &NewSession,
        ) -> Result<SessionId, StoreError> {
            let mut tx = self.writer().begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO user_sessions
                    (public_id, user_id, token_hash, created_at, last_seen_at, expires_at,
                     absolute_expires_at, ip, user_agent, device)
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)
                 RETURNING id",
            )
            .bind(&session.public_id)
            .bind(user.0)
            .bind(&session.token_hash[..])
            .bind(Ts(session.created_at))
            .bind(Ts(session.expires_at))
            .bind(Ts(session.absolute_expires_at))
            .bind(&session.ip)
            .bind(&session.user_agent)
            .bind(&session.device)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE users SET login_count = login_count + 1, last_login_at = $1
                  WHERE id = $2",
            )
            .bind(Ts(session.created_at))
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(SessionId(id))
        }

        async fn find_session(
            &self,
            token_hash: &[u8; 32],
            now: DateTime<Utc>,
        ) -> Result<Option<ActiveSession>, StoreError> {
            let Some(row) = sqlx::query_as::<_, ActiveRow>(&format!(
                "SELECT {USER_COLUMNS}, s.id AS session_id, s.public_id AS session_public_id,
                        s.last_seen_at AS session_last_seen, s.expires_at AS session_expires,
                        s.absolute_expires_at AS session_absolute
                   FROM user_sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.absolute_expires_at > $2
                    AND u.status = 'enabled'"
            ))
            .bind(&token_hash[..])
            .bind(Ts(now))
            .fetch_optional(self.reader())
            .await?
            else {
                return Ok(None);
            };
            Ok(Some(ActiveSession {
                id: SessionId(row.session_id),
                public_id: row.session_public_id,
                user: row.user.try_into()?,
                last_seen_at: row.session_last_seen.0,
                expires_at: row.session_expires.0,
                absolute_expires_at: row.session_absolute.0,
            }))
        }

        async fn touch_session(
            &self,
            session: SessionId,
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE user_sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3",
            )
            .bind(Ts(now))
            .bind(Ts(expires_at))
            .bind(session.0)
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn end_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
            let done = sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
                .bind(&token_hash[..])
                .execute(self.writer())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn list_sessions(
            &self,
            user: UserId,
            now: DateTime<Utc>,
        ) -> Result<Vec<SessionRecord>, StoreError> {
            let rows: Vec<SessionRow> = sqlx::query_as(
                "SELECT id, public_id, created_at, last_seen_at, ip, user_agent, device
                   FROM user_sessions
                  WHERE user_id = $1 AND expires_at > $2 AND absolute_expires_at > $2
                  ORDER BY last_seen_at DESC, id DESC",
            )
            .bind(user.0)
            .bind(Ts(now))
            .fetch_all(self.reader())
            .await?;
            Ok(rows.into_iter().map(SessionRecord::from).collect())
        }

        async fn revoke_session(&self, user: UserId, public_id: &str) -> Result<bool, StoreError> {
            let done =
                sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND public_id = $2")
                    .bind(user.0)
                    .bind(public_id)
                    .execute(self.writer())
                    .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn revoke_other_sessions(
            &self,
            user: UserId,
            keep: Option<SessionId>,
        ) -> Result<u64, StoreError> {
            let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2")
                .bind(user.0)
                .bind(keep.map_or(-1, |k| k.0))
                .execute(self.writer())
                .await?;
            Ok(done.rows_affected())
        }

        async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
            let done = sqlx::query(
                "DELETE FROM user_sessions WHERE expires_at <= $1 OR absolute_expires_at <= $1",
            )
            .bind(Ts(now))
            .execute(self.writer())
            .await?;
            Ok(done.rows_affected())
        }
    }
}
