//! Finishing an upload: the complete file is hashed, linked under its SHA-256 and committed
//! with its file row, the owner's storage use, the asset and its processing job in one
//! transaction; a file this upload placed that no row names afterwards is removed again.

use std::path::{Path, PathBuf};

use app::stats::Feature;
use app::{
    error::ApiError,
    model::MediaType,
    store::{FinishOutcome, FinishUpload, NewAsset, NewFile, UploadRecord, User},
    upload::{
        checked_field as field, checked_tags, title_from_filename, FinishedUpload, UploadForm,
        MAX_MODEL_LEN, MAX_PROMPT_LEN, MAX_TITLE_LEN,
    },
};
use chrono::{DateTime, Utc};

use super::{
    engine::UploadEngine,
    limits::check_quota,
    poster::PendingPoster,
    refusal::{internal, io_failure, not_found, refusal_from_status},
};
use crate::media::{self, kept::Kept, Examined};
use crate::storage::{self, remove_quietly, FileStore};

impl UploadEngine {
    /// Turns a complete upload of `user`'s into an asset described by `form`.
    pub(super) async fn finish_upload(
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
        // The raw metadata is never kept on the upload's row: it is read again from the
        // file, within the same limits.
        let temp = self.temp_path(upload_id);
        let kept = {
            let (temp, mime) = (temp.clone(), examined.mime_type.clone());
            tokio::task::spawn_blocking(move || media::reread_metadata(&temp, &mime))
                .await
                .map_err(|e| internal("reading metadata panicked", e))?
                .map_err(|e| internal("cannot read an upload's metadata", e))?
        };
        let asset = asset_from_form(user, &upload, &examined, &kept, form, now)?;
        let limits = self.limits().await?;

        // Hash and check what arrived.
        let (sha256, size) = {
            let temp = temp.clone();
            tokio::task::spawn_blocking(move || storage::hash_file(&temp))
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
            MediaType::Video => self.pending_poster(upload_id).await?,
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
            poster: poster.as_ref().map(|p| p.file.clone()),
        };
        match self.place_and_commit(&temp, &finish, poster).await? {
            FinishOutcome::Finished => {
                crate::crash::point("finish-committed");
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
                let err = check_quota(used, finish.charge(), limits.quota)
                    .err()
                    .unwrap_or_else(|| ApiError::TooLarge("your storage quota is full".into()));
                self.failed(user, &err);
                Err(err)
            }
            FinishOutcome::UploadGone => Err(not_found(upload_id)),
        }
    }

    /// Links the upload (and stores its poster frame) into content-addressed storage and
    /// commits the rows, under the files' locks: a concurrent upload of the same bytes
    /// waits, then finds both in place; a deletion cannot remove a file between its
    /// placing and the commit. A file this call placed is removed again unless a row
    /// points to it afterwards.
    async fn place_and_commit(
        &self,
        temp: &Path,
        finish: &FinishUpload,
        poster: Option<PendingPoster>,
    ) -> Result<FinishOutcome, ApiError> {
        let mut names = vec![finish.file.sha256.as_str()];
        names.extend(poster.as_ref().map(|p| p.file.sha256.as_str()));
        let _guards = self.files.lock_many(&names).await;
        let mut placed: Vec<(String, PathBuf)> = Vec::new();
        let outcome = async {
            if let Some(poster) = poster {
                let target = self.files.path_of(&poster.file.storage_path);
                if !tokio::fs::try_exists(&target).await.unwrap_or(false) {
                    let files = self.files.clone();
                    tokio::task::spawn_blocking(move || files.put(&poster.bytes, poster.extension))
                        .await
                        .map_err(|e| internal("storing a poster panicked", e))?
                        .map_err(|e| io_failure("cannot store a poster", e))?;
                    placed.push((poster.file.sha256.clone(), target));
                }
            }
            let target = self.files.path_of(&finish.file.storage_path);
            if !tokio::fs::try_exists(&target).await.unwrap_or(false) {
                let (from, to) = (temp.to_path_buf(), target.clone());
                tokio::task::spawn_blocking(move || storage::place(&from, &to))
                    .await
                    .map_err(|e| internal("placing a file panicked", e))?
                    .map_err(|e| io_failure("cannot place an uploaded file", e))?;
                placed.push((finish.file.sha256.clone(), target));
            }
            crate::crash::point("finish-placed");
            Ok::<_, ApiError>(self.store.finish_upload(finish).await?)
        }
        .await;
        if !matches!(outcome, Ok(FinishOutcome::Finished)) {
            for (sha256, target) in &placed {
                match self.store.file_exists(sha256).await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => remove_quietly(target).await,
                }
            }
        }
        outcome
    }
}

/// What the server learnt from a complete upload, or why it cannot be finished.
fn complete_probe(upload: &UploadRecord) -> Result<Examined, ApiError> {
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
/// empty, what the file said (the title falls back to the file name); with the file's
/// metadata as kept.
fn asset_from_form(
    user: &User,
    upload: &UploadRecord,
    examined: &Examined,
    kept: &Kept,
    form: UploadForm,
    now: DateTime<Utc>,
) -> Result<NewAsset, ApiError> {
    let stored = kept.stored();
    let generation = kept.generation.clone().unwrap_or_default();
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
    let tags = checked_tags(&form.tags)?;
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
        generation: stored.generation,
        raw_metadata: stored.raw,
        metadata_dropped: stored.dropped,
        parser_version: stored.parser_version,
    })
}
