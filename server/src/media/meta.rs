//! Generation metadata: what the tools that made an image wrote into it. PNG text chunks
//! carry it for A1111/Forge (`parameters`), ComfyUI (`prompt`, `workflow`), InvokeAI
//! (`invokeai_metadata`), NovelAI (`Comment`) and Fooocus (`parameters` as JSON). The raw
//! text is kept too, so nothing is lost when a parser does not understand it: within the
//! limits below, enforced while reading (a compressed chunk is inflated no further than
//! [`MAX_TEXT`]), with what was over them recorded ([`Dropped`]) rather than fatal.

use std::io::{self, Read, Seek, SeekFrom};

use serde_json::{Map, Value};

/// Bumped whenever the parsers learn something new; `atelier reparse` re-reads assets
/// parsed by an older version. 2: every text and the raw metadata within the limits below.
pub const PARSER_VERSION: u32 = 2;

/// Longest metadata text kept from a file (a PNG text chunk after inflating, an XMP
/// packet, an EXIF `UserComment`), in bytes. Real ComfyUI workflows are 10–100 KB, the
/// largest a few hundred; inflating a compressed chunk stops here.
pub const MAX_TEXT: usize = 256 * 1024;
/// Most raw metadata kept from one file: the stored JSON object of every text kept.
pub const MAX_RAW: usize = 512 * 1024;
/// Most texts read from one file; past them the rest are left out unread.
pub const MAX_TEXTS: usize = 256;
/// Most bytes read and inflated for metadata from one file, kept or not: past it the rest
/// are left out unread, so a file of many small bombs costs no more than this.
pub const MAX_READ: u64 = 8 * 1024 * 1024;
/// How many left-out texts are named (the rest are counted).
pub const MAX_DROPPED_NAMED: usize = 8;
/// Bytes of a PNG text chunk's own fields (keyword, flags, language tags) allowed beyond
/// [`MAX_TEXT`]: a chunk larger than both together cannot hold a text that is kept.
const TEXT_CHUNK_FIELDS: u64 = 4 * 1024;
/// Longest keyword of a PNG text chunk (the PNG specification's 79 bytes).
const MAX_KEYWORD: usize = 79;

pub use app::model::{Generation, Lora};

/// The metadata texts of a file: those read (keyword → text, in file order, each at most
/// [`MAX_TEXT`] bytes) and those left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Texts {
    pub kept: Vec<(String, String)>,
    /// The first [`MAX_DROPPED_NAMED`] left out, with why.
    pub dropped: Vec<Dropped>,
    /// How many more were left out.
    pub dropped_more: u64,
    /// Bytes read and inflated so far.
    read: u64,
}

/// A text left out of what is kept, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Longer than [`MAX_TEXT`].
    TooLong { key: String },
    /// Would have taken the raw metadata past [`MAX_RAW`]; `bytes` is its JSON size.
    OverTotal { key: String, bytes: u64 },
    /// Not read: the file had spent [`MAX_READ`] or [`MAX_TEXTS`].
    Unread { key: String },
}

impl Texts {
    /// Whether a text of `size` more bytes may still be read.
    fn may_read(&self, size: u64) -> bool {
        self.kept.len() < MAX_TEXTS && self.read.saturating_add(size) <= MAX_READ
    }

    fn spent(&mut self, bytes: u64) {
        self.read = self.read.saturating_add(bytes);
    }

    /// Keeps a text read whole, or records one over [`MAX_TEXT`].
    fn offer(&mut self, key: String, text: Result<String, TooLong>) {
        match text {
            Ok(text) if text.len() <= MAX_TEXT => self.kept.push((key, text)),
            _ => self.leave_out(Dropped::TooLong { key }),
        }
    }

    /// Records a text left out (named while there is room, else counted).
    pub fn leave_out(&mut self, dropped: Dropped) {
        if self.dropped.len() < MAX_DROPPED_NAMED {
            self.dropped.push(dropped);
        } else {
            self.dropped_more += 1;
        }
    }

