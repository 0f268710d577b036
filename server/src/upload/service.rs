//! The [`Uploads`] seam the server functions drive (`app::api::uploads`), over the engine's
//! stages. The seam also carries deleting an asset and retrying its job, which are not
//! upload work: they are answered by `crate::assets` and `crate::jobs`.

use app::stats::Feature;
use app::{
    error::ApiError,
    model::JobInfo,
    store::{UploadStart, User},
    units::format_bytes,
    upload::{FinishedUpload, UploadForm, UploadLimits, UploadStatus, UploadTicket},
    upload_engine::Uploads,
};

use super::{
    engine::{new_upload, UploadEngine},
    limits::{over_quota, too_many_open},
    refusal::io_failure,
};
use crate::media::Examined;
use crate::storage::remove_quietly;

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
        if let Err(err) = self.check_disk(&limits, size) {
            self.failed(user, &err);
            return Err(err);
        }
        let upload_id = app::ids::new_public_id();
        // The temp file exists before the row, so a row always has its file.
        let temp = self.temp_path(&upload_id);
        tokio::fs::File::create(&temp)
            .await
            .map_err(|e| io_failure("cannot create an upload's temp file", e))?;
        let row = new_upload(&upload_id, user, filename, size, expected, &limits);
        let refusal = match self.store.create_upload(&row, limits.room()).await {
            Ok(UploadStart::Started) => None,
            Ok(UploadStart::OverQuota { used, open }) => {
                Some(over_quota(used, open, size, limits.quota))
            }
            Ok(UploadStart::TooManyOpen { open }) => Some(too_many_open(open, limits.expiry)),
            Err(err) => Some(ApiError::from(err)),
        };
        if let Some(err) = refusal {
            remove_quietly(&temp).await;
            self.failed(user, &err);
            return Err(err);
        }
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
            raw_metadata_present: examined.as_ref().is_some_and(|e| e.raw_metadata_present),
            metadata: examined.and_then(|e| e.generation),
            error: upload.error.map(|(message, _)| message),
        })
    }

    async fn limits_for(&self, user: &User) -> Result<UploadLimits, ApiError> {
        let limits = self.limits().await?;
        let open = self.store.open_uploads(user.id).await?;
        Ok(UploadLimits {
            chunk_size: self.chunk_size,
            max_image_bytes: limits.max_image,
            max_video_bytes: limits.max_video,
            quota_bytes: limits.quota,
            used_bytes: self.store.storage_used(user.id).await?,
            open_uploads: open.count,
            open_upload_bytes: open.bytes,
            max_open_uploads: limits.max_open,
        })
    }

    async fn finish(
        &self,
        user: &User,
        upload_id: &str,
        form: UploadForm,
    ) -> Result<FinishedUpload, ApiError> {
        self.finish_upload(user, upload_id, form).await
    }

    async fn cancel(&self, user: &User, upload_id: &str) -> Result<(), ApiError> {
        self.own_upload(user, upload_id).await?;
        self.discard(upload_id).await;
        Ok(())
    }

    async fn purge_asset(
        &self,
        user: &User,
        asset_id: &str,
        any_owner: bool,
    ) -> Result<bool, ApiError> {
        crate::assets::purge(self.store.as_ref(), &self.files, user, asset_id, any_owner).await
    }

    async fn empty_trash(&self, user: &User) -> Result<app::model::EmptiedTrash, ApiError> {
        crate::assets::empty_trash(self.store.as_ref(), &self.files, user).await
    }

    async fn retry_job(&self, user: &User, asset_id: &str) -> Result<JobInfo, ApiError> {
        crate::jobs::retry(self.store.as_ref(), &self.jobs, user, asset_id).await
    }
}
