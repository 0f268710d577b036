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
    refusal::{internal, io_failure, probe_refusal},
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
                .map_err(|e| io_failure("cannot keep a poster", e))
        })
        .await
        .map_err(|e| internal("poster check panicked", e))?
    }

    /// The poster frame the browser sent with a video upload, read and named but not yet
    /// stored (finishing stores it under its file lock); `None` without one.
    pub(super) async fn pending_poster(
        &self,
        upload_id: &str,
    ) -> Result<Option<PendingPoster>, ApiError> {
        let path = self.poster_path(upload_id);
        let read = tokio::task::spawn_blocking(move || read_poster_file(&path))
            .await
            .map_err(|e| internal("reading a poster panicked", e))?;
        match read {
            Ok(poster) => Ok(poster),
            Err(err) => {
                tracing::warn!(%err, upload_id, "cannot read a poster; the job will do without");
                Ok(None)
            }
        }
    }
}

/// A poster frame about to be stored with its video.
pub(super) struct PendingPoster {
    pub bytes: Vec<u8>,
    /// The file row it becomes (its SHA-256 and storage path already named).
    pub file: NewFile,
    pub extension: &'static str,
}

/// The poster frame at `path`, if there is one (blocking).
fn read_poster_file(path: &Path) -> io::Result<Option<PendingPoster>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let Ok(probe) = media::probe::probe(&mut io::Cursor::new(&bytes)) else {
        return Ok(None);
    };
    let sha256 = crate::storage::digest(&bytes);
    let extension = probe.format.extension();
    let file = NewFile {
        storage_path: FileStore::storage_path(&sha256, extension),
        sha256,
        byte_size: bytes.len() as u64,
        mime_type: probe.format.mime().to_string(),
        width: Some(probe.width),
        height: Some(probe.height),
        duration_ms: None,
        created_at: Utc::now(),
    };
    Ok(Some(PendingPoster {
        bytes,
        file,
        extension,
    }))
}
