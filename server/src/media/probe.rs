//! Recognising an upload by its content, never by its name or the client's word: the magic
//! bytes say which format it is, and a parse of its headers (never a decode) gives the
//! dimensions and, for video, the duration and codec. A pixel bomb is refused from its
//! header, before anything is allocated for its pixels.

use std::io::{self, Read, Seek, SeekFrom};

use app::model::MediaType;

/// Images larger than this many pixels are refused (decoding one would take gigabytes).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Videos longer than this are refused by default.
pub const MAX_VIDEO_MS: u64 = 5 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    WebP,
    Gif,
    Avif,
    Mp4,
    Mov,
    WebM,
}

impl Format {
    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::WebP => "image/webp",
            Format::Gif => "image/gif",
            Format::Avif => "image/avif",
            Format::Mp4 => "video/mp4",
            Format::Mov => "video/quicktime",
            Format::WebM => "video/webm",
        }
    }

    /// The format of one of our own MIME types (the inverse of [`Format::mime`]).
    pub fn from_mime(mime: &str) -> Option<Format> {
        [
            Format::Png,
            Format::Jpeg,
            Format::WebP,
            Format::Gif,
            Format::Avif,
            Format::Mp4,
            Format::Mov,
            Format::WebM,
        ]
        .into_iter()
        .find(|f| f.mime() == mime)
    }

    /// The extension stored files of this format get.
    pub fn extension(self) -> &'static str {
        app::model::extension_for_mime(self.mime()).unwrap_or("bin")
    }

    pub fn media_type(self) -> MediaType {
        match self {
            Format::Png | Format::Jpeg | Format::WebP | Format::Gif | Format::Avif => {
                MediaType::Image
            }
            Format::Mp4 | Format::Mov | Format::WebM => MediaType::Video,
        }
    }
}

/// What the headers of a file say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Videos only.
    pub duration_ms: Option<u64>,
    /// Videos: the sample entry or codec id (`avc1`, `hvc1`, `av01`, `V_VP9`, …).
    pub codec: Option<String>,
    /// An animated GIF or WebP (thumbnails use the first frame).
    pub animated: bool,
}

/// Why a file is refused. Each maps to one HTTP status and a message a person can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProbeError {
    /// Not a format atelier accepts (`415`).
    #[error("{0}")]
    Unsupported(String),
    /// A supported format, but broken or truncated headers (`422`).
    #[error("{0}")]
    Malformed(String),
    /// Over a limit that the headers reveal (`422`): pixels, duration.
    #[error("{0}")]
    TooLarge(String),
}

impl ProbeError {
    pub fn status(&self) -> u16 {
        match self {
            ProbeError::Unsupported(_) => 415,
            ProbeError::Malformed(_) | ProbeError::TooLarge(_) => 422,
        }
    }
}

pub const UNSUPPORTED: &str =
    "this file is not a PNG, JPEG, WebP, GIF or AVIF image, nor an MP4, MOV \
                           or WebM video";

fn malformed(format: Format, what: &str) -> ProbeError {
    ProbeError::Malformed(format!(
        "this {} file is damaged or cut short ({what})",
        format.mime()
    ))
}

/// Reads the format, dimensions and (for videos) duration of `file`.
pub fn probe<R: Read + Seek>(file: &mut R) -> Result<Probe, ProbeError> {
    let len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| ProbeError::Malformed(format!("cannot read the file: {e}")))?;
    let mut head = [0u8; 64];
    let n = read_at(file, 0, &mut head).map_err(|e| ProbeError::Malformed(e.to_string()))?;
    let head = &head[..n];
    let format = sniff(head).ok_or_else(|| ProbeError::Unsupported(UNSUPPORTED.into()))?;
    let probe = match format {
        Format::Png => png(file, format)?,
        Format::Gif => gif(head, format)?,
        Format::Jpeg => jpeg(file, format, len)?,
        Format::WebP => webp(file, format)?,
        Format::Avif | Format::Mp4 | Format::Mov => bmff(file, format, len)?,
        Format::WebM => webm(file, format, len)?,
    };
    check_limits(probe)
}

