//! The upload engine: resumable uploads into temp files, recognition by content, and the
//! move into content-addressed storage that commits together with the asset row.
//!
//! Bytes go to `<data>/tmp/upload-<id>`, never into memory. The `uploads` row's `received`
//! is the truth: before each chunk the temp file is cut back to it, so a crash between a
//! write and its receipt loses nothing but that chunk. Finishing hashes the file, links it
//! under its SHA-256 (the same bytes are stored once), and commits the file row, the
//! owner's storage use, the asset and its processing job in one transaction; if that fails,
//! a file this upload placed and no row points to is removed again.
//!
//! By stage: `limits` (caps and quota from the settings), `chunks` (receiving a
//! resumable upload) and `whole` (a file in one request), both through `stream` (bytes to
//! the temp file under a cap, sniffing the head); `examine` (recognising the complete
//! file), `poster` (a video's poster frame), `finish` (placing and committing), `sweep`
//! (what expired or was left behind). `engine` holds the state they share and `service`
//! the [`app::upload_engine::Uploads`] seam. The HTTP endpoints that drive it are in
//! `crate::http`; nothing here knows about HTTP.

mod chunks;
mod engine;
mod examine;
mod finish;
mod limits;
mod poster;
mod refusal;
mod service;
mod stream;
mod sweep;
mod whole;

pub use chunks::SYNC_INTERVAL;
pub use engine::UploadEngine;
pub use limits::Limits;
pub use poster::MAX_POSTER_BYTES;
pub use refusal::ChunkError;
