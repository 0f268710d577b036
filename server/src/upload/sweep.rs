//! Sweeping what uploads leave behind: expired uploads and their bytes, temp files no
//! upload names, and stored files no row names (placed just before a commit that failed).

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use app::error::ApiError;
use chrono::{DateTime, Utc};

use super::{engine::UploadEngine, refusal::internal};
use crate::storage::{modified_before, remove_quietly};

/// How old a temp or stored file nothing names must be before it goes: a file is written
/// just before the row that names it.
const GRACE: Duration = Duration::from_secs(3600);
/// Expired uploads read and removed at a time.
const EXPIRED_BATCH: u32 = 500;
/// Stored files looked up at a time.
const PATHS_BATCH: usize = 500;

impl UploadEngine {
    /// Deletes expired uploads and their bytes, temp files nothing points to, and stored
    /// files no row points to (when `walk_files`). Returns how many things went.
    pub async fn sweep(&self, now: DateTime<Utc>, walk_files: bool) -> Result<u64, ApiError> {
        let mut removed = 0u64;
        loop {
            let expired = self.store.expired_uploads(now, EXPIRED_BATCH).await?;
            let mut gone = 0;
            for id in &expired {
                // A chunk arriving right now slides the expiry itself: not swept under it.
                if self.chunk_in_flight(id) {
                    continue;
                }
                self.discard(id).await;
                gone += 1;
            }
            removed += gone;
            if gone == 0 {
                break;
            }
        }
        // Temp files older than an hour that no upload row names (a crash between creating
        // the file and the row, an interrupted put).
        removed += self.sweep_temp(GRACE, false).await?;
        if walk_files {
            removed += self.sweep_orphan_files(GRACE).await?;
        }
        Ok(removed)
    }

    /// At start-up, before any request: an upload's temp files whose row is gone (a crash
    /// after a finish committed, before it removed them) go whatever their age, as no
    /// upload of this process can be between creating one and its row yet.
    pub async fn recover(&self) -> Result<u64, ApiError> {
        self.sweep_temp(Duration::ZERO, true).await
    }

    /// Temp files older than `grace` that no upload row names (only upload files when
    /// `uploads_only`; otherwise also leftovers of interrupted puts).
    async fn sweep_temp(&self, grace: Duration, uploads_only: bool) -> Result<u64, ApiError> {
        let mut removed = 0;
        for (path, name) in old_entries(&self.tmp, grace).await {
            let stale = match name.strip_prefix("upload-") {
                Some(rest) => {
                    let id = rest.split('.').next().unwrap_or(rest);
                    self.store.find_upload(id).await?.is_none()
                }
                None => !uploads_only,
            };
            if stale {
                remove_quietly(&path).await;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Stored files that no `files` row names, older than `grace` (a file is placed just
    /// before its row commits).
    async fn sweep_orphan_files(&self, grace: Duration) -> Result<u64, ApiError> {
        let files = self.files.clone();
        let found = tokio::task::spawn_blocking(move || files.stored_before(grace))
            .await
            .map_err(|e| internal("file walk panicked", e))?;
        let mut removed = 0;
        for batch in found.chunks(PATHS_BATCH) {
            let paths: Vec<String> = batch.iter().map(|(rel, _)| rel.clone()).collect();
            let known: HashSet<String> = self
                .store
                .known_storage_paths(&paths)
                .await?
                .into_iter()
                .collect();
            for (rel, _) in batch {
                if known.contains(rel) {
                    continue;
                }
                let Some(sha) = rel.rsplit('/').next().and_then(|n| n.split('.').next()) else {
                    continue;
                };
                // Under the file's lock, so no finish in progress is placing it right now.
                let _guard = self.files.lock(sha).await;
                if !self.store.file_exists(sha).await? {
                    tracing::info!(path = %rel, "removing a stored file no row points to");
                    remove_quietly(&self.files.path_of(rel)).await;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Entries of `dir` last modified more than `grace` ago: (path, file name).
async fn old_entries(dir: &Path, grace: Duration) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return out;
    };
    let now = SystemTime::now();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        if meta.is_file() && modified_before(&meta, now, grace) {
            out.push((
                entry.path(),
                entry.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    out
}
