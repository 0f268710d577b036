//! How the upload engine says no: the API errors its stages answer with, and the chunk
//! error that also tells the client where to resume.

use app::error::ApiError;

use crate::media;

/// Why a chunk was not taken. Serialised as the API's error body, plus `received` where
/// the client needs it to resume.
#[derive(Debug)]
pub struct ChunkError {
    pub error: ApiError,
    /// The server's offset, when the client should continue from it.
    pub received: Option<u64>,
}

impl From<ApiError> for ChunkError {
    fn from(error: ApiError) -> Self {
        ChunkError {
            error,
            received: None,
        }
    }
}

/// The refusal that a probe error deserves.
pub(super) fn probe_refusal(err: &media::probe::ProbeError) -> ApiError {
    refusal_from_status(err.to_string(), err.status())
}

/// A refusal recorded on an upload row (message and status), as an error again.
pub(super) fn refusal_from_status(message: String, status: u16) -> ApiError {
    match status {
        413 => ApiError::TooLarge(message),
        415 => ApiError::Unsupported(message),
        400 => ApiError::BadRequest(message),
        _ => ApiError::Unprocessable(message),
    }
}

/// A failed file write or sync: a full disk (`ENOSPC`, `EDQUOT`) is a 507 the client
/// retries later; anything else is logged and answered with the internal error.
pub(super) fn io_failure(context: &str, err: std::io::Error) -> ApiError {
    if app::store::is_disk_full(&err) {
        tracing::warn!(%err, "{context}: the disk is full");
        return ApiError::disk_full();
    }
    internal(context, err)
}

/// Logs what went wrong on the server and answers with the opaque internal error.
pub(super) fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::error!(%err, "{context}");
    ApiError::Internal
}

pub(super) fn not_found(upload_id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no upload has the id “{upload_id}”; it may have finished, been cancelled or expired"
    ))
}
