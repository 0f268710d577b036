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
            StoreError::Database(msg) => {
                tracing::error!(%msg, "database error");
                ApiError::Internal
            }
        }
    }
}
