//! The HTTP surface: pages (SSR), server functions under `/api/`, the streaming upload
//! endpoints, assets' media under `/media/`, the embedded front end, and `/healthz`.

use std::sync::{Arc, OnceLock};

use app::{
    auth::{Accounts, CookiePolicy},
    shell::shell,
    store::Store,
    App, AppContext,
};
use axum::{
    body::Body,
    extract::{FromRef, Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{
    generate_route_list, handle_server_fns_with_context, AxumRouteListing, LeptosRoutes,
};
use tower::ServiceExt;
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, services::ServeFile,
    set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

use crate::{guard, net::TrustedProxies, site, storage::FileStore, upload::UploadEngine};

/// How the server decides who a client is and how it sends cookies.
#[derive(Clone, Debug)]
pub struct Security {
    /// `Secure` cookies with the `__Host-` prefix (off only for plain-HTTP deployments).
    pub secure_cookies: bool,
    pub trusted_proxies: TrustedProxies,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            secure_cookies: true,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

#[derive(Clone)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub store: Arc<dyn Store>,
    pub files: FileStore,
    pub accounts: Arc<Accounts>,
    pub proxies: TrustedProxies,
    pub uploads: Arc<UploadEngine>,
    /// Wakes a processing worker when there is a new job.
    pub jobs: Arc<tokio::sync::Notify>,
    /// Where requests record usage events (stored in batches by the writer).
    pub usage: Arc<app::usage::Usage>,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}

impl ServerState {
    pub fn new(store: Arc<dyn Store>, files: FileStore) -> Self {
        ServerState::with_security(store, files, Security::default())
    }

    pub fn with_security(store: Arc<dyn Store>, files: FileStore, security: Security) -> Self {
        let leptos = LeptosOptions::builder()
            .output_name("atelier")
            .site_pkg_dir("pkg")
            .build();
        let jobs = Arc::new(tokio::sync::Notify::new());
        let usage = usage_recorder(&store);
        ServerState {
            leptos,
            uploads: Arc::new(
                UploadEngine::new(store.clone(), files.clone(), jobs.clone())
                    .with_usage(usage.clone()),
            ),
            jobs,
            usage,
            store,
            files,
            accounts: Arc::new(Accounts::new(CookiePolicy {
                secure: security.secure_cookies,
            })),
            proxies: security.trusted_proxies,
        }
    }

    /// The same state with another upload engine (a smaller chunk size in tests).
    pub fn with_uploads(mut self, configure: impl FnOnce(UploadEngine) -> UploadEngine) -> Self {
        self.uploads = Arc::new(configure(
            UploadEngine::new(self.store.clone(), self.files.clone(), self.jobs.clone())
                .with_usage(self.usage.clone()),
        ));
        self
    }

    /// Starts the processing workers for this state's jobs.
    pub async fn start_workers(&self, workers: usize) -> Vec<tokio::task::JoinHandle<()>> {
        crate::jobs::start_workers(
            self.store.clone(),
            self.files.clone(),
            self.jobs.clone(),
            workers,
        )
        .await
    }

    fn context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let ctx = AppContext {
            store: self.store.clone(),
            accounts: self.accounts.clone(),
            uploads: self.uploads.clone(),
            usage: self.usage.clone(),
        };
        move || provide_context(ctx.clone())
    }
}

/// A usage recorder with its writer running, or one that records nothing when there is
/// no runtime to run the writer on.
fn usage_recorder(store: &Arc<dyn Store>) -> Arc<app::usage::Usage> {
    if tokio::runtime::Handle::try_current().is_err() {
        return app::usage::Usage::off();
    }
    let (usage, queue) = app::usage::Usage::channel(app::usage::QUEUE_CAPACITY);
    crate::usage::spawn_writer(store.clone(), usage.clone(), queue);
    usage
}

/// The app's routes, listed once per process. Listing them renders the app with resource
/// loading suppressed by a process-wide flag (leptos_server 0.8): a page rendering on another
/// thread at that moment would wait forever (leptos-rs/leptos#4773). Tests build many
/// routers while others render; listing once makes that impossible.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: ServerState) -> Router {
    let routes = route_list();
    let assets = site::assets();
    let app_shell = move || shell(assets);
    let not_found = leptos_axum::render_app_to_stream_with_context(state.context(), app_shell);
    let proxies = state.proxies.clone();

    // Bodies that carry file bytes stream under their own, counted limits.
    let uploads = Router::new()
        .route("/api/upload/chunk", post(crate::upload::http::chunk))
        .route("/api/upload/form", post(crate::upload::http::form))
        .route("/api/upload/poster", post(crate::upload::http::poster))
        .with_state(state.clone());

    Router::new()
        .route("/healthz", get(healthz))
        .route("/media/{id}/{variant}", get(media))
        .route("/admin/usage.csv", get(usage_csv))
        .route("/api/{*fn_name}", get(server_fn).post(server_fn))
        .leptos_routes_with_context(&state, routes, state.context(), app_shell)
        .fallback(move |req: Request| async move {
            match site::respond(req.method(), req.uri().path(), req.headers()) {
                Some(response) => response,
                None => not_found(req).await,
            }
        })
        .layer(RequestBodyLimitLayer::new(guard::MAX_BODY_BYTES))
        .merge(uploads)
        .layer(axum::middleware::from_fn(guard::refuse_cross_site_writes))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::net::identify_client(proxies.clone(), req, next)
        }))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        // A panic in a handler becomes a 500 for that request only.
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(server_timing))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `Server-Timing: app;dur=<ms>`: how long the server took until the response's head was
/// ready (browsers show it in their network panel; the search benchmark reads it).
async fn server_timing(req: Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        response.headers_mut().append("server-timing", value);
    }
    response
}

