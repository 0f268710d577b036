//! Uploads over HTTP: start, status, finish and cancel a resumable upload, read the limits,
//! retry a failed processing job. The bytes themselves go to `POST /api/upload/chunk`,
//! which the server crate serves as a streaming handler (see docs/API.md).

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

use crate::error::ApiError;
use crate::model::JobInfo;
use crate::upload::{FinishedUpload, UploadLimits, UploadStatus, UploadTicket};

/// `POST /api/upload/start`: announces a file; the answer says where to send its bytes.
#[server(name = StartUpload, prefix = "/api", endpoint = "upload/start", input = PostUrl, output = Json)]
pub async fn start_upload(
    filename: String,
    size: u64,
    /// Hex SHA-256 of the whole file; when given, the server checks it at the end.
    sha256: Option<String>,
) -> Result<UploadTicket, ApiError> {
    super::ssr::respond(async move {
        let session = super::ssr::require_session().await?;
        super::ssr::uploads()?
            .start(&session.user, &filename, size, sha256.as_deref())
            .await
    })
    .await
}

/// `GET /api/upload/status?upload_id=`: bytes received and, once all are in, what the file
/// is and what its metadata says.
#[server(name = UploadStatusFn, prefix = "/api", endpoint = "upload/status", input = GetUrl, output = Json)]
pub async fn upload_status(upload_id: String) -> Result<UploadStatus, ApiError> {
    super::ssr::respond(async move {
        let session = super::ssr::require_session().await?;
        super::ssr::add_response_header(http::header::CACHE_CONTROL, "no-store");
        super::ssr::uploads()?
            .status(&session.user, &upload_id)
            .await
    })
    .await
}

/// `GET /api/upload/limits`: size caps and the caller's storage quota.
#[server(name = UploadLimitsFn, prefix = "/api", endpoint = "upload/limits", input = GetUrl, output = Json)]
pub async fn upload_limits() -> Result<UploadLimits, ApiError> {
    super::ssr::respond(async move {
        let session = super::ssr::require_session().await?;
        super::ssr::add_response_header(http::header::CACHE_CONTROL, "no-store");
        super::ssr::uploads()?.limits_for(&session.user).await
    })
    .await
}

/// `POST /api/upload/finish`: turns a complete upload into an asset. Empty prompt,
/// negative prompt and model fall back to what the file carried; an empty title to the
/// file's name.
#[server(name = FinishUpload, prefix = "/api", endpoint = "upload/finish", input = PostUrl, output = Json)]
#[allow(clippy::too_many_arguments)]
pub async fn finish_upload(
    upload_id: String,
    title: Option<String>,
    prompt: Option<String>,
    negative_prompt: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
    model: Option<String>,
    /// `public` (default) or `private`.
    visibility: Option<String>,
) -> Result<FinishedUpload, ApiError> {
    super::ssr::respond(async move {
        let session = super::ssr::require_session().await?;
        let visibility_text = visibility.unwrap_or_default();
        let visibility = crate::model::Visibility::parse(&visibility_text).ok_or_else(|| {
            ApiError::BadRequest(crate::model::Visibility::refusal(&visibility_text))
        })?;
        let form = crate::upload::UploadForm {
            title: title.unwrap_or_default(),
            prompt: prompt.unwrap_or_default(),
            negative_prompt: negative_prompt.unwrap_or_default(),
            tags: tags.unwrap_or_default(),
            model: model.unwrap_or_default(),
            visibility,
        };
        super::ssr::uploads()?
            .finish(&session.user, &upload_id, form)
            .await
    })
    .await
}

/// `POST /api/upload/cancel`: drops an unfinished upload and its bytes.
#[server(name = CancelUpload, prefix = "/api", endpoint = "upload/cancel", input = PostUrl, output = Json)]
pub async fn cancel_upload(upload_id: String) -> Result<(), ApiError> {
    super::ssr::respond(async move {
        let session = super::ssr::require_session().await?;
        super::ssr::uploads()?
            .cancel(&session.user, &upload_id)
            .await
    })
    .await
}

/// `POST /api/jobs/retry`: runs the failed processing job of one of the caller's assets again.
#[server(name = RetryJob, prefix = "/api", endpoint = "jobs/retry", input = PostUrl, output = Json)]
pub async fn retry_job(asset_id: String) -> Result<JobInfo, ApiError> {
    super::ssr::respond(async move {
        let session = super::ssr::require_session().await?;
        super::ssr::uploads()?
            .retry_job(&session.user, &asset_id)
            .await
    })
    .await
}

/// `GET /api/tags?prefix=`: existing tags that start with `prefix` (for autocompletion):
/// tags of public assets, and of the caller's own.
#[server(name = SuggestTags, prefix = "/api", endpoint = "tags", input = GetUrl, output = Json)]
pub async fn suggest_tags(prefix: Option<String>) -> Result<Vec<String>, ApiError> {
    super::ssr::respond(async move {
        let prefix = crate::model::normalize_tags([prefix.unwrap_or_default()])
            .pop()
            .unwrap_or_default();
        let viewer = super::ssr::current_session().await?.map(|s| s.user.id);
        if viewer.is_some() {
            super::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(super::ssr::store()?
            .suggest_tags(&prefix, 10, viewer)
            .await?)
    })
    .await
}
