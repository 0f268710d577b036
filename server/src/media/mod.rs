//! The media pipeline: recognising uploads by their content ([`probe`]), reading the
//! generation metadata they carry ([`meta`]) and keeping it within its limits ([`kept`]),
//! and making their thumbnails ([`thumbs`]).

pub mod kept;
pub mod meta;
pub mod probe;
pub mod samples;
pub mod thumbs;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;

use std::{
    fs, io,
    io::{Read, Seek, SeekFrom},
    path::Path,
};

use app::model::{Generation, MediaType};
use serde::{Deserialize, Serialize};

use kept::Kept;
use meta::Texts;
use probe::{Format, ProbeError};

/// Everything the server learns from a complete upload before it becomes an asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Examined {
    /// Our own sniffed MIME type (never the client's).
    pub mime_type: String,
    pub media_type: MediaType,
    pub width: u32,
    pub height: u32,
    pub duration_ms: Option<u32>,
    pub codec: Option<String>,
    pub animated: bool,
    /// What the metadata says, when a parser understood it (within its limits).
    pub generation: Option<Generation>,
    /// The file carries metadata that is kept raw. This is what the upload's row stores,
    /// so the raw text is never part of it: finishing reads it again from the file.
    #[serde(default)]
    pub raw_metadata_present: bool,
    pub parser_version: u32,
}

impl Examined {
    pub fn format(&self) -> Option<Format> {
        Format::from_mime(&self.mime_type)
    }
}

/// The metadata texts a file of `format` carries, within the reading limits of [`meta`]
/// (none for formats that carry none we read).
pub fn metadata_text<R: Read + Seek>(file: &mut R, format: Format) -> Texts {
    let texts = match format {
        Format::Png => meta::png_text(file),
        Format::Jpeg => meta::jpeg_text(file),
        Format::WebP => meta::webp_text(file),
        _ => Texts::default(),
    };
    let _ = file.seek(SeekFrom::Start(0));
    texts
}

/// Reads the metadata of a file of `format` and keeps what the limits allow.
pub fn read_metadata<R: Read + Seek>(file: &mut R, format: Format) -> Kept {
    Kept::from_texts(&metadata_text(file, format))
}

/// Recognises a file and reads its metadata (blocking I/O; run it off the async threads).
pub fn examine<R: Read + Seek>(file: &mut R) -> Result<Examined, ProbeError> {
    let probe = probe::probe(file)?;
    let kept = read_metadata(file, probe.format);
    Ok(Examined {
        mime_type: probe.format.mime().to_string(),
        media_type: probe.format.media_type(),
        width: probe.width,
        height: probe.height,
        duration_ms: probe
            .duration_ms
            .map(|ms| u32::try_from(ms).unwrap_or(u32::MAX)),
        codec: probe.codec,
        animated: probe.animated,
        raw_metadata_present: kept.raw.is_some(),
        generation: kept.generation,
        parser_version: meta::PARSER_VERSION,
    })
}

/// What the metadata of a stored (or completely uploaded) file of type `mime` says now,
/// within the limits: for finishing an upload and for `atelier reparse`; nothing for a
/// type that carries none (blocking).
pub fn reread_metadata(path: &Path, mime: &str) -> io::Result<Kept> {
    let Some(format) = Format::from_mime(mime) else {
        return Ok(Kept::default());
    };
    let mut file = io::BufReader::new(fs::File::open(path)?);
    Ok(read_metadata(&mut file, format))
}
