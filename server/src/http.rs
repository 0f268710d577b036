//! The HTTP surface: pages (SSR), server functions under `/api/`, stored media under
//! `/files/`, the embedded front end, and `/healthz`.

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
    routing::get,
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

use crate::{guard, net::TrustedProxies, site, storage::FileStore};

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
        ServerState {
            leptos,
            store,
            files,
            accounts: Arc::new(Accounts::new(CookiePolicy {
                secure: security.secure_cookies,
            })),
            proxies: security.trusted_proxies,
        }
    }

    fn context(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let ctx = AppContext {
            store: self.store.clone(),
            accounts: self.accounts.clone(),
        };
        move || provide_context(ctx.clone())
    }
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

    Router::new()
        .route("/healthz", get(healthz))
        .route("/files/{name}", get(stored_file))
        .route("/api/{*fn_name}", get(server_fn).post(server_fn))
        .leptos_routes_with_context(&state, routes, state.context(), app_shell)
        .fallback(move |req: Request| async move {
            match site::respond(req.method(), req.uri().path(), req.headers()) {
                Some(response) => response,
                None => not_found(req).await,
            }
        })
        .layer(axum::middleware::from_fn(guard::refuse_cross_site_writes))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::net::identify_client(proxies.clone(), req, next)
        }))
        .layer(RequestBodyLimitLayer::new(guard::MAX_BODY_BYTES))
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
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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

/// `/files/<sha256>.<ext>`: content-addressed, so cacheable forever; ranges for video.
async fn stored_file(
    State(state): State<ServerState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let Some((sha256, ext)) = name.split_once('.') else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let valid = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && app::model::mime_for_extension(ext).is_some();
    if !valid {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = state.files.path_of(&FileStore::storage_path(sha256, ext));
    let mut response = match ServeFile::new(path).oneshot(req).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    response
}
