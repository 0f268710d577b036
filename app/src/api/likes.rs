//! Likes: one per person and asset, set and taken back with one endpoint.

use leptos::prelude::*;
use server_fn::codec::{Json, PostUrl};

use crate::error::ApiError;
use crate::model::LikeDone;

/// Reads the `like` field: `true` likes, `false` takes the like back.
pub fn parse_like(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "like" => Some(true),
        "false" | "0" | "off" | "unlike" => Some(false),
        _ => None,
    }
}

/// `POST /api/assets/like` (`id`, `like`: `true` or `false`, `back`, `s`: a share link's
/// token that opens it): likes an asset you may see, or takes your like back; liking twice is still one like. Answers with the
/// asset's likes now. Not logged in: `401`; an asset you may not see, in the trash or
/// missing: `404`. A plain form (no JavaScript) goes back to `back` (a path on this site).
#[server(name = LikeAsset, prefix = "/api", endpoint = "assets/like", input = PostUrl, output = Json)]
pub async fn like_asset(
    #[server(default)] id: String,
    #[server(default)] like: String,
    #[server(default)] back: String,
    #[server(default)] s: String,
) -> Result<LikeDone, ApiError> {
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        let want = parse_like(&like).ok_or_else(|| {
            ApiError::BadRequest(format!("like is true or false, not “{}”", like.trim()))
        })?;
        let id = id.trim().to_string();
        let not_found = || ApiError::NotFound(format!("no asset you can see has the id “{id}”"));
        if !crate::ids::is_public_id(&id) {
            return Err(not_found());
        }
        let shown = !s.trim().is_empty() && super::share_access::ssr::covers(&s, &id).await?;
        let state = super::ssr::store()?
            .set_like(&id, user.id, want, shown, chrono::Utc::now())
            .await?
            .ok_or_else(not_found)?;
        if want && state.changed {
            super::ssr::record(crate::stats::Feature::AssetLiked, Some(user.id), &id);
        }
        if super::ssr::posted_form()? {
            leptos_axum::redirect(&crate::account::safe_next(Some(&back)));
        }
        Ok(LikeDone {
            id,
            liked: state.liked,
            likes: state.likes,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::parse_like;

    #[test]
    fn like_takes_the_words_a_form_or_a_script_sends() {
        for yes in ["true", "1", "on", " Like "] {
            assert_eq!(parse_like(yes), Some(true), "{yes}");
        }
        for no in ["false", "0", "off", "unlike"] {
            assert_eq!(parse_like(no), Some(false), "{no}");
        }
        assert_eq!(parse_like("maybe"), None);
        assert_eq!(parse_like(""), None);
    }
}
