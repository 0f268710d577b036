//! Curating what was published: editing an asset's texts, tags and visibility.

use async_trait::async_trait;

use super::error::StoreError;
use super::ids::UserId;
use crate::model::Visibility;

/// What an edit sets: every field of the edit form (which sends them all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetEdit {
    pub title: String,
    pub prompt: String,
    pub negative_prompt: String,
    /// `None`: no model.
    pub model: Option<String>,
    /// Already normalised (see [`crate::model::normalize_tags`]).
    pub tags: Vec<String>,
    pub visibility: Visibility,
}

#[async_trait]
pub trait CurateStore: Send + Sync {
    /// Sets an asset's texts, tags and visibility in one transaction, in which the
    /// triggers move every count (tags, models, the owner's assets by visibility) and the
    /// full-text index. `false` when there is no such asset of `actor`'s (of anyone's
    /// when `any_owner`).
    async fn edit_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
        edit: &AssetEdit,
    ) -> Result<bool, StoreError>;
}