async fn server_fn(State(state): State<ServerState>, req: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(state.context(), req).await
}

/// 200 when the database answers, 503 when it does not.
async fn healthz(State(state): State<ServerState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(err) => {
            tracing::warn!(%err, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// The body of every "no such media" answer: a missing id and another user's private
/// asset must be indistinguishable.
fn media_not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Shown where a still could not be made (yet): a neutral frame, never a broken image.
const PLACEHOLDER_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 9\">\
<rect width=\"16\" height=\"9\" fill=\"#2a2a33\"/>\
<path d=\"M6.5 2.75v3.5L9.75 4.5z\" fill=\"#8a8a99\"/></svg>";

/// `/media/{asset id}/{original|thumb|preview}`: an asset's files, typed by our own sniffing,
/// with ranges (video seeking), an ETag from the content hash, and immutable caching when
/// the URL's `v` names the current content. Private media is visible to its owner only.
async fn media(
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
        Err(err) => {
            return crate::upload::http::error_response(&app::error::ApiError::from(err), None)
        }
    };
    let private = media.visibility == app::model::Visibility::Private;
    if private {
        let viewer = match state
            .accounts
            .session(state.store.as_ref(), req.headers(), chrono::Utc::now())
            .await
        {
            Ok(session) => session.map(|s| s.user.id),
            Err(err) => return crate::upload::http::error_response(&err, None),
        };
        if viewer != Some(media.owner) {
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
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(&name));
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

/// `/admin/usage.csv?range=&table=users|features&sort=&dir=`: the admin's usage tables as
/// CSV, for a spreadsheet.
async fn usage_csv(
    State(state): State<ServerState>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: header::HeaderMap,
) -> Response {
    use app::api::stats::ssr::{admin_only, admin_usage, csv, parse_range, parse_sort, CsvTable};
    use app::error::ApiError;
    let answer = async {
        let session = state
            .accounts
            .session(state.store.as_ref(), &headers, chrono::Utc::now())
            .await?
            .ok_or_else(|| ApiError::Unauthorized("log in to do this".into()))?;
        admin_only(&session.user)?;
        let arg = |key: &str| query.get(key).map(String::as_str).unwrap_or_default();
        let range = parse_range(arg("range"))?;
        let table = CsvTable::parse(arg("table"))?;
        let (sort, descending) = parse_sort(arg("sort"), arg("dir"))?;
        let usage =
            admin_usage(state.store.as_ref(), &state.usage, range, sort, descending).await?;
        Ok::<_, ApiError>((range, table, csv(&usage, table)))
    };
    match answer.await {
        Ok((range, table, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"atelier-usage-{}-{}.csv\"",
                        table.as_str(),
                        range.as_str()
                    ),
                ),
            ],
            body,
        )
            .into_response(),
        Err(err) => {
            let status =
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, format!("{err}\n")).into_response()
        }
    }
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

/// `inline` with an ASCII fallback name and the exact name in RFC 5987 form.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' && c != ';' => c,
            _ => '_',
        })
        .collect();
    let encoded = app::model::percent_encode(name, false);
    header_value(&format!(
        "inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe_in_a_header() {
        let value = content_disposition("café \"x\";\r\nSet-Cookie: a=b.png");
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
