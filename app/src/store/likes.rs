//! Likes and views: one like per person and asset, one view per viewer, asset and day.
//! The database keeps each asset's counts (and its owner's views received) exact in the
//! transaction that adds or takes away the like or view.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::UserId;

/// One view to count, as the usage writer hands it to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewEvent {
    /// The asset's public id.
    pub asset: String,
    /// Who looked: `u:{user id}` for an account, `v:{hash}` for a visitor (their address
    /// hashed with the day's salt, which goes with the day's rows).
    pub viewer: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i32,
}

/// A like to add in bulk (the demo's, an import's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLike {
    /// The asset's public id.
    pub asset: String,
    pub user: UserId,
    pub at: DateTime<Utc>,
}

/// An asset's likes after a like or unlike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LikeState {
    /// Whether the person likes it now.
    pub liked: bool,
    /// Everyone's likes of it.
    pub likes: u64,
    /// Whether this like or unlike changed anything (a repeat does not).
    pub changed: bool,
}

#[async_trait]
pub trait LikeStore: Send + Sync {
    /// Sets whether `user` likes the asset `public_id` (at `at`): one like per person, so
    /// liking twice, or unliking what they never liked, changes nothing. `None` when there
    /// is no such asset out of the trash that they may see (public, unlisted, or theirs),
    /// or, to take a like back, that they like. With `shown`, the caller found that they may
    /// see it some other way (a share link), and only the trash is checked.
    async fn set_like(
        &self,
        public_id: &str,
        user: UserId,
        like: bool,
        shown: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<LikeState>, StoreError>;

    /// Adds many likes in one transaction, whatever the assets' visibility (the caller
    /// vouches for them): likes already there and assets that are gone are let go.
    /// Returns how many were added.
    async fn add_likes(&self, likes: &[NewLike]) -> Result<u64, StoreError>;

    /// Counts the views of a batch, in one transaction: each (asset, viewer, day) once,
    /// ever. Views of assets that are gone are let go. Returns how many counted.
    async fn record_views(&self, views: &[ViewEvent]) -> Result<u64, StoreError>;

    /// Forgets who viewed what before `day`, and those days' salts (the counts stay): a
    /// view is counted once per day, so older rows have nothing left to decide. Returns
    /// how many rows went.
    async fn prune_views(&self, before_day: i32) -> Result<u64, StoreError>;

    /// The random salt of visitors' view keys on `day`, made the first time it is asked
    /// for and deleted with that day's rows ([`LikeStore::prune_views`]).
    async fn view_salt(&self, day: i32) -> Result<String, StoreError>;
}
