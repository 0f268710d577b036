//! A whole file in one request (the upload form without JavaScript): streamed to a temp
//! file under its kind's cap, then started, examined and finished like a chunked upload.

use app::stats::Feature;
use app::{
    error::ApiError,
    store::{UploadStart, User},
    upload::{FinishedUpload, UploadForm},
};
use bytes::Bytes;
use chrono::Utc;
use futures::Stream;

use super::{
    engine::{new_upload, UploadEngine},
    limits::{over_quota, too_many_open},
    refusal::io_failure,
    stream::{stream_to_file, sync_file, Cap, Stopped},
};
use crate::storage::remove_quietly;

impl UploadEngine {
    /// Takes a whole file in one request: streams it to a temp file under the largest cap
    /// (its kind's once the first bytes name it), then starts, examines and finishes it
    /// like a chunked upload.
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
        if let Err(err) = self.check_disk(&limits, 0) {
            self.failed(user, &err);
            return Err(err);
        }
        let upload_id = app::ids::new_public_id();
        let path = self.temp_path(&upload_id);
        let result = async {
            let streamed = stream_to_file(&mut data, path.clone(), 0, Cap::ByType(limits)).await?;
            match streamed.stopped {
                Some(Stopped::Refused(error)) => return Err(error),
                Some(Stopped::CutShort(reason)) => {
                    return Err(ApiError::BadRequest(format!(
                        "the upload was cut short: {reason}"
                    )))
                }
                None => {}
            }
            let written = streamed.written;
            if written == 0 {
                return Err(ApiError::BadRequest("choose a file to upload".into()));
            }
            sync_file(path.clone())
                .await
                .map_err(|e| io_failure("cannot sync an upload's temp file", e))?;
            // Its size was not known before it arrived: the floor is checked again with the
            // bytes on the disk.
            self.check_disk(&limits, 0)?;
            let now = Utc::now();
            let row = new_upload(&upload_id, user, filename, written, None, &limits);
            match self.store.create_upload(&row, limits.room()).await? {
                UploadStart::Started => {}
                UploadStart::OverQuota { used, open } => {
                    return Err(over_quota(used, open, written, limits.quota))
                }
                UploadStart::TooManyOpen { open } => {
                    return Err(too_many_open(open, limits.expiry))
                }
            }
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
        let finished = self.finish_upload(user, &upload_id, form).await;
        if finished.is_err() {
            self.discard(&upload_id).await;
        }
        finished
    }
}
