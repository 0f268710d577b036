//! `GET /api/asset/metadata?id=`: the raw metadata kept with an asset, as a JSON download
//! for its owner. Anyone else (another user, nobody logged in) gets the very answer a
//! missing id gets, whether the asset is public or not.

use app::error::ApiError;
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{error::error_response, media::content_disposition, state::ServerState};
use crate::media::meta::MAX_RAW;

#[derive(serde::Deserialize)]
pub(super) struct Params {
    #[serde(default)]
    id: String,
}

/// The one answer for a missing id, another user's asset, and nobody logged in.
fn not_found(id: &str) -> Response {
    error_response(
        &ApiError::NotFound(format!("no asset has the id “{id}”")),
        None,
    )
}

pub(super) async fn raw_metadata(
    State(state): State<ServerState>,
    Query(params): Query<Params>,
    req: Request,
) -> Response {
    let id = params.id.trim();
    if !app::ids::is_public_id(id) {
        return not_found(id);
    }
    let viewer = match state
        .accounts
        .session(state.store.as_ref(), req.headers(), chrono::Utc::now())
        .await
    {
        Ok(Some(session)) => session.user.id,
        Ok(None) => return not_found(id),
        Err(err) => return error_response(&err, None),
    };
    let metadata = match state.store.raw_metadata(id, viewer).await {
        Ok(Some(metadata)) => metadata,
        Ok(None) => return not_found(id),
        Err(err) => return error_response(&ApiError::from(err), None),
    };
    let Some(json) = metadata.json else {
        return error_response(
            &ApiError::NotFound("this asset's file carried no metadata that was kept".into()),
            None,
        );
    };
    // Every stored text is within the limit (the parsers keep no more, and migration 0007
    // let go of what older versions kept past it); anything else is a fault, not a
    // download.
    if json.len() > MAX_RAW {
        tracing::error!(asset = %id, bytes = json.len(), "stored raw metadata is over its limit");
        return error_response(&ApiError::Internal, None);
    }
    let stem = metadata
        .original_filename
        .as_deref()
        .map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem))
        .filter(|stem| !stem.trim().is_empty())
        .unwrap_or(&metadata.title);
    let name = format!("{stem}-metadata.json");
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_DISPOSITION,
                content_disposition("attachment", &name),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        json,
    )
        .into_response()
}
