//! Purging assets from the trash: an asset's rows go in one transaction (tags, job, its
//! owner's storage use), then each stored file no other asset names is removed, under that
//! file's lock. One asset ("Delete permanently"), a person's whole trash ("Empty trash"),
//! and, in the background, whatever has been in the trash longer than `trash_days`.

use app::model::{EmptiedTrash, EMPTY_TRASH_MAX};
use app::settings::Settings;
use app::{error::ApiError, store::Store, store::User, store::UserId};
use chrono::{DateTime, Duration, Utc};

use crate::storage::{remove_quietly, FileStore};

/// Trashed assets looked up at a time, to purge one by one.
pub const PURGE_BATCH: u32 = 100;
/// Assets one round of the background purge deletes at most; the next round (an hour
/// later) goes on.
pub const PURGE_ROUND_MAX: u32 = 10_000;

/// Purges one asset in the trash and the stored files nothing else names: `actor`'s, or
/// anyone's when there is no actor (the background purge). `false` when there is no such
/// asset in the trash.
async fn purge_one(
    store: &dyn Store,
    files: &FileStore,
    asset_id: &str,
    actor: Option<UserId>,
) -> Result<bool, ApiError> {
    let (actor, any_owner) = match actor {
        Some(actor) => (actor, false),
        None => (UserId(0), true),
    };
    let Some(freed) = store.purge_asset(asset_id, actor, any_owner).await? else {
        return Ok(false);
    };
    tracing::info!(asset = asset_id, files = freed.len(), "asset purged");
    for file in freed {
        // Under the file's lock: an upload of the same bytes finishing now either
        // committed its row first (the file stays) or waits and places it again.
        let _guard = files.lock(&file.sha256).await;
        if !store.file_exists(&file.sha256).await? {
            remove_quietly(&files.path_of(&file.storage_path)).await;
        }
    }
    Ok(true)
}

/// Purges `user`'s asset from their trash (anyone's when `any_owner`, an admin). `false`
/// when there was no such asset in the trash.
pub async fn purge(
    store: &dyn Store,
    files: &FileStore,
    user: &User,
    asset_id: &str,
    any_owner: bool,
) -> Result<bool, ApiError> {
    purge_one(store, files, asset_id, (!any_owner).then_some(user.id)).await
}

/// Purges what is in the trash (`owner`'s, or anyone's) since before `before`, oldest
/// first, at most `max`; returns how many went.
async fn purge_all(
    store: &dyn Store,
    files: &FileStore,
    owner: Option<UserId>,
    before: Option<DateTime<Utc>>,
    max: u32,
) -> Result<u32, ApiError> {
    let mut purged = 0;
    // Each batch purges what it found or finds it gone (restored, purged meanwhile), so
    // the batches needed are bounded; the bound is kept anyway.
    for _ in 0..=max / PURGE_BATCH {
        let left = max - purged;
        if left == 0 {
            break;
        }
        let batch = store
            .trash_ids(owner, before, PURGE_BATCH.min(left))
            .await?;
        if batch.is_empty() {
            break;
        }
        for id in &batch {
            // The ids are the owner's (anyone's without one).
            if purge_one(store, files, id, owner).await? {
                purged += 1;
            }
        }
    }
    Ok(purged)
}

/// "Empty trash": purges up to [`EMPTY_TRASH_MAX`] of `user`'s trashed assets and says
/// how many went and how many are left for another go.
pub async fn empty_trash(
    store: &dyn Store,
    files: &FileStore,
    user: &User,
) -> Result<EmptiedTrash, ApiError> {
    let purged = purge_all(store, files, Some(user.id), None, EMPTY_TRASH_MAX).await?;
    let remaining = store.trash_count(user.id).await?;
    tracing::info!(by = %user.username, purged, remaining, "trash emptied");
    Ok(EmptiedTrash {
        purged,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
    })
}

/// The background purge: whatever has been in the trash longer than the `trash_days`
/// setting at `now`, at most [`PURGE_ROUND_MAX`]. Returns how many went.
pub async fn purge_expired(
    store: &dyn Store,
    files: &FileStore,
    now: DateTime<Utc>,
) -> Result<u32, ApiError> {
    let days = Settings::load(store).await?.trash_days;
    let before = now - Duration::days(i64::from(days));
    purge_all(store, files, None, Some(before), PURGE_ROUND_MAX).await
}
