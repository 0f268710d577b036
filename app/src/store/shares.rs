//! Share links: a random token that opens one unlisted or private asset or collection to
//! whoever holds it, without an account. Only the token's SHA-256 is stored (as for
//! sessions), so the link is shown once, when it is made.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::collections::CollectionId;
use super::error::StoreError;
use super::ids::{AssetId, UserId};

/// Share links one person keeps at once (revoked and expired ones go on counting until
/// they are deleted with their target or account).
pub const MAX_SHARE_LINKS: u32 = 1_000;

/// What a share link opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareTarget {
    /// An asset (public id).
    Asset(String),
    /// A collection (public id).
    Collection(String),
}

/// A share link to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewShareLink {
    pub public_id: String,
    /// SHA-256 of the token.
    pub token_hash: [u8; 32],
    pub owner: UserId,
    pub target: ShareTarget,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A share link as stored, with what it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLinkRecord {
    pub public_id: String,
    pub owner: UserId,
    pub target: ShareTarget,
    /// The target's title.
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub opens: u64,
    pub last_opened_at: Option<DateTime<Utc>>,
}

/// What a valid share link's token opens, as its holder may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SharedThing {
    Asset { id: AssetId, public_id: String },
    Collection { id: CollectionId, public_id: String },
}

#[async_trait]
pub trait ShareStore: Send + Sync {
    /// Makes a share link, unless its owner keeps [`MAX_SHARE_LINKS`] already (`None`).
    /// The caller has checked that they may share the target.
    async fn create_share_link(
        &self,
        new: &NewShareLink,
    ) -> Result<Option<ShareLinkRecord>, StoreError>;

    /// What the token (its hash) opens at `now`: `None` when no link has it, or it was
    /// revoked, or it expired, or its target is in the trash.
    async fn shared(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<SharedThing>, StoreError>;

    /// Whether the token opens the asset `asset` (public id) at `now`: a link to it, or to
    /// a collection holding it where its holder sees it (not private, or the collection is
    /// private).
    async fn share_covers(
        &self,
        token_hash: &[u8; 32],
        asset: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Counts one opening of the link at `now` (the caller found it valid).
    async fn count_share_open(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// `owner`'s share links, newest first, at most `limit`.
    async fn share_links(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<ShareLinkRecord>, StoreError>;

    /// Revokes `owner`'s link `public_id` at `now`; `false` when they have no such link.
    async fn revoke_share_link(
        &self,
        public_id: &str,
        owner: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
