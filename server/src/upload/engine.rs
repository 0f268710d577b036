//! The upload engine's state and what every stage shares: where an upload's bytes wait,
//! whose upload an id names, how far this process has written past the durable receipt,
//! and what a refused or abandoned upload leaves behind.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use app::stats::Feature;
use app::{
    error::ApiError,
    store::{NewUpload, Store, UploadRecord, User},
    upload::{clean_filename, DEFAULT_CHUNK_SIZE},
};
use chrono::Utc;
use tokio::sync::Notify;

use super::{
    limits::Limits,
    refusal::{internal, not_found},
};
use crate::storage::{remove_quietly, FileStore};

pub struct UploadEngine {
    pub(super) store: Arc<dyn Store>,
    pub(super) files: FileStore,
    pub(super) tmp: PathBuf,
    pub(super) chunk_size: u64,
    /// Uploads with a chunk arriving now (one at a time per upload).
    pub(super) in_flight: Arc<Mutex<HashSet<String>>>,
    /// Bytes written (not yet synced) past an upload's durable receipt, in this process.
    ahead: Mutex<HashMap<String, u64>>,
    /// Wakes a processing worker when a finished upload queued a job.
    pub(super) jobs: Arc<Notify>,
    pub(super) usage: Arc<app::usage::Usage>,
}

impl UploadEngine {
    pub fn new(store: Arc<dyn Store>, files: FileStore, jobs: Arc<Notify>) -> Self {
        UploadEngine {
            tmp: files.tmp_dir().to_path_buf(),
            store,
            files,
            chunk_size: DEFAULT_CHUNK_SIZE,
            in_flight: Arc::default(),
            ahead: Mutex::default(),
            jobs,
            usage: app::usage::Usage::off(),
        }
    }

    /// Records upload events through `usage`.
    pub fn with_usage(mut self, usage: Arc<app::usage::Usage>) -> Self {
        self.usage = usage;
        self
    }

    /// A smaller chunk size (tests and benchmarks).
    pub fn with_chunk_size(mut self, chunk_size: u64) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The limits now in force (settings an admin changed, or the defaults).
    pub async fn limits(&self) -> Result<Limits, ApiError> {
        Limits::load(self.store.as_ref()).await
    }

    /// Whether `incoming` more bytes may go to the data disk, keeping its free-space floor
    /// (507 when not).
    pub(super) fn check_disk(&self, limits: &Limits, incoming: u64) -> Result<(), ApiError> {
        let free = self
            .files
            .free_space()
            .map_err(|e| internal("cannot read the data disk's free space", e))?;
        limits.check_disk(free, incoming)
    }

    pub(super) fn temp_path(&self, upload_id: &str) -> PathBuf {
        self.tmp.join(format!("upload-{upload_id}"))
    }

    /// Where a video upload's poster frame waits for the upload to finish.
    pub(super) fn poster_path(&self, upload_id: &str) -> PathBuf {
        self.tmp.join(format!("upload-{upload_id}.poster"))
    }

    /// Where the next chunk of `upload` starts: past the durable receipt by what this
    /// process wrote since the last sync. (After a restart only the receipt counts, and the
    /// file is cut back to it.)
    pub(super) fn offset_of(&self, upload: &UploadRecord) -> u64 {
        self.ahead
            .lock()
            .ok()
            .and_then(|ahead| ahead.get(&upload.public_id).copied())
            .filter(|written| *written >= upload.received)
            .unwrap_or(upload.received)
    }

    pub(super) fn set_ahead(&self, upload_id: &str, written: Option<u64>) {
        if let Ok(mut ahead) = self.ahead.lock() {
            match written {
                Some(written) => ahead.insert(upload_id.to_string(), written),
                None => ahead.remove(upload_id),
            };
        }
    }

    /// Whether a chunk of this upload is arriving now.
    pub(super) fn chunk_in_flight(&self, upload_id: &str) -> bool {
        self.in_flight
            .lock()
            .map(|set| set.contains(upload_id))
            .unwrap_or(false)
    }

    /// The upload `upload_id` names, if it is `user`'s; any other is "not found".
    pub(super) async fn own_upload(
        &self,
        user: &User,
        upload_id: &str,
    ) -> Result<UploadRecord, ApiError> {
        if !app::ids::is_public_id(upload_id) {
            return Err(not_found(upload_id));
        }
        match self.store.find_upload(upload_id).await? {
            Some(upload) if upload.owner == user.id => Ok(upload),
            _ => Err(not_found(upload_id)),
        }
    }

    /// Forgets an upload: its row and its bytes.
    pub(super) async fn discard(&self, upload_id: &str) {
        self.set_ahead(upload_id, None);
        if let Err(err) = self.store.delete_upload(upload_id).await {
            tracing::warn!(%err, upload_id, "cannot delete an upload row");
        }
        remove_quietly(&self.temp_path(upload_id)).await;
        remove_quietly(&self.poster_path(upload_id)).await;
    }

    /// Records why an upload was refused and drops its bytes (the row stays until it
    /// expires, so the status says why).
    pub(super) async fn refuse(&self, user: &User, upload_id: &str, error: &ApiError) {
        self.failed(user, error);
        self.set_ahead(upload_id, None);
        let message = error.to_string();
        if let Err(err) = self
            .store
            .set_upload_result(
                upload_id,
                None,
                Some((&message, error.status())),
                Utc::now(),
            )
            .await
        {
            tracing::warn!(%err, upload_id, "cannot record why an upload was refused");
        }
        remove_quietly(&self.temp_path(upload_id)).await;
    }

    /// Records that `user`'s upload was refused, and why (the status).
    pub(super) fn failed(&self, user: &User, error: &ApiError) {
        self.usage.record(
            Feature::UploadFailed,
            Some(user.id),
            &error.status().to_string(),
        );
    }
}

/// The row of an upload starting now.
pub(super) fn new_upload(
    upload_id: &str,
    user: &User,
    filename: &str,
    size: u64,
    expected_sha256: Option<String>,
    limits: &Limits,
) -> NewUpload {
    let now = Utc::now();
    NewUpload {
        public_id: upload_id.to_string(),
        owner: user.id,
        filename: clean_filename(filename),
        byte_size: size,
        expected_sha256,
        created_at: now,
        expires_at: now + limits.expiry,
    }
}
