//! Bulk actions: one change (add or remove tags, set visibility, trash) to many assets at
//! once, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::UserId;
use crate::model::Visibility;

/// Assets one bulk action may name: the most a person selects on a page, and what keeps
/// the transaction well under a second.
pub const MAX_BULK: usize = 1_000;

/// What a bulk action does to each asset it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkChange {
    /// Adds these tags (normalised, at least one) to each asset.
    AddTags(Vec<String>),
    /// Takes these tags (normalised, at least one) off each asset.
    RemoveTags(Vec<String>),
    SetVisibility(Visibility),
    /// Moves each asset to its owner's trash.
    Trash,
}

/// How a bulk action went. Unless it is [`BulkOutcome::Done`], nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkOutcome {
    /// Done: the public ids of the assets that changed (the others already were as asked),
    /// in the order they were named.
    Done { changed: Vec<String> },
    /// These ids name no asset the actor may change that is out of the trash.
    Missing(Vec<String>),
    /// Adding the tags would give this asset more than `max` tags.
    TooManyTags {
        id: String,
        would_have: usize,
        max: usize,
    },
}

#[async_trait]
pub trait BulkStore: Send + Sync {
    /// Applies `change` to every asset of `ids` (at most [`MAX_BULK`], each at most once)
    /// in one transaction, made by `actor` at `at`: the assets must all be `actor`'s (or
    /// anyone's when `any_owner`) and out of the trash. An asset whose tags or visibility
    /// change keeps a revision of them, as an edit does; the triggers move every count.
    /// Adding tags past `max_tags` on any asset refuses the whole action.
    async fn bulk_change(
        &self,
        ids: &[String],
        actor: UserId,
        any_owner: bool,
        change: &BulkChange,
        max_tags: usize,
        at: DateTime<Utc>,
    ) -> Result<BulkOutcome, StoreError>;
}
