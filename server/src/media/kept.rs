//! What atelier keeps of a file's metadata, within its limits: the parsed generation with
//! every text cut to its limit ([`Generation::bounded`]), the raw texts as one JSON object
//! of at most [`MAX_RAW`] bytes, and a note, in words, of what was over the limits and
//! left out, for the asset page.

use app::model::{truncate_on_char, Generation};
use app::store::StoredMetadata;
use app::units::format_bytes;

use super::meta::{
    self, Dropped, Texts, MAX_DROPPED_NAMED, MAX_RAW, MAX_READ, MAX_TEXT, MAX_TEXTS, PARSER_VERSION,
};

/// Longest note of what was left out, in bytes (it names at most [`MAX_DROPPED_NAMED`]
/// texts, so it is far shorter; this holds whatever a keyword is).
pub const MAX_NOTE: usize = 4 * 1024;

/// A file's metadata as atelier keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Kept {
    /// What the metadata says, when a parser understood it (within its limits).
    pub generation: Option<Generation>,
    /// The raw texts as a JSON object, at most [`MAX_RAW`] bytes; `None` when none was
    /// kept.
    pub raw: Option<String>,
    /// What was over the limits and left out, in words; `None` when nothing was.
    pub dropped: Option<String>,
}

impl Kept {
    /// Keeps what the limits allow of `texts`.
    pub fn from_texts(texts: &Texts) -> Kept {
        if texts.is_empty() {
            return Kept::default();
        }
        let (generation, cut) = match meta::parse(&texts.kept) {
            Some(generation) => {
                let (generation, cut) = generation.bounded();
                (Some(generation), cut)
            }
            None => (None, Vec::new()),
        };
        let (raw, over) = meta::raw_json(&texts.kept);
        let mut notes = Vec::new();
        let mut more = texts.dropped_more;
        for dropped in texts.dropped.iter().chain(&over) {
            if notes.len() < MAX_DROPPED_NAMED {
                notes.push(note(dropped));
            } else {
                more += 1;
            }
        }
        if more > 0 {
            notes.push(format!("{more} more texts"));
        }
        notes.extend(cut);
        let dropped = (!notes.is_empty()).then(|| {
            let mut note = notes.join("; ");
            truncate_on_char(&mut note, MAX_NOTE);
            note
        });
        Kept {
            generation,
            raw,
            dropped,
        }
    }

    /// As an asset stores it.
    pub fn stored(&self) -> StoredMetadata {
        StoredMetadata {
            generation: self
                .generation
                .as_ref()
                .and_then(|g| serde_json::to_string(g).ok()),
            raw: self.raw.clone(),
            dropped: self.dropped.clone(),
            parser_version: PARSER_VERSION,
        }
    }
}

/// One text left out, as the asset page names it.
fn note(dropped: &Dropped) -> String {
    match dropped {
        Dropped::TooLong { key } => format!(
            "“{key}” (over the {} one text may take)",
            format_bytes(MAX_TEXT as u64)
        ),
        Dropped::OverTotal { key, bytes } => format!(
            "“{key}” ({}, past the {} kept from one file)",
            format_bytes(*bytes),
            format_bytes(MAX_RAW as u64)
        ),
        Dropped::Unread { key } => format!(
            "“{key}” (not read: past the {} or {MAX_TEXTS} texts read from one file)",
            format_bytes(MAX_READ)
        ),
    }
}
