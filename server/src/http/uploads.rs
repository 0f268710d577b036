//! The upload endpoints that carry file bytes. They stream: the body goes from the socket
//! to the temp file as it arrives, under a limit counted here (the global 64 KiB body cap
//! does not apply), and a missing or malformed multipart boundary is a `400`, never a panic.
//!
//! - `POST /api/upload/chunk` — multipart `upload_id`, `offset`, then `data`.
//! - `POST /api/upload/form` — multipart form fields, then `file`: a whole upload in one
//!   request, for the upload page without JavaScript (answers with a redirect).
//! - `POST /api/upload/poster` — multipart `upload_id`, then `data`: the frame a browser
//!   drew from the video it is uploading.

use app::{error::ApiError, model::Visibility, store::User, upload::UploadForm};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use futures::TryStreamExt;
use multer::{Constraints, Multipart, SizeLimit};

use super::{error::error_response, state::ServerState};
use crate::upload::{ChunkError, MAX_POSTER_BYTES};

/// Room for the multipart framing and the small fields around a chunk's data.
const FRAMING: u64 = 64 * 1024;
/// Largest text field (upload id, offset, form fields).
const MAX_FIELD: u64 = 64 * 1024;
/// Most bytes read from a field atelier does not use (it is read past, not kept).
const MAX_UNKNOWN_FIELD: u64 = 4 * 1024;

async fn logged_in(state: &ServerState, headers: &HeaderMap) -> Result<User, ApiError> {
    state
        .accounts
        .session(state.store.as_ref(), headers, chrono::Utc::now())
        .await?
        .map(|session| session.user)
        .ok_or_else(|| ApiError::Unauthorized("log in to upload".into()))
}

/// The boundary of a `multipart/form-data` request, or a `400` saying what is wrong.
fn boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(ApiError::BadRequest(
            "send this as multipart/form-data".into(),
        ));
    }
    multer::parse_boundary(content_type).map_err(|_| {
        ApiError::BadRequest("the multipart/form-data request has no valid boundary".into())
    })
}

/// Why a file's bytes stopped arriving, with the cause (a dropped connection, an upload
/// slower than the minimum rate, a shutdown) that multer keeps behind its own words.
fn stream_error(err: multer::Error) -> String {
    match std::error::Error::source(&err) {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}

fn multipart_error(err: multer::Error) -> ApiError {
    match err {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::TooLarge("the request is larger than this endpoint accepts".into())
        }
        other => ApiError::BadRequest(format!("the multipart body is malformed: {other}")),
    }
}

/// The caller, and the request's multipart body as a stream limited to `limit` bytes. A body
/// that announces more gets `too_large` before a byte is read.
async fn open_multipart(
    state: &ServerState,
    req: Request,
    limit: u64,
    too_large: impl FnOnce() -> ApiError,
) -> Result<(User, Multipart<'static>), ApiError> {
    let user = logged_in(state, req.headers()).await?;
    let boundary = boundary(req.headers())?;
    if declared_length(req.headers()).is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let stream = req.into_body().into_data_stream();
    let constraints = Constraints::new().size_limit(SizeLimit::new().whole_stream(limit));
    Ok((
        user,
        Multipart::with_constraints(stream, boundary, constraints),
    ))
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `POST /api/upload/chunk`.
pub(super) async fn chunk(State(state): State<ServerState>, req: Request) -> Response {
    match receive_chunk(&state, req).await {
        Ok(receipt) => Json(receipt).into_response(),
        Err(ChunkError { error, received }) => error_response(&error, received),
    }
}

async fn receive_chunk(
    state: &ServerState,
    req: Request,
) -> Result<app::upload::ChunkReceipt, ChunkError> {
    let engine = &state.uploads;
    let (user, mut multipart) = open_multipart(state, req, engine.chunk_size() + FRAMING, || {
        ApiError::TooLarge(format!(
            "a chunk may hold at most {} bytes",
            engine.chunk_size()
        ))
    })
    .await?;
    let (mut upload_id, mut offset) = (None::<String>, None::<u64>);
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "upload_id" => upload_id = Some(small_text(field).await?),
            "offset" => {
                let text = small_text(field).await?;
                offset = Some(text.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("offset must be a byte count, got “{text}”"))
                })?);
            }
            "data" => {
                let (Some(upload_id), Some(offset)) = (upload_id.as_deref(), offset) else {
                    return Err(ApiError::BadRequest(
                        "send upload_id and offset before data".into(),
                    )
                    .into());
                };
                let data = field.map_err(stream_error);
                return engine.write_chunk(&user, upload_id, offset, data).await;
            }
            _ => skip_unknown(field).await?,
        }
    }
    Err(ApiError::BadRequest("the request has no data field".into()).into())
}

