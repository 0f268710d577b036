//! Curating what was published: editing an asset's texts, tags and visibility.

use leptos::prelude::*;
use server_fn::codec::{Json, PostUrl};

use crate::error::ApiError;

/// `POST /api/assets/update` (`id`, `title`, `prompt`, `negative_prompt`, `model`, `tags`,
/// `visibility`): sets every field of one of your assets (an admin: anyone's). Fields are
/// checked as an upload's are; the title may not be empty. Another person's asset is the
/// same `404` as a missing one. A form without JavaScript goes back to the asset's page.
#[server(name = UpdateAsset, prefix = "/api", endpoint = "assets/update", input = PostUrl, output = Json)]
pub async fn update_asset(
    id: String,
    title: String,
    prompt: String,
    negative_prompt: String,
    model: String,
    tags: String,
    visibility: String,
) -> Result<(), ApiError> {
    use crate::upload::{
        checked_field, checked_tags, MAX_MODEL_LEN, MAX_PROMPT_LEN, MAX_TITLE_LEN,
    };
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        let not_found = || ApiError::NotFound(format!("no asset of yours has the id “{id}”"));
        if !crate::ids::is_public_id(&id) {
            return Err(not_found());
        }
        let title = checked_field(&title, "title", MAX_TITLE_LEN)?;
        if title.is_empty() {
            return Err(ApiError::BadRequest("the title may not be empty".into()));
        }
        let model = checked_field(&model, "model", MAX_MODEL_LEN)?;
        let edit = crate::store::AssetEdit {
            title,
            prompt: checked_field(&prompt, "prompt", MAX_PROMPT_LEN)?,
            negative_prompt: checked_field(&negative_prompt, "negative prompt", MAX_PROMPT_LEN)?,
            model: (!model.is_empty()).then_some(model),
            tags: checked_tags(&tags)?,
            visibility: crate::model::Visibility::parse(&visibility).ok_or_else(|| {
                ApiError::BadRequest(crate::model::Visibility::refusal(&visibility))
            })?,
        };
        let admin = user.role == crate::account::Role::Admin;
        if !super::ssr::store()?
            .edit_asset(&id, user.id, admin, &edit, chrono::Utc::now())
            .await?
        {
            return Err(not_found());
        }
        super::ssr::record(crate::stats::Feature::AssetEdited, Some(user.id), &id);
        leptos_axum::redirect(&format!("/a/{}", crate::model::percent_encode(&id, false)));
        Ok(())
    })
    .await
}
