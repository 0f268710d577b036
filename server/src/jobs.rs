//! Processing jobs (the seed's process records): after an upload, a worker makes the
//! asset's 512 px thumbnail and 1024 px preview (a video's from a poster frame when
//! `ffmpeg` is on PATH). Jobs live in the `jobs` table — pending → processing → done or
//! failed, with progress, error and timings — so they survive restarts, and a failed one
//! can be retried from the asset page.

use std::{
    io::Cursor,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use app::error::ApiError;
use app::model::JobInfo;
use app::store::{ClaimedJob, JobOutput, NewFile, Store, User};
use chrono::Utc;
use tokio::sync::Notify;

use crate::media::{
    probe::Format,
    thumbs::{self, Thumb},
};
use crate::storage::FileStore;

/// How long an idle worker waits before looking for work without being told.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Longest a poster extraction may take.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(60);

/// Queues again the jobs a stopped server left half-done (before workers start).
pub async fn requeue_interrupted(store: &dyn Store) {
    match store.requeue_interrupted_jobs().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "re-queued jobs an earlier run left unfinished"),
        Err(err) => tracing::warn!(%err, "cannot re-queue unfinished jobs"),
    }
}

/// One worker per two cores (media work is CPU-bound), at least one.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() / 2)
        .unwrap_or(1)
        .max(1)
}

