//! Assets: inserting (with their tags), viewing, their files, profiles, deleting and
//! re-reading metadata. Searching them is `search.rs`.

use std::{collections::HashMap, future::Future};

use app::model::{media_url, AssetDetail, AssetSummary, Generation, MediaType, MediaVariant};
use app::model::{JobInfo, Visibility};
use app::store::{
    AssetId, AssetMedia, AssetStore, NewAsset, ProfileRecord, RawMetadata, ReparseItem, StoreError,
    StoredMetadata, StoredRef, UserId,
};
use async_trait::async_trait;

use super::accounts::{UserRow, SAME_NAME, USER_COLUMNS};
use super::backend::Backend;
use super::files::{stored_ref, stored_ref_columns, FileRows};
use super::jobs::{JobRow, JOB_COLUMNS};
use super::likes::liked_among;
use super::types::{asset_key, count, positive, size, Json, Ts};
use super::visibility::in_private_collection_of;
use super::{for_each_backend, Db};

/// How far an asset's key may move past taken ones (one microsecond each).
const MAX_KEY_MOVES: usize = 1_000;

/// Tags travel as one string joined by the unit separator, sorted by name
/// ([`Backend::TAG_LIST`]).
pub(super) const TAG_SEPARATOR: char = '\u{1f}';

/// Keys for assets about to be inserted, in their order: each its creation time, moved on
/// by a microsecond past any other asset of the batch with the same or a later-moved time.
/// (The database may still hold a clash; the insert resolves it the same way.)
fn unique_keys(assets: &[NewAsset]) -> Vec<i64> {
    let mut order: Vec<(i64, usize)> = assets
        .iter()
        .enumerate()
        .map(|(n, a)| (asset_key(a.created_at), n))
        .collect();
    order.sort_unstable();
    let mut keys = vec![0; assets.len()];
    let mut last = i64::MIN;
    for (key, n) in order {
        let key = key.max(last.saturating_add(1));
        last = key;
        keys[n] = key;
    }
    keys
}

/// Inserts assets and their tags on `conn` (inside the caller's transaction); returns the
/// new rows' ids in the order given. Each asset's id is its creation time in microseconds;
/// a time already taken moves on by a microsecond until it is free.
pub(super) async fn insert_assets<DB: Backend>(
    conn: &mut DB::Connection,
    assets: &[NewAsset],
) -> Result<Vec<AssetId>, StoreError> {
    let mut out = Vec::with_capacity(assets.len());
    let keys = unique_keys(assets);
    let per_insert = DB::ASSET_ROWS_PER_INSERT;
    for (chunk, keys) in assets.chunks(per_insert).zip(keys.chunks(per_insert)) {
        let mut pending: Vec<(i64, &NewAsset)> = keys.iter().copied().zip(chunk).collect();
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(chunk.len());
        for _ in 0..MAX_KEY_MOVES {
            if pending.is_empty() {
                break;
            }
            ids.extend(DB::insert_keyed(&mut *conn, &pending).await?);
            pending.retain(|(_, asset)| !ids.contains_key(&asset.public_id));
            for (key, _) in &mut pending {
                *key += 1;
            }
        }
        if let Some((key, _)) = pending.first() {
            return Err(StoreError::Database(format!(
                "no free asset key near {key} after {MAX_KEY_MOVES} tries"
            )));
        }
        let mut names: Vec<&str> = chunk
            .iter()
            .flat_map(|a| a.tags.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        let tag_ids: HashMap<String, i64> = if names.is_empty() {
            HashMap::new()
        } else {
            DB::upsert_tags(&mut *conn, &names)
                .await?
                .into_iter()
                .map(|(id, name)| (name, id))
                .collect()
        };
        let mut links = Vec::new();
        for asset in chunk {
            let id = *ids.get(&asset.public_id).ok_or_else(|| {
                StoreError::Database(format!("insert did not return asset {}", asset.public_id))
            })?;
            out.push(AssetId(id));
            links.extend(
                asset
                    .tags
                    .iter()
                    .filter_map(|tag| tag_ids.get(tag).map(|tag| (id, *tag))),
            );
        }
        if !links.is_empty() {
            DB::link_tags(&mut *conn, &links).await?;
        }
    }
    Ok(out)
}

/// Statements on assets that other domains run inside their own transactions.
pub(super) trait AssetRows: Backend {
    /// The row id and owner of the asset `public_id` when `actor` may change it (it is
    /// theirs, or anyone's when `any_owner`) and it is in the trash or out of it as
    /// `trashed` says.
    fn owned_asset(
        conn: &mut Self::Connection,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
        trashed: bool,
    ) -> impl Future<Output = Result<Option<(i64, i64)>, StoreError>> + Send;
}

for_each_backend! {
    impl AssetRows for DB {
        async fn owned_asset(
            conn: &mut <DB as sqlx::Database>::Connection,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
            trashed: bool,
        ) -> Result<Option<(i64, i64)>, StoreError> {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT id, owner_id FROM assets
                  WHERE public_id = $1 AND (trashed_at IS NOT NULL) = $2",
            )
            .bind(public_id)
            .bind(trashed)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.filter(|(_, owner)| *owner == actor.0 || any_owner))
        }
    }
}