fn check_limits(probe: Probe) -> Result<Probe, ProbeError> {
    if probe.width == 0 || probe.height == 0 {
        return Err(malformed(probe.format, "it says it has no pixels"));
    }
    let pixels = u64::from(probe.width) * u64::from(probe.height);
    if probe.format.media_type() == MediaType::Image && pixels > MAX_PIXELS {
        return Err(ProbeError::TooLarge(format!(
            "this image is {} × {} pixels ({} megapixels); the limit is {} megapixels",
            probe.width,
            probe.height,
            pixels / 1_000_000,
            MAX_PIXELS / 1_000_000
        )));
    }
    if let Some(ms) = probe.duration_ms {
        if ms > MAX_VIDEO_MS {
            return Err(ProbeError::TooLarge(format!(
                "this video lasts {}; videos may last up to {} minutes",
                app::model::format_duration(u32::try_from(ms).unwrap_or(u32::MAX)),
                MAX_VIDEO_MS / 60_000
            )));
        }
    }
    Ok(probe)
}

/// The format named by the first bytes, if it is one we accept.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some(Format::Gif);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(Format::WebP);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Format::WebM);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return ftyp_format(head);
    }
    None
}

/// ISO base media files: the `ftyp` brands say AVIF, QuickTime or MP4 (HEIC and others
/// are not accepted).
fn ftyp_format(head: &[u8]) -> Option<Format> {
    let size = usize::try_from(be_u32(&head[0..4]))
        .ok()?
        .clamp(8, head.len());
    let major = &head[8..12];
    let compatible: Vec<&[u8]> = head
        .get(16..size)
        .unwrap_or_default()
        .chunks_exact(4)
        .collect();
    let has = |brand: &[u8]| major == brand || compatible.contains(&brand);
    if has(b"avif") || has(b"avis") {
        return Some(Format::Avif);
    }
    if major == b"qt  " {
        return Some(Format::Mov);
    }
    const MP4_BRANDS: [&[u8]; 12] = [
        b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash",
        b"av01", b"hvc1",
    ];
    if MP4_BRANDS.iter().any(|b| has(b)) {
        return Some(Format::Mp4);
    }
    None
}

fn be_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le_u24(b: &[u8]) -> u32 {
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}

/// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
fn read_at<R: Read + Seek>(file: &mut R, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    file.seek(SeekFrom::Start(offset))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads exactly `n` bytes at `offset` (headers only: callers keep `n` small).
fn read_exact_at<R: Read + Seek>(
    file: &mut R,
    offset: u64,
    n: usize,
    format: Format,
    what: &str,
) -> Result<Vec<u8>, ProbeError> {
    let mut buf = vec![0u8; n];
    let got = read_at(file, offset, &mut buf).map_err(|e| malformed(format, &e.to_string()))?;
    if got < n {
        return Err(malformed(format, what));
    }
    Ok(buf)
}

fn png<R: Read + Seek>(file: &mut R, format: Format) -> Result<Probe, ProbeError> {
    // Signature (8), then the IHDR chunk: length (4), type (4), width (4), height (4).
    let ihdr = read_exact_at(file, 8, 16, format, "no IHDR header")?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(malformed(format, "the first chunk is not IHDR"));
    }
    // An animation control chunk (APNG) comes before the first image data.
    let mut animated = false;
    let mut offset = 8u64;
    for _ in 0..64 {
        let Ok(header) = read_exact_at(file, offset, 8, format, "chunk") else {
            break;
        };
        match &header[4..8] {
            b"acTL" => {
                animated = true;
                break;
            }
            b"IDAT" | b"IEND" => break,
            _ => offset += 12 + u64::from(be_u32(&header[0..4])),
        }
    }
    Ok(Probe {
        format,
        width: be_u32(&ihdr[8..12]),
        height: be_u32(&ihdr[12..16]),
        duration_ms: None,
        codec: None,
        animated,
    })
}

