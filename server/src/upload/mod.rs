//! The upload engine: resumable uploads into temp files, recognition by content, and the
//! move into content-addressed storage that commits together with the asset row.
//!
//! Bytes go to `<data>/tmp/upload-<id>`, never into memory. The `uploads` row's `received`
//! is the truth: before each chunk the temp file is cut back to it, so a crash between a
//! write and its receipt loses nothing but that chunk. Finishing hashes the file, links it
//! under its SHA-256 (the same bytes are stored once), and commits the file row, the
//! owner's storage use, the asset and its processing job in one transaction; if that fails,
//! a file this upload placed and no row points to is removed again.

use std::{
    collections::{HashMap, HashSet},
    fs,
    io::{self, Read, Seek, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration as StdDuration, SystemTime},
};

use app::stats::Feature;
use app::{
    error::ApiError,
    model::{Generation, MediaType},
    store::{FinishOutcome, FinishUpload, NewAsset, NewFile, NewUpload, Store, User},
    units::{format_bytes, parse_bytes},
    upload::{
        clean_filename, parse_tags, title_from_filename, ChunkReceipt, FinishedUpload, JobInfo,
        UploadForm, UploadLimits, UploadStatus, UploadTicket, Uploads, DEFAULT_CHUNK_SIZE,
        MAX_MODEL_LEN, MAX_PROMPT_LEN, MAX_TAGS, MAX_TITLE_LEN,
    },
};
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::media::{self, probe::Format, Examined};
use crate::storage::FileStore;

/// Runtime limits, read from the settings table (defaults in migration 0003).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub quota: u64,
    pub max_image: u64,
    pub max_video: u64,
    pub expiry: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            quota: 2 << 30,
            max_image: 50 << 20,
            max_video: 512 << 20,
            expiry: Duration::hours(24),
        }
    }
}

impl Limits {
    /// The cap for a kind of media.
    pub fn cap(&self, media_type: MediaType) -> u64 {
        match media_type {
            MediaType::Image => self.max_image,
            MediaType::Video => self.max_video,
        }
    }

    /// The largest file of any kind.
    pub fn largest(&self) -> u64 {
        self.max_image.max(self.max_video)
    }
}

/// Why a chunk was not taken. Serialised as the API's error body, plus `received` where
/// the client needs it to resume.
#[derive(Debug)]
pub struct ChunkError {
    pub error: ApiError,
    /// The server's offset, when the client should continue from it.
    pub received: Option<u64>,
}

impl From<ApiError> for ChunkError {
    fn from(error: ApiError) -> Self {
        ChunkError {
            error,
            received: None,
        }
    }
}

/// The refusal that a probe error deserves.
fn probe_refusal(err: &media::probe::ProbeError) -> ApiError {
    refusal_from_status(err.to_string(), err.status())
}

fn refusal_from_status(message: String, status: u16) -> ApiError {
    match status {
        413 => ApiError::TooLarge(message),
        415 => ApiError::Unsupported(message),
        400 => ApiError::BadRequest(message),
        _ => ApiError::Unprocessable(message),
    }
}

fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::error!(%err, "{context}");
    ApiError::Internal
}

fn not_found(upload_id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no upload has the id “{upload_id}”; it may have finished, been cancelled or expired"
    ))
}

/// Marks an upload as having a chunk in flight; the mark goes when this is dropped.
struct InFlight {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.id);
        }
    }
}

/// Bytes gathered from the socket before they go to the disk in one write.
const WRITE_BLOCK: usize = 1024 * 1024;
/// Blocks that may wait between the network and the disk.
const WRITE_QUEUE: usize = 4;
/// An upload's temp file is synced (and its receipt stored) at least this often.
pub const SYNC_INTERVAL: u64 = 64 * 1024 * 1024;

/// Largest poster frame a browser may send with a video.
pub const MAX_POSTER_BYTES: u64 = 4 * 1024 * 1024;

/// Number of locks that serialise work on the same stored file (by SHA-256 prefix).
const FILE_LOCKS: usize = 64;

