//! A video's poster frame, drawn by the uploader's browser: taken while the video uploads,
//! recognised like any upload, and stored when the upload finishes.

use std::{fs, io, path::Path};

use app::{
    error::ApiError,
    store::{NewFile, User},
    units::format_bytes,
};
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};

use super::{
    engine::UploadEngine,
    refusal::{internal, probe_refusal},
};
use crate::media::{self, probe::Format};
use crate::storage::FileStore;

/// Largest poster frame a browser may send with a video.
pub const MAX_POSTER_BYTES: u64 = 4 * 1024 * 1024;

impl UploadEngine {
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

    /// The poster frame the browser sent with a video upload, stored; `None` without one.
    /// (If the finish then fails, the sweeper removes the file no row names.)
    pub(super) async fn stored_poster(&self, upload_id: &str) -> Result<Option<NewFile>, ApiError> {
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
