//! Uploads: the resumable protocol's messages, shared by the server and the upload page.
//!
//! A client starts an upload with the file's name and size, sends the bytes in chunks at
//! the offset the server says it has, reads the status (the server recognises the file and
//! reads its generation metadata once every byte is in), and finishes it with the form's
//! fields. See docs/API.md.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{Generation, MediaType, Visibility};

/// Bytes per chunk unless the server says otherwise.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 * 1024 * 1024;
/// Longest file name kept (longer ones are cut, keeping the extension).
pub const MAX_FILENAME_LEN: usize = 255;
/// Longest title.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest prompt or negative prompt.
pub const MAX_PROMPT_LEN: usize = 20_000;
/// Longest model name.
pub const MAX_MODEL_LEN: usize = 200;
/// Most tags on one asset.
pub const MAX_TAGS: usize = 32;

/// `POST /api/upload/start`'s answer: where to send the bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTicket {
    pub upload_id: String,
    /// Largest chunk the server accepts.
    pub chunk_size: u64,
    /// Bytes the server already has (the offset of the next chunk).
    pub received: u64,
    /// The file's size, as announced.
    pub size: u64,
}

/// `POST /api/upload/chunk`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkReceipt {
    pub received: u64,
    /// Every byte is in and the file was recognised; it can be finished.
    pub complete: bool,
}

/// `GET /api/upload/status`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadStatus {
    pub upload_id: String,
    pub filename: String,
    pub size: u64,
    pub received: u64,
    pub chunk_size: u64,
    /// Every byte is in and the file was recognised; it can be finished.
    pub complete: bool,
    pub media_type: Option<MediaType>,
    pub mime_type: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// What the file says about how it was made, when atelier understood it.
    pub metadata: Option<Generation>,
    /// The file carries generation metadata, whether or not it was understood.
    pub raw_metadata_present: bool,
    /// Why the file was refused, once all of it is in.
    pub error: Option<String>,
}

/// `GET /api/upload/limits`: what the logged-in user may upload now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadLimits {
    pub chunk_size: u64,
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    pub quota_bytes: u64,
    /// What the user's assets hold (originals, stills, metadata).
    pub used_bytes: u64,
    /// Unfinished uploads of theirs, and the bytes they announced (held against the quota).
    pub open_uploads: u32,
    pub open_upload_bytes: u64,
    pub max_open_uploads: u32,
}

/// `POST /api/upload/finish`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedUpload {
    pub asset_id: String,
    /// The asset's page.
    pub url: String,
}

/// What the uploader typed into the form; empty fields fall back to the file's metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadForm {
    pub title: String,
    pub prompt: String,
    pub negative_prompt: String,
    /// Comma-separated.
    pub tags: String,
    pub model: String,
    pub visibility: Visibility,
}

/// Fits a form field to its limit (trimmed), naming the field when it is over.
pub fn checked_field(value: &str, name: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "the {name} may have at most {max} characters"
        )));
    }
    Ok(value.to_string())
}

/// The tags of a comma-separated field, normalised, or why there are too many.
pub fn checked_tags(field: &str) -> Result<Vec<String>, ApiError> {
    let tags = parse_tags(field);
    if tags.len() > MAX_TAGS {
        return Err(ApiError::BadRequest(format!(
            "an asset may have at most {MAX_TAGS} tags"
        )));
    }
    Ok(tags)
}

/// Splits a comma-separated tag field into normalised tags.
pub fn parse_tags(field: &str) -> Vec<String> {
    crate::model::normalize_tags(field.split(','))
}

/// A file name safe to keep and to show: no directories, no control characters, at most
/// [`MAX_FILENAME_LEN`] bytes; `upload` when nothing is left.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    let mut out = String::new();
    for c in cleaned.chars() {
        if out.len() + c.len_utf8() > MAX_FILENAME_LEN {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        "upload".into()
    } else {
        out
    }
}

/// A title from a file name: the name without its extension, separators as spaces.
pub fn title_from_filename(name: &str) -> String {
    let name = name.trim_start_matches('.');
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let title = stem.replace(['_', '-'], " ");
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        "Untitled".into()
    } else {
        title.chars().take(MAX_TITLE_LEN).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_directories_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\me\\cat.png"), "cat.png");
        assert_eq!(clean_filename("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(clean_filename(".."), "upload");
        assert_eq!(clean_filename(&"é".repeat(300)).len(), 254);
        assert_eq!(title_from_filename("ComfyUI_00042_.png"), "ComfyUI 00042");
        assert_eq!(title_from_filename(".png"), "png");
    }

    #[test]
    fn visibility_and_tags_read_leniently() {
        assert_eq!(Visibility::parse("Private"), Some(Visibility::Private));
        assert_eq!(Visibility::parse("friends"), None);
        assert_eq!(parse_tags(" Cat, cat ,,Neon"), vec!["cat", "neon"]);
    }
}
