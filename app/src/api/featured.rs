//! Featured picks: admins feature public assets and collections; the shelf on `/` lists
//! the most recent of them (all featured assets: `GET /api/assets?sort=featured`).

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

use crate::error::ApiError;
use crate::featured::{FeaturedDone, FeaturedShelf};

/// `POST /api/featured/set` (`kind`: `asset` or `collection`, `id`, `featured`: `true` or
/// `false`, `back`): an admin features a public asset or collection, or takes the pick
/// back. Featuring twice keeps the first time. Not logged in: `401`; not an admin: `403`;
/// nothing with that id (or an asset in the trash): `404`; not public: `400`. A plain form
/// (no JavaScript) goes back to `back` (a path on this site).
#[server(name = SetFeatured, prefix = "/api", endpoint = "featured/set", input = PostUrl, output = Json)]
pub async fn set_featured(
    #[server(default)] kind: String,
    #[server(default)] id: String,
    #[server(default)] featured: String,
    #[server(default)] back: String,
) -> Result<FeaturedDone, ApiError> {
    use crate::featured::FeatureKind;
    use crate::store::{Featurable, FeatureOutcome};
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        if user.role != crate::account::Role::Admin {
            return Err(ApiError::Forbidden(
                "only an admin can feature assets and collections".into(),
            ));
        }
        let kind = FeatureKind::parse(&kind).map_err(ApiError::BadRequest)?;
        let want = super::likes::parse_like(&featured).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "featured is true or false, not “{}”",
                featured.trim()
            ))
        })?;
        let id = id.trim().to_string();
        let what = kind.as_str();
        let missing = || ApiError::NotFound(format!("there is no {what} with the id “{id}”"));
        if !crate::ids::is_public_id(&id) {
            return Err(missing());
        }
        let thing = match kind {
            FeatureKind::Asset => Featurable::Asset(&id),
            FeatureKind::Collection => Featurable::Collection(&id),
        };
        let at = want.then(chrono::Utc::now);
        let featured = match super::ssr::store()?.set_featured(thing, at).await? {
            FeatureOutcome::Done(featured) => featured,
            FeatureOutcome::Missing => return Err(missing()),
            FeatureOutcome::NotPublic(visibility) => {
                return Err(ApiError::BadRequest(format!(
                    "only public things are featured, and this {what} is {}; make it \
                     public first",
                    visibility.as_str()
                )))
            }
        };
        if super::ssr::posted_form()? {
            leptos_axum::redirect(&crate::account::safe_next(Some(&back)));
        }
        Ok(FeaturedDone { kind, id, featured })
    })
    .await
}

/// `GET /api/featured`: the shelf on `/`, the most recently featured public assets (at
/// most [`crate::featured::SHELF_ASSETS`], and whether more follow) and collections (at
/// most [`crate::featured::SHELF_COLLECTIONS`]).
#[server(name = GetFeatured, prefix = "/api", endpoint = "featured", input = GetUrl, output = Json)]
pub async fn get_featured() -> Result<FeaturedShelf, ApiError> {
    use crate::featured::{SHELF_ASSETS, SHELF_COLLECTIONS};
    use crate::search::{Search, Sort};
    use crate::store::{AssetQuery, CollectionList};
    super::ssr::respond(async move {
        let me = super::ssr::current_session().await?.map(|s| s.user.id);
        let store = super::ssr::store()?;
        let page = store
            .search_assets(&AssetQuery {
                search: Search::default(),
                sort: Sort::Featured,
                limit: SHELF_ASSETS,
                after: None,
                viewer: None,
                me,
                collection: None,
            })
            .await?;
        let collections = store
            .list_collections(CollectionList::Featured, me, SHELF_COLLECTIONS)
            .await?;
        if me.is_some() {
            // Their likes are marked.
            super::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(FeaturedShelf {
            more_assets: page.next_cursor.is_some(),
            assets: page.items,
            collections: collections
                .into_iter()
                .map(super::collections::ssr::summary)
                .collect(),
        })
    })
    .await
}
