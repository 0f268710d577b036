//! Server functions: the HTTP API under `/api/`. Each has a fixed endpoint (see docs/API.md).

mod accounts;
pub mod stats;
mod uploads;

pub use accounts::*;
pub use stats::{get_admin_usage, get_stats, get_stats_overview, get_usage};
pub use stats::{GetAdminUsage, GetStats, GetStatsOverview, GetUsage};
pub use uploads::*;

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json};

use crate::error::ApiError;
use crate::model::{AssetDetail, AssetPage, Facets, Profile};
use crate::search::Filters;

/// `GET /api/assets?q=&tags=&exclude_tags=&type=&model=&owner=&from=&to=&sort=&cursor=&limit=`:
/// one page of the assets a search finds (see [`Filters`] and [`crate::search`]).
#[server(name = ListAssets, prefix = "/api", endpoint = "assets", input = GetUrl, output = Json)]
pub async fn list_assets(
    #[server(flatten)] filters: Filters,
    #[server(default)] cursor: Option<String>,
    #[server(default)] limit: Option<String>,
) -> Result<AssetPage, ApiError> {
    ssr::respond(async move {
        let (search, sort) = filters
            .resolve()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let after = ssr::parse_cursor(cursor.as_deref())?;
        if let Some(cursor) = after.filter(|c| c.sort != sort) {
            return Err(ApiError::BadRequest(format!(
                "this cursor continues a {} list, but sort is {}; start again without it",
                cursor.sort.as_str(),
                sort.as_str()
            )));
        }
        let viewer = ssr::search_viewer(&search).await?;
        // A search is one use however many pages it is read in; the plain gallery is none.
        if after.is_none() && (!search.is_empty() || sort != crate::search::Sort::Newest) {
            let mut detail = search.used_filters();
            if sort != crate::search::Sort::Newest {
                if !detail.is_empty() {
                    detail.push(',');
                }
                detail.push_str("sort=");
                detail.push_str(sort.as_str());
            }
            let who = match &viewer {
                Some(user) => Some(user.id),
                None => ssr::current_session().await?.map(|s| s.user.id),
            };
            ssr::record(crate::stats::Feature::Search, who, &detail);
        }
        let query = crate::store::AssetQuery {
            search,
            sort,
            limit: ssr::parse_limit(limit.as_deref())?,
            after,
            viewer: viewer.as_ref().map(|v| v.id),
        };
        let page = ssr::store()?.search_assets(&query).await?;
        if page
            .items
            .iter()
            .any(|a| a.visibility == crate::upload::Visibility::Private)
        {
            ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(page)
    })
    .await
}

/// `GET /api/facets?q=&tags=&exclude_tags=&type=&model=&owner=&from=&to=`: how the newest
/// [`crate::model::FACET_SAMPLE`] matches of a search divide up by type, tag and model
/// (`sort` is accepted and makes no difference).
#[server(name = GetFacets, prefix = "/api", endpoint = "facets", input = GetUrl, output = Json)]
pub async fn get_facets(#[server(flatten)] filters: Filters) -> Result<Facets, ApiError> {
    ssr::respond(async move {
        let (search, _) = filters
            .resolve()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let viewer = ssr::search_viewer(&search).await?;
        let facets = ssr::store()?
            .facets(&search, viewer.as_ref().map(|v| v.id))
            .await?;
        if viewer.is_some() {
            // Counted over one's own private assets too, when the search is of one's own.
            ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(facets)
    })
    .await
}

/// `GET /api/profile?username=`: who a user is and how many assets they show. Their own
/// profile also counts their private assets.
#[server(name = GetProfile, prefix = "/api", endpoint = "profile", input = GetUrl, output = Json)]
pub async fn get_profile(username: String) -> Result<Profile, ApiError> {
    ssr::respond(async move {
        let not_found = || ApiError::NotFound(format!("nobody here is called “{username}”"));
        if username.trim().is_empty() || username.len() > 64 {
            return Err(not_found());
        }
        let record = ssr::store()?
            .profile(username.trim())
            .await?
            .ok_or_else(not_found)?;
        let viewer = ssr::current_session().await?.map(|s| s.user);
        let is_me = viewer.as_ref().is_some_and(|v| v.id == record.user);
        if is_me {
            ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        let own = |n: u64| if is_me { n } else { 0 };
        let storage = match (&viewer, is_me) {
            (Some(me), true) => {
                let limits = ssr::uploads()?.limits_for(me).await?;
                Some(crate::model::StorageUse {
                    used: record.storage_bytes,
                    quota: limits.quota_bytes,
                })
            }
            _ => None,
        };
        Ok(Profile {
            views_received: record.views_received,
            storage,
            username: record.username,
            member_since: record.created_at,
            images: record.public_images + own(record.private_images),
            videos: record.public_videos + own(record.private_videos),
            private: is_me.then_some(record.private_images + record.private_videos),
            is_me,
        })
    })
    .await
}

/// `GET /api/asset?id=`: one asset with its files, metadata and processing state. Another
/// user's private asset is the same `404` as a missing one.
#[server(name = GetAsset, prefix = "/api", endpoint = "asset", input = GetUrl, output = Json)]
pub async fn get_asset(id: String) -> Result<AssetDetail, ApiError> {
    ssr::respond(async move {
        let not_found = || ApiError::NotFound(format!("no asset has the id “{id}”"));
        if !crate::ids::is_public_id(&id) {
            return Err(not_found());
        }
        let viewer = ssr::current_session().await?.map(|s| s.user);
        let mut asset = ssr::store()?
            .view_asset(&id, viewer.as_ref().map(|v| v.id))
            .await?
            .ok_or_else(not_found)?;
        asset.is_mine = viewer
            .as_ref()
            .is_some_and(|v| v.username == asset.summary.owner);
        asset.can_delete = asset.is_mine
            || viewer
                .as_ref()
                .is_some_and(|v| v.role == crate::account::Role::Admin);
        if !asset.is_mine {
            // Its owner's "views received" grows by this one.
            ssr::record(
                crate::stats::Feature::AssetViewed,
                viewer.as_ref().map(|v| v.id),
                &asset.summary.id,
            );
        }
        if asset.can_delete || asset.summary.visibility == crate::upload::Visibility::Private {
            ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(asset)
    })
    .await
}

/// `POST /api/assets/delete` (`id`): deletes one of your assets (an admin: anyone's), its
/// tags and jobs, and its files when no other asset holds the same bytes. Then sends a
/// form without JavaScript to the owner's profile.
#[server(name = DeleteAsset, prefix = "/api", endpoint = "assets/delete", input = server_fn::codec::PostUrl, output = Json)]
pub async fn delete_asset(id: String) -> Result<(), ApiError> {
    ssr::respond(async move {
        let user = ssr::require_session().await?.user;
        let not_found = || ApiError::NotFound(format!("no asset of yours has the id “{id}”"));
        if !crate::ids::is_public_id(&id) {
            return Err(not_found());
        }
        let admin = user.role == crate::account::Role::Admin;
        if !ssr::uploads()?.delete_asset(&user, &id, admin).await? {
            return Err(not_found());
        }
        leptos_axum::redirect(&format!(
            "/u/{}",
            crate::model::percent_encode(&user.username, false)
        ));
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
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
        pub uploads: Arc<dyn crate::upload::Uploads>,
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

    pub fn uploads() -> Result<Arc<dyn crate::upload::Uploads>, ApiError> {
        context().map(|ctx| ctx.uploads)
    }

    /// Records one use of a feature (queued; never waits). Nothing when there is no
    /// context (a page rendered outside the server).
    pub fn record(
        feature: crate::stats::Feature,
        user: Option<crate::store::UserId>,
        detail: &str,
    ) {
        if let Some(ctx) = leptos::prelude::use_context::<AppContext>() {
            ctx.usage.record(feature, user, detail);
        }
    }

    /// The request being answered (leptos_axum provides its head).
    pub fn request() -> Result<http::request::Parts, ApiError> {
        leptos::prelude::use_context::<http::request::Parts>().ok_or_else(|| {
            tracing::error!("request parts missing from the server function context");
            ApiError::Internal
        })
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
    pub async fn respond<T>(
        body: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
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
}