/// The columns [`AssetRow`] reads (with [`ASSET_FROM`]); the tag list is the backend's
/// ([`Backend::TAG_LIST`]).
pub(super) fn asset_columns<DB: Backend>() -> String {
    format!(
        "a.id, a.public_id, a.title, a.prompt, a.model, a.media_type, a.width, a.height,
         a.duration_ms, a.created_at, u.username AS owner, th.sha256 AS thumb_sha256,
         pv.sha256 AS preview_sha256, a.visibility, a.like_count, a.view_count, a.featured_at,
         {} AS tags",
        DB::TAG_LIST
    )
}

pub(super) const ASSET_FROM: &str = "
    FROM assets a
    JOIN users u ON u.id = a.owner_id
    LEFT JOIN files th ON th.id = a.thumb_file_id
    LEFT JOIN files pv ON pv.id = a.preview_file_id";

/// An asset as a listing shows it, before it becomes an API type.
#[derive(sqlx::FromRow)]
pub(super) struct AssetRow {
    /// The asset key: its creation time in Unix microseconds, unique (the `id` column).
    #[sqlx(rename = "id")]
    pub key: i64,
    public_id: String,
    title: String,
    prompt: String,
    model: Option<String>,
    media_type: i16,
    width: Option<i32>,
    height: Option<i32>,
    duration_ms: Option<i32>,
    created_at: Ts,
    owner: String,
    thumb_sha256: Option<String>,
    preview_sha256: Option<String>,
    visibility: String,
    pub like_count: i64,
    pub view_count: i64,
    /// When an admin featured it (Unix microseconds), if they did.
    pub featured_at: Option<i64>,
    tags: Option<String>,
}

/// What only the asset page shows: the original file and the metadata.
#[derive(sqlx::FromRow)]
struct FileRow {
    file_sha256: Option<String>,
    file_mime: Option<String>,
    file_size: Option<i64>,
    negative_prompt: String,
    original_filename: Option<String>,
    generation: Option<String>,
    raw_present: i32,
    metadata_dropped: Option<String>,
}

/// Columns the asset page reads beyond [`AssetRow`]'s, with [`FILE_JOINS`]: whether there
/// is raw metadata, never the metadata itself (its owner downloads it on its own).
const FILE_COLUMNS: &str = "f.sha256 AS file_sha256, f.mime_type AS file_mime, \
     f.byte_size AS file_size, a.negative_prompt, \
     a.original_filename, CAST(a.generation AS TEXT) AS generation, \
     CASE WHEN a.raw_metadata IS NULL THEN 0 ELSE 1 END AS raw_present, a.metadata_dropped";

/// Joins for [`FILE_COLUMNS`]: the original.
const FILE_JOINS: &str = "LEFT JOIN files f ON f.id = a.file_id";

/// The asset page's row: the listing's columns and the page's own.
#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    asset: AssetRow,
    #[sqlx(flatten)]
    file: FileRow,
}