fn gif(head: &[u8], format: Format) -> Result<Probe, ProbeError> {
    if head.len() < 10 {
        return Err(malformed(format, "no screen descriptor"));
    }
    Ok(Probe {
        format,
        width: u32::from(le_u16(&head[6..8])),
        height: u32::from(le_u16(&head[8..10])),
        duration_ms: None,
        codec: None,
        // Whether it has more than one frame is found when the thumbnail is made.
        animated: false,
    })
}

fn jpeg<R: Read + Seek>(file: &mut R, format: Format, len: u64) -> Result<Probe, ProbeError> {
    let mut offset = 2u64;
    // Segments before the frame header: APPn (EXIF, XMP, ICC), DQT, DHT… each with a
    // length; the frame header (SOFn) holds the size.
    for _ in 0..10_000 {
        if offset >= len {
            break;
        }
        let marker = read_exact_at(file, offset, 2, format, "marker")?;
        if marker[0] != 0xFF {
            return Err(malformed(format, "expected a marker"));
        }
        let kind = marker[1];
        match kind {
            // Fill byte: the marker starts one byte later.
            0xFF => {
                offset += 1;
                continue;
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                offset += 2;
                continue;
            }
            0xD9 | 0xDA => return Err(malformed(format, "no frame header before the image data")),
            _ => {}
        }
        let header = read_exact_at(file, offset + 2, 2, format, "segment length")?;
        let seg_len = u64::from(be_u16(&header));
        let is_sof = matches!(kind, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof {
            let sof = read_exact_at(file, offset + 4, 5, format, "frame header")?;
            return Ok(Probe {
                format,
                height: u32::from(be_u16(&sof[1..3])),
                width: u32::from(be_u16(&sof[3..5])),
                duration_ms: None,
                codec: None,
                animated: false,
            });
        }
        if seg_len < 2 {
            return Err(malformed(format, "a segment has an impossible length"));
        }
        offset += 2 + seg_len;
    }
    Err(malformed(format, "no frame header"))
}

fn webp<R: Read + Seek>(file: &mut R, format: Format) -> Result<Probe, ProbeError> {
    let chunk = read_exact_at(file, 12, 8, format, "no first chunk")?;
    let body = read_exact_at(file, 20, 10, format, "first chunk cut short")?;
    let (width, height, animated) = match &chunk[0..4] {
        // Lossy: frame tag (3), start code 9d 01 2a, then 14-bit width and height.
        b"VP8 " => {
            if body[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(malformed(format, "bad VP8 start code"));
            }
            (
                u32::from(le_u16(&body[6..8]) & 0x3FFF),
                u32::from(le_u16(&body[8..10]) & 0x3FFF),
                false,
            )
        }
        // Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each.
        b"VP8L" => {
            if body[0] != 0x2F {
                return Err(malformed(format, "bad VP8L signature"));
            }
            let bits = u32::from_le_bytes([body[1], body[2], body[3], body[4]]);
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, false)
        }
        // Extended: flags, 3 reserved bytes, canvas width-1 and height-1 in 24 bits each.
        b"VP8X" => (
            le_u24(&body[4..7]) + 1,
            le_u24(&body[7..10]) + 1,
            body[0] & 0x02 != 0,
        ),
        _ => return Err(malformed(format, "unknown first chunk")),
    };
    Ok(Probe {
        format,
        width,
        height,
        duration_ms: None,
        codec: None,
        animated,
    })
}

/// One ISO BMFF box: its type, where its payload starts, and where it ends.
struct BoxHeader {
    kind: [u8; 4],
    payload: u64,
    end: u64,
}

