//! Deleting an asset: its rows go in one transaction (tags, job, the owner's storage use),
//! then each stored file no other asset names is removed, under that file's lock.

use app::{error::ApiError, store::Store, store::User};

use crate::storage::{remove_quietly, FileStore};

/// Deletes an asset of `user`'s (anyone's when `any_owner`) and the stored files nothing
/// else names. `false` when there was no such asset of theirs.
pub async fn delete(
    store: &dyn Store,
    files: &FileStore,
    user: &User,
    asset_id: &str,
    any_owner: bool,
) -> Result<bool, ApiError> {
    let Some(freed) = store.delete_asset(asset_id, user.id, any_owner).await? else {
        return Ok(false);
    };
    tracing::info!(asset = asset_id, by = %user.username, files = freed.len(), "asset deleted");
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
