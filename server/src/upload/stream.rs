//! The one way request bytes reach an upload's temp file, for the chunked and the
//! whole-file paths alike: streamed to a blocking writer beside the request under a cap,
//! keeping the first bytes to recognise the file by.

use std::{
    fs,
    io::{self, Seek, Write},
    path::PathBuf,
};

use app::{error::ApiError, units::format_bytes};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::{
    limits::{too_large, Limits},
    refusal::{internal, io_failure},
};
use crate::media;

/// Bytes gathered from the socket before they go to the disk in one write.
const WRITE_BLOCK: usize = 1024 * 1024;
/// Blocks that may wait between the network and the disk.
const WRITE_QUEUE: usize = 4;
/// How many first bytes are kept to recognise a file by.
const HEAD_BYTES: usize = 64;
/// Fewer first bytes than this may not be enough to tell a format yet.
pub(super) const SNIFF_MIN: usize = 16;

/// How many bytes a stream may bring.
pub(super) enum Cap {
    /// Fixed caps, checked in order; passing one is refused with its error.
    Fixed(Vec<(u64, ApiError)>),
    /// The cap for the kind of media the first bytes name (the largest until they do); first
    /// bytes that name nothing atelier accepts are refused as soon as they are in.
    ByType(Limits),
}

/// Why a stream stopped before its end.
pub(super) enum Stopped {
    /// The connection failed; what arrived before is written.
    CutShort(String),
    /// The bytes broke the cap or are not media; the refused piece is not written.
    Refused(ApiError),
}

/// What a stream left in the file.
pub(super) struct Streamed {
    /// Bytes written at the offset.
    pub written: u64,
    /// The stream's first bytes (up to 64).
    pub head: Vec<u8>,
    /// `None` when the stream ended.
    pub stopped: Option<Stopped>,
}

/// Streams `data` into `path` from `offset` (cutting the file back to it first) under
/// `cap`. Socket reads are gathered into larger writes, done by a blocking writer through a
/// short queue, so the network is read while the disk is written and at most a few MiB wait
/// in memory. It does not sync.
pub(super) async fn stream_to_file<S, E>(
    data: &mut S,
    path: PathBuf,
    offset: u64,
    cap: Cap,
) -> Result<Streamed, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (queue, writer) = spawn_writer(path, offset);
    let mut pending = bytes::BytesMut::with_capacity(WRITE_BLOCK);
    let mut head: Vec<u8> = Vec::with_capacity(HEAD_BYTES);
    // Under `Cap::ByType`, the cap of the kind the head names once it does.
    let mut type_cap = match &cap {
        Cap::ByType(limits) => limits.largest(),
        Cap::Fixed(_) => 0,
    };
    let mut sent = 0u64;
    let mut stopped = None;
    while let Some(next) = data.next().await {
        let bytes = match next {
            Ok(bytes) => bytes,
            Err(err) => {
                stopped = Some(Stopped::CutShort(err.to_string()));
                break;
            }
        };
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(bytes.len());
            head.extend_from_slice(&bytes[..take]);
            if let (Cap::ByType(limits), true) = (&cap, head.len() >= SNIFF_MIN) {
                match media::probe::sniff(&head) {
                    Some(format) => type_cap = limits.cap(format.media_type()),
                    None => {
                        stopped = Some(Stopped::Refused(ApiError::Unsupported(
                            media::probe::UNSUPPORTED.into(),
                        )));
                        break;
                    }
                }
            }
        }
        let len = bytes.len() as u64;
        let over = match &cap {
            Cap::Fixed(caps) => caps
                .iter()
                .find(|(limit, _)| sent + len > *limit)
                .map(|(_, refusal)| refusal.clone()),
            Cap::ByType(_) => (sent + len > type_cap).then(|| {
                ApiError::TooLarge(format!(
                    "this file is over the {} limit",
                    format_bytes(type_cap)
                ))
            }),
        };
        if let Some(refusal) = over {
            stopped = Some(Stopped::Refused(refusal));
            break;
        }
        pending.extend_from_slice(&bytes);
        sent += len;
        if pending.len() >= WRITE_BLOCK && queue.send(pending.split().freeze()).await.is_err() {
            break; // the writer failed; its error is read below
        }
    }
    if !pending.is_empty() && !matches!(stopped, Some(Stopped::Refused(_))) {
        let _ = queue.send(pending.split().freeze()).await;
    }
    drop(queue);
    let written = writer
        .await
        .map_err(|e| internal("an upload writer panicked", e))?
        .map_err(|e| io_failure("cannot write an upload's temp file", e))?;
    Ok(Streamed {
        written,
        head,
        stopped,
    })
}

/// Whether the first bytes of a whole file of `size` name a kind of media whose cap the
/// size fits. Too few bytes to tell are let through (the complete file is examined anyway).
pub(super) fn check_head(head: &[u8], size: u64, limits: &Limits) -> Result<(), ApiError> {
    let Some(format) = media::probe::sniff(head) else {
        if head.len() < SNIFF_MIN && (head.len() as u64) < size {
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

/// The first bytes of the file at `path` (up to 64): the head a chunk upload is sniffed by
/// when its first chunks were too small to tell.
pub(super) async fn read_head(path: PathBuf) -> io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut head = Vec::with_capacity(HEAD_BYTES);
        fs::File::open(path)?
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    })
    .await
    .map_err(io::Error::other)?
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

/// Syncs a file's data to disk.
pub(super) async fn sync_file(path: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || fs::OpenOptions::new().write(true).open(path)?.sync_data())
        .await
        .map_err(io::Error::other)?
}
