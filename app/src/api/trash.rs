//! The trash: moving an asset in ("Delete"), out again ("Restore"), deleting it for good
//! ("Delete permanently", "Empty trash"), and listing one's own trash. Only the owner or an
//! admin acts on an asset; another person's id answers exactly as a missing one. Forms
//! without JavaScript are sent on to `/trash`.

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

use crate::error::ApiError;
use crate::model::{EmptiedTrash, TrashPage};

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::ApiError;
    use crate::store::User;

    /// Where an asset was looked for.
    #[derive(Clone, Copy)]
    pub enum Place {
        OutOfTrash,
        InTrash,
    }

    /// The signed-in person and whether they are an admin; an id that cannot be one is
    /// refused as [`not_yours`].
    pub async fn actor(id: &str, place: Place) -> Result<(User, bool), ApiError> {
        let user = crate::api::ssr::require_session().await?.user;
        if !crate::ids::is_public_id(id) {
            return Err(not_yours(id, place));
        }
        let admin = user.role == crate::account::Role::Admin;
        Ok((user, admin))
    }

    /// The `404` for an id that is missing, another person's, or not where it was looked
    /// for: all alike.
    pub fn not_yours(id: &str, place: Place) -> ApiError {
        let place = match place {
            Place::OutOfTrash => "",
            Place::InTrash => " in your trash",
        };
        ApiError::NotFound(format!("no asset of yours{place} has the id “{id}”"))
    }

    /// Without JavaScript, a form goes on to the trash page.
    pub fn back_to_trash() {
        leptos_axum::redirect("/trash");
    }
}

/// `POST /api/assets/trash` (`id`): moves one of your assets (an admin: anyone's) to its
/// owner's trash. It leaves every listing, search, facet, count and media route at once
/// and stays charged to its owner's storage until it is purged, `trash_days` later.
#[server(name = TrashAsset, prefix = "/api", endpoint = "assets/trash", input = PostUrl, output = Json)]
pub async fn trash_asset(id: String) -> Result<(), ApiError> {
    super::ssr::respond(async move {
        let (user, admin) = ssr::actor(&id, ssr::Place::OutOfTrash).await?;
        let moved = super::ssr::store()?
            .trash_asset(&id, user.id, admin, chrono::Utc::now())
            .await?;
        if !moved {
            return Err(ssr::not_yours(&id, ssr::Place::OutOfTrash));
        }
        super::ssr::record(crate::stats::Feature::AssetTrashed, Some(user.id), &id);
        ssr::back_to_trash();
        Ok(())
    })
    .await
}

/// `POST /api/assets/restore` (`id`): brings one of your assets (an admin: anyone's) back
/// out of the trash, exactly as it was.
#[server(name = RestoreAsset, prefix = "/api", endpoint = "assets/restore", input = PostUrl, output = Json)]
pub async fn restore_asset(id: String) -> Result<(), ApiError> {
    super::ssr::respond(async move {
        let (user, admin) = ssr::actor(&id, ssr::Place::InTrash).await?;
        if !super::ssr::store()?
            .restore_asset(&id, user.id, admin)
            .await?
        {
            return Err(ssr::not_yours(&id, ssr::Place::InTrash));
        }
        super::ssr::record(crate::stats::Feature::AssetRestored, Some(user.id), &id);
        ssr::back_to_trash();
        Ok(())
    })
    .await
}

/// `POST /api/assets/purge` (`id`): deletes one of your assets in the trash (an admin:
/// anyone's) for good, and its files when no other asset holds the same bytes.
#[server(name = PurgeAsset, prefix = "/api", endpoint = "assets/purge", input = PostUrl, output = Json)]
pub async fn purge_asset(id: String) -> Result<(), ApiError> {
    super::ssr::respond(async move {
        let (user, admin) = ssr::actor(&id, ssr::Place::InTrash).await?;
        if !super::ssr::uploads()?
            .purge_asset(&user, &id, admin)
            .await?
        {
            return Err(ssr::not_yours(&id, ssr::Place::InTrash));
        }
        super::ssr::record(crate::stats::Feature::AssetPurged, Some(user.id), &id);
        ssr::back_to_trash();
        Ok(())
    })
    .await
}

/// `POST /api/trash/empty`: deletes everything in your trash for good, up to
/// [`crate::model::EMPTY_TRASH_MAX`] assets a time; says how many went and how many are
/// left.
#[server(name = EmptyTrash, prefix = "/api", endpoint = "trash/empty", input = PostUrl, output = Json)]
pub async fn empty_trash() -> Result<EmptiedTrash, ApiError> {
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        let emptied = super::ssr::uploads()?.empty_trash(&user).await?;
        if emptied.purged > 0 {
            let detail = format!("{} assets", emptied.purged);
            super::ssr::record(crate::stats::Feature::AssetPurged, Some(user.id), &detail);
        }
        ssr::back_to_trash();
        Ok(emptied)
    })
    .await
}

/// `GET /api/trash?cursor=`: your trash, most recently trashed first, a page of
/// [`crate::model::TRASH_PAGE`] at a time, each with when it will be purged.
#[server(name = GetTrash, prefix = "/api", endpoint = "trash", input = GetUrl, output = Json)]
pub async fn get_trash(#[server(default)] cursor: String) -> Result<TrashPage, ApiError> {
    use crate::model::{TrashItem, TRASH_PAGE};
    use crate::store::TrashCursor;
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        super::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        let after = match cursor.trim() {
            "" => None,
            text => Some(TrashCursor::decode(text).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "“{text}” is not a cursor of this list; use the next_cursor it gave"
                ))
            })?),
        };
        let store = super::ssr::store()?;
        let trash_days = crate::settings::Settings::load(store.as_ref())
            .await?
            .trash_days;
        let kept = chrono::Duration::days(i64::from(trash_days));
        let mut rows = store.trash_page(user.id, after, TRASH_PAGE + 1).await?;
        let next_cursor = (rows.len() > TRASH_PAGE as usize).then(|| {
            rows.truncate(TRASH_PAGE as usize);
            rows.last().map(|last| {
                TrashCursor {
                    trashed_at: last.trashed_at,
                    key: last.key,
                }
                .encode()
            })
        });
        Ok(TrashPage {
            items: rows
                .into_iter()
                .map(|row| TrashItem {
                    purge_at: row.trashed_at + kept,
                    trashed_at: row.trashed_at,
                    asset: row.asset,
                })
                .collect(),
            next_cursor: next_cursor.flatten(),
            trash_days,
        })
    })
    .await
}