pub struct UploadEngine {
    store: Arc<dyn Store>,
    files: FileStore,
    tmp: PathBuf,
    chunk_size: u64,
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// Bytes written (not yet synced) past an upload's durable receipt, in this process.
    ahead: Mutex<HashMap<String, u64>>,
    file_locks: Vec<tokio::sync::Mutex<()>>,
    jobs: Arc<Notify>,
    usage: Arc<app::usage::Usage>,
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
            file_locks: (0..FILE_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
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

    /// The lock for work on the stored file with this SHA-256.
    pub fn file_lock(&self, sha256: &str) -> &tokio::sync::Mutex<()> {
        let index = u8::from_str_radix(sha256.get(..2).unwrap_or("00"), 16).unwrap_or(0);
        &self.file_locks[usize::from(index) % FILE_LOCKS]
    }

    fn temp_path(&self, upload_id: &str) -> PathBuf {
        self.tmp.join(format!("upload-{upload_id}"))
    }

    /// Where the next chunk of `upload` starts: past the durable receipt by what this
    /// process wrote since the last sync. (After a restart only the receipt counts, and the
    /// file is cut back to it.)
    fn offset_of(&self, upload: &app::store::UploadRecord) -> u64 {
        self.ahead
            .lock()
            .ok()
            .and_then(|ahead| ahead.get(&upload.public_id).copied())
            .filter(|written| *written >= upload.received)
            .unwrap_or(upload.received)
    }

    fn set_ahead(&self, upload_id: &str, written: Option<u64>) {
        if let Ok(mut ahead) = self.ahead.lock() {
            match written {
                Some(written) => ahead.insert(upload_id.to_string(), written),
                None => ahead.remove(upload_id),
            };
        }
    }

    /// Where a video upload's poster frame waits for the upload to finish.
    fn poster_path(&self, upload_id: &str) -> PathBuf {
        self.tmp.join(format!("upload-{upload_id}.poster"))
    }

    /// The limits now in force (settings an admin changed, or the defaults).
    pub async fn limits(&self) -> Result<Limits, ApiError> {
        let mut limits = Limits::default();
        for (key, value) in self.store.list_settings().await? {
            match key.as_str() {
                "upload_quota" => limits.quota = parse_bytes(&value).unwrap_or(limits.quota),
                "max_image_size" => {
                    limits.max_image = parse_bytes(&value).unwrap_or(limits.max_image)
                }
                "max_video_size" => {
                    limits.max_video = parse_bytes(&value).unwrap_or(limits.max_video)
                }
                "upload_expiry_hours" => {
                    if let Ok(hours) = value.trim().parse::<i64>() {
                        limits.expiry = Duration::hours(hours.clamp(1, 24 * 365));
                    }
                }
                _ => {}
            }
        }
        Ok(limits)
    }

    async fn own_upload(
        &self,
        user: &User,
        upload_id: &str,
    ) -> Result<app::store::UploadRecord, ApiError> {
        if !app::ids::is_public_id(upload_id) {
            return Err(not_found(upload_id));
        }
        match self.store.find_upload(upload_id).await? {
            Some(upload) if upload.owner == user.id => Ok(upload),
            _ => Err(not_found(upload_id)),
        }
    }

    /// Forgets an upload: its row and its bytes.
    async fn discard(&self, upload_id: &str) {
        self.set_ahead(upload_id, None);
        if let Err(err) = self.store.delete_upload(upload_id).await {
            tracing::warn!(%err, upload_id, "cannot delete an upload row");
        }
        remove_quietly(&self.temp_path(upload_id)).await;
        remove_quietly(&self.poster_path(upload_id)).await;
    }

    /// Takes the poster frame a browser captured from a video it is uploading: a JPEG,
    /// PNG or WebP of at most [`MAX_POSTER_BYTES`], recognised like any upload. A new one
    /// replaces the old.
    pub async fn write_poster<S, E>(
        &self,
        user: &User,
        upload_id: &str,
        mut data: S,
    ) -> Result<(), ApiError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.own_upload(user, upload_id).await?;
        let mut bytes = Vec::new();
        while let Some(next) = data.next().await {
            let chunk =
                next.map_err(|e| ApiError::BadRequest(format!("the poster was cut short: {e}")))?;
            if (bytes.len() + chunk.len()) as u64 > MAX_POSTER_BYTES {
                return Err(ApiError::TooLarge(format!(
                    "a poster may be at most {}",
                    format_bytes(MAX_POSTER_BYTES)
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let path = self.poster_path(upload_id);
        tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
            let probe =
                media::probe::probe(&mut io::Cursor::new(&bytes)).map_err(|e| probe_refusal(&e))?;
            if !matches!(probe.format, Format::Jpeg | Format::Png | Format::WebP) {
                return Err(ApiError::Unsupported(
                    "a poster is a JPEG, PNG or WebP image".into(),
                ));
            }
            let partial = path.with_extension("poster-partial");
            fs::write(&partial, &bytes)
                .and_then(|()| fs::rename(&partial, &path))
                .map_err(|e| internal("cannot keep a poster", e))
        })
        .await
        .map_err(|e| internal("poster check panicked", e))?
    }

    /// Records why an upload was refused and drops its bytes (the row stays until it
    /// expires, so the status says why).
    async fn refuse(&self, user: &User, upload_id: &str, error: &ApiError) {
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
    fn failed(&self, user: &User, error: &ApiError) {
        self.usage.record(
            Feature::UploadFailed,
            Some(user.id),
            &error.status().to_string(),
        );
    }

    /// Writes one chunk at `offset`. The data arrives as a stream and goes straight to
    /// the temp file; at most `chunk_size` bytes are taken. When the connection drops
    /// midway, what arrived is kept and the client resumes from the new `received`.
    pub async fn write_chunk<S, E>(
        &self,
        user: &User,
        upload_id: &str,
        offset: u64,
        mut data: S,
    ) -> Result<ChunkReceipt, ChunkError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let upload = self.own_upload(user, upload_id).await?;
        if let Some((message, status)) = upload.error.clone() {
            return Err(refusal_from_status(message, status).into());
        }
        if upload.received == upload.byte_size {
            return Err(ChunkError {
                error: ApiError::Conflict("every byte of this upload is already in".into()),
                received: Some(upload.received),
            });
        }
        let _in_flight = {
            let mut set = self
                .in_flight
                .lock()
                .map_err(|_| internal("upload lock poisoned", "poisoned"))?;
            if !set.insert(upload_id.to_string()) {
                return Err(ChunkError {
                    error: ApiError::Conflict(
                        "another chunk of this upload is still arriving; wait for it".into(),
                    ),
                    received: Some(self.offset_of(&upload)),
                });
            }
            InFlight {
                set: self.in_flight.clone(),
                id: upload_id.to_string(),
            }
        };
        let base = self.offset_of(&upload);
        if offset != base {
            return Err(ChunkError {
                error: ApiError::Conflict(format!(
                    "this chunk starts at byte {offset}, but the server has {base} bytes; \
                     continue from there"
                )),
                received: Some(base),
            });
        }
        let path = self.temp_path(upload_id);
        // A blocking writer beside the request: the network is read while the disk is
        // written, through a short queue (a few hundred KiB of memory at most per upload).
        let (queue, writer) = spawn_writer(path.clone(), base);

        let room = upload.byte_size - base;
        let mut pending = bytes::BytesMut::with_capacity(WRITE_BLOCK);
        let mut sent = 0u64;
        let mut cut_short: Option<String> = None;
        let mut refused: Option<ApiError> = None;
        while let Some(next) = data.next().await {
            let bytes = match next {
                Ok(bytes) => bytes,
                Err(err) => {
                    cut_short = Some(err.to_string());
                    break;
                }
            };
            let len = bytes.len() as u64;
            if sent + len > self.chunk_size {
                refused = Some(ApiError::TooLarge(format!(
                    "a chunk may hold at most {} bytes",
                    self.chunk_size
                )));
                break;
            }
            if sent + len > room {
                refused = Some(ApiError::BadRequest(format!(
                    "this chunk goes past the {} bytes announced when the upload started",
                    upload.byte_size
                )));
                break;
            }
            // Socket reads are small; the disk gets them gathered into larger writes.
            pending.extend_from_slice(&bytes);
            sent += len;
            if pending.len() >= WRITE_BLOCK && queue.send(pending.split().freeze()).await.is_err() {
                break; // the writer failed; its error is read below
            }
        }
        if !pending.is_empty() && refused.is_none() {
            let _ = queue.send(pending.split().freeze()).await;
        }
        drop(queue);
        let written = writer
            .await
            .map_err(|e| internal("an upload writer panicked", e))?
            .map_err(|e| internal("cannot write an upload's temp file", e))?;
        if let Some(error) = refused {
            // A refused chunk is not kept at all: the client sends it again, smaller.
            let path = path.clone();
            let _ = tokio::task::spawn_blocking(move || {
                fs::OpenOptions::new().write(true).open(path)?.set_len(base)
            })
            .await;
            return Err(ChunkError {
                error,
                received: Some(base),
            });
        }
        let received = base + written;
        // The receipt in the database only ever names synced bytes. The last chunk and a
        // chunk cut short are synced before the answer; on the way, every SYNC_INTERVAL
        // bytes are synced in the background while the next chunks arrive (as the kernel
        // writes back for dd), so a power cut costs at most that much, asked for again.
        if received == upload.byte_size || cut_short.is_some() {
            sync_file(path.clone())
                .await
                .map_err(|e| internal("cannot sync an upload's temp file", e))?;
            self.store
                .set_upload_received(upload_id, received, Utc::now())
                .await
                .map_err(ApiError::from)?;
            self.set_ahead(upload_id, None);
        } else {
            self.set_ahead(upload_id, Some(received));
            if received / SYNC_INTERVAL > base / SYNC_INTERVAL {
                let (store, path, id) = (self.store.clone(), path.clone(), upload_id.to_string());
                tokio::spawn(async move {
                    let synced = match sync_file(path).await {
                        Ok(()) => store.set_upload_received(&id, received, Utc::now()).await,
                        Err(err) => Err(app::store::StoreError::Database(err.to_string())),
                    };
                    if let Err(err) = synced {
                        // Not fatal: the receipt stays where the last sync left it.
                        tracing::debug!(%err, upload = %id, "background upload sync failed");
                    }
                });
            }
        }
        if let Some(reason) = cut_short {
            tracing::info!(upload_id, received, %reason, "chunk cut short; kept what arrived");
            return Err(ChunkError {
                error: ApiError::BadRequest(format!(
                    "the chunk was cut short ({reason}); {received} bytes are in"
                )),
                received: Some(received),
            });
        }

        // Refuse what is not media as soon as its first bytes are in, before the rest is sent.
        let complete = received == upload.byte_size;
        // The limits matter for the first chunk and the last only.
        let limits = if (base == 0 && written > 0) || complete {
            self.limits().await?
        } else {
            Limits::default()
        };
        if base == 0 && written > 0 {
            if let Err(error) = self.check_head(&path, upload.byte_size, &limits).await {
                self.refuse(user, upload_id, &error).await;
                return Err(error.into());
            }
        }
        if complete {
            if let Err(error) = self.examine_upload(upload_id, &path, &limits).await {
                self.refuse(user, upload_id, &error).await;
                return Err(error.into());
            }
        }
        Ok(ChunkReceipt { received, complete })
    }

    /// The first bytes name the format; the announced size must fit its cap.
    async fn check_head(&self, path: &Path, size: u64, limits: &Limits) -> Result<(), ApiError> {
        let mut head = [0u8; 64];
        let n = {
            let path = path.to_path_buf();
            tokio::task::spawn_blocking(move || -> io::Result<([u8; 64], usize)> {
                let mut file = fs::File::open(path)?;
                let mut head = [0u8; 64];
                let mut n = 0;
                while n < head.len() {
                    match file.read(&mut head[n..])? {
                        0 => break,
                        k => n += k,
                    }
                }
                Ok((head, n))
            })
            .await
            .map_err(|e| internal("head check panicked", e))?
            .map_err(|e| internal("cannot read an upload's first bytes", e))
            .map(|(h, n)| {
                head = h;
                n
            })?
        };
        let Some(format) = media::probe::sniff(&head[..n]) else {
            // Fewer than a dozen bytes might not be enough to tell yet.
            if n < 16 && (n as u64) < size {
                return Ok(());
            }
            return Err(ApiError::Unsupported(media::probe::UNSUPPORTED.into()));
        };
        let cap = limits.cap(format.media_type());
        if size > cap {
            return Err(too_large(format.media_type(), size, cap));
        }
        Ok(())
    }

    /// Recognises the complete file and reads its metadata; records the result.
    async fn examine_upload(
        &self,
        upload_id: &str,
        path: &Path,
        limits: &Limits,
    ) -> Result<Examined, ApiError> {
        let examined = examine_file(path.to_path_buf()).await?;
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| internal("cannot stat an upload", e))?
            .len();
        let cap = limits.cap(examined.media_type);
        if size > cap {
            return Err(too_large(examined.media_type, size, cap));
        }
        let json =
            serde_json::to_string(&examined).map_err(|e| internal("cannot encode a probe", e))?;
        self.store
            .set_upload_result(upload_id, Some(&json), None, Utc::now())
            .await?;
        Ok(examined)
    }

    /// Takes a whole file in one request (the upload form without JavaScript): streams it
    /// to a temp file under the largest cap, then starts, examines and finishes it like a
    /// chunked upload.
    pub async fn upload_whole<S, E>(
        &self,
        user: &User,
        filename: &str,
        mut data: S,
        form: UploadForm,
    ) -> Result<FinishedUpload, ApiError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.usage
            .record(Feature::UploadStarted, Some(user.id), "form");
        let limits = self.limits().await?;
        let upload_id = app::ids::new_public_id();
        let path = self.temp_path(&upload_id);
        let result = async {
            let (queue, writer) = spawn_writer(path.clone(), 0);
            let mut written = 0u64;
            let mut cap = limits.largest();
            let mut head: Vec<u8> = Vec::with_capacity(64);
            let mut refused = None;
            while let Some(next) = data.next().await {
                let bytes = match next {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        refused = Some(ApiError::BadRequest(format!(
                            "the upload was cut short: {e}"
                        )));
                        break;
                    }
                };
                if head.len() < 64 {
                    let take = (64 - head.len()).min(bytes.len());
                    head.extend_from_slice(&bytes[..take]);
                    if head.len() >= 16 {
                        match media::probe::sniff(&head) {
                            Some(format) => cap = limits.cap(format.media_type()),
                            None => {
                                refused =
                                    Some(ApiError::Unsupported(media::probe::UNSUPPORTED.into()));
                                break;
                            }
                        }
                    }
                }
                written += bytes.len() as u64;
                if written > cap {
                    refused = Some(ApiError::TooLarge(format!(
                        "this file is over the {} limit",
                        format_bytes(cap)
                    )));
                    break;
                }
                if queue.send(bytes).await.is_err() {
                    break; // the writer failed; its error is read below
                }
            }
            drop(queue);
            writer
                .await
                .map_err(|e| internal("an upload writer panicked", e))?
                .map_err(|e| internal("cannot write an upload's temp file", e))?;
            if let Some(error) = refused {
                return Err(error);
            }
            if written == 0 {
                return Err(ApiError::BadRequest("choose a file to upload".into()));
            }
            sync_file(path.clone())
                .await
                .map_err(|e| internal("cannot sync an upload's temp file", e))?;
            let used = self.store.storage_used(user.id).await?;
            check_quota(used, written, limits.quota)?;
            let now = Utc::now();
            self.store
                .create_upload(&new_upload(
                    &upload_id, user, filename, written, None, &limits,
                ))
                .await?;
            self.store
                .set_upload_received(&upload_id, written, now)
                .await?;
            Ok(())
        }
        .await;
        if let Err(err) = result {
            remove_quietly(&path).await;
            self.failed(user, &err);
            return Err(err);
        }
        if let Err(err) = self.examine_upload(&upload_id, &path, &limits).await {
            self.discard(&upload_id).await;
            self.failed(user, &err);
            return Err(err);
        }
        let finished = self.finish(user, &upload_id, form).await;
        if finished.is_err() {
            self.discard(&upload_id).await;
        }
        finished
    }

