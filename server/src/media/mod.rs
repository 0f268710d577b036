//! The media pipeline: recognising uploads by their content ([`probe`]), reading the
//! generation metadata they carry ([`meta`]), and making their thumbnails ([`thumbs`]).

pub mod meta;
pub mod probe;
pub mod samples;
pub mod thumbs;

#[cfg(test)]
mod tests;

use std::{
    fs, io,
    io::{Read, Seek, SeekFrom},
    path::Path,
};

use app::model::{Generation, MediaType};
use serde::{Deserialize, Serialize};

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
    /// What the metadata says, when a parser understood it.
    pub generation: Option<Generation>,
    /// The raw metadata text chunks (JSON object), when the file carried any.
    pub raw_metadata: Option<serde_json::Value>,
    pub parser_version: u32,
}

impl Examined {
    pub fn format(&self) -> Option<Format> {
        Format::from_mime(&self.mime_type)
    }
}

/// The metadata text a file of `format` carries (empty for formats that carry none we read).
pub fn metadata_text<R: Read + Seek>(file: &mut R, format: Format) -> Vec<(String, String)> {
    let chunks = match format {
        Format::Png => meta::png_text(file),
        Format::Jpeg => meta::jpeg_text(file),
        Format::WebP => meta::webp_text(file),
        _ => Vec::new(),
    };
    let _ = file.seek(SeekFrom::Start(0));
    chunks
}

/// Reads the generation metadata of a file of `format`: (parsed, raw).
pub fn read_generation<R: Read + Seek>(
    file: &mut R,
    format: Format,
) -> (Option<Generation>, Option<serde_json::Value>) {
    let chunks = metadata_text(file, format);
    if chunks.is_empty() {
        return (None, None);
    }
    (meta::parse(&chunks), Some(meta::raw_json(&chunks)))
}

/// Recognises a file and reads its metadata (blocking I/O; run it off the async threads).
pub fn examine<R: Read + Seek>(file: &mut R) -> Result<Examined, ProbeError> {
    let probe = probe::probe(file)?;
    let (generation, raw_metadata) = read_generation(file, probe.format);
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
        generation,
        raw_metadata,
        parser_version: meta::PARSER_VERSION,
    })
}

/// What the metadata of a stored file of type `mime` says now, for `atelier reparse`:
/// (parsed, raw); nothing for a type that carries none (blocking).
pub fn reread_metadata(
    path: &Path,
    mime: &str,
) -> io::Result<(Option<Generation>, Option<serde_json::Value>)> {
    let Some(format) = Format::from_mime(mime) else {
        return Ok((None, None));
    };
    let mut file = io::BufReader::new(fs::File::open(path)?);
    Ok(read_generation(&mut file, format))
}
