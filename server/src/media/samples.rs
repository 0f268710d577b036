//! Real sample files of each kind atelier accepts (and a few it refuses), made in code so
//! tests, benchmarks and the end-to-end suite share them without binary fixtures: images
//! that decode, PNGs carrying A1111 and ComfyUI metadata the way those tools write it, an
//! H.264 MP4 that plays, a pixel bomb and an HTML page dressed up as a PNG.

use std::io::Cursor;

/// The `parameters` text A1111/Forge writes into a PNG.
pub const A1111_PARAMETERS: &str =
    "masterpiece, best quality, 1girl, <lora:add_detail:0.6>, cyberpunk city at night\n\
    Negative prompt: lowres, bad anatomy, watermark\n\
    Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 832x1216, \
    Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Lora hashes: \"add_detail: 7c6bad76eb54\", \
    Version: v1.9.4";

/// The API-format graph ComfyUI writes into a PNG's `prompt` chunk.
pub const COMFYUI_PROMPT: &str = r#"{
    "3": {"class_type": "KSampler", "inputs": {"seed": 156680208700286, "steps": 20, "cfg": 8,
          "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": ["10", 0],
          "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "purple galaxy bottle, landscape", "clip": ["10", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["10", 1]}},
    "10": {"class_type": "LoraLoader", "inputs": {"lora_name": "epiNoiseoffset_v2.safetensors",
           "strength_model": 0.75, "strength_clip": 1, "model": ["4", 0], "clip": ["4", 1]}}
}"#;

/// A gradient image of the given size in `format` (PNG, JPEG, WebP, GIF).
pub fn encoded(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    // Encoding a gradient into a Vec cannot fail for these formats and sizes.
    if let Err(err) = img.write_to(&mut out, format) {
        panic!("cannot encode a sample {format:?}: {err}");
    }
    out.into_inner()
}

/// A PNG chunk with its CRC.
pub fn png_chunk(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(payload);
    let mut out = Vec::with_capacity(payload.len() + 12);
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(payload);
    out.extend(crc.sum().to_be_bytes());
    out
}

/// A `tEXt` chunk.
pub fn text_chunk(keyword: &str, value: &str) -> Vec<u8> {
    png_chunk(
        b"tEXt",
        &[keyword.as_bytes(), b"\0", value.as_bytes()].concat(),
    )
}

/// A `zTXt` chunk: `text` compressed (a metadata bomb when it is large and repetitive).
pub fn ztxt_chunk(keyword: &str, text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = zlib.write_all(text);
    let data = zlib.finish().unwrap_or_default();
    png_chunk(b"zTXt", &[keyword.as_bytes(), b"\0\0", &data].concat())
}

/// A real `width` × `height` PNG with `chunks` inserted after its header.
pub fn png_with(width: u32, height: u32, chunks: &[Vec<u8>]) -> Vec<u8> {
    let png = encoded(image::ImageFormat::Png, width, height);
    let after_ihdr = 8 + 25;
    let mut out = png[..after_ihdr].to_vec();
    for c in chunks {
        out.extend(c);
    }
    out.extend(&png[after_ihdr..]);
    out
}

/// A PNG as A1111/Forge saves it.
pub fn a1111_png(width: u32, height: u32) -> Vec<u8> {
    png_with(width, height, &[text_chunk("parameters", A1111_PARAMETERS)])
}

/// A PNG as ComfyUI saves it: the API graph in `prompt`, the editor's in `workflow`.
pub fn comfyui_png(width: u32, height: u32) -> Vec<u8> {
    png_with(
        width,
        height,
        &[
            text_chunk("prompt", COMFYUI_PROMPT),
            text_chunk("workflow", r#"{"last_node_id": 10, "nodes": []}"#),
        ],
    )
}

/// A 33-byte PNG header announcing 20,000 × 20,000 pixels (400 megapixels).
pub fn pixel_bomb_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(20_000u32.to_be_bytes());
    ihdr.extend(20_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// An HTML page, whatever name it is uploaded under.
pub fn html_page() -> Vec<u8> {
    b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n".to_vec()
}

/// A short H.264 MP4 (a moving gradient) that browsers play.
pub fn mp4(width: usize, height: usize, frames: usize) -> Vec<u8> {
    let frames: Vec<Vec<u8>> = (0..frames)
        .map(|f| {
            let mut rgb = Vec::with_capacity(width * height * 3);
            for y in 0..height {
                for x in 0..width {
                    rgb.extend([((x + f * 4) % 256) as u8, (y % 256) as u8, 96]);
                }
            }
            rgb
        })
        .collect();
    crate::demo::h264::encode_mp4(width, height, 10, &frames)
}