    /// Nothing was found, kept or left out.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.dropped.is_empty() && self.dropped_more == 0
    }
}

/// A text longer than [`MAX_TEXT`] (its reading stopped there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

/// Reads `reader` to its end into at most `max` bytes, never holding more: `TooLong` as
/// soon as there is more.
fn read_capped(mut reader: impl Read, max: usize) -> io::Result<Result<Vec<u8>, TooLong>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(Ok(out)),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if out.len() + n > max {
            return Ok(Err(TooLong));
        }
        if out.capacity() < out.len() + n {
            let want = (out.capacity() * 2).max(out.len() + n).min(max);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// UTF-8 when it is (what tools write in practice), else Latin-1 (what PNG specifies).
fn utf8_or_latin1(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| latin1(e.as_bytes()))
}

/// The keyword of a PNG text chunk whose data starts at `at`, from its first bytes.
fn png_keyword<R: Read + Seek>(file: &mut R, at: u64, size: u64) -> Option<String> {
    let mut head = vec![0u8; (MAX_KEYWORD as u64 + 1).min(size) as usize];
    file.seek(SeekFrom::Start(at)).ok()?;
    file.read_exact(&mut head).ok()?;
    let nul = head.iter().position(|b| *b == 0)?;
    (nul > 0).then(|| latin1(&head[..nul]))
}

/// The text chunks of a PNG (keyword → text), in file order. Compressed chunks are
/// inflated up to [`MAX_TEXT`] and no further; a text over it, or past what one file may
/// spend ([`MAX_READ`], [`MAX_TEXTS`]), is left out and recorded; anything unreadable is
/// skipped, never fatal.
pub fn png_text<R: Read + Seek>(file: &mut R) -> Texts {
    let mut texts = Texts::default();
    let mut offset = 8u64;
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return texts;
    };
    while offset.saturating_add(12) <= len {
        let mut header = [0u8; 8];
        if file.seek(SeekFrom::Start(offset)).is_err() || file.read_exact(&mut header).is_err() {
            break;
        }
        let size = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let kind = [header[4], header[5], header[6], header[7]];
        if &kind == b"IEND" {
            break;
        }
        let is_text = matches!(&kind, b"tEXt" | b"zTXt" | b"iTXt");
        let data_at = offset + 8;
        if is_text && data_at + size <= len {
            if size > MAX_TEXT as u64 + TEXT_CHUNK_FIELDS {
                if let Some(key) = png_keyword(file, data_at, size) {
                    texts.leave_out(Dropped::TooLong { key });
                }
            } else if !texts.may_read(size) {
                if let Some(key) = png_keyword(file, data_at, size) {
                    texts.leave_out(Dropped::Unread { key });
                }
            } else {
                let mut data = vec![0u8; size as usize];
                if file.read_exact(&mut data).is_ok() {
                    texts.spent(size);
                    if let Some((key, text)) = text_chunk(&kind, &data) {
                        // What inflating it cost (all of MAX_TEXT for one over it).
                        texts.spent(text.as_ref().map_or(MAX_TEXT, String::len) as u64);
                        texts.offer(key, text);
                    }
                }
            }
        }
        offset = data_at + size + 4;
    }
    texts
}

/// Inflates zlib `data`, up to [`MAX_TEXT`] bytes.
fn inflate(data: &[u8]) -> Option<Result<Vec<u8>, TooLong>> {
    read_capped(flate2::read::ZlibDecoder::new(data), MAX_TEXT).ok()
}

