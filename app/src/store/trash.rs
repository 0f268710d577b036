//! The trash: assets their owners deleted, out of every listing, search, facet, count and
//! media route, kept (and charged) until they are restored or purged.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::UserId;
use crate::model::AssetSummary;

/// An asset in its owner's trash, as the store reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrashedAsset {
    pub asset: AssetSummary,
    /// Its key (creation time in microseconds), for [`TrashCursor`].
    pub key: i64,
    pub trashed_at: DateTime<Utc>,
}

/// Where a page of the trash continues: after this asset (trashed at `trashed_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrashCursor {
    pub trashed_at: DateTime<Utc>,
    /// The asset key (its creation time in microseconds), to order equal times.
    pub key: i64,
}

impl TrashCursor {
    /// `"<trashed_at µs>.<key>"`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.trashed_at.timestamp_micros(), self.key)
    }

    pub fn decode(text: &str) -> Option<TrashCursor> {
        let (at, key) = text.split_once('.')?;
        Some(TrashCursor {
            trashed_at: DateTime::from_timestamp_micros(at.parse().ok()?)?,
            key: key.parse().ok()?,
        })
    }
}

#[async_trait]
pub trait TrashStore: Send + Sync {
    /// Moves an asset of `actor`'s (anyone's when `any_owner`) that is not in the trash
    /// into it at `at`; its counts go with it in the same transaction. `false` when there
    /// is no such asset.
    async fn trash_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Brings an asset of `actor`'s (anyone's when `any_owner`) back out of the trash,
    /// exactly as it was. `false` when there is no such asset in the trash.
    async fn restore_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
    ) -> Result<bool, StoreError>;

    /// `owner`'s trash, most recently trashed first, after `after`, at most `limit`.
    async fn trash_page(
        &self,
        owner: UserId,
        after: Option<TrashCursor>,
        limit: u32,
    ) -> Result<Vec<TrashedAsset>, StoreError>;

    /// The public ids of assets in the trash, `owner`'s (anyone's when `None`), trashed
    /// before `before` (whenever when `None`), oldest first, at most `limit`: what "Empty
    /// trash" and the background purge delete.
    async fn trash_ids(
        &self,
        owner: Option<UserId>,
        before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// How many assets `owner` has in the trash.
    async fn trash_count(&self, owner: UserId) -> Result<u64, StoreError>;
}