impl AssetRow {
    pub(super) fn into_summary(self) -> Result<AssetSummary, StoreError> {
        let media_type = MediaType::from_code(self.media_type).ok_or_else(|| {
            StoreError::Database(format!(
                "asset {} has unknown media_type {}",
                self.public_id, self.media_type
            ))
        })?;
        let visibility = Visibility::parse(&self.visibility).ok_or_else(|| {
            StoreError::Database(format!(
                "asset {} has unknown visibility {}",
                self.public_id, self.visibility
            ))
        })?;
        let tags = self
            .tags
            .map(|t| t.split(TAG_SEPARATOR).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(AssetSummary {
            thumb_url: self
                .thumb_sha256
                .map(|sha| media_url(&self.public_id, MediaVariant::Thumb, &sha)),
            preview_url: self
                .preview_sha256
                .map(|sha| media_url(&self.public_id, MediaVariant::Preview, &sha)),
            visibility,
            id: self.public_id,
            title: self.title,
            prompt: self.prompt,
            media_type,
            owner: self.owner,
            tags,
            model: self.model,
            created_at: self.created_at.0,
            width: positive(self.width),
            height: positive(self.height),
            duration_ms: positive(self.duration_ms),
            likes: count(self.like_count),
            views: count(self.view_count),
            liked: false,
            featured: self
                .featured_at
                .and_then(chrono::DateTime::from_timestamp_micros),
        })
    }
}

impl DetailRow {
    fn into_detail(self, job: Option<JobInfo>) -> Result<AssetDetail, StoreError> {
        let id = self.asset.public_id.clone();
        let extra = self.file;
        let generation = match extra.generation.as_deref() {
            None => None,
            // Within its limits however it was stored (rows older than them too).
            Some(json) => match serde_json::from_str::<Generation>(json) {
                Ok(generation) => Some(generation.bounded().0),
                Err(err) => {
                    // Never fatal: the page still shows, with the raw metadata note.
                    tracing::warn!(asset = %id, %err, "stored generation metadata is unreadable");
                    None
                }
            },
        };
        Ok(AssetDetail {
            summary: self.asset.into_summary()?,
            media_url: extra
                .file_sha256
                .as_ref()
                .map(|sha| media_url(&id, MediaVariant::Original, sha)),
            byte_size: extra.file_size.and_then(|size| u64::try_from(size).ok()),
            mime_type: extra.file_mime,
            negative_prompt: extra.negative_prompt,
            original_filename: extra.original_filename,
            generation,
            raw_metadata_present: extra.raw_present != 0,
            metadata_dropped: extra.metadata_dropped,
            job,
            is_mine: false,
            can_delete: false,
        })
    }
}

/// The asset counts `user_counts` keeps for one user, by type and visibility.
#[derive(sqlx::FromRow)]
struct UserCount {
    media_type: i16,
    visibility: String,
    assets: i64,
}

/// A profile's user with the figures kept on their row.
#[derive(sqlx::FromRow)]
struct ProfileRow {
    #[sqlx(flatten)]
    user: UserRow,
    views_received: i64,
    storage_bytes: i64,
}

/// A profile from its user row and their `user_counts` rows.
fn profile_record(row: ProfileRow, counts: &[UserCount]) -> Result<ProfileRecord, StoreError> {
    let count_of = |media_type: MediaType, visibility: Visibility| {
        counts
            .iter()
            .filter(|c| c.media_type == media_type.code() && c.visibility == visibility.as_str())
            .map(|c| count(c.assets))
            .sum()
    };
    let user = app::store::User::try_from(row.user)?;
    Ok(ProfileRecord {
        user: user.id,
        username: user.username,
        created_at: user.created_at,
        public_images: count_of(MediaType::Image, Visibility::Public),
        public_videos: count_of(MediaType::Video, Visibility::Public),
        unlisted_images: count_of(MediaType::Image, Visibility::Unlisted),
        unlisted_videos: count_of(MediaType::Video, Visibility::Unlisted),
        private_images: count_of(MediaType::Image, Visibility::Private),
        private_videos: count_of(MediaType::Video, Visibility::Private),
        views_received: count(row.views_received),
        storage_bytes: count(row.storage_bytes),
    })
}

/// The files an asset names, as its row has them.
#[derive(sqlx::FromRow)]
struct AssetFiles {
    id: i64,
    owner_id: i64,
    file_id: Option<i64>,
    thumb_file_id: Option<i64>,
    preview_file_id: Option<i64>,
    poster_file_id: Option<i64>,
}

impl AssetFiles {
    /// The distinct file ids (original, stills, poster).
    fn distinct(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = [
            self.file_id,
            self.thumb_file_id,
            self.preview_file_id,
            self.poster_file_id,
        ]
        .into_iter()
        .flatten()
        .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

for_each_backend! {
    impl Db<DB> {
        /// The asset as `viewer` sees it; with `shared`, whatever its visibility (a share
        /// link opens it).
        async fn asset_detail(
            &self,
            public_id: &str,
            viewer: Option<UserId>,
            shared: bool,
        ) -> Result<Option<AssetDetail>, StoreError> {
            // The job first: a job seen done was committed with its thumbnails, so the asset
            // read next shows them.
            let job: Option<JobRow> = sqlx::query_as(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                  WHERE asset_id = (SELECT id FROM assets WHERE public_id = $1)
                  ORDER BY id DESC LIMIT 1"
            ))
            .bind(public_id)
            .fetch_optional(self.reader())
            .await?;
            let job = job.map(JobInfo::try_from).transpose()?;
            let Some(row) = sqlx::query_as::<_, DetailRow>(&format!(
                "SELECT {}, {FILE_COLUMNS} {ASSET_FROM}
                 {FILE_JOINS}
                 WHERE a.public_id = $1 AND a.trashed_at IS NULL
                   AND ($3 = 1 OR a.visibility <> 'private' OR a.owner_id = $2 OR {})",
                asset_columns::<DB>(),
                in_private_collection_of("$2")
            ))
            .bind(public_id)
            .bind(viewer.map(|v| v.0))
            .bind(i32::from(shared))
            .fetch_optional(self.reader())
            .await?
            else {
                return Ok(None);
            };
            let liked = match viewer {
                Some(viewer) => {
                    let mut conn = self.reader().acquire().await?;
                    liked_among::<DB>(&mut conn, viewer, &[row.asset.key])
                        .await?
                        .contains(&row.asset.key)
                }
                None => false,
            };
            let mut detail = row.into_detail(job)?;
            detail.summary.liked = liked;
            Ok(Some(detail))
        }

    }

    #[async_trait]
    impl AssetStore for Db<DB> {
        async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError> {
            let mut tx = self.writer().begin().await?;
            let mut owners: Vec<i64> = assets.iter().map(|a| a.owner.0).collect();
            owners.sort_unstable();
            owners.dedup();
            DB::lock_counters(&mut *tx, &owners).await?;
            insert_assets::<DB>(&mut *tx, assets).await?;
            Ok(tx.commit().await?)
        }

        async fn profile(&self, username: &str) -> Result<Option<ProfileRecord>, StoreError> {
            let Some(row) = sqlx::query_as::<_, ProfileRow>(&format!(
                "SELECT {USER_COLUMNS}, u.views_received, u.storage_bytes
                   FROM users u WHERE {SAME_NAME}"
            ))
            .bind(username)
            .fetch_optional(self.reader())
            .await?
            else {
                return Ok(None);
            };
            let counts: Vec<UserCount> = sqlx::query_as(
                "SELECT media_type, visibility, assets FROM user_counts WHERE user_id = $1",
            )
            .bind(row.user_id())
            .fetch_all(self.reader())
            .await?;
            profile_record(row, &counts).map(Some)
        }

        async fn count_assets(&self) -> Result<u64, StoreError> {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assets WHERE trashed_at IS NULL")
                .fetch_one(self.reader())
                .await?;
            Ok(count(n))
        }

        async fn view_asset(
            &self,
            public_id: &str,
            viewer: Option<UserId>,
        ) -> Result<Option<AssetDetail>, StoreError> {
            self.asset_detail(public_id, viewer, false).await
        }

        async fn view_shared_asset(
            &self,
            public_id: &str,
            viewer: Option<UserId>,
        ) -> Result<Option<AssetDetail>, StoreError> {
            self.asset_detail(public_id, viewer, true).await
        }

        async fn raw_metadata(
            &self,
            public_id: &str,
            owner: UserId,
        ) -> Result<Option<RawMetadata>, StoreError> {
            let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT title, original_filename, CAST(raw_metadata AS TEXT)
                   FROM assets
                  WHERE public_id = $1 AND owner_id = $2 AND trashed_at IS NULL",
            )
            .bind(public_id)
            .bind(owner.0)
            .fetch_optional(self.reader())
            .await?;
            Ok(row.map(|(title, original_filename, json)| RawMetadata {
                title,
                original_filename,
                json,
            }))
        }

        async fn asset_media(&self, public_id: &str) -> Result<Option<AssetMedia>, StoreError> {
            let row = sqlx::query(&format!(
                "SELECT a.owner_id, a.visibility, a.trashed_at IS NOT NULL AS trashed, a.title,
                        a.original_filename, {}, {}, {}
                   FROM assets a
                   LEFT JOIN files f ON f.id = a.file_id
                   LEFT JOIN files th ON th.id = a.thumb_file_id
                   LEFT JOIN files pv ON pv.id = a.preview_file_id
                  WHERE a.public_id = $1",
                stored_ref_columns("f", "original"),
                stored_ref_columns("th", "thumb"),
                stored_ref_columns("pv", "preview"),
            ))
            .bind(public_id)
            .fetch_optional(self.reader())
            .await?;
            let Some(row) = row else { return Ok(None) };
            use sqlx::Row;
            let visibility: String = row.try_get("visibility")?;
            Ok(Some(AssetMedia {
                owner: UserId(row.try_get("owner_id")?),
                visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Private),
                trashed: row.try_get("trashed")?,
                title: row.try_get("title")?,
                original_filename: row.try_get("original_filename")?,
                original: stored_ref(&row, "original")?,
                thumb: stored_ref(&row, "thumb")?,
                preview: stored_ref(&row, "preview")?,
            }))
        }