/// One worker: runs jobs as long as it runs (`crate::background` starts and stops it).
/// `notify` wakes it when there is new work.
pub async fn work(store: Arc<dyn Store>, files: FileStore, notify: Arc<Notify>) {
    loop {
        match store.claim_job(Utc::now()).await {
            Ok(Some(job)) => {
                run(store.as_ref(), &files, &job).await;
                // There may be more: wake a sibling too.
                notify.notify_one();
            }
            Ok(None) => {
                let _ = tokio::time::timeout(IDLE_POLL, notify.notified()).await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot claim a job; retrying shortly");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Queues the failed processing job of one of `user`'s assets again and wakes a worker.
pub async fn retry(
    store: &dyn Store,
    wake: &Notify,
    user: &User,
    asset_id: &str,
) -> Result<JobInfo, ApiError> {
    let missing = || ApiError::NotFound(format!("no asset of yours has the id “{asset_id}”"));
    if !app::ids::is_public_id(asset_id) {
        return Err(missing());
    }
    let job = store
        .retry_job(asset_id, user.id)
        .await?
        .ok_or_else(missing)?;
    wake.notify_one();
    Ok(job)
}

/// Runs one job to done or failed.
pub async fn run(store: &dyn Store, files: &FileStore, job: &ClaimedJob) {
    let started = std::time::Instant::now();
    let recorded = match make_stills(store, files, job).await {
        Ok(stills) => store_stills(store, files, job, stills).await,
        Err(error) => {
            tracing::warn!(asset = %job.asset_public_id, %error, "job failed");
            store.fail_job(job.id, &error, Utc::now()).await
        }
    };
    match recorded {
        Ok(()) => tracing::debug!(
            asset = %job.asset_public_id,
            ms = started.elapsed().as_millis() as u64,
            "job finished"
        ),
        Err(err) => {
            tracing::error!(%err, asset = %job.asset_public_id, "cannot record a job's end")
        }
    }
}

/// What a job made, not yet stored: the stills (thumbnail, then preview) and a note.
struct Stills {
    made: Vec<Thumb>,
    note: Option<String>,
}

/// Stores the stills and records the job done, under the stills' file locks (as uploads
/// and deletions hold them): a deletion cannot remove a file between its placing and the
/// row that names it. A still placed whose row did not commit is removed again.
async fn store_stills(
    store: &dyn Store,
    files: &FileStore,
    job: &ClaimedJob,
    stills: Stills,
) -> Result<(), app::store::StoreError> {
    let named: Vec<(String, Thumb)> = stills
        .made
        .into_iter()
        .map(|still| (crate::storage::digest(&still.jpeg), still))
        .collect();
    let shas: Vec<&str> = named.iter().map(|(sha, _)| sha.as_str()).collect();
    let _guards = files.lock_many(&shas).await;
    let mut stored = Vec::with_capacity(named.len());
    for (_, still) in &named {
        let (files, jpeg) = (files.clone(), still.jpeg.clone());
        let put = tokio::task::spawn_blocking(move || files.put(&jpeg, "jpg"))
            .await
            .map_err(|e| format!("storing a thumbnail panicked: {e}"))
            .and_then(|put| put.map_err(|e| format!("cannot store a thumbnail: {e}")));
        match put {
            Ok(put) => stored.push(NewFile {
                sha256: put.sha256,
                byte_size: put.byte_size,
                mime_type: "image/jpeg".into(),
                width: Some(still.width),
                height: Some(still.height),
                duration_ms: None,
                storage_path: put.storage_path,
                created_at: Utc::now(),
            }),
            Err(error) => {
                tracing::warn!(asset = %job.asset_public_id, %error, "job failed");
                return store.fail_job(job.id, &error, Utc::now()).await;
            }
        }
    }
    let mut made = stored.iter().cloned();
    let output = JobOutput {
        thumb: made.next(),
        preview: made.next(),
        note: stills.note,
    };
    let recorded = store.complete_job(job, &output, Utc::now()).await;
    if recorded.is_err() {
        for file in &stored {
            if !store.file_exists(&file.sha256).await.unwrap_or(true) {
                crate::storage::remove_quietly(&files.path_of(&file.storage_path)).await;
            }
        }
    }
    recorded
}

async fn make_stills(
    store: &dyn Store,
    files: &FileStore,
    job: &ClaimedJob,
) -> Result<Stills, String> {
    let original = job
        .original
        .clone()
        .ok_or_else(|| "the asset has no file to make thumbnails from".to_string())?;
    let format = Format::from_mime(&original.mime_type)
        .ok_or_else(|| format!("unknown stored type {}", original.mime_type))?;
    let path = files.path_of(&original.storage_path);
    let _ = store.set_job_progress(job.id, 10).await;

    let (source, note): (Option<(Vec<u8>, Format)>, Option<String>) = match (format, &job.poster) {
        (Format::Mp4 | Format::Mov | Format::WebM, Some(poster)) => {
            // The frame the uploader's browser captured.
            let format = Format::from_mime(&poster.mime_type)
                .ok_or_else(|| format!("unknown poster type {}", poster.mime_type))?;
            let bytes = tokio::fs::read(files.path_of(&poster.storage_path))
                .await
                .map_err(|e| format!("cannot read the poster: {e}"))?;
            (Some((bytes, format)), None)
        }
        (Format::Mp4 | Format::Mov | Format::WebM, None) => match poster_frame(&path).await {
            Ok(Some(jpeg)) => (Some((jpeg, Format::Jpeg)), None),
            Ok(None) => (
                None,
                Some("no poster: ffmpeg is not installed on the server".to_string()),
            ),
            Err(err) => (None, Some(format!("no poster: {err}"))),
        },
        (Format::Avif, _) => (
            None,
            Some("no thumbnail: this server cannot decode AVIF".to_string()),
        ),
        _ => (None, None),
    };
    if note.is_some() && source.is_none() {
        return Ok(Stills {
            made: Vec::new(),
            note,
        });
    }
    let _ = store.set_job_progress(job.id, 30).await;
    let stills = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<Thumb>, String> {
            match source {
                Some((bytes, format)) => {
                    thumbs::thumbnails(&mut Cursor::new(bytes), format, &thumbs::SIZES)
                }
                None => {
                    let file = std::fs::File::open(&path)
                        .map_err(|e| format!("cannot open the original: {e}"))?;
                    thumbs::thumbnails(&mut std::io::BufReader::new(file), format, &thumbs::SIZES)
                }
            }
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("thumbnailing panicked: {e}"))??
    };
    let _ = store.set_job_progress(job.id, 80).await;
    Ok(Stills { made: stills, note })
}

/// Is `ffmpeg` on PATH?
pub fn ffmpeg_available() -> bool {
    find_on_path("ffmpeg").is_some()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A JPEG frame from about one second into the video (or its first frame), by `ffmpeg`.
/// `Ok(None)` when ffmpeg is not installed.
async fn poster_frame(video: &Path) -> Result<Option<Vec<u8>>, String> {
    let Some(ffmpeg) = find_on_path("ffmpeg") else {
        return Ok(None);
    };
    for seek in ["1", "0"] {
        let run = tokio::process::Command::new(&ffmpeg)
            .args(["-nostdin", "-v", "error", "-ss", seek, "-i"])
            .arg(video)
            .args([
                "-frames:v",
                "1",
                "-f",
                "image2",
                "-c:v",
                "mjpeg",
                "-q:v",
                "3",
                "pipe:1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(FFMPEG_TIMEOUT, run)
            .await
            .map_err(|_| "ffmpeg took too long".to_string())?
            .map_err(|e| format!("cannot run ffmpeg: {e}"))?;
        if output.status.success() && !output.stdout.is_empty() {
            return Ok(Some(output.stdout));
        }
        if seek == "0" {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "ffmpeg could not read a frame: {}",
                stderr.lines().next().unwrap_or("no output")
            ));
        }
    }
    Ok(None)
}