    /// The poster frame the browser sent with a video upload, stored; `None` without one.
    /// (If the finish then fails, the sweeper removes the file no row names.)
    async fn stored_poster(&self, upload_id: &str) -> Result<Option<NewFile>, ApiError> {
        let path = self.poster_path(upload_id);
        let files = self.files.clone();
        let stored = tokio::task::spawn_blocking(move || store_poster_file(&files, &path))
            .await
            .map_err(|e| internal("storing a poster panicked", e))?;
        Ok(stored.unwrap_or_else(|err| {
            tracing::warn!(%err, upload_id, "cannot store a poster; the job will do without");
            None
        }))
    }

    /// Links the upload into content-addressed storage and commits its rows, under the
    /// file's lock: a concurrent upload of the same bytes waits, then finds both in place.
    /// A file this call placed is removed again unless a row points to it afterwards.
    async fn place_and_commit(
        &self,
        temp: &Path,
        finish: &FinishUpload,
    ) -> Result<FinishOutcome, ApiError> {
        let _guard = self.file_lock(&finish.file.sha256).lock().await;
        let target = self.files.path_of(&finish.file.storage_path);
        let placed = if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            false
        } else {
            let (temp, target) = (temp.to_path_buf(), target.clone());
            tokio::task::spawn_blocking(move || place(&temp, &target))
                .await
                .map_err(|e| internal("placing a file panicked", e))?
                .map_err(|e| internal("cannot place an uploaded file", e))?;
            true
        };
        let outcome = self.store.finish_upload(finish).await;
        let committed = matches!(outcome, Ok(FinishOutcome::Finished));
        if placed && !committed {
            match self.store.file_exists(&finish.file.sha256).await {
                Ok(true) => {}
                Ok(false) | Err(_) => remove_quietly(&target).await,
            }
        }
        Ok(outcome?)
    }

    /// Deletes expired uploads and their bytes, temp files nothing points to, and stored
    /// files no row points to (when `walk_files`). Returns how many things went.
    pub async fn sweep(&self, now: DateTime<Utc>, walk_files: bool) -> Result<u64, ApiError> {
        let mut removed = 0u64;
        loop {
            let expired = self.store.expired_uploads(now, 500).await?;
            if expired.is_empty() {
                break;
            }
            for id in &expired {
                self.discard(id).await;
                removed += 1;
            }
        }
        // Temp files older than an hour that no upload row names (a crash between creating
        // the file and the row, an interrupted put).
        let grace = StdDuration::from_secs(3600);
        for (path, name) in old_entries(&self.tmp, grace).await {
            let stale = match name.strip_prefix("upload-") {
                Some(rest) => {
                    let id = rest.split('.').next().unwrap_or(rest);
                    self.store.find_upload(id).await?.is_none()
                }
                None => true,
            };
            if stale {
                remove_quietly(&path).await;
                removed += 1;
            }
        }
        if walk_files {
            removed += self.sweep_orphan_files(grace).await?;
        }
        Ok(removed)
    }

    /// Stored files that no `files` row names, older than `grace` (a file is placed just
    /// before its row commits).
    async fn sweep_orphan_files(&self, grace: StdDuration) -> Result<u64, ApiError> {
        let root = self.files.root().to_path_buf();
        let found = tokio::task::spawn_blocking(move || list_files(&root, grace))
            .await
            .map_err(|e| internal("file walk panicked", e))?;
        let mut removed = 0;
        for batch in found.chunks(500) {
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
                let _guard = self.file_lock(sha).lock().await;
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

/// What the server learnt from a complete upload, or why it cannot be finished.
fn complete_probe(upload: &app::store::UploadRecord) -> Result<Examined, ApiError> {
    if let Some((message, status)) = &upload.error {
        return Err(refusal_from_status(message.clone(), *status));
    }
    if upload.received < upload.byte_size {
        return Err(ApiError::Conflict(format!(
            "only {} of {} bytes are in; send the rest first",
            upload.received, upload.byte_size
        )));
    }
    match upload.probe.as_deref() {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| internal("stored probe is unreadable", e))
        }
        None => Err(ApiError::Conflict(
            "the file is still being checked; try again in a moment".into(),
        )),
    }
}

