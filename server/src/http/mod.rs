//! The HTTP surface: pages (SSR), server functions under `/api/`, the streaming upload
//! endpoints, assets' media under `/media/`, an asset's raw metadata for its owner, the
//! admin's CSV export, `/me` (to one's profile), `/share-target` (when no service worker took a share), the embedded front end (with the service
//! worker and offline page), and `/healthz`.
//!
//! The handlers live here and drive the engines (uploads, store, files); outside this folder
//! only the CLI that serves it and `crate::background` (which runs the state's tasks)
//! depend on it. [`serve`] runs the router on a socket under the connection limits;
//! [`timeouts`] bounds each request; [`compress`] compresses what is textual. Every
//! `ApiError` a handler answers with becomes a response through [`error::error_response`]
//! (server functions answer through `app::error`).

pub mod compress;
pub mod error;
pub mod guard;
mod me;
mod media;
mod metadata;
pub mod rate;
pub mod serve;
mod share_target;
mod state;
pub mod timeouts;
mod uploads;
mod usage_csv;

use std::sync::OnceLock;

use app::{shell::shell, App};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use leptos_axum::{
    generate_route_list, handle_server_fns_with_context, AxumRouteListing, LeptosRoutes,
};
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::site;

pub use state::{Security, ServerState};

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
    let rates = state.rates.clone();

    // Bodies that carry file bytes stream under their own, counted limits, and may take
    // longer if they keep arriving fast enough.
    let upload_routes = Router::new()
        .route("/api/upload/chunk", post(uploads::chunk))
        .route("/api/upload/form", post(uploads::form))
        .route("/api/upload/poster", post(uploads::poster))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.timing.clone(),
            timeouts::uploads,
        ));

    Router::new()
        .route("/healthz", get(healthz))
        // Media is for this site's pages: another site's page cannot embed or read it
        // (which also keeps it out of reach of side channels in other origins).
        .route(
            "/media/{id}/{variant}",
            get(media::media).layer(SetResponseHeaderLayer::overriding(
                header::HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("same-origin"),
            )),
        )
        .route("/me", get(me::me))
        .route("/api/asset/metadata", get(metadata::raw_metadata))
        .route("/admin/usage.csv", get(usage_csv::usage_csv))
        .route("/api/{*fn_name}", get(server_fn).post(server_fn))
        .leptos_routes_with_context(&state, routes, state.context(), app_shell)
        .fallback(move |req: Request| async move {
            match site::respond(req.method(), req.uri().path(), req.headers()) {
                Some(response) => response,
                None => not_found(req).await,
            }
        })
        .layer(RequestBodyLimitLayer::new(guard::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.timing.clone(),
            timeouts::ordinary,
        ))
        .merge(upload_routes)
        // A share's files are never read here: outside the body limit, so a large share
        // still gets its answer rather than a 413.
        .route("/share-target", post(share_target::share_target))
        .layer(axum::middleware::from_fn(guard::refuse_cross_site_writes))
        .layer(axum::middleware::from_fn(guard::strict_transport))
        // Inside `identify_client`, which tells it who the client is.
        .layer(axum::middleware::from_fn(move |req, next| {
            rate::limit(rates.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::net::identify_client(proxies.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(guard::refuse_long_urls))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(compress::layer())
        // A panic in a handler becomes a 500 for that request only.
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(server_timing))
        .layer(TraceLayer::new_for_http().on_failure(log_failure))
        .with_state(state)
}

/// A failed request in the log: `503` and `507` are answers the server gives on purpose
/// (a search over its budget, a timeout, a full disk; the client is told to come back),
/// so they are warnings; anything else is an error.
fn log_failure(
    class: tower_http::classify::ServerErrorsFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::ServerErrorsFailureClass as Class;
    let ms = latency.as_millis() as u64;
    match class {
        Class::StatusCode(status) if matches!(status.as_u16(), 503 | 507) => {
            tracing::warn!(status = status.as_u16(), ms, "answered: try again later")
        }
        other => tracing::error!(classification = %other, ms, "response failed"),
    }
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
