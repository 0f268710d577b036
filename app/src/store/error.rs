//! What can go wrong in the store, and how a request reports it.

use crate::error::ApiError;

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
    /// The database's disk is full (`SQLITE_FULL`, Postgres's `disk_full`, or `ENOSPC`
    /// under the driver): the transaction was rolled back.
    #[error("database disk full: {0}")]
    Full(String),
    /// The work was stopped, or never started, because it would cost more than its
    /// budget (a search past its time budget, or no search slot free in time); the message
    /// says which and what to do about it.
    #[error("{0}")]
    OverBudget(String),
}

/// Driver errors as the store's kinds, so that the backends' code can use `?` on every
/// query. (The trait's error lives here, beside the traits; the conversion has to live with
/// one of the two types.)
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Io(io) if is_disk_full(io) => StoreError::Full(err.to_string()),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| is_full_code(&c)) => {
                StoreError::Full(db.message().to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            _ => StoreError::Database(err.to_string()),
        }
    }
}

/// How a request reports a store failure: a conflict as such, an unreachable database and
/// work over its budget as `503` (the latter with its own message), anything else as an internal error (logged, never shown).
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(msg) => {
                tracing::warn!(%msg, "database unavailable");
                ApiError::Unavailable("the database is not answering; try again shortly".into())
            }
            StoreError::Conflict(msg) => ApiError::Conflict(msg),
            StoreError::OverBudget(msg) => ApiError::Unavailable(msg),
            StoreError::Full(msg) => {
                tracing::error!(%msg, "the database's disk is full");
                ApiError::disk_full()
            }
            StoreError::Database(msg) => {
                tracing::error!(%msg, "database error");
                ApiError::Internal
            }
        }
    }
}

/// Whether an I/O error says the disk (or the user's disk quota) is full: `ENOSPC` or
/// `EDQUOT`.
pub fn is_disk_full(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// A database error code that means the disk is full: SQLite's `SQLITE_FULL` (13, in the
/// low byte of an extended code) or Postgres's `disk_full` (SQLSTATE 53100).
fn is_full_code(code: &str) -> bool {
    // SQLite's codes are up to four digits; Postgres's SQLSTATEs are five characters.
    code == "53100" || (code.len() < 5 && code.parse::<i32>().is_ok_and(|c| c & 0xff == 13))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        assert!(is_full_code("13"));
        assert!(is_full_code("53100"));
        assert!(!is_full_code("2067"), "a unique violation");
        assert!(!is_full_code("23505"));
        assert!(
            is_disk_full(&std::io::Error::from_raw_os_error(28)),
            "ENOSPC"
        );
        assert!(
            !is_disk_full(&std::io::Error::from_raw_os_error(2)),
            "ENOENT"
        );
        let api = ApiError::from(StoreError::Full("database or disk is full".into()));
        assert_eq!(api.status(), 507);
    }
}