/// The asset a finished upload becomes: what the person typed, and where they left a field
/// empty, what the file said (the title falls back to the file name).
fn asset_from_form(
    user: &User,
    upload: &app::store::UploadRecord,
    examined: &Examined,
    form: UploadForm,
    now: DateTime<Utc>,
) -> Result<NewAsset, ApiError> {
    let generation = examined.generation.clone().unwrap_or_default();
    let or_file = |typed: String, from_file: Option<String>, max: usize| {
        if typed.is_empty() {
            from_file.map(|v| v.chars().take(max).collect::<String>())
        } else {
            Some(typed)
        }
    };
    let title = field(&form.title, "title", MAX_TITLE_LEN)?;
    let title = or_file(
        title,
        Some(title_from_filename(&upload.filename)),
        MAX_TITLE_LEN,
    );
    let prompt = field(&form.prompt, "prompt", MAX_PROMPT_LEN)?;
    let prompt = or_file(prompt, generation.prompt, MAX_PROMPT_LEN);
    let negative = field(&form.negative_prompt, "negative prompt", MAX_PROMPT_LEN)?;
    let negative = or_file(negative, generation.negative_prompt, MAX_PROMPT_LEN);
    let model = field(&form.model, "model", MAX_MODEL_LEN)?;
    let model = or_file(model, generation.model, MAX_MODEL_LEN);
    let tags = parse_tags(&form.tags);
    if tags.len() > MAX_TAGS {
        return Err(ApiError::BadRequest(format!(
            "an asset may have at most {MAX_TAGS} tags"
        )));
    }
    Ok(NewAsset {
        public_id: app::ids::new_public_id(),
        owner: user.id,
        title: title.unwrap_or_default(),
        prompt: prompt.unwrap_or_default(),
        model,
        media_type: examined.media_type,
        file: None,
        thumb: None,
        width: Some(examined.width),
        height: Some(examined.height),
        duration_ms: examined.duration_ms,
        tags,
        created_at: now,
        negative_prompt: negative.unwrap_or_default(),
        visibility: form.visibility,
        original_filename: Some(upload.filename.clone()),
        preview: None,
        generation: examined
            .generation
            .as_ref()
            .and_then(|g| serde_json::to_string(g).ok()),
        raw_metadata: examined
            .raw_metadata
            .as_ref()
            .and_then(|r| serde_json::to_string(r).ok()),
        parser_version: examined.parser_version,
    })
}

