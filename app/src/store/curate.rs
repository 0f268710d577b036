//! Curating what was published: editing an asset's texts, tags and visibility, and the
//! revisions every edit keeps.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::ids::UserId;
use crate::model::{AssetVersion, Visibility};

/// Revisions kept per asset: an edit past this many lets the oldest go.
pub const MAX_REVISIONS: u32 = 50;

/// What an edit sets: every field of the edit form (which sends them all), a whole version
/// of them. Tags are already normalised (see [`crate::model::normalize_tags`]); `model`
/// `None` is no model.
pub type AssetEdit = AssetVersion;

/// The fields an edit changed, as they were before it (`None`: not changed). A model that
/// was not set is kept as `""`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

impl OldFields {
    /// What of `now` the edit to `next` changes, as it is in `now`.
    pub fn between(now: &AssetEdit, next: &AssetEdit) -> OldFields {
        let changed = |a: &String, b: &String| (a != b).then(|| a.clone());
        // Tags are a set: the order they were typed in is no change.
        let sorted = |tags: &[String]| {
            let mut tags = tags.to_vec();
            tags.sort();
            tags
        };
        let (tags_now, tags_next) = (sorted(&now.tags), sorted(&next.tags));
        OldFields {
            title: changed(&now.title, &next.title),
            prompt: changed(&now.prompt, &next.prompt),
            negative_prompt: changed(&now.negative_prompt, &next.negative_prompt),
            model: (now.model != next.model).then(|| now.model.clone().unwrap_or_default()),
            tags: (tags_now != tags_next).then_some(tags_now),
            visibility: (now.visibility != next.visibility).then_some(now.visibility),
        }
    }

    /// The names of the fields kept, in the form's order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            ("title", self.title.is_some()),
            ("prompt", self.prompt.is_some()),
            ("negative_prompt", self.negative_prompt.is_some()),
            ("model", self.model.is_some()),
            ("tags", self.tags.is_some()),
            ("visibility", self.visibility.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, kept)| kept.then_some(name))
        .collect()
    }

    /// `after` with these fields put back: the version before the edit.
    pub fn applied_to(&self, after: &AssetEdit) -> AssetEdit {
        let mut before = after.clone();
        if let Some(v) = &self.title {
            before.title = v.clone();
        }
        if let Some(v) = &self.prompt {
            before.prompt = v.clone();
        }
        if let Some(v) = &self.negative_prompt {
            before.negative_prompt = v.clone();
        }
        if let Some(v) = &self.model {
            before.model = (!v.is_empty()).then(|| v.clone());
        }
        if let Some(v) = &self.tags {
            before.tags = v.clone();
        }
        if let Some(v) = self.visibility {
            before.visibility = v;
        }
        before
    }
}

/// One revision as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionRecord {
    /// Counts the asset's revisions from 1.
    pub number: u32,
    pub at: DateTime<Utc>,
    /// Who edited; `None` once their account is gone.
    pub editor: Option<String>,
    pub old: OldFields,
}

/// An asset's fields as they are now, and its revisions, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    pub current: AssetEdit,
    pub revisions: Vec<RevisionRecord>,
}

#[async_trait]
pub trait CurateStore: Send + Sync {
    /// Sets an asset's texts, tags and visibility in one transaction, in which the
    /// triggers move every count (tags, models, the owner's assets by visibility) and the
    /// full-text index, and a revision keeps what changed as it was (made by `actor` at
    /// `at`; an edit that changes nothing keeps none, and past [`MAX_REVISIONS`] the oldest
    /// goes). `false` when there is no such asset of `actor`'s (of anyone's when
    /// `any_owner`) out of the trash.
    async fn edit_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
        edit: &AssetEdit,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The asset's fields now and its revisions, newest first; `None` when there is no
    /// such asset of `actor`'s (of anyone's when `any_owner`) out of the trash.
    async fn history(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
    ) -> Result<Option<History>, StoreError>;
}
