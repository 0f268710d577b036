//! `/media/{asset id}/{original|thumb|preview}`: an asset's stored files, with our own
//! types, ranges, ETags and caching, visible to whom the asset is.

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::{error::error_response, state::ServerState};

/// The body of every "no such media" answer: a missing id and another user's private
/// asset must be indistinguishable.
fn media_not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Shown where a still could not be made (yet): a neutral frame, never a broken image.
const PLACEHOLDER_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 9\">\
<rect width=\"16\" height=\"9\" fill=\"#2a2a33\"/>\
<path d=\"M6.5 2.75v3.5L9.75 4.5z\" fill=\"#8a8a99\"/></svg>";

/// The hash of the share token in the query (`s=`), when it has the shape of one.
fn shared_token(req: &Request) -> Option<[u8; 32]> {
    let query = req.uri().query()?;
    let token = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("s="))
        .filter(|token| app::share::is_token(token))?;
    app::auth::token_hash(token)
}

/// `/media/{asset id}/{original|thumb|preview}`: an asset's files, typed by our own sniffing,
/// with ranges (video seeking), an ETag from the content hash, and immutable caching when
/// the URL's `v` names the current content. Private media is visible to its owner and to
/// those with a place in a private collection holding it; media in the trash to its owner
/// only.
pub(super) async fn media(
    State(state): State<ServerState>,
    Path((id, variant)): Path<(String, String)>,
    req: Request,
) -> Response {
    let (Some(variant), true) = (
        app::model::MediaVariant::parse(&variant),
        app::ids::is_public_id(&id),
    ) else {
        return media_not_found();
    };
    let media = match state.store.asset_media(&id).await {
        Ok(Some(media)) => media,
        Ok(None) => return media_not_found(),
        Err(err) => return error_response(&app::error::ApiError::from(err), None),
    };
    // Private media is its owner's, and theirs who see it through a private collection;
    // media in the trash (for the trash page) its owner's alone.
    let private = media.visibility == app::model::Visibility::Private || media.trashed;
    if private {
        let viewer = match state
            .accounts
            .session(state.store.as_ref(), req.headers(), chrono::Utc::now())
            .await
        {
            Ok(session) => session.map(|s| s.user.id),
            Err(err) => return error_response(&err, None),
        };
        // A private asset also shows to those with a place in a private collection
        // holding it (never one in the trash).
        let through_collection = match viewer {
            Some(viewer) if viewer != media.owner && !media.trashed => {
                match state.store.shown_by_collection(&id, viewer).await {
                    Ok(shown) => shown,
                    Err(err) => return error_response(&app::error::ApiError::from(err), None),
                }
            }
            _ => false,
        };
        // Or a share link that opens it, whose token the page's media address carries.
        let through_link = match shared_token(&req) {
            Some(hash) if !media.trashed && viewer != Some(media.owner) && !through_collection => {
                match state
                    .store
                    .share_covers(&hash, &id, chrono::Utc::now())
                    .await
                {
                    Ok(covers) => covers,
                    Err(err) => return error_response(&app::error::ApiError::from(err), None),
                }
            }
            _ => false,
        };
        if viewer != Some(media.owner) && !through_collection && !through_link {
            return media_not_found();
        }
    }
    use app::model::MediaVariant;
    let file = match variant {
        MediaVariant::Original => media.original.clone(),
        MediaVariant::Thumb => media.thumb.clone(),
        MediaVariant::Preview => media.preview.clone(),
    };
    let Some(file) = file else {
        if variant == MediaVariant::Original {
            return media_not_found();
        }
        return (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            PLACEHOLDER_SVG,
        )
            .into_response();
    };
    let etag = format!("\"{}\"", file.sha256);
    let version_matches = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("v=")))
        .is_some_and(|v| !v.is_empty() && file.sha256.starts_with(v));
    let cache = match (version_matches, private) {
        (true, false) => "public, max-age=31536000, immutable",
        (true, true) => "private, max-age=31536000, immutable",
        (false, _) => "no-cache",
    };
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if if_none_match {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ETAG, header_value(&etag));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        return response;
    }
    let download = variant == MediaVariant::Original && is_download(req.headers());
    let cookies = req.headers().clone();
    let path = state.files.path_of(&file.storage_path);
    let mut response = match ServeFile::new(path).oneshot(req).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        tracing::error!(asset = %id, path = %file.storage_path, "a stored file is missing");
        return media_not_found();
    }
    let headers = response.headers_mut();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::ETAG, header_value(&etag));
    }
    headers.insert(header::CONTENT_TYPE, header_value(&file.mime_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Opened on its own, a media URL can never run anything.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    let name = download_name(&media, variant, &file.mime_type);
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition("inline", &name),
    );
    if download && status.is_success() && state.usage.enabled() {
        let who = state
            .accounts
            .session(state.store.as_ref(), &cookies, chrono::Utc::now())
            .await
            .ok()
            .flatten()
            .map(|s| s.user.id);
        state.usage.record(app::stats::Feature::Download, who, &id);
    }
    response
}

/// Whether a request for an original is someone taking the file (opening or saving it, or
/// a script fetching it) rather than a page's `<video>` or `<img>` showing it, and the
/// start of it rather than one more range of the same transfer.
fn is_download(headers: &header::HeaderMap) -> bool {
    let embedded = headers
        .get("sec-fetch-dest")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|dest| matches!(dest, "video" | "audio" | "image" | "track"));
    let from_start = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|range| range.trim().starts_with("bytes=0-"));
    !embedded && from_start
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The name a saved file gets: the uploaded name's stem (or the title) with the extension
/// of what the file really is.
fn download_name(
    media: &app::store::AssetMedia,
    variant: app::model::MediaVariant,
    mime: &str,
) -> String {
    let ext = app::model::extension_for_mime(mime).unwrap_or("bin");
    let stem = media
        .original_filename
        .as_deref()
        .map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem))
        .filter(|stem| !stem.trim().is_empty())
        .unwrap_or(&media.title);
    match variant {
        app::model::MediaVariant::Original => format!("{stem}.{ext}"),
        other => format!("{stem}-{}.{ext}", other.as_str()),
    }
}

/// `kind` (`inline` or `attachment`) with an ASCII fallback name and the exact name in
/// RFC 5987 form.
pub(super) fn content_disposition(kind: &'static str, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' && c != ';' => c,
            _ => '_',
        })
        .collect();
    let encoded = app::model::percent_encode(name, false);
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe_in_a_header() {
        let value = content_disposition("inline", "café \"x\";\r\nSet-Cookie: a=b.png");
        let text = value.to_str().expect("ascii");
        assert!(
            text.starts_with("inline; filename=\"caf_ _x____Set-Cookie: a=b.png\""),
            "{text}"
        );
        assert!(
            text.contains("filename*=UTF-8''caf%C3%A9%20%22x%22%3B%0D%0ASet-Cookie%3A%20a%3Db.png")
        );
    }
}