/// Starts a blocking task that writes what the queue brings to `path` from `offset` (first
/// cutting the file back to it) and answers how many bytes it wrote. It does not sync.
fn spawn_writer(
    path: PathBuf,
    offset: u64,
) -> (
    tokio::sync::mpsc::Sender<Bytes>,
    tokio::task::JoinHandle<io::Result<u64>>,
) {
    let (queue, mut incoming) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE);
    let writer = tokio::task::spawn_blocking(move || -> io::Result<u64> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        // Whatever a crash left past the last receipt is not trusted.
        file.set_len(offset)?;
        file.seek(io::SeekFrom::Start(offset))?;
        let mut written = 0u64;
        while let Some(bytes) = incoming.blocking_recv() {
            file.write_all(&bytes)?;
            written += bytes.len() as u64;
        }
        Ok(written)
    });
    (queue, writer)
}

/// The row of an upload starting now.
fn new_upload(
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

/// Syncs a file's data to disk.
async fn sync_file(path: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || fs::OpenOptions::new().write(true).open(path)?.sync_data())
        .await
        .map_err(io::Error::other)?
}

/// Stores the poster frame at `path`, if there is one (blocking).
fn store_poster_file(files: &FileStore, path: &Path) -> io::Result<Option<NewFile>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let Ok(probe) = media::probe::probe(&mut io::Cursor::new(&bytes)) else {
        return Ok(None);
    };
    let stored = files.put(&bytes, probe.format.extension())?;
    Ok(Some(NewFile {
        sha256: stored.sha256,
        byte_size: stored.byte_size,
        mime_type: probe.format.mime().to_string(),
        width: Some(probe.width),
        height: Some(probe.height),
        duration_ms: None,
        storage_path: stored.storage_path,
        created_at: Utc::now(),
    }))
}

