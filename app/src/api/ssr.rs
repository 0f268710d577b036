//! What the server functions share on the server: the context the server provides (store,
//! accounts, uploads, usage), the request's session, and answering with the right status.

use std::{future::Future, sync::Arc};

use crate::auth::{Accounts, ClientIp};
use crate::error::{set_response_status, ApiError};
use crate::model::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::store::{ActiveSession, Cursor, Store};

/// What the server provides to every server function and page render.
#[derive(Clone)]
pub struct AppContext {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<Accounts>,
    pub uploads: Arc<dyn crate::upload_engine::Uploads>,
    pub usage: Arc<crate::usage::Usage>,
}

fn context() -> Result<AppContext, ApiError> {
    leptos::prelude::use_context::<AppContext>().ok_or_else(|| {
        tracing::error!("AppContext missing from the server function context");
        ApiError::Internal
    })
}

pub fn store() -> Result<Arc<dyn Store>, ApiError> {
    context().map(|ctx| ctx.store)
}

pub fn accounts() -> Result<Arc<Accounts>, ApiError> {
    context().map(|ctx| ctx.accounts)
}

pub fn uploads() -> Result<Arc<dyn crate::upload_engine::Uploads>, ApiError> {
    context().map(|ctx| ctx.uploads)
}

/// Records one use of a feature (queued; never waits). Nothing when there is no
/// context (a page rendered outside the server).
pub fn record(feature: crate::stats::Feature, user: Option<crate::store::UserId>, detail: &str) {
    if let Some(ctx) = leptos::prelude::use_context::<AppContext>() {
        ctx.usage.record(feature, user, detail);
    }
}

/// Counts a view of `asset` by `user` (or the client's address) for its owner's
/// statistics, unless this viewer was counted for it lately.
pub fn record_view(user: Option<crate::store::UserId>, asset: &str) -> Result<(), ApiError> {
    let viewer = crate::recent_views::Viewer::of(user, client_ip(&request()?));
    if let Some(ctx) = leptos::prelude::use_context::<AppContext>() {
        ctx.usage.record_view(viewer, user, asset);
    }
    Ok(())
}

/// The request being answered (leptos_axum provides its head).
pub fn request() -> Result<http::request::Parts, ApiError> {
    leptos::prelude::use_context::<http::request::Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the server function context");
        ApiError::Internal
    })
}

/// Whether this request is an HTML form posted without JavaScript (it wants a redirect
/// back to a page, not JSON).
pub fn posted_form() -> Result<bool, ApiError> {
    Ok(crate::error::plain_form_post(&request()?))
}

/// The client's address, when the server could tell.
pub fn client_ip(request: &http::request::Parts) -> Option<std::net::IpAddr> {
    request.extensions.get::<ClientIp>().map(|ip| ip.0)
}

/// The session of the browser asking, if it is logged in.
pub async fn current_session() -> Result<Option<ActiveSession>, ApiError> {
    let request = request()?;
    accounts()?
        .session(store()?.as_ref(), &request.headers, chrono::Utc::now())
        .await
}

/// Who is asking, for a search: only a search of one's own assets can see private
/// ones, so only then is the session looked up.
pub async fn search_viewer(
    search: &crate::search::Search,
) -> Result<Option<crate::store::User>, ApiError> {
    match search.owner {
        Some(_) => Ok(current_session().await?.map(|s| s.user)),
        None => Ok(None),
    }
}

/// Like [`current_session`], but a `401` when nobody is logged in.
pub async fn require_session() -> Result<ActiveSession, ApiError> {
    current_session()
        .await?
        .ok_or_else(|| ApiError::Unauthorized("log in to do this".into()))
}

/// Adds a header to the response of the current server function or page.
pub fn add_response_header(name: http::HeaderName, value: &str) {
    if let (Some(options), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        options.append_header(name, value);
    }
}

/// Runs a server function body and gives its error the HTTP status it deserves.
pub async fn respond<T>(body: impl Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
    let result = body.await;
    if let Err(err) = &result {
        set_response_status(err);
    }
    result
}

pub fn parse_limit(limit: Option<&str>) -> Result<u32, ApiError> {
    match limit.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "limit must be a whole number from 1 to {MAX_PAGE_SIZE}, got “{text}”"
            ))),
        },
    }
}

pub fn parse_cursor(cursor: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    match cursor.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => Cursor::decode(text).map(Some).ok_or_else(|| {
            ApiError::BadRequest(
                "cursor is not one this server handed out; start again without it".into(),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused_with_the_reason() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(parse_limit(Some("")), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(parse_limit(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "ten"] {
            let err = parse_limit(Some(bad)).expect_err(bad);
            assert!(err.to_string().contains("from 1 to 100"), "{err}");
        }
        assert!(parse_cursor(Some("garbage!")).is_err());
        assert_eq!(parse_cursor(Some(" ")), Ok(None));
    }
}
