//! Recognising a complete upload by its content: its type, dimensions and metadata, checked
//! against its kind's cap and recorded on the upload's row for the status and the finish.

use std::{fs, io, path::Path};

use app::error::ApiError;
use chrono::Utc;

use super::{
    engine::UploadEngine,
    limits::{too_large, Limits},
    refusal::{internal, probe_refusal},
};
use crate::media::{self, Examined};

impl UploadEngine {
    /// Recognises the complete file and reads its metadata; records the result.
    pub(super) async fn examine_upload(
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
}

async fn examine_file(path: std::path::PathBuf) -> Result<Examined, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut file = io::BufReader::new(
            fs::File::open(&path).map_err(|e| internal("cannot open an upload", e))?,
        );
        media::examine(&mut file).map_err(|e| probe_refusal(&e))
    })
    .await
    .map_err(|e| internal("examining an upload panicked", e))?
}