fn box_at<R: Read + Seek>(
    file: &mut R,
    offset: u64,
    limit: u64,
    format: Format,
) -> Result<BoxHeader, ProbeError> {
    let head = read_exact_at(file, offset, 8, format, "box header")?;
    let mut kind = [0u8; 4];
    kind.copy_from_slice(&head[4..8]);
    let (size, header_len) = match be_u32(&head[0..4]) {
        // To the end of the enclosing box (or file).
        0 => (limit - offset, 8),
        1 => {
            let large = read_exact_at(file, offset + 8, 8, format, "large box size")?;
            (be_u64(&large), 16)
        }
        n => (u64::from(n), 8),
    };
    if size < header_len || offset.saturating_add(size) > limit {
        return Err(malformed(format, "a box overruns its container"));
    }
    Ok(BoxHeader {
        kind,
        payload: offset + header_len,
        end: offset + size,
    })
}

/// The child boxes of `[start, end)`, in order (at most a few thousand).
fn children<R: Read + Seek>(
    file: &mut R,
    start: u64,
    end: u64,
    format: Format,
) -> Result<Vec<BoxHeader>, ProbeError> {
    let mut boxes = Vec::new();
    let mut offset = start;
    while offset + 8 <= end && boxes.len() < 4096 {
        let b = box_at(file, offset, end, format)?;
        offset = b.end;
        boxes.push(b);
    }
    Ok(boxes)
}

fn find<'a>(boxes: &'a [BoxHeader], kind: &[u8; 4]) -> Option<&'a BoxHeader> {
    boxes.iter().find(|b| &b.kind == kind)
}

/// AVIF images and MP4/MOV videos: both are ISO base media files.
fn bmff<R: Read + Seek>(file: &mut R, format: Format, len: u64) -> Result<Probe, ProbeError> {
    let top = children(file, 0, len, format)?;
    if format == Format::Avif {
        return avif(file, format, &top);
    }
    let moov = find(&top, b"moov").ok_or_else(|| malformed(format, "no moov box"))?;
    let moov_children = children(file, moov.payload, moov.end, format)?;
    let mvhd = find(&moov_children, b"mvhd").ok_or_else(|| malformed(format, "no mvhd box"))?;
    let duration_ms = mvhd_duration(file, mvhd, format)?;
    for trak in moov_children.iter().filter(|b| &b.kind == b"trak") {
        let parts = children(file, trak.payload, trak.end, format)?;
        let (Some(tkhd), Some(mdia)) = (find(&parts, b"tkhd"), find(&parts, b"mdia")) else {
            continue;
        };
        let mdia_parts = children(file, mdia.payload, mdia.end, format)?;
        let Some(hdlr) = find(&mdia_parts, b"hdlr") else {
            continue;
        };
        // Full box header (4), pre_defined (4), handler type (4).
        let handler = read_exact_at(file, hdlr.payload + 8, 4, format, "hdlr")?;
        if handler != b"vide" {
            continue;
        }
        let codec = sample_entry(file, &mdia_parts, format)?;
        let (width, height) = tkhd_size(file, tkhd, format)?;
        const VIDEO_CODECS: [&str; 6] = ["avc1", "avc3", "hvc1", "hev1", "av01", "mp4v"];
        if !VIDEO_CODECS.contains(&codec.as_str()) {
            return Err(ProbeError::Unsupported(format!(
                "this video uses the “{codec}” codec; atelier accepts H.264, H.265 and AV1"
            )));
        }
        return Ok(Probe {
            format,
            width,
            height,
            duration_ms: Some(duration_ms),
            codec: Some(codec),
            animated: false,
        });
    }
    Err(malformed(format, "no video track"))
}