/// A PNG text chunk's keyword and text (`TooLong` past [`MAX_TEXT`]); `None` when it is
/// malformed.
fn text_chunk(kind: &[u8; 4], data: &[u8]) -> Option<(String, Result<String, TooLong>)> {
    let nul = data.iter().position(|b| *b == 0)?;
    if nul == 0 || nul > MAX_KEYWORD {
        return None;
    }
    let keyword = latin1(&data[..nul]);
    let rest = &data[nul + 1..];
    let text = match kind {
        // Latin-1 text.
        b"tEXt" => Ok(latin1(rest)),
        // Compression method (0 = zlib), then compressed Latin-1 (in practice UTF-8).
        b"zTXt" => inflate(rest.get(1..)?)?.map(utf8_or_latin1),
        // Compressed flag, method, language tag\0, translated keyword\0, UTF-8 text.
        b"iTXt" => {
            let compressed = *rest.first()? == 1;
            let after = rest.get(2..)?;
            let lang_end = after.iter().position(|b| *b == 0)?;
            let after = &after[lang_end + 1..];
            let translated_end = after.iter().position(|b| *b == 0)?;
            let body = &after[translated_end + 1..];
            if compressed {
                inflate(body)?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            } else {
                Ok(String::from_utf8_lossy(body).into_owned())
            }
        }
        _ => return None,
    };
    Some((keyword, text))
}

/// The APP1 segments of a JPEG (EXIF, XMP), in order, up to the image data, each handed
/// to `each` until it answers `false`.
fn jpeg_app1_segments<R: Read + Seek>(file: &mut R, mut each: impl FnMut(Vec<u8>) -> bool) {
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return;
    };
    let mut offset = 2u64;
    for _ in 0..256 {
        let mut marker = [0u8; 4];
        if offset + 4 > len
            || file.seek(SeekFrom::Start(offset)).is_err()
            || file.read_exact(&mut marker).is_err()
            || marker[0] != 0xFF
        {
            break;
        }
        // Start of scan or end of image: the metadata segments come before.
        if marker[1] == 0xDA || marker[1] == 0xD9 {
            break;
        }
        let size = u64::from(u16::from_be_bytes([marker[2], marker[3]]));
        if size < 2 {
            break;
        }
        if marker[1] == 0xE1 && offset + 2 + size <= len {
            let mut data = vec![0u8; (size - 2) as usize];
            if file.read_exact(&mut data).is_ok() && !each(data) {
                return;
            }
        }
        offset += 2 + size;
    }
}

/// Text metadata of a JPEG: the EXIF `UserComment` (where A1111 and others write their
/// parameters) and the XMP packet, as `("UserComment", …)` and `("XMP", …)`.
pub fn jpeg_text<R: Read + Seek>(file: &mut R) -> Texts {
    let mut texts = Texts::default();
    jpeg_app1_segments(file, |data| {
        if !texts.may_read(data.len() as u64) {
            texts.leave_out(Dropped::Unread { key: "APP1".into() });
            return false;
        }
        texts.spent(data.len() as u64);
        app1_text(&data, &mut texts);
        true
    });
    texts
}

/// Text metadata of a WebP: its `EXIF` and `XMP ` chunks.
pub fn webp_text<R: Read + Seek>(file: &mut R) -> Texts {
    let mut texts = Texts::default();
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return texts;
    };
    let mut offset = 12u64;
    while offset.saturating_add(8) <= len {
        let mut header = [0u8; 8];
        if file.seek(SeekFrom::Start(offset)).is_err() || file.read_exact(&mut header).is_err() {
            break;
        }
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let kind = &header[0..4];
        let key = if kind == b"EXIF" { "EXIF" } else { "XMP" };
        if (kind == b"EXIF" || kind == b"XMP ") && offset + 8 + size <= len {
            if size > MAX_TEXT as u64 {
                texts.leave_out(Dropped::TooLong { key: key.into() });
            } else if !texts.may_read(size) {
                texts.leave_out(Dropped::Unread { key: key.into() });
            } else {
                let mut data = vec![0u8; size as usize];
                if file.read_exact(&mut data).is_ok() {
                    texts.spent(size);
                    if kind == b"EXIF" {
                        let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                        if let Some(text) = exif_user_comment(tiff) {
                            texts.offer("UserComment".into(), Ok(text));
                        }
                    } else {
                        texts.offer(
                            "XMP".into(),
                            Ok(String::from_utf8_lossy(&data).into_owned()),
                        );
                    }
                }
            }
        }
        // Chunks are padded to an even size.
        offset += 8 + size + (size & 1);
    }
    texts
}

