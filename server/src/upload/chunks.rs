//! Receiving a resumable upload chunk by chunk. Each chunk streams to the temp file at the
//! server's offset; the `uploads` row's `received` only ever names synced bytes, while this
//! process remembers how far it wrote past it, so the client goes on at full speed.

use std::{
    collections::HashSet,
    fs,
    path::Path,
    sync::{Arc, Mutex},
};

use app::{
    error::ApiError,
    store::{UploadRecord, User},
    upload::ChunkReceipt,
};
use bytes::Bytes;
use chrono::Utc;
use futures::Stream;

use super::{
    engine::UploadEngine,
    limits::Limits,
    refusal::{internal, io_failure, refusal_from_status, ChunkError},
    stream::{check_head, read_head, stream_to_file, sync_file, Cap, Stopped, SNIFF_MIN},
};

/// An upload's temp file is synced (and its receipt stored) at least this often.
pub const SYNC_INTERVAL: u64 = 64 * 1024 * 1024;

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

impl UploadEngine {
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
        let limits = self.limits().await?;
        // Room on the disk for the most this chunk may bring, keeping the floor.
        let incoming = self.chunk_size.min(upload.byte_size - base);
        self.check_disk(&limits, incoming)
            .map_err(|error| ChunkError {
                error,
                received: Some(base),
            })?;
        self.slide_expiry(&upload, &limits).await;
        let path = self.temp_path(upload_id);
        let caps = Cap::Fixed(vec![
            (
                self.chunk_size,
                ApiError::TooLarge(format!(
                    "a chunk may hold at most {} bytes",
                    self.chunk_size
                )),
            ),
            (
                upload.byte_size - base,
                ApiError::BadRequest(format!(
                    "this chunk goes past the {} bytes announced when the upload started",
                    upload.byte_size
                )),
            ),
        ]);
        // A chunk that could not be written whole (a full disk) is not kept at all: the
        // client sends it again later.
        let streamed = match stream_to_file(&mut data, path.clone(), base, caps).await {
            Ok(streamed) => streamed,
            Err(error) => return Err(self.cut_back(&path, base, error).await),
        };
        let written = streamed.written;
        let cut_short = match streamed.stopped {
            Some(Stopped::Refused(error)) => {
                // A refused chunk is not kept at all: the client sends it again, smaller.
                return Err(self.cut_back(&path, base, error).await);
            }
            Some(Stopped::CutShort(reason)) => Some(reason),
            None => None,
        };
        let received = base + written;
        // The receipt in the database only ever names synced bytes. The last chunk and a
        // chunk cut short are synced before the answer; on the way, every SYNC_INTERVAL
        // bytes are synced in the background while the next chunks arrive (as the kernel
        // writes back for dd), so a power cut costs at most that much, asked for again.
        if received == upload.byte_size || cut_short.is_some() {
            let synced = match sync_file(path.clone()).await {
                Ok(()) => self
                    .store
                    .set_upload_received(upload_id, received, Utc::now())
                    .await
                    .map_err(ApiError::from),
                Err(err) => Err(io_failure("cannot sync an upload's temp file", err)),
            };
            if let Err(error) = synced {
                // Not durable, or no receipt says so: the chunk is asked for again.
                return Err(self.cut_back(&path, base, error).await);
            }
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

        // Refuse what is not media as soon as its first bytes are in, before the rest is
        // sent: with every chunk until enough bytes to tell are in (a first chunk of a few
        // bytes cannot slip past the check).
        let complete = received == upload.byte_size;
        let sniff = written > 0 && base < SNIFF_MIN as u64;
        if sniff {
            let head = if base == 0 {
                streamed.head.clone()
            } else {
                read_head(path.clone())
                    .await
                    .map_err(|e| internal("cannot read an upload's first bytes", e))?
            };
            if let Err(error) = check_head(&head, upload.byte_size, &limits) {
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

    /// Cuts an upload's temp file back to `base` (what was there before this chunk) and
    /// answers `error` with that offset to resume from.
    async fn cut_back(&self, path: &Path, base: u64, error: ApiError) -> ChunkError {
        let path = path.to_path_buf();
        let cut = tokio::task::spawn_blocking(move || {
            fs::OpenOptions::new().write(true).open(path)?.set_len(base)
        })
        .await;
        if let Ok(Err(err)) = cut {
            tracing::warn!(%err, "cannot cut an upload back to its last receipt");
        }
        ChunkError {
            error,
            received: Some(base),
        }
    }

    /// Bytes are arriving: an upload with less than half its expiry window left gets a
    /// whole window again, so a slow upload that keeps going is never swept mid-way.
    async fn slide_expiry(&self, upload: &UploadRecord, limits: &Limits) {
        let now = Utc::now();
        if upload.expires_at - now < limits.expiry / 2 {
            if let Err(err) = self
                .store
                .extend_upload(&upload.public_id, now + limits.expiry)
                .await
            {
                tracing::warn!(%err, upload = %upload.public_id, "cannot extend an upload's expiry");
            }
        }
    }
}