fn mvhd_duration<R: Read + Seek>(
    file: &mut R,
    mvhd: &BoxHeader,
    format: Format,
) -> Result<u64, ProbeError> {
    let version = read_exact_at(file, mvhd.payload, 1, format, "mvhd")?[0];
    let (timescale, duration) = if version == 1 {
        let b = read_exact_at(file, mvhd.payload + 4, 28, format, "mvhd")?;
        (u64::from(be_u32(&b[16..20])), be_u64(&b[20..28]))
    } else {
        let b = read_exact_at(file, mvhd.payload + 4, 16, format, "mvhd")?;
        (u64::from(be_u32(&b[8..12])), u64::from(be_u32(&b[12..16])))
    };
    if timescale == 0 {
        return Err(malformed(format, "a timescale of zero"));
    }
    Ok(duration.saturating_mul(1000) / timescale)
}

fn tkhd_size<R: Read + Seek>(
    file: &mut R,
    tkhd: &BoxHeader,
    format: Format,
) -> Result<(u32, u32), ProbeError> {
    // Width and height are the last 8 bytes, 16.16 fixed point.
    if tkhd.end < tkhd.payload + 8 {
        return Err(malformed(format, "tkhd"));
    }
    let b = read_exact_at(file, tkhd.end - 8, 8, format, "tkhd")?;
    Ok((be_u32(&b[0..4]) >> 16, be_u32(&b[4..8]) >> 16))
}

/// The four-character code of the first sample entry (`minf/stbl/stsd`).
fn sample_entry<R: Read + Seek>(
    file: &mut R,
    mdia_parts: &[BoxHeader],
    format: Format,
) -> Result<String, ProbeError> {
    let minf = find(mdia_parts, b"minf").ok_or_else(|| malformed(format, "no minf box"))?;
    let minf_parts = children(file, minf.payload, minf.end, format)?;
    let stbl = find(&minf_parts, b"stbl").ok_or_else(|| malformed(format, "no stbl box"))?;
    let stbl_parts = children(file, stbl.payload, stbl.end, format)?;
    let stsd = find(&stbl_parts, b"stsd").ok_or_else(|| malformed(format, "no stsd box"))?;
    // Full box header (4), entry count (4), then the first entry's size (4) and type (4).
    let entry = read_exact_at(file, stsd.payload + 8, 8, format, "stsd")?;
    Ok(String::from_utf8_lossy(&entry[4..8]).into_owned())
}

fn avif<R: Read + Seek>(
    file: &mut R,
    format: Format,
    top: &[BoxHeader],
) -> Result<Probe, ProbeError> {
    let meta = find(top, b"meta").ok_or_else(|| malformed(format, "no meta box"))?;
    // meta is a full box: 4 bytes of version and flags before its children.
    let meta_parts = children(file, meta.payload + 4, meta.end, format)?;
    let iprp = find(&meta_parts, b"iprp").ok_or_else(|| malformed(format, "no iprp box"))?;
    let iprp_parts = children(file, iprp.payload, iprp.end, format)?;
    let ipco = find(&iprp_parts, b"ipco").ok_or_else(|| malformed(format, "no ipco box"))?;
    let properties = children(file, ipco.payload, ipco.end, format)?;
    // The primary image is the largest spatial extent (thumbnails and alpha planes are
    // smaller or equal).
    let mut best: Option<(u32, u32)> = None;
    for ispe in properties.iter().filter(|b| &b.kind == b"ispe") {
        let b = read_exact_at(file, ispe.payload + 4, 8, format, "ispe")?;
        let size = (be_u32(&b[0..4]), be_u32(&b[4..8]));
        let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
        if best.is_none_or(|current| area(size) > area(current)) {
            best = Some(size);
        }
    }
    let (width, height) = best.ok_or_else(|| malformed(format, "no image size (ispe)"))?;
    Ok(Probe {
        format,
        width,
        height,
        duration_ms: None,
        codec: None,
        animated: top.iter().any(|b| &b.kind == b"moov"),
    })
}

/// An EBML element: its id, where its data starts, and its size (`None`: unknown).
struct Element {
    id: u32,
    data: u64,
    size: Option<u64>,
}