fn app1_text(data: &[u8], texts: &mut Texts) {
    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
    if let Some(tiff) = data.strip_prefix(b"Exif\0\0") {
        if let Some(text) = exif_user_comment(tiff) {
            texts.offer("UserComment".into(), Ok(text));
        }
    } else if let Some(xml) = data.strip_prefix(XMP) {
        texts.offer("XMP".into(), Ok(String::from_utf8_lossy(xml).into_owned()));
    }
}

/// Just enough of TIFF (the body of an EXIF block) to find a tag.
struct Tiff<'a> {
    data: &'a [u8],
    little: bool,
}

impl<'a> Tiff<'a> {
    fn new(data: &'a [u8]) -> Option<Tiff<'a>> {
        let little = match data.get(0..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        Some(Tiff { data, little })
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        Some(if self.little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        Some(if self.little {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
    }

    fn ifd0(&self) -> Option<usize> {
        usize::try_from(self.u32_at(4)?).ok()
    }

    /// A tag's entry in the IFD at `ifd`: (type, count, the entry's value field offset).
    fn entry(&self, ifd: usize, tag: u16) -> Option<(u16, u32, usize)> {
        let count = usize::from(self.u16_at(ifd)?);
        (0..count.min(1000)).find_map(|i| {
            let at = ifd + 2 + i * 12;
            (self.u16_at(at)? == tag)
                .then(|| Some((self.u16_at(at + 2)?, self.u32_at(at + 4)?, at + 8)))?
        })
    }
}

/// The EXIF orientation (1–8) of a TIFF block, where the camera recorded one.
pub fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let tiff = Tiff::new(tiff)?;
    let (_, _, value) = tiff.entry(tiff.ifd0()?, 0x0112)?;
    tiff.u16_at(value).filter(|o| (1..=8).contains(o))
}

/// The EXIF orientation of a JPEG file, from its first APP1 segment.
pub fn jpeg_orientation<R: Read + Seek>(file: &mut R) -> Option<u16> {
    let mut orientation = None;
    jpeg_app1_segments(file, |data| match data.strip_prefix(b"Exif\0\0") {
        Some(tiff) => {
            orientation = exif_orientation(tiff);
            false
        }
        None => true,
    });
    orientation
}

/// The EXIF `UserComment` (tag 0x9286 in the Exif IFD) of a TIFF block, decoded by its
/// 8-byte character-code prefix.
fn exif_user_comment(tiff: &[u8]) -> Option<String> {
    let tiff = Tiff::new(tiff)?;
    let (_, _, pointer) = tiff.entry(tiff.ifd0()?, 0x8769)?;
    let exif_ifd = usize::try_from(tiff.u32_at(pointer)?).ok()?;
    let (_, count, value) = tiff.entry(exif_ifd, 0x9286)?;
    let offset = tiff.u32_at(value)?;
    let tiff = tiff.data;
    let count = usize::try_from(count).ok()?;
    let data = if count <= 4 {
        return None;
    } else {
        let start = usize::try_from(offset).ok()?;
        tiff.get(start..start.checked_add(count)?)?
    };
    let (prefix, body) = data.split_at(8.min(data.len()));
    let text = match prefix {
        b"UNICODE\0" => {
            // UTF-16; piexif (A1111) writes big-endian whatever the TIFF order, so the
            // order is read from where the zero bytes of ASCII text fall.
            let zeros_first = body.iter().step_by(2).filter(|b| **b == 0).count();
            let zeros_second = body.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|p| {
                    if zeros_first >= zeros_second {
                        u16::from_be_bytes([p[0], p[1]])
                    } else {
                        u16::from_le_bytes([p[0], p[1]])
                    }
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    non_empty(text.trim_end_matches('\0'))
}

/// The raw metadata kept with an asset: every text, JSON where it is JSON, as one JSON
/// object in file order of at most [`MAX_RAW`] bytes (`None` when nothing fits). A text
/// that would take it past that is left out and returned; a keyword seen before is
/// skipped (the parsers read the first too).
pub fn raw_json(chunks: &[(String, String)]) -> (Option<String>, Vec<Dropped>) {
    let mut out = String::from("{");
    let mut seen = std::collections::HashSet::new();
    let mut dropped = Vec::new();
    for (key, text) in chunks {
        if !seen.insert(key.as_str()) {
            continue;
        }
        let value = serde_json::from_str::<Value>(text)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .unwrap_or_else(|| Value::String(text.clone()));
        let (Ok(key_json), Ok(value_json)) =
            (serde_json::to_string(key), serde_json::to_string(&value))
        else {
            continue;
        };
        let entry = key_json.len() + 1 + value_json.len();
        // A comma before it, the closing brace after.
        if out.len() + 1 + entry + 1 > MAX_RAW {
            dropped.push(Dropped::OverTotal {
                key: key.clone(),
                bytes: entry as u64,
            });
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&key_json);
        out.push(':');
        out.push_str(&value_json);
    }
    out.push('}');
    ((out.len() > 2).then_some(out), dropped)
}

/// Understands the chunks if any known tool wrote them.
pub fn parse(chunks: &[(String, String)]) -> Option<Generation> {
    let get = |key: &str| {
        chunks
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    if let Some(text) = get("parameters") {
        if let Ok(Value::Object(json)) = serde_json::from_str::<Value>(text) {
            return Some(fooocus(&json));
        }
        return Some(a1111(text));
    }
    // JPEG and WebP: A1111 writes its parameters into the EXIF UserComment; some tools
    // put a ComfyUI graph there.
    if let Some(text) = get("UserComment") {
        if let Ok(graph @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
            if let Some(generation) = comfyui(&graph) {
                return Some(generation);
            }
        } else if text.contains("Steps: ") {
            return Some(a1111(text));
        }
    }
    if let Some(prompt) = get("prompt").and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        if let Some(generation) = comfyui(&prompt) {
            return Some(generation);
        }
    }
    if let Some(Value::Object(json)) =
        get("invokeai_metadata").and_then(|t| serde_json::from_str(t).ok())
    {
        return Some(invokeai(&json));
    }
    if let Some(Value::Object(json)) = get("Comment").and_then(|t| serde_json::from_str(t).ok()) {
        if get("Software").is_some_and(|s| s.contains("NovelAI")) || json.contains_key("uc") {
            return Some(novelai(&json, get("Description")));
        }
    }
    None
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `<lora:name:0.8>` tags in an A1111 prompt.
fn prompt_loras(prompt: &str) -> Vec<Lora> {
    let mut loras = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("<lora:") {
        let after = &rest[start + 6..];
        let Some(end) = after.find('>') else { break };
        let mut parts = after[..end].split(':');
        if let Some(name) = parts.next().and_then(non_empty) {
            let weight = parts.next().and_then(|w| w.trim().parse().ok());
            loras.push(Lora { name, weight });
        }
        rest = &after[end..];
    }
    loras
}

/// Splits `Steps: 20, Sampler: Euler a, Lora hashes: "a: 1, b: 2"` into pairs, keeping
/// quoted values whole.
fn settings_pairs(line: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut push = |current: &mut String| {
        if let Some((k, v)) = current.split_once(':') {
            pairs.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
        }
        current.clear();
    };
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => push(&mut current),
            _ => current.push(c),
        }
    }
    push(&mut current);
    pairs
}

/// A1111 / Forge / SD.Next `parameters`: the prompt, an optional `Negative prompt:`
/// paragraph, and a last line of `Key: value` settings starting with `Steps:`.
pub fn a1111(text: &str) -> Generation {
    let mut generation = Generation {
        tool: Some("a1111".into()),
        ..Generation::default()
    };
    let (body, settings) = match text.rfind("\nSteps: ") {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None if text.starts_with("Steps: ") => ("", Some(text)),
        None => (text, None),
    };
    let (prompt, negative) = match body.find("Negative prompt:") {
        Some(i) => (&body[..i], Some(&body[i + "Negative prompt:".len()..])),
        None => (body, None),
    };
    generation.prompt = non_empty(prompt);
    generation.negative_prompt = negative.and_then(non_empty);
    generation.loras = prompt_loras(prompt);
    for (key, value) in settings.map(settings_pairs).unwrap_or_default() {
        match key.as_str() {
            "Steps" => generation.steps = value.parse().ok(),
            "Sampler" => generation.sampler = non_empty(&value),
            "CFG scale" => generation.cfg = value.parse().ok(),
            "Seed" => generation.seed = value.parse().ok(),
            "Size" => {
                if let Some((w, h)) = value.split_once('x') {
                    generation.width = w.trim().parse().ok();
                    generation.height = h.trim().parse().ok();
                }
            }
            "Model" => generation.model = non_empty(&value),
            "Model hash" if generation.model.is_none() => {
                generation.model = non_empty(&value);
            }
            _ => {}
        }
    }
    generation
}

fn str_of(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).and_then(non_empty)
}

fn f64_of(value: Option<&Value>) -> Option<f64> {
    value.and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()))
}

fn u64_of(value: Option<&Value>) -> Option<u64> {
    value.and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
}

fn u32_of(value: Option<&Value>) -> Option<u32> {
    u64_of(value).and_then(|v| u32::try_from(v).ok())
}

/// ComfyUI's API-format graph (`prompt`): node id → `{class_type, inputs}`. The sampler
/// node names the seed, steps and CFG, and links to the text encoders of the positive
/// and negative prompts; loaders name the checkpoint and LoRAs.
pub fn comfyui(graph: &Value) -> Option<Generation> {
    let nodes = graph.as_object()?;
    fn class(node: &Value) -> &str {
        node.get("class_type").and_then(Value::as_str).unwrap_or("")
    }
    let sampler = nodes
        .values()
        .find(|n| class(n).contains("KSampler") || class(n).contains("SamplerCustom"))?;
    let inputs = sampler.get("inputs")?;
    let mut generation = Generation {
        tool: Some("comfyui".into()),
        seed: u64_of(inputs.get("seed").or_else(|| inputs.get("noise_seed"))),
        steps: u32_of(inputs.get("steps")),
        cfg: f64_of(inputs.get("cfg")),
        sampler: str_of(inputs.get("sampler_name")),
        ..Generation::default()
    };
    generation.prompt = linked_text(nodes, inputs.get("positive"), 0);
    generation.negative_prompt = linked_text(nodes, inputs.get("negative"), 0);
    for node in nodes.values() {
        let inputs = node.get("inputs");
        let input = |key: &str| inputs.and_then(|i| i.get(key));
        match class(node) {
            c if c.starts_with("CheckpointLoader") || c == "UNETLoader" => {
                generation.model = generation
                    .model
                    .take()
                    .or_else(|| str_of(input("ckpt_name")).or_else(|| str_of(input("unet_name"))));
            }
            c if c.starts_with("LoraLoader") => {
                if let Some(name) = str_of(input("lora_name")) {
                    generation.loras.push(Lora {
                        name,
                        weight: f64_of(input("strength_model")),
                    });
                }
            }
            "EmptyLatentImage" | "EmptySD3LatentImage" => {
                generation.width = u32_of(input("width"));
                generation.height = u32_of(input("height"));
            }
            _ => {}
        }
    }
    Some(generation)
}

/// Follows a `[node_id, output]` link to the text it encodes (through a few
/// conditioning nodes at most).
fn linked_text(nodes: &Map<String, Value>, link: Option<&Value>, depth: u32) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let id = match link? {
        Value::Array(parts) => match parts.first()? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        },
        Value::String(text) => return non_empty(text),
        _ => return None,
    };
    let inputs = nodes.get(&id)?.get("inputs")?;
    for key in ["text", "text_g", "prompt", "conditioning", "conditioning_1"] {
        match inputs.get(key) {
            Some(Value::String(text)) => return non_empty(text),
            Some(link @ Value::Array(_)) => {
                if let Some(text) = linked_text(nodes, Some(link), depth + 1) {
                    return Some(text);
                }
            }
            _ => {}
        }
    }
    None
}

/// InvokeAI's `invokeai_metadata` JSON.
fn invokeai(json: &Map<String, Value>) -> Generation {
    Generation {
        tool: Some("invokeai".into()),
        prompt: str_of(json.get("positive_prompt")),
        negative_prompt: str_of(json.get("negative_prompt")),
        model: json
            .get("model")
            .and_then(|m| str_of(m.get("name")).or_else(|| str_of(m.get("model_name")))),
        sampler: str_of(json.get("scheduler")),
        steps: u32_of(json.get("steps")),
        cfg: f64_of(json.get("cfg_scale")),
        seed: u64_of(json.get("seed")),
        width: u32_of(json.get("width")),
        height: u32_of(json.get("height")),
        loras: json
            .get("loras")
            .and_then(Value::as_array)
            .map(|loras| {
                loras
                    .iter()
                    .filter_map(|l| {
                        let name = l
                            .get("model")
                            .and_then(|m| {
                                str_of(m.get("name")).or_else(|| str_of(m.get("model_name")))
                            })
                            .or_else(|| str_of(l.get("lora")))?;
                        Some(Lora {
                            name,
                            weight: f64_of(l.get("weight")),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// NovelAI: `Comment` JSON (`prompt`, `uc` for the negative, `scale`, …) and the prompt
/// again in `Description`.
fn novelai(json: &Map<String, Value>, description: Option<&str>) -> Generation {
    Generation {
        tool: Some("novelai".into()),
        prompt: str_of(json.get("prompt")).or_else(|| description.and_then(non_empty)),
        negative_prompt: str_of(json.get("uc")),
        model: Some("NovelAI".into()),
        sampler: str_of(json.get("sampler")),
        steps: u32_of(json.get("steps")),
        cfg: f64_of(json.get("scale")),
        seed: u64_of(json.get("seed")),
        width: u32_of(json.get("width")),
        height: u32_of(json.get("height")),
        loras: Vec::new(),
    }
}

/// Fooocus writes its `parameters` as JSON.
fn fooocus(json: &Map<String, Value>) -> Generation {
    let (width, height) = json
        .get("resolution")
        .and_then(Value::as_str)
        .and_then(|r| {
            let r = r.trim_matches(|c| c == '(' || c == ')');
            let (w, h) = r.split_once(',')?;
            Some((w.trim().parse().ok(), h.trim().parse().ok()))
        })
        .unwrap_or((None, None));
    Generation {
        tool: Some("fooocus".into()),
        prompt: str_of(json.get("prompt")),
        negative_prompt: str_of(json.get("negative_prompt")),
        model: str_of(json.get("base_model")),
        sampler: str_of(json.get("sampler")),
        steps: u32_of(json.get("steps")),
        cfg: f64_of(json.get("guidance_scale")),
        seed: u64_of(json.get("seed")),
        width,
        height,
        loras: Vec::new(),
    }
}