fn too_large(media_type: MediaType, size: u64, cap: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "this {} is {}; {}s may be up to {}",
        media_type.as_str(),
        format_bytes(size),
        media_type.as_str(),
        format_bytes(cap)
    ))
}

fn check_quota(used: u64, size: u64, quota: u64) -> Result<(), ApiError> {
    if used.saturating_add(size) > quota {
        return Err(ApiError::TooLarge(format!(
            "this upload needs {}, but only {} of your {} storage quota is left",
            format_bytes(size),
            format_bytes(quota.saturating_sub(used)),
            format_bytes(quota)
        )));
    }
    Ok(())
}

async fn examine_file(path: PathBuf) -> Result<Examined, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut file = io::BufReader::new(
            fs::File::open(&path).map_err(|e| internal("cannot open an upload", e))?,
        );
        media::examine(&mut file).map_err(|e| probe_refusal(&e))
    })
    .await
    .map_err(|e| internal("examining an upload panicked", e))?
}

/// SHA-256 of a file, read in 1 MiB blocks (blocking).
fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

async fn remove_quietly(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(%err, path = %path.display(), "cannot remove a file"),
    }
}

/// Entries of `dir` last modified more than `grace` ago: (path, file name).
async fn old_entries(dir: &Path, grace: StdDuration) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return out;
    };
    let now = SystemTime::now();
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > grace);
        if meta.is_file() && old {
            out.push((
                entry.path(),
                entry.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    out
}

/// Files under the storage root older than `grace`, as (relative path, size) (blocking).
fn list_files(root: &Path, grace: StdDuration) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let now = SystemTime::now();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let old = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > grace);
            if let (true, Ok(rel)) = (old, path.strip_prefix(root)) {
                out.push((rel.to_string_lossy().replace('\\', "/"), meta.len()));
            }
        }
    }
    out
}

