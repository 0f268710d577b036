//! The one error type every server function returns. It travels as JSON
//! (`{"error":"bad_request","message":"…"}`) and carries its HTTP status.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", content = "message", rename_all = "snake_case")]
pub enum ApiError {
    /// The request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// Nobody is logged in, or the credentials are wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// Logged in, but not allowed (or the feature is switched off).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The name or value is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The upload is over a size cap or the owner's storage quota.
    #[error("{0}")]
    TooLarge(String),
    /// The content is not a kind of file atelier accepts.
    #[error("{0}")]
    Unsupported(String),
    /// A supported kind of file, but damaged or over a limit its headers reveal.
    #[error("{0}")]
    Unprocessable(String),
    /// Too many attempts; the response's `Retry-After` says when to try again.
    #[error("{0}")]
    TooManyRequests(String),
    /// The database or another dependency did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// The server's disk is (nearly) full: nothing was kept, and the same request may
    /// succeed once space is freed (the upload page tries again by itself).
    #[error("{0}")]
    InsufficientStorage(String),
    /// Something failed on the server; details are in the server's log, not here.
    #[error("the server could not complete this request")]
    Internal,
    /// The request never got an answer (network down, server gone).
    #[error("could not reach the server: {0}")]
    Network(String),
}

impl ApiError {
    /// The server's disk (or the database's) is full: what this request wrote is undone.
    pub fn disk_full() -> ApiError {
        ApiError::InsufficientStorage(
            "the server is out of disk space, so nothing of this request was kept; \
             try again later (an upload goes on where it stopped)"
                .into(),
        )
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Conflict(_) => 409,
            ApiError::TooLarge(_) => 413,
            ApiError::Unsupported(_) => 415,
            ApiError::Unprocessable(_) => 422,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::InsufficientStorage(_) => 507,
            ApiError::Internal | ApiError::Network(_) => 500,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let err = match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                ApiError::BadRequest(format!("invalid request: {msg}"))
            }
            ServerFnErrorErr::MissingArg(arg) => {
                ApiError::BadRequest(format!("missing parameter: {arg}"))
            }
            ServerFnErrorErr::Request(msg) | ServerFnErrorErr::Response(msg) => {
                ApiError::Network(msg)
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                ApiError::Internal
            }
        };
        #[cfg(feature = "ssr")]
        set_response_status(&err);
        err
    }
}

/// Whether `request` is an HTML form posted straight to a server function (no JavaScript),
/// which is answered with a redirect rather than JSON.
#[cfg(feature = "ssr")]
pub(crate) fn plain_form_post(request: &http::request::Parts) -> bool {
    let accepts_html = request
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    request.method == http::Method::POST && request.uri.path().starts_with("/api/") && accepts_html
}

/// Sets the HTTP status of the current server-function response (or page) to match `err`.
///
/// Not for an HTML form posted straight to a server function (no JavaScript): server_fn
/// answers that with a redirect back to the form carrying the error, and a status set here
/// would replace the redirect's.
#[cfg(feature = "ssr")]
pub(crate) fn set_response_status(err: &ApiError) {
    use leptos::prelude::use_context;
    if use_context::<http::request::Parts>().is_some_and(|r| plain_form_post(&r)) {
        return;
    }
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(err.status()) {
            options.set_status(status);
        }
    }
}
