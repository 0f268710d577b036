//! Share links over HTTP: made by the owner of an unlisted or private asset or collection,
//! opened by anyone who holds one, listed and revoked on the owner's account page.

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

use crate::error::ApiError;
use crate::share::{ShareLinkInfo, ShareLinkMade, SharedOpened};

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::share::{ShareLinkInfo, SharedKind};
    use crate::store::{ShareLinkRecord, ShareTarget};

    pub fn info(record: ShareLinkRecord, now: chrono::DateTime<chrono::Utc>) -> ShareLinkInfo {
        let (kind, target) = match record.target {
            ShareTarget::Asset(id) => (SharedKind::Asset, id),
            ShareTarget::Collection(id) => (SharedKind::Collection, id),
        };
        ShareLinkInfo {
            id: record.public_id,
            kind,
            target,
            title: record.title,
            created_at: record.created_at,
            open: record.revoked_at.is_none() && record.expires_at.is_none_or(|at| at > now),
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            opens: record.opens,
            last_opened_at: record.last_opened_at,
        }
    }
}

/// `POST /api/share/create` (`asset` or `collection`: a public id; `expires_in_days`: 1 to
/// 365, or empty for never; `back`): a share link to one of your unlisted or private assets,
/// or to a collection you own that is not public. Its address is in this answer only (the
/// server keeps the token's hash). Without JavaScript the form goes back to `back` with the
/// new link in `shared=`.
#[server(name = CreateShareLink, prefix = "/api", endpoint = "share/create", input = PostUrl, output = Json)]
pub async fn create_share_link(
    #[server(default)] asset: String,
    #[server(default)] collection: String,
    #[server(default)] expires_in_days: String,
    #[server(default)] back: String,
) -> Result<ShareLinkMade, ApiError> {
    use crate::model::Visibility;
    use crate::store::ShareTarget;
    crate::api::ssr::respond(async move {
        let days = crate::share::parse_expiry(&expires_in_days).map_err(ApiError::BadRequest)?;
        let (asset, collection) = (asset.trim(), collection.trim());
        let (user, target) = match (asset.is_empty(), collection.is_empty()) {
            (false, true) => {
                let user = crate::api::ssr::require_session().await?.user;
                let not_yours =
                    || ApiError::NotFound(format!("no asset of yours has the id “{asset}”"));
                if !crate::ids::is_public_id(asset) {
                    return Err(not_yours());
                }
                let detail = crate::api::ssr::store()?
                    .view_asset(asset, Some(user.id))
                    .await?
                    .filter(|d| d.summary.owner == user.username)
                    .ok_or_else(not_yours)?;
                if detail.summary.visibility == Visibility::Public {
                    return Err(ApiError::BadRequest(
                        "this asset is public: its address is its link; share links are for \
                         unlisted and private assets"
                            .into(),
                    ));
                }
                (user, ShareTarget::Asset(asset.to_string()))
            }
            (true, false) => {
                let opened =
                    super::collections::ssr::open(collection, crate::access::Action::Share).await?;
                let user = opened.user.ok_or(ApiError::Internal)?;
                (user, ShareTarget::Collection(opened.record.public_id))
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "name exactly one of asset= or collection=".into(),
                ))
            }
        };
        let now = chrono::Utc::now();
        let (token, token_hash) = crate::auth::new_token();
        let record = crate::api::ssr::store()?
            .create_share_link(&crate::store::NewShareLink {
                public_id: crate::ids::new_public_id(),
                token_hash,
                owner: user.id,
                target,
                created_at: now,
                expires_at: days.map(|d| now + chrono::Duration::days(i64::from(d))),
            })
            .await?
            .ok_or_else(|| {
                ApiError::Conflict(format!(
                    "you keep {} share links, the most one person may; revoked ones count \
                     until what they open is deleted",
                    crate::store::MAX_SHARE_LINKS
                ))
            })?;
        if let crate::store::ShareTarget::Collection(_) = &record.target {
            crate::api::ssr::record(
                crate::stats::Feature::CollectionChanged,
                Some(user.id),
                "share",
            );
        }
        if crate::api::ssr::posted_form()? {
            let back = crate::account::safe_next(Some(&back));
            let glue = if back.contains('?') { '&' } else { '?' };
            leptos_axum::redirect(&format!("{back}{glue}shared={token}"));
        }
        Ok(ShareLinkMade {
            path: format!("/s/{token}"),
            token,
            info: ssr::info(record, now),
        })
    })
    .await
}

/// `POST /api/share/revoke` (`id`: the link's own id, `back`): revokes one of your share
/// links; it opens nothing from then on.
#[server(name = RevokeShareLink, prefix = "/api", endpoint = "share/revoke", input = PostUrl, output = Json)]
pub async fn revoke_share_link(
    id: String,
    #[server(default)] back: String,
) -> Result<(), ApiError> {
    crate::api::ssr::respond(async move {
        let user = crate::api::ssr::require_session().await?.user;
        let id = id.trim();
        let done = crate::ids::is_public_id(id)
            && crate::api::ssr::store()?
                .revoke_share_link(id, user.id, chrono::Utc::now())
                .await?;
        if !done {
            return Err(ApiError::NotFound(format!(
                "you have no share link with the id “{id}”"
            )));
        }
        if crate::api::ssr::posted_form()? {
            let back = if back.trim().is_empty() {
                "/account".to_string()
            } else {
                crate::account::safe_next(Some(&back))
            };
            leptos_axum::redirect(&back);
        }
        Ok(())
    })
    .await
}

/// `GET /api/share/links`: your share links, newest first (their addresses are not
/// shown again).
#[server(name = ListShareLinks, prefix = "/api", endpoint = "share/links", input = GetUrl, output = Json)]
pub async fn list_share_links() -> Result<Vec<ShareLinkInfo>, ApiError> {
    crate::api::ssr::respond(async move {
        let user = crate::api::ssr::require_session().await?.user;
        let now = chrono::Utc::now();
        let links = crate::api::ssr::store()?
            .share_links(user.id, crate::share::LIST_LIMIT)
            .await?;
        crate::api::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        Ok(links.into_iter().map(|l| ssr::info(l, now)).collect())
    })
    .await
}

/// `GET /api/share/open?token=`: what a share link opens (and one more opening of it, a
/// `share_opened` usage event): the page to go on to, carrying the token. A link that
/// expired, was revoked or never existed is `404`.
#[server(name = OpenShare, prefix = "/api", endpoint = "share/open", input = GetUrl, output = Json)]
pub async fn open_share(token: String) -> Result<SharedOpened, ApiError> {
    use crate::share::SharedKind;
    use crate::store::SharedThing;
    crate::api::ssr::respond(async move {
        let token = token.trim().to_string();
        let (hash, thing) = super::share_access::ssr::resolve(&token)
            .await?
            .ok_or_else(super::share_access::ssr::closed)?;
        let store = crate::api::ssr::store()?;
        store.count_share_open(&hash, chrono::Utc::now()).await?;
        let who = crate::api::ssr::current_session().await?.map(|s| s.user.id);
        let (kind, id, page) = match thing {
            SharedThing::Asset { public_id, .. } => (SharedKind::Asset, public_id, "a"),
            SharedThing::Collection { public_id, .. } => (SharedKind::Collection, public_id, "c"),
        };
        crate::api::ssr::record(crate::stats::Feature::ShareOpened, who, &id);
        crate::api::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        Ok(SharedOpened {
            path: format!("/{page}/{id}?s={token}"),
            kind,
            id,
        })
    })
    .await
}