/// Fits a form field to its limit, naming the field when it is over.
fn field(value: &str, name: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "the {name} may have at most {max} characters"
        )));
    }
    Ok(value.to_string())
}

#[async_trait::async_trait]
impl Uploads for UploadEngine {
    async fn start(
        &self,
        user: &User,
        filename: &str,
        size: u64,
        sha256: Option<&str>,
    ) -> Result<UploadTicket, ApiError> {
        if size == 0 {
            return Err(ApiError::BadRequest("the file is empty".into()));
        }
        let expected = match sha256.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(hex.to_ascii_lowercase())
            }
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "sha256 must be 64 hexadecimal digits".into(),
                ))
            }
        };
        let limits = self.limits().await?;
        if size > limits.largest() {
            let err = ApiError::TooLarge(format!(
                "this file is {}; images may be up to {} and videos up to {}",
                format_bytes(size),
                format_bytes(limits.max_image),
                format_bytes(limits.max_video)
            ));
            self.failed(user, &err);
            return Err(err);
        }
        let used = self.store.storage_used(user.id).await?;
        if let Err(err) = check_quota(used, size, limits.quota) {
            self.failed(user, &err);
            return Err(err);
        }
        let upload_id = app::ids::new_public_id();
        // The temp file exists before the row, so a row always has its file.
        tokio::fs::File::create(self.temp_path(&upload_id))
            .await
            .map_err(|e| internal("cannot create an upload's temp file", e))?;
        self.store
            .create_upload(&new_upload(
                &upload_id, user, filename, size, expected, &limits,
            ))
            .await?;
        self.usage
            .record(Feature::UploadStarted, Some(user.id), "chunked");
        Ok(UploadTicket {
            upload_id,
            chunk_size: self.chunk_size,
            received: 0,
            size,
        })
    }

    async fn status(&self, user: &User, upload_id: &str) -> Result<UploadStatus, ApiError> {
        let upload = self.own_upload(user, upload_id).await?;
        let examined: Option<Examined> = upload
            .probe
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok());
        Ok(UploadStatus {
            complete: examined.is_some() && upload.received == upload.byte_size,
            received: self.offset_of(&upload),
            upload_id: upload.public_id,
            filename: upload.filename,
            size: upload.byte_size,
            chunk_size: self.chunk_size,
            media_type: examined.as_ref().map(|e| e.media_type),
            mime_type: examined.as_ref().map(|e| e.mime_type.clone()),
            width: examined.as_ref().map(|e| e.width),
            height: examined.as_ref().map(|e| e.height),
            duration_ms: examined.as_ref().and_then(|e| e.duration_ms),
            raw_metadata_present: examined.as_ref().is_some_and(|e| e.raw_metadata.is_some()),
            metadata: examined.and_then(|e| e.generation),
            error: upload.error.map(|(message, _)| message),
        })
    }

    async fn limits_for(&self, user: &User) -> Result<UploadLimits, ApiError> {
        let limits = self.limits().await?;
        Ok(UploadLimits {
            chunk_size: self.chunk_size,
            max_image_bytes: limits.max_image,
            max_video_bytes: limits.max_video,
            quota_bytes: limits.quota,
            used_bytes: self.store.storage_used(user.id).await?,
        })
    }

    async fn finish(
        &self,
        user: &User,
        upload_id: &str,
        form: UploadForm,
    ) -> Result<FinishedUpload, ApiError> {
        let upload = self.own_upload(user, upload_id).await?;
        let examined = complete_probe(&upload)?;
        let format = examined
            .format()
            .ok_or_else(|| internal("stored probe has an unknown type", &examined.mime_type))?;
        let now = Utc::now();
        let asset = asset_from_form(user, &upload, &examined, form, now)?;
        let limits = self.limits().await?;

        // Hash and check what arrived.
        let temp = self.temp_path(upload_id);
        let (sha256, size) = {
            let temp = temp.clone();
            tokio::task::spawn_blocking(move || hash_file(&temp))
                .await
                .map_err(|e| internal("hashing panicked", e))?
                .map_err(|e| internal("cannot hash an upload", e))?
        };
        if size != upload.byte_size {
            return Err(internal(
                "an upload's temp file does not match its receipt",
                format!("{size} != {}", upload.byte_size),
            ));
        }
        if let Some(expected) = &upload.expected_sha256 {
            if *expected != sha256 {
                let error = ApiError::Unprocessable(format!(
                    "the file's SHA-256 is {sha256}, not the {expected} announced; \
                     it was damaged on the way: upload it again"
                ));
                self.refuse(user, upload_id, &error).await;
                return Err(error);
            }
        }
        let poster = match examined.media_type {
            MediaType::Video => self.stored_poster(upload_id).await?,
            MediaType::Image => None,
        };
        let asset_id = asset.public_id.clone();
        let finish = FinishUpload {
            upload_id: upload_id.to_string(),
            file: NewFile {
                storage_path: FileStore::storage_path(&sha256, format.extension()),
                sha256,
                byte_size: size,
                mime_type: examined.mime_type.clone(),
                width: Some(examined.width),
                height: Some(examined.height),
                duration_ms: examined.duration_ms,
                created_at: now,
            },
            asset,
            quota: limits.quota,
            poster,
        };
        match self.place_and_commit(&temp, &finish).await? {
            FinishOutcome::Finished => {
                remove_quietly(&temp).await;
                remove_quietly(&self.poster_path(upload_id)).await;
                self.jobs.notify_one();
                self.usage.record(
                    Feature::UploadFinished,
                    Some(user.id),
                    examined.media_type.as_str(),
                );
                Ok(FinishedUpload {
                    url: format!("/a/{asset_id}"),
                    asset_id,
                })
            }
            FinishOutcome::QuotaExceeded { used } => {
                let err = check_quota(used, size, limits.quota)
                    .err()
                    .unwrap_or_else(|| ApiError::TooLarge("your storage quota is full".into()));
                self.failed(user, &err);
                Err(err)
            }
            FinishOutcome::UploadGone => Err(not_found(upload_id)),
        }
    }

    async fn cancel(&self, user: &User, upload_id: &str) -> Result<(), ApiError> {
        self.own_upload(user, upload_id).await?;
        self.discard(upload_id).await;
        Ok(())
    }

    async fn delete_asset(
        &self,
        user: &User,
        asset_id: &str,
        any_owner: bool,
    ) -> Result<bool, ApiError> {
        let Some(freed) = self
            .store
            .delete_asset(asset_id, user.id, any_owner)
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(asset = asset_id, by = %user.username, files = freed.len(), "asset deleted");
        for file in freed {
            // Under the file's lock: an upload of the same bytes finishing now either
            // committed its row first (the file stays) or waits and places it again.
            let _guard = self.file_lock(&file.sha256).lock().await;
            if !self.store.file_exists(&file.sha256).await? {
                remove_quietly(&self.files.path_of(&file.storage_path)).await;
            }
        }
        Ok(true)
    }

    async fn retry_job(&self, user: &User, asset_id: &str) -> Result<JobInfo, ApiError> {
        let missing = || ApiError::NotFound(format!("no asset of yours has the id “{asset_id}”"));
        if !app::ids::is_public_id(asset_id) {
            return Err(missing());
        }
        let job = self
            .store
            .retry_job(asset_id, user.id)
            .await?
            .ok_or_else(missing)?;
        self.jobs.notify_one();
        Ok(job)
    }
}

