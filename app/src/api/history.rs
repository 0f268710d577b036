//! An asset's history: the revisions its edits kept, each as a readable change (a word diff
//! of the prompts, tags added and removed, the short fields before and after), and
//! restoring the version before any of them (itself an edit, so a new revision). Its owner
//! and admins only: a revision may hold a prompt someone has since taken off.

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

use crate::error::ApiError;
use crate::model::AssetHistory;

/// `GET /api/asset/revisions?id=`: the asset's fields now and its revisions, newest first.
#[server(name = GetAssetRevisions, prefix = "/api", endpoint = "asset/revisions", input = GetUrl, output = Json)]
pub async fn get_asset_revisions(id: String) -> Result<AssetHistory, ApiError> {
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        super::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        let history = ssr::history(&id, &user).await?;
        Ok(crate::history::view(history))
    })
    .await
}

/// `POST /api/assets/revert` (`id`, `revision`): sets the asset back to how it was before
/// revision `revision` (its number), as an edit does, keeping a new revision. A form without
/// JavaScript goes back to the asset's page.
#[server(name = RevertAsset, prefix = "/api", endpoint = "assets/revert", input = PostUrl, output = Json)]
pub async fn revert_asset(id: String, revision: String) -> Result<(), ApiError> {
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        let number: u32 = revision.trim().parse().map_err(|_| {
            ApiError::BadRequest(format!("revision is a revision's number, not “{revision}”"))
        })?;
        let history = ssr::history(&id, &user).await?;
        let version = crate::history::before(&history, number).ok_or_else(|| {
            ApiError::NotFound(format!("the asset “{id}” has no revision {number}"))
        })?;
        let admin = user.role == crate::account::Role::Admin;
        if !super::ssr::store()?
            .edit_asset(&id, user.id, admin, &version, chrono::Utc::now())
            .await?
        {
            return Err(ssr::not_found(&id));
        }
        super::ssr::record(crate::stats::Feature::AssetEdited, Some(user.id), &id);
        leptos_axum::redirect(&format!("/a/{}", crate::model::percent_encode(&id, false)));
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::ApiError;
    use crate::store::{History, User};

    pub fn not_found(id: &str) -> ApiError {
        ApiError::NotFound(format!("no asset of yours has the id “{id}”"))
    }

    /// The history of `user`'s asset (anyone's for an admin); another person's is the same
    /// `404` as a missing one.
    pub async fn history(id: &str, user: &User) -> Result<History, ApiError> {
        if !crate::ids::is_public_id(id) {
            return Err(not_found(id));
        }
        let admin = user.role == crate::account::Role::Admin;
        crate::api::ssr::store()?
            .history(id, user.id, admin)
            .await?
            .ok_or_else(|| not_found(id))
    }
}
