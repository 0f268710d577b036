//! Assets: inserting, searching, viewing, deleting and re-reading what people uploaded.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::files::StoredRef;
use super::ids::{AssetId, FileId, UserId};
use crate::model::Visibility;
use crate::model::{AssetDetail, MediaType};

#[derive(Clone, Debug)]
pub struct NewAsset {
    pub public_id: String,
    pub owner: UserId,
    pub title: String,
    pub prompt: String,
    pub model: Option<String>,
    pub media_type: MediaType,
    pub file: Option<FileId>,
    pub thumb: Option<FileId>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// Already normalised (see [`crate::model::normalize_tags`]).
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub negative_prompt: String,
    pub visibility: Visibility,
    /// The name of the file on the uploader's machine.
    pub original_filename: Option<String>,
    /// The 1024 px still for the asset page.
    pub preview: Option<FileId>,
    /// JSON of [`crate::model::Generation`], when the file's metadata was understood.
    pub generation: Option<String>,
    /// JSON object of the raw metadata text the file carried, when it carried any.
    pub raw_metadata: Option<String>,
    /// What of the file's metadata was over the limits and not kept, in words.
    pub metadata_dropped: Option<String>,
    /// Version of the parsers that read the metadata (0: never read).
    pub parser_version: u32,
}

impl NewAsset {
    /// Bytes of metadata stored with the asset (parsed, raw, and the note of what was
    /// dropped): charged to the owner's quota with the file, freed with the asset.
    pub fn metadata_bytes(&self) -> u64 {
        text_bytes([&self.generation, &self.raw_metadata, &self.metadata_dropped])
    }
}

fn text_bytes(texts: [&Option<String>; 3]) -> u64 {
    texts
        .into_iter()
        .flatten()
        .map(|text| text.len() as u64)
        .sum()
}

/// What a file's metadata reading keeps, as JSON text ready to store (see
/// [`AssetStore::set_generation`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredMetadata {
    /// JSON of [`crate::model::Generation`].
    pub generation: Option<String>,
    /// JSON object of the raw text kept.
    pub raw: Option<String>,
    /// What was over the limits and not kept, in words.
    pub dropped: Option<String>,
    pub parser_version: u32,
}

impl StoredMetadata {
    /// Bytes it takes, as [`NewAsset::metadata_bytes`] counts them.
    pub fn bytes(&self) -> u64 {
        text_bytes([&self.generation, &self.raw, &self.dropped])
    }
}

/// An asset's raw metadata, for its owner to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMetadata {
    pub title: String,
    pub original_filename: Option<String>,
    /// The JSON object kept; `None` when the file carried no metadata.
    pub json: Option<String>,
}

/// An asset's files and who may see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetMedia {
    pub owner: UserId,
    pub visibility: Visibility,
    /// In its owner's trash: only they may fetch it (for the trash page).
    pub trashed: bool,
    pub title: String,
    pub original_filename: Option<String>,
    pub original: Option<StoredRef>,
    pub thumb: Option<StoredRef>,
    pub preview: Option<StoredRef>,
}

/// An asset whose metadata an older parser read, for `atelier reparse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReparseItem {
    pub asset: AssetId,
    pub public_id: String,
    pub original: StoredRef,
}

/// A user's profile: who they are and how many assets they show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRecord {
    pub user: UserId,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub public_images: u64,
    pub public_videos: u64,
    pub unlisted_images: u64,
    pub unlisted_videos: u64,
    pub private_images: u64,
    pub private_videos: u64,
    /// Views of their assets by other people.
    pub views_received: u64,
    /// Bytes of originals their assets hold (what the quota limits).
    pub storage_bytes: u64,
}

#[async_trait]
pub trait AssetStore: Send + Sync {
    /// Inserts assets and their tags in one transaction: all of them or none.
    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError>;

    /// A user's profile with their asset counts (kept by triggers, never counted here).
    async fn profile(&self, username: &str) -> Result<Option<ProfileRecord>, StoreError>;

    /// Exact count; for the CLI, never for a request path.
    async fn count_assets(&self) -> Result<u64, StoreError>;

    /// The asset as `viewer` may see it: `None` when missing, in the trash, or another
    /// user's private one that they do not see through a private collection they have a
    /// place in.
    async fn view_asset(
        &self,
        public_id: &str,
        viewer: Option<UserId>,
    ) -> Result<Option<AssetDetail>, StoreError>;

    /// The asset whatever its visibility (out of the trash), for the holder of a share link
    /// that opens it (the caller checked the link); `viewer` only marks their like.
    async fn view_shared_asset(
        &self,
        public_id: &str,
        viewer: Option<UserId>,
    ) -> Result<Option<AssetDetail>, StoreError>;

    /// The raw metadata of `owner`'s asset; `None` when there is no such asset of theirs
    /// (another user's, public or not, is `None` too).
    async fn raw_metadata(
        &self,
        public_id: &str,
        owner: UserId,
    ) -> Result<Option<RawMetadata>, StoreError>;

    /// The asset's files and owner, for the media routes (which check visibility).
    async fn asset_media(&self, public_id: &str) -> Result<Option<AssetMedia>, StoreError>;

    /// Deletes an asset in the trash for good (its tags and jobs with it) if `actor` owns
    /// it or `any_owner` is set (an admin, the background purge), and every file row no
    /// asset names any more, in one transaction. Returns the removed files, whose bytes the
    /// caller removes from disk; `None` when there is no such asset in the trash or it is
    /// not the actor's.
    async fn purge_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
    ) -> Result<Option<Vec<StoredRef>>, StoreError>;

    /// Assets with an original whose metadata was read by a parser older than `version`,
    /// after `after` in id order, at most `limit`.
    async fn reparse_batch(
        &self,
        version: u32,
        after: AssetId,
        limit: u32,
    ) -> Result<Vec<ReparseItem>, StoreError>;

    /// Stores newly read metadata, and moves the owner's storage use by the difference
    /// in its size, in one transaction.
    async fn set_generation(
        &self,
        asset: AssetId,
        metadata: &StoredMetadata,
    ) -> Result<(), StoreError>;
}