/// Reads an EBML variable-length integer at `offset`: (value, length, all value bits set).
fn vint<R: Read + Seek>(
    file: &mut R,
    offset: u64,
    keep_marker: bool,
    format: Format,
) -> Result<(u64, u64, bool), ProbeError> {
    let first = read_exact_at(file, offset, 1, format, "element header")?[0];
    let len = first.leading_zeros() + 1;
    if len > 8 {
        return Err(malformed(format, "a bad element header"));
    }
    let rest = read_exact_at(
        file,
        offset + 1,
        (len - 1) as usize,
        format,
        "element header",
    )?;
    let mut value = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xFF >> len)
    };
    for b in rest {
        value = value << 8 | u64::from(b);
    }
    let all_ones = !keep_marker && value == (1u64 << (7 * len)) - 1;
    Ok((value, u64::from(len), all_ones))
}

fn element<R: Read + Seek>(
    file: &mut R,
    offset: u64,
    format: Format,
) -> Result<Element, ProbeError> {
    let (id, id_len, _) = vint(file, offset, true, format)?;
    let (size, size_len, unknown) = vint(file, offset + id_len, false, format)?;
    Ok(Element {
        id: u32::try_from(id).map_err(|_| malformed(format, "a bad element id"))?,
        data: offset + id_len + size_len,
        size: (!unknown).then_some(size),
    })
}

fn read_uint<R: Read + Seek>(
    file: &mut R,
    el: &Element,
    format: Format,
) -> Result<u64, ProbeError> {
    let size = el.size.unwrap_or(0).min(8) as usize;
    let bytes = read_exact_at(file, el.data, size, format, "number")?;
    Ok(bytes.iter().fold(0u64, |v, b| v << 8 | u64::from(*b)))
}

fn read_float<R: Read + Seek>(
    file: &mut R,
    el: &Element,
    format: Format,
) -> Result<f64, ProbeError> {
    match el.size {
        Some(4) => {
            let b = read_exact_at(file, el.data, 4, format, "float")?;
            Ok(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        }
        Some(8) => {
            let b = read_exact_at(file, el.data, 8, format, "float")?;
            Ok(f64::from_be_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ]))
        }
        _ => Ok(0.0),
    }
}

fn read_string<R: Read + Seek>(
    file: &mut R,
    el: &Element,
    format: Format,
) -> Result<String, ProbeError> {
    let size = el.size.unwrap_or(0).min(64) as usize;
    let bytes = read_exact_at(file, el.data, size, format, "string")?;
    Ok(String::from_utf8_lossy(&bytes)
        .trim_end_matches('\0')
        .to_string())
}

/// The children of a master element, stopping at `end` (or at a Cluster, where the
/// media data starts and no more headers follow).
fn ebml_children<R: Read + Seek>(
    file: &mut R,
    start: u64,
    end: u64,
    format: Format,
) -> Result<Vec<Element>, ProbeError> {
    const CLUSTER: u32 = 0x1F43_B675;
    let mut out = Vec::new();
    let mut offset = start;
    while offset < end && out.len() < 4096 {
        let el = element(file, offset, format)?;
        if el.id == CLUSTER {
            break;
        }
        let Some(size) = el.size else {
            // Unknown size (a live stream's segment): its children follow directly.
            out.push(el);
            break;
        };
        offset = el.data + size;
        out.push(el);
    }
    Ok(out)
}