        async fn purge_asset(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
        ) -> Result<Option<Vec<StoredRef>>, StoreError> {
            let mut tx = self.writer().begin().await?;
            let row: Option<AssetFiles> = sqlx::query_as(
                "SELECT id, owner_id, file_id, thumb_file_id, preview_file_id, poster_file_id
                   FROM assets WHERE public_id = $1 AND trashed_at IS NOT NULL",
            )
            .bind(public_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(asset) = row else {
                return Ok(None);
            };
            if asset.owner_id != actor.0 && !any_owner {
                return Ok(None);
            }
            // Before the delete cascades to tags and files.
            DB::lock_counters(&mut *tx, &[asset.owner_id]).await?;
            let deleted = sqlx::query("DELETE FROM assets WHERE id = $1 AND trashed_at IS NOT NULL")
                .bind(asset.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                // Purged or restored by someone else since it was read.
                return Ok(None);
            }
            let mut freed = Vec::new();
            for file in asset.distinct() {
                freed.extend(DB::delete_unused_file(&mut *tx, file).await?);
            }
            tx.commit().await?;
            Ok(Some(freed))
        }

        async fn reparse_batch(
            &self,
            version: u32,
            after: AssetId,
            limit: u32,
        ) -> Result<Vec<ReparseItem>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT a.id, a.public_id, {} FROM assets a JOIN files f ON f.id = a.file_id
                  WHERE a.id > $1 AND a.parser_version < $2 ORDER BY a.id LIMIT $3",
                stored_ref_columns("f", "original")
            ))
            .bind(after.0)
            .bind(i32::try_from(version).unwrap_or(i32::MAX))
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
            let mut items = Vec::with_capacity(rows.len());
            for row in &rows {
                use sqlx::Row;
                // An inner join: every row has its original.
                if let Some(original) = stored_ref(row, "original")? {
                    items.push(ReparseItem {
                        asset: AssetId(row.try_get("id")?),
                        public_id: row.try_get("public_id")?,
                        original,
                    });
                }
            }
            Ok(items)
        }

        async fn set_generation(
            &self,
            asset: AssetId,
            metadata: &StoredMetadata,
        ) -> Result<(), StoreError> {
            let mut tx = self.writer().begin().await?;
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT owner_id FROM assets WHERE id = $1")
                    .bind(asset.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(owner) = owner else {
                return Ok(());
            };
            DB::lock_counters(&mut *tx, &[owner]).await?;
            // The owner's storage moves by the difference, read under their row's lock
            // (every change of an asset's metadata takes it), while the row still holds
            // the old size.
            sqlx::query(
                "UPDATE users SET storage_bytes = storage_bytes + $1
                        - (SELECT metadata_bytes FROM assets WHERE id = $2)
                  WHERE id = $3 AND EXISTS (SELECT 1 FROM assets WHERE id = $2)",
            )
            .bind(size(metadata.bytes()))
            .bind(asset.0)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE assets SET generation = $1, raw_metadata = $2, metadata_dropped = $3,
                        metadata_bytes = $4, parser_version = $5
                  WHERE id = $6",
            )
            .bind(metadata.generation.as_deref().map(Json))
            .bind(metadata.raw.as_deref().map(Json))
            .bind(metadata.dropped.as_deref())
            .bind(size(metadata.bytes()))
            .bind(i32::try_from(metadata.parser_version).unwrap_or(i32::MAX))
            .bind(asset.0)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

impl ProfileRow {
    fn user_id(&self) -> i64 {
        self.user.id()
    }
}