/// Links (or, across file systems, copies) a complete temp file to its content-addressed
/// place, durably: the data is synced before the link, the directory after. The temp file
/// stays, so a failed commit can be finished again.
fn place(temp: &Path, target: &Path) -> io::Result<()> {
    fs::File::open(temp)?.sync_all()?;
    let dir = target
        .parent()
        .ok_or_else(|| io::Error::other("a stored file needs a directory"))?;
    fs::create_dir_all(dir)?;
    if let Err(err) = fs::hard_link(temp, target) {
        if err.kind() == io::ErrorKind::AlreadyExists {
            return Ok(());
        }
        // Another file system: copy to a temp name beside the target, then rename.
        let partial = target.with_extension("partial");
        let copied = fs::copy(temp, &partial).and_then(|_| fs::File::open(&partial)?.sync_all());
        if let Err(err) = copied.and_then(|()| fs::rename(&partial, target)) {
            let _ = fs::remove_file(&partial);
            return Err(err);
        }
    }
    fs::File::open(dir)?.sync_all()
}

/// What the metadata of an asset says, for `atelier reparse`: (generation JSON, raw JSON).
pub fn reread_metadata(
    path: &Path,
    mime: &str,
) -> io::Result<(Option<Generation>, Option<serde_json::Value>)> {
    let Some(format) = Format::from_mime(mime) else {
        return Ok((None, None));
    };
    let mut file = io::BufReader::new(fs::File::open(path)?);
    file.rewind()?;
    Ok(media::read_generation(&mut file, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_messages_say_what_is_left() {
        assert!(check_quota(0, 10, 10).is_ok());
        let err = check_quota(1 << 30, 2 << 30, 2 << 30).expect_err("over");
        assert_eq!(err.status(), 413);
        assert!(err.to_string().contains("1.0 GiB of your 2.0 GiB"), "{err}");
    }

    #[test]
    fn placing_keeps_the_temp_file_and_is_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join("t");
        fs::write(&temp, b"bytes").expect("write");
        let target = dir.path().join("ab/cd/x.png");
        place(&temp, &target).expect("place");
        place(&temp, &target).expect("place again");
        assert_eq!(fs::read(&target).expect("read"), b"bytes");
        assert!(temp.exists());
    }
}