fn webm<R: Read + Seek>(file: &mut R, format: Format, len: u64) -> Result<Probe, ProbeError> {
    const EBML: u32 = 0x1A45_DFA3;
    const DOC_TYPE: u32 = 0x4282;
    const SEGMENT: u32 = 0x1853_8067;
    const INFO: u32 = 0x1549_A966;
    const TIMECODE_SCALE: u32 = 0x2A_D7B1;
    const DURATION: u32 = 0x4489;
    const TRACKS: u32 = 0x1654_AE6B;
    const TRACK_ENTRY: u32 = 0xAE;
    const TRACK_TYPE: u32 = 0x83;
    const CODEC_ID: u32 = 0x86;
    const VIDEO: u32 = 0xE0;
    const PIXEL_WIDTH: u32 = 0xB0;
    const PIXEL_HEIGHT: u32 = 0xBA;

    let top = ebml_children(file, 0, len, format)?;
    let header = top
        .iter()
        .find(|e| e.id == EBML)
        .ok_or_else(|| malformed(format, "no EBML header"))?;
    let header_end = header.data + header.size.unwrap_or(0);
    let doc_type = ebml_children(file, header.data, header_end, format)?
        .into_iter()
        .find(|e| e.id == DOC_TYPE)
        .map(|e| read_string(file, &e, format))
        .transpose()?
        .unwrap_or_default();
    if doc_type != "webm" {
        return Err(ProbeError::Unsupported(format!(
            "this is a “{doc_type}” file; of the Matroska family atelier accepts WebM only"
        )));
    }
    let segment = top
        .iter()
        .find(|e| e.id == SEGMENT)
        .ok_or_else(|| malformed(format, "no segment"))?;
    let segment_end = segment.size.map_or(len, |s| (segment.data + s).min(len));
    let parts = ebml_children(file, segment.data, segment_end, format)?;

    let mut duration_ms = None;
    if let Some(info) = parts.iter().find(|e| e.id == INFO) {
        let info_end = info.data + info.size.unwrap_or(0);
        let fields = ebml_children(file, info.data, info_end, format)?;
        let mut scale = 1_000_000u64;
        let mut duration = None;
        for field in &fields {
            match field.id {
                TIMECODE_SCALE => scale = read_uint(file, field, format)?,
                DURATION => duration = Some(read_float(file, field, format)?),
                _ => {}
            }
        }
        // Duration is in TimecodeScale units (nanoseconds each by default).
        duration_ms = duration
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| (d * scale as f64 / 1_000_000.0).round() as u64);
    }
    let tracks = parts
        .iter()
        .find(|e| e.id == TRACKS)
        .ok_or_else(|| malformed(format, "no tracks"))?;
    let tracks_end = tracks.data + tracks.size.unwrap_or(0);
    for entry in ebml_children(file, tracks.data, tracks_end, format)?
        .iter()
        .filter(|e| e.id == TRACK_ENTRY)
    {
        let entry_end = entry.data + entry.size.unwrap_or(0);
        let fields = ebml_children(file, entry.data, entry_end, format)?;
        let kind = fields
            .iter()
            .find(|e| e.id == TRACK_TYPE)
            .map(|e| read_uint(file, e, format))
            .transpose()?;
        if kind != Some(1) {
            continue;
        }
        let codec = fields
            .iter()
            .find(|e| e.id == CODEC_ID)
            .map(|e| read_string(file, e, format))
            .transpose()?
            .unwrap_or_default();
        if !["V_VP8", "V_VP9", "V_AV1"].contains(&codec.as_str()) {
            return Err(ProbeError::Unsupported(format!(
                "this WebM video uses the “{codec}” codec; atelier accepts VP8, VP9 and AV1"
            )));
        }
        let video = fields
            .iter()
            .find(|e| e.id == VIDEO)
            .ok_or_else(|| malformed(format, "a video track without a size"))?;
        let video_end = video.data + video.size.unwrap_or(0);
        let (mut width, mut height) = (0, 0);
        for field in ebml_children(file, video.data, video_end, format)? {
            match field.id {
                PIXEL_WIDTH => width = read_uint(file, &field, format)?,
                PIXEL_HEIGHT => height = read_uint(file, &field, format)?,
                _ => {}
            }
        }
        return Ok(Probe {
            format,
            width: u32::try_from(width).unwrap_or(u32::MAX),
            height: u32::try_from(height).unwrap_or(u32::MAX),
            duration_ms,
            codec: Some(codec),
            animated: false,
        });
    }
    Err(malformed(format, "no video track"))
}
