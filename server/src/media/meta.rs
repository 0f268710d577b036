//! Generation metadata: what the tools that made an image wrote into it. PNG text chunks
//! carry it for A1111/Forge (`parameters`), ComfyUI (`prompt`, `workflow`), InvokeAI
//! (`invokeai_metadata`), NovelAI (`Comment`) and Fooocus (`parameters` as JSON). The raw
//! text is always kept, so nothing is lost when a parser does not understand it.

use std::io::{Read, Seek, SeekFrom};

use serde_json::{Map, Value};

/// Bumped whenever the parsers learn something new; `atelier reparse` re-reads assets
/// parsed by an older version.
pub const PARSER_VERSION: u32 = 1;

/// Largest text chunk kept, after decompression (a ComfyUI workflow is rarely over 1 MiB).
const MAX_TEXT: u64 = 8 * 1024 * 1024;
/// Largest total of text kept from one file.
const MAX_TOTAL: usize = 16 * 1024 * 1024;

pub use app::model::{Generation, Lora};

/// The text chunks of a PNG (keyword → text), in file order. Compressed chunks are
/// inflated with a size cap; anything unreadable is skipped, never fatal.
pub fn png_text<R: Read + Seek>(file: &mut R) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut offset = 8u64;
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return out;
    };
    while offset + 12 <= len {
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
        if is_text && size <= MAX_TEXT && offset + 8 + size <= len {
            let mut data = vec![0u8; size as usize];
            if file.read_exact(&mut data).is_ok() {
                if let Some((key, text)) = text_chunk(&kind, &data) {
                    total += text.len();
                    if total > MAX_TOTAL {
                        break;
                    }
                    out.push((key, text));
                }
            }
        }
        offset += 12 + size;
    }
    out
}

fn inflate(data: &[u8]) -> Option<String> {
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(data)
        .take(MAX_TEXT)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

fn text_chunk(kind: &[u8; 4], data: &[u8]) -> Option<(String, String)> {
    let nul = data.iter().position(|b| *b == 0)?;
    let keyword: String = data[..nul].iter().map(|b| char::from(*b)).collect();
    let rest = &data[nul + 1..];
    let text = match kind {
        // Latin-1 text.
        b"tEXt" => rest.iter().map(|b| char::from(*b)).collect(),
        // Compression method (0 = zlib), then compressed Latin-1 (in practice UTF-8).
        b"zTXt" => inflate(rest.get(1..)?)?,
        // Compressed flag, method, language tag\0, translated keyword\0, UTF-8 text.
        b"iTXt" => {
            let compressed = *rest.first()? == 1;
            let after = rest.get(2..)?;
            let lang_end = after.iter().position(|b| *b == 0)?;
            let after = &after[lang_end + 1..];
            let translated_end = after.iter().position(|b| *b == 0)?;
            let body = &after[translated_end + 1..];
            if compressed {
                inflate(body)?
            } else {
                String::from_utf8_lossy(body).into_owned()
            }
        }
        _ => return None,
    };
    Some((keyword, text))
}

/// The APP1 segments of a JPEG (EXIF, XMP), in order, up to the image data.
fn jpeg_app1_segments<R: Read + Seek>(file: &mut R) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return out;
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
            if file.read_exact(&mut data).is_ok() {
                out.push(data);
            }
        }
        offset += 2 + size;
    }
    out
}

/// Text metadata of a JPEG: the EXIF `UserComment` (where A1111 and others write their
/// parameters) and the XMP packet, as `("UserComment", …)` and `("XMP", …)`.
pub fn jpeg_text<R: Read + Seek>(file: &mut R) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for data in jpeg_app1_segments(file) {
        app1_text(&data, &mut out);
    }
    out
}

/// Text metadata of a WebP: its `EXIF` and `XMP ` chunks.
pub fn webp_text<R: Read + Seek>(file: &mut R) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return out;
    };
    let mut offset = 12u64;
    while offset + 8 <= len {
        let mut header = [0u8; 8];
        if file.seek(SeekFrom::Start(offset)).is_err() || file.read_exact(&mut header).is_err() {
            break;
        }
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let kind = &header[0..4];
        if (kind == b"EXIF" || kind == b"XMP ") && size <= MAX_TEXT && offset + 8 + size <= len {
            let mut data = vec![0u8; size as usize];
            if file.read_exact(&mut data).is_ok() {
                if kind == b"EXIF" {
                    let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                    if let Some(text) = exif_user_comment(tiff) {
                        out.push(("UserComment".to_string(), text));
                    }
                } else {
                    out.push((
                        "XMP".to_string(),
                        String::from_utf8_lossy(&data).into_owned(),
                    ));
                }
            }
        }
        // Chunks are padded to an even size.
        offset += 8 + size + (size & 1);
    }
    out
}

fn app1_text(data: &[u8], out: &mut Vec<(String, String)>) {
    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
    if let Some(tiff) = data.strip_prefix(b"Exif\0\0") {
        if let Some(text) = exif_user_comment(tiff) {
            out.push(("UserComment".to_string(), text));
        }
    } else if let Some(xml) = data.strip_prefix(XMP) {
        out.push(("XMP".to_string(), String::from_utf8_lossy(xml).into_owned()));
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
    jpeg_app1_segments(file)
        .iter()
        .find_map(|data| data.strip_prefix(b"Exif\0\0"))
        .and_then(exif_orientation)
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

/// The raw metadata kept with an asset: every text chunk, JSON where it is JSON.
pub fn raw_json(chunks: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (key, text) in chunks {
        let value = serde_json::from_str::<Value>(text)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .unwrap_or_else(|| Value::String(text.clone()));
        map.insert(key.clone(), value);
    }
    Value::Object(map)
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
