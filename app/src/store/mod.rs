//! The seam between the application and its database: one trait per domain (accounts,
//! sessions, settings, files, assets, curating, bulk actions, collections, featured picks,
//! trash, search, likes and views, uploads, jobs, usage) with
//! its record types beside it, and [`Store`], their union, which the server's two
//! backends implement (`server/src/store/`). One story test runs against both.

mod accounts;
mod assets;
mod bulk;
mod collections;
mod curate;
mod error;
mod featured;
mod files;
mod ids;
mod jobs;
mod likes;
mod search;
mod sessions;
mod settings;
mod shares;
mod trash;
mod uploads;
mod usage;

use async_trait::async_trait;

pub use accounts::{AccountStore, Credentials, EndSessions, NewUser, User};
pub use assets::{
    AssetMedia, AssetStore, NewAsset, ProfileRecord, RawMetadata, ReparseItem, StoredMetadata,
};
pub use bulk::{BulkChange, BulkOutcome, BulkStore, MAX_BULK};
pub use collections::{
    AddOutcome, CollectionEdit, CollectionId, CollectionList, CollectionListing, CollectionRecord,
    CollectionStore, MemberOutcome, MemberRecord, MoveTo, NewCollection, MAX_COLLECTIONS,
    MAX_COLLECTION_ITEMS, MAX_ITEMS_AT_ONCE, MAX_MEMBERS,
};
pub use curate::{AssetEdit, CurateStore, History, OldFields, RevisionRecord, MAX_REVISIONS};
pub use error::{is_disk_full, StoreError};
pub use featured::{Featurable, FeatureOutcome, FeaturedStore};
pub use files::{FileStore, NewFile, StoredRef};
pub use ids::{AssetId, FileId, SessionId, UserId};
pub use jobs::{ClaimedJob, JobOutput, JobStore};
pub use likes::{LikeState, LikeStore, NewLike, ViewEvent};
pub use search::{AssetQuery, CollectionScope, Cursor, SearchStore};
pub use sessions::{ActiveSession, NewSession, SessionRecord, SessionStore};
pub use settings::SettingStore;
pub use shares::{
    NewShareLink, ShareLinkRecord, ShareStore, ShareTarget, SharedThing, MAX_SHARE_LINKS,
};
pub use trash::{TrashCursor, TrashStore, TrashedAsset};
pub use uploads::{
    FinishOutcome, FinishUpload, NewUpload, OpenUploads, UploadRecord, UploadRoom, UploadStart,
    UploadStore,
};
pub use usage::{UsageEvent, UsageRollup, UsageStore, UserFeatureCount, UserFigures};

/// The database itself: which one, whether it answers, and its upkeep.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Answers when the database does (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finishes outstanding work and closes connections (SQLite checkpoints its WAL).
    async fn close(&self);

    /// Refreshes the query planner's statistics after a bulk load (on Postgres also the
    /// visibility map, with `VACUUM`).
    async fn analyze(&self) -> Result<(), StoreError>;

    /// Merges the full-text index back into one piece when writes have split it up (after
    /// a bulk load, and hourly from the server). `true` when there was work to do.
    async fn tidy_search_index(&self) -> Result<bool, StoreError>;
}

/// Everything the application asks of its database: the union of the domain traits.
/// Implemented for every type that implements them all.
pub trait Store:
    Maintenance
    + AccountStore
    + SessionStore
    + SettingStore
    + FileStore
    + AssetStore
    + CurateStore
    + BulkStore
    + CollectionStore
    + FeaturedStore
    + ShareStore
    + TrashStore
    + SearchStore
    + LikeStore
    + UploadStore
    + JobStore
    + UsageStore
    + 'static
{
}

impl<T> Store for T where
    T: Maintenance
        + AccountStore
        + SessionStore
        + SettingStore
        + FileStore
        + AssetStore
        + CurateStore
        + BulkStore
        + CollectionStore
        + FeaturedStore
        + ShareStore
        + TrashStore
        + SearchStore
        + LikeStore
        + UploadStore
        + JobStore
        + UsageStore
        + 'static
{
}