/// Reads past a field atelier does not use, keeping nothing, and refuses one over
/// [`MAX_UNKNOWN_FIELD`] (a client padding a request with junk).
async fn skip_unknown(mut field: multer::Field<'_>) -> Result<(), ApiError> {
    let name = field.name().unwrap_or_default().to_string();
    let mut read = 0u64;
    while let Some(bytes) = field.chunk().await.map_err(multipart_error)? {
        read += bytes.len() as u64;
        if read > MAX_UNKNOWN_FIELD {
            return Err(ApiError::BadRequest(format!(
                "the field “{name}” is not one this endpoint uses, and it is over {MAX_UNKNOWN_FIELD} bytes"
            )));
        }
    }
    Ok(())
}

async fn small_text(field: multer::Field<'_>) -> Result<String, ApiError> {
    let name = field.name().unwrap_or_default().to_string();
    let mut field = field;
    let mut out = Vec::new();
    while let Some(bytes) = field.chunk().await.map_err(multipart_error)? {
        if (out.len() + bytes.len()) as u64 > MAX_FIELD {
            return Err(ApiError::BadRequest(format!(
                "the field {name} is too long"
            )));
        }
        out.extend_from_slice(&bytes);
    }
    String::from_utf8(out).map_err(|_| ApiError::BadRequest(format!("{name} is not UTF-8 text")))
}

/// `POST /api/upload/poster`: multipart `upload_id`, then `data` (a JPEG, PNG or WebP frame
/// the browser captured from the video it is uploading).
pub(super) async fn poster(State(state): State<ServerState>, req: Request) -> Response {
    match receive_poster(&state, req).await {
        Ok(()) => Json(serde_json::json!({"ok": true})).into_response(),
        Err(error) => error_response(&error, None),
    }
}

async fn receive_poster(state: &ServerState, req: Request) -> Result<(), ApiError> {
    let (user, mut multipart) = open_multipart(state, req, MAX_POSTER_BYTES + FRAMING, || {
        ApiError::TooLarge("the poster is too large".into())
    })
    .await?;
    let mut upload_id = None::<String>;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "upload_id" => upload_id = Some(small_text(field).await?),
            "data" => {
                let Some(upload_id) = upload_id.as_deref() else {
                    return Err(ApiError::BadRequest("send upload_id before data".into()));
                };
                let data = field.map_err(stream_error);
                return state.uploads.write_poster(&user, upload_id, data).await;
            }
            _ => skip_unknown(field).await?,
        }
    }
    Err(ApiError::BadRequest("the request has no data field".into()))
}

/// Does the client want a page (a form posted without JavaScript) rather than JSON?
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// `POST /api/upload/form`: the whole file and the form in one request.
pub(super) async fn form(State(state): State<ServerState>, req: Request) -> Response {
    let html = wants_html(req.headers());
    match receive_form(&state, req).await {
        Ok(done) if html => Redirect::to(&done.url).into_response(),
        Ok(done) => (StatusCode::CREATED, Json(done)).into_response(),
        Err(error) if html => {
            // Back to the form, which shows the message (as server functions do).
            let message = app::model::percent_encode(&error.to_string(), false);
            let mut response = Redirect::to(&format!("/upload?error={message}")).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error_response(&error, None),
    }
}

async fn receive_form(
    state: &ServerState,
    req: Request,
) -> Result<app::upload::FinishedUpload, ApiError> {
    let engine = &state.uploads;
    let largest = engine.limits().await?.largest();
    let (user, mut multipart) = open_multipart(state, req, largest + FRAMING, || {
        ApiError::TooLarge(format!(
            "this upload is over the {} limit",
            app::units::format_bytes(largest)
        ))
    })
    .await?;
    let mut form = UploadForm::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let filename = field.file_name().unwrap_or("upload").to_string();
                // Fields after the file are not read: the form puts the file last.
                let data = field.map_err(stream_error);
                return engine.upload_whole(&user, &filename, data, form).await;
            }
            "title" => form.title = small_text(field).await?,
            "prompt" => form.prompt = small_text(field).await?,
            "negative_prompt" => form.negative_prompt = small_text(field).await?,
            "tags" => form.tags = small_text(field).await?,
            "model" => form.model = small_text(field).await?,
            "visibility" => {
                let text = small_text(field).await?;
                form.visibility = Visibility::parse(&text)
                    .ok_or_else(|| ApiError::BadRequest(Visibility::refusal(&text)))?;
            }
            _ => skip_unknown(field).await?,
        }
    }
    Err(ApiError::BadRequest("choose a file to upload".into()))
}
