//! Server functions: the HTTP API under `/api/`. Each has a fixed endpoint (see docs/API.md).

mod accounts;
mod bulk;
mod collections;
mod curate;
mod featured;
mod history;
mod likes;
#[cfg(feature = "ssr")]
mod selection;
mod share_access;
mod shares;
pub mod stats;
mod trash;
mod uploads;

pub use accounts::*;
pub use bulk::*;
pub use collections::*;
pub use curate::*;
pub use featured::*;
pub use history::*;
pub use likes::*;
pub use shares::*;
pub use stats::{get_admin_usage, get_stats, get_stats_overview, get_usage};
pub use stats::{GetAdminUsage, GetStats, GetStatsOverview, GetUsage};
pub use trash::*;
pub use uploads::*;

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json};

use crate::error::ApiError;
use crate::model::{AssetDetail, AssetPage, Facets, Profile};
use crate::search::Filters;

/// `GET /api/assets?q=&tags=&exclude_tags=&type=&model=&owner=&liked=&from=&to=&period=&sort=&cursor=&limit=`:
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
        // Inside a collection, its own order unless another is asked for.
        let sort = if !filters.collection.trim().is_empty() && filters.sort.trim().is_empty() {
            crate::search::Sort::Curated
        } else {
            sort
        };
        let after = ssr::parse_cursor(cursor.as_deref())?;
        if let Some(cursor) = after.filter(|c| c.sort != sort) {
            return Err(ApiError::BadRequest(format!(
                "this cursor continues a {} list, but sort is {}; start again without it",
                cursor.sort.as_str(),
                sort.as_str()
            )));
        }
        let scoped = collections::ssr::scope(&filters.collection, sort, &filters.share).await?;
        let collection = scoped.map(|(scope, _)| scope);
        let via_link = scoped.is_some_and(|(_, via_link)| via_link);
        let viewer = ssr::search_viewer(&search).await?;
        let me = match &viewer {
            Some(user) => Some(user.id),
            None => ssr::current_session().await?.map(|s| s.user.id),
        };
        // A search is one use however many pages it is read in; the plain gallery is none.
        // A collection's own grid, unfiltered, is a look at it, not a search.
        let browsing = collection.is_some() && search.is_empty();
        if after.is_none()
            && !browsing
            && (!search.is_empty() || sort != crate::search::Sort::Newest)
        {
            let mut detail = search.used_filters();
            if sort != crate::search::Sort::Newest {
                if !detail.is_empty() {
                    detail.push(',');
                }
                detail.push_str("sort=");
                detail.push_str(sort.as_str());
            }
            ssr::record(crate::stats::Feature::Search, me, &detail);
        }
        let query = crate::store::AssetQuery {
            search,
            sort,
            limit: ssr::parse_limit(limit.as_deref())?,
            after,
            viewer: viewer.as_ref().map(|v| v.id),
            me,
            collection,
        };
        let mut page = ssr::store()?.search_assets(&query).await?;
        if via_link {
            // The media route lets the link's holder in with its token.
            share_access::ssr::carry_items(&mut page.items, filters.share.trim());
        }
        // Whoever is logged in sees their own likes marked: the answer is theirs alone.
        if me.is_some()
            || collection.is_some_and(|c| c.private_items)
            || page
                .items
                .iter()
                .any(|a| a.visibility != crate::model::Visibility::Public)
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
        let collection = collections::ssr::scope(
            &filters.collection,
            crate::search::Sort::Newest,
            &filters.share,
        )
        .await?
        .map(|(scope, _)| scope);
        let viewer = ssr::search_viewer(&search).await?;
        let me = match (&viewer, collection) {
            (Some(user), _) => Some(user.id),
            (None, Some(_)) => ssr::current_session().await?.map(|s| s.user.id),
            (None, None) => None,
        };
        let facets = ssr::store()?
            .facets_of(&crate::store::AssetQuery {
                me,
                collection,
                ..crate::store::AssetQuery::facets(&search, viewer.as_ref().map(|v| v.id))
            })
            .await?;
        if viewer.is_some() || collection.is_some() {
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
            images: record.public_images + own(record.unlisted_images + record.private_images),
            videos: record.public_videos + own(record.unlisted_videos + record.private_videos),
            unlisted: is_me.then_some(record.unlisted_images + record.unlisted_videos),
            private: is_me.then_some(record.private_images + record.private_videos),
            is_me,
        })
    })
    .await
}

/// `GET /api/asset?id=&s=`: one asset with its files, metadata and processing state (`s`: a
/// share link's token that opens it, or a collection that shows it). Another user's
/// private asset is the same `404` as a missing one.
#[server(name = GetAsset, prefix = "/api", endpoint = "asset", input = GetUrl, output = Json)]
pub async fn get_asset(id: String, #[server(default)] s: String) -> Result<AssetDetail, ApiError> {
    ssr::respond(async move {
        let not_found = || ApiError::NotFound(format!("no asset has the id “{id}”"));
        if !crate::ids::is_public_id(&id) {
            return Err(not_found());
        }
        let viewer = ssr::current_session().await?.map(|s| s.user);
        let store = ssr::store()?;
        let mut asset = match store.view_asset(&id, viewer.as_ref().map(|v| v.id)).await? {
            Some(asset) => asset,
            // Else a share link may open it; its media then carries the token.
            None if !s.trim().is_empty() && share_access::ssr::covers(&s, &id).await? => {
                let mut asset = store
                    .view_shared_asset(&id, viewer.as_ref().map(|v| v.id))
                    .await?
                    .ok_or_else(not_found)?;
                share_access::ssr::carry_items([&mut asset.summary], s.trim());
                asset.media_url = asset
                    .media_url
                    .map(|url| share_access::ssr::carry(&url, s.trim()));
                asset
            }
            None => return Err(not_found()),
        };
        asset.is_mine = viewer
            .as_ref()
            .is_some_and(|v| v.username == asset.summary.owner);
        asset.can_delete = asset.is_mine
            || viewer
                .as_ref()
                .is_some_and(|v| v.role == crate::account::Role::Admin);
        if !asset.is_mine {
            // A view of it, and of its owner's work: once per viewer and day.
            ssr::record_view(viewer.as_ref().map(|v| v.id), &asset.summary.id)?;
        }
        if viewer.is_some() || asset.summary.visibility != crate::model::Visibility::Public {
            ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(asset)
    })
    .await
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr;
