//! The one way an [`ApiError`] becomes a response outside the server functions (which
//! answer through `app::error`): the API's JSON error body with the error's status, as
//! `docs/API.md` describes it for every endpoint.

use app::error::ApiError;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

/// `{"error": kind, "message": text}` with the error's status, and the server's offset as
/// `received` when an upload's client needs it to resume.
pub fn error_response(error: &ApiError, received: Option<u64>) -> Response {
    let mut body = serde_json::to_value(error).unwrap_or_else(|_| serde_json::json!({}));
    if let (Some(received), Some(map)) = (received, body.as_object_mut()) {
        map.insert("received".into(), received.into());
    }
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_are_the_api_json_with_their_status() {
        use http_body_util::BodyExt;
        let response = error_response(&ApiError::Conflict("wait".into()), Some(7));
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            &body[..],
            br#"{"error":"conflict","message":"wait","received":7}"#
        );
    }
}
