//! Hostile files against the probe and the metadata readers: the real samples cut at every
//! interesting offset, with bits flipped, with huge declared lengths, random bytes behind
//! each magic number, and a few bombs built on purpose. Whatever comes in, nothing panics,
//! each file is done with quickly, and no string that comes out is over its limit.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use app::model::{Generation, MAX_GENERATION_LORAS, MAX_GENERATION_NAME, MAX_GENERATION_PROMPT};
use rand::{Rng, SeedableRng};

use super::tests::{bmff_box, webm};
use crate::media::kept::{Kept, MAX_NOTE};
use crate::media::meta::{self, MAX_DROPPED_NAMED, MAX_RAW, MAX_TEXT, MAX_TEXTS};
use crate::media::probe::{self, Format};
use crate::media::samples;

/// The most one hostile file may take to probe and read (debug build, a busy machine).
const CASE_TIME: Duration = Duration::from_secs(2);
/// The most the probe's messages (which quote a codec or document type) may say.
const MAX_MESSAGE: usize = 512;

/// Everything the probe and the readers make of `bytes`, checked against the limits.
fn run_case(case: &str, bytes: &[u8]) {
    match probe::probe(&mut Cursor::new(bytes)) {
        Ok(found) => {
            if let Some(codec) = &found.codec {
                assert!(codec.chars().count() <= 64, "{case}: codec {codec:?}");
            }
        }
        Err(err) => {
            assert!([415, 422].contains(&err.status()), "{case}: {err}");
            assert!(err.to_string().len() <= MAX_MESSAGE, "{case}: {err}");
        }
    }
    if let Ok(examined) = super::examine(&mut Cursor::new(bytes)) {
        if let Some(generation) = &examined.generation {
            check_generation(case, generation);
        }
    }
    for format in [Format::Png, Format::Jpeg, Format::WebP] {
        let texts = super::metadata_text(&mut Cursor::new(bytes), format);
        assert!(
            texts.kept.len() <= MAX_TEXTS,
            "{case}: {} texts",
            texts.kept.len()
        );
        assert!(texts.dropped.len() <= MAX_DROPPED_NAMED, "{case}");
        for (key, text) in &texts.kept {
            assert!(
                text.len() <= MAX_TEXT,
                "{case}: “{key}” is {} bytes",
                text.len()
            );
            assert!(
                key.len() <= 2 * 79,
                "{case}: a keyword of {} bytes",
                key.len()
            );
        }
        check_kept(case, &Kept::from_texts(&texts));
    }
    let _ = meta::jpeg_orientation(&mut Cursor::new(bytes));
}

fn check_kept(case: &str, kept: &Kept) {
    if let Some(raw) = &kept.raw {
        assert!(
            raw.len() <= MAX_RAW,
            "{case}: raw metadata of {} bytes",
            raw.len()
        );
        let json: serde_json::Value = serde_json::from_str(raw)
            .unwrap_or_else(|e| panic!("{case}: raw metadata is not JSON: {e}"));
        assert!(json.is_object(), "{case}");
    }
    if let Some(note) = &kept.dropped {
        assert!(
            note.len() <= MAX_NOTE,
            "{case}: a note of {} bytes",
            note.len()
        );
    }
    if let Some(generation) = &kept.generation {
        check_generation(case, generation);
    }
}

fn check_generation(case: &str, g: &Generation) {
    for (name, text, max) in [
        ("tool", &g.tool, MAX_GENERATION_NAME),
        ("model", &g.model, MAX_GENERATION_NAME),
        ("sampler", &g.sampler, MAX_GENERATION_NAME),
        ("prompt", &g.prompt, MAX_GENERATION_PROMPT),
        ("negative prompt", &g.negative_prompt, MAX_GENERATION_PROMPT),
    ] {
        let len = text.as_ref().map_or(0, String::len);
        assert!(len <= max, "{case}: a {name} of {len} bytes");
    }
    assert!(
        g.loras.len() <= MAX_GENERATION_LORAS,
        "{case}: {} LoRAs",
        g.loras.len()
    );
    for lora in &g.loras {
        assert!(
            lora.name.len() <= MAX_GENERATION_NAME,
            "{case}: a LoRA name of {} bytes",
            lora.name.len()
        );
    }
}

/// Runs one case: no panic, done within [`CASE_TIME`].
fn check(case: &str, bytes: &[u8]) {
    let started = Instant::now();
    if std::panic::catch_unwind(|| run_case(case, bytes)).is_err() {
        panic!(
            "{case}: panicked ({} bytes: {:02x?}…)",
            bytes.len(),
            &bytes[..bytes.len().min(64)]
        );
    }
    let took = started.elapsed();
    assert!(took < CASE_TIME, "{case}: took {took:?}");
}

fn zlib(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(text).expect("compress");
    encoder.finish().expect("finish")
}

fn ztxt(keyword: &str, text: &[u8]) -> Vec<u8> {
    samples::png_chunk(
        b"zTXt",
        &[keyword.as_bytes(), b"\0\0", &zlib(text)].concat(),
    )
}

fn itxt(keyword: &str, text: &[u8]) -> Vec<u8> {
    samples::png_chunk(
        b"iTXt",
        &[keyword.as_bytes(), b"\0\x01\0en\0prompt\0", &zlib(text)].concat(),
    )
}

/// A JPEG carrying an EXIF `UserComment` (A1111's parameters, UTF-16 as piexif writes
/// them) and an XMP packet.
fn a1111_jpeg() -> Vec<u8> {
    let utf16: Vec<u8> = samples::A1111_PARAMETERS
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let comment = [b"UNICODE\0".as_slice(), &utf16].concat();
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend(1u16.to_be_bytes());
    tiff.extend(0x8769u16.to_be_bytes());
    tiff.extend(4u16.to_be_bytes());
    tiff.extend(1u32.to_be_bytes());
    tiff.extend(26u32.to_be_bytes());
    tiff.extend(0u32.to_be_bytes());
    tiff.extend(1u16.to_be_bytes());
    tiff.extend(0x9286u16.to_be_bytes());
    tiff.extend(7u16.to_be_bytes());
    tiff.extend((comment.len() as u32).to_be_bytes());
    tiff.extend(44u32.to_be_bytes());
    tiff.extend(0u32.to_be_bytes());
    tiff.extend(&comment);
    let segment = |payload: &[u8]| {
        let mut out = vec![0xFF, 0xE1];
        out.extend(((payload.len() + 2) as u16).to_be_bytes());
        out.extend(payload);
        out
    };
    let exif = [b"Exif\0\0".as_slice(), &tiff].concat();
    let xmp = [
        b"http://ns.adobe.com/xap/1.0/\0".as_slice(),
        b"<x:xmpmeta><rdf:Description dc:creator=\"someone\"/></x:xmpmeta>",
    ]
    .concat();
    let plain = samples::encoded(image::ImageFormat::Jpeg, 24, 16);
    [&plain[..2], &segment(&exif), &segment(&xmp), &plain[2..]].concat()
}

/// A lossless WebP with an `EXIF` chunk carrying a `UserComment`.
fn webp_with_exif() -> Vec<u8> {
    let comment = [b"ASCII\0\0\0".as_slice(), b"a fox\nSteps: 9, Seed: 11"].concat();
    let mut tiff = b"II\x2a\0\x08\0\0\0".to_vec();
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(0x8769u16.to_le_bytes());
    tiff.extend(4u16.to_le_bytes());
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(26u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(1u16.to_le_bytes());
    tiff.extend(0x9286u16.to_le_bytes());
    tiff.extend(7u16.to_le_bytes());
    tiff.extend((comment.len() as u32).to_le_bytes());
    tiff.extend(44u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(&comment);
    let mut vp8l = vec![0x2F];
    vp8l.extend((3u32 | (3 << 14)).to_le_bytes());
    let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
    for (kind, body) in [(b"VP8L", vp8l.as_slice()), (b"EXIF", tiff.as_slice())] {
        webp.extend(kind);
        webp.extend((body.len() as u32).to_le_bytes());
        webp.extend(body);
        if body.len() % 2 == 1 {
            webp.push(0);
        }
    }
    webp
}

/// A still AVIF: `ftyp`, then `meta` with a primary image's spatial extent.
fn avif() -> Vec<u8> {
    let ftyp = bmff_box(b"ftyp", b"avif\0\0\0\0mif1miafavif");
    let mut ispe = vec![0, 0, 0, 0];
    ispe.extend(640u32.to_be_bytes());
    ispe.extend(480u32.to_be_bytes());
    let ipco = bmff_box(b"ipco", &bmff_box(b"ispe", &ispe));
    let iprp = bmff_box(b"iprp", &ipco);
    let mut meta_payload = vec![0, 0, 0, 0];
    meta_payload.extend(bmff_box(b"hdlr", &[0; 24]));
    meta_payload.extend(iprp);
    [ftyp, bmff_box(b"meta", &meta_payload)].concat()
}

/// The real samples, each named.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a1111 png", samples::a1111_png(24, 16)),
        ("comfyui png", samples::comfyui_png(24, 16)),
        (
            "compressed png",
            samples::png_with(
                16,
                16,
                &[
                    ztxt("parameters", samples::A1111_PARAMETERS.as_bytes()),
                    itxt("prompt", samples::COMFYUI_PROMPT.as_bytes()),
                ],
            ),
        ),
        ("a1111 jpeg", a1111_jpeg()),
        ("webp with exif", webp_with_exif()),
        (
            "lossy webp",
            samples::encoded(image::ImageFormat::WebP, 20, 12),
        ),
        ("gif", samples::encoded(image::ImageFormat::Gif, 20, 12)),
        ("avif", avif()),
        ("mp4", samples::mp4(16, 16, 2)),
        ("webm", webm("webm", "V_VP9", 4500.0)),
        ("pixel bomb", samples::pixel_bomb_png()),
    ]
}

/// Where each sample's length fields are: the four bytes before a known chunk or box type
/// (PNG, ISO BMFF; big-endian), the four after it (RIFF; little-endian), and the two after
/// a JPEG marker.
fn length_fields(bytes: &[u8]) -> Vec<(usize, usize, bool)> {
    const TAGS: [&[u8; 4]; 24] = [
        b"IHDR", b"tEXt", b"zTXt", b"iTXt", b"IDAT", b"IEND", b"ftyp", b"moov", b"mvhd", b"trak",
        b"tkhd", b"mdia", b"hdlr", b"minf", b"stbl", b"stsd", b"meta", b"iprp", b"ipco", b"ispe",
        b"VP8L", b"VP8 ", b"EXIF", b"RIFF",
    ];
    let mut fields = Vec::new();
    for at in 0..bytes.len().saturating_sub(4) {
        if TAGS.iter().any(|tag| &bytes[at..at + 4] == *tag) {
            if at >= 4 {
                fields.push((at - 4, 4, true));
            }
            if at + 8 <= bytes.len() {
                fields.push((at + 4, 4, false));
            }
        }
        if bytes[at] == 0xFF && (0xC0..=0xFE).contains(&bytes[at + 1]) && at + 4 <= bytes.len() {
            fields.push((at + 2, 2, true));
        }
    }
    fields
}

#[test]
fn hostile_files_never_panic_stall_or_return_strings_over_the_limits() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed_a7e1);
    let started = Instant::now();
    let mut cases = 0usize;
    for (name, sample) in samples() {
        check(name, &sample);
        cases += 1;
        // Cut at every offset of the headers, and around every length field after them.
        let fields = length_fields(&sample);
        let mut cuts: Vec<usize> = (0..sample.len().min(400)).collect();
        cuts.extend(
            fields
                .iter()
                .flat_map(|(at, _, _)| at.saturating_sub(2)..at + 10),
        );
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts.into_iter().filter(|c| *c < sample.len()) {
            check(&format!("{name} cut at {cut}"), &sample[..cut]);
            cases += 1;
        }
        // Huge, zero and off-by-one declared lengths.
        for &(at, width, big_endian) in &fields {
            for value in [
                u32::MAX,
                0x7FFF_FFFF,
                0x8000_0000,
                0,
                1,
                7,
                sample.len() as u32 + 1,
            ] {
                let mut bytes = sample.clone();
                let field = if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                let field = if width == 2 {
                    if big_endian {
                        &field[2..]
                    } else {
                        &field[..2]
                    }
                } else {
                    &field[..]
                };
                bytes[at..at + width].copy_from_slice(field);
                check(&format!("{name} length at {at} = {value:#x}"), &bytes);
                cases += 1;
            }
        }
        // Bit flips: one to eight at random places, 150 times.
        for n in 0..150 {
            let mut bytes = sample.clone();
            for _ in 0..rng.gen_range(1..=8) {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] ^= 1 << rng.gen_range(0..8);
            }
            check(&format!("{name} flip {n}"), &bytes);
            cases += 1;
        }
        // Random bytes behind its first 16 (its magic number).
        for n in 0..60 {
            let keep = sample.len().min(16);
            let mut bytes = sample[..keep].to_vec();
            let len = rng.gen_range(0..600);
            bytes.extend((0..len).map(|_| rng.gen::<u8>()));
            check(&format!("{name} random tail {n}"), &bytes);
            cases += 1;
        }
    }
    let took = started.elapsed();
    eprintln!("{cases} hostile files in {took:?}");
    assert!(cases > 3_000, "{cases} cases");
}

#[test]
fn metadata_bombs_cost_no_more_than_the_limits() {
    // Many compressed texts that each inflate to 1 MiB (about 1 KiB each): inflating stops
    // at MAX_TEXT each, and reading stops once MAX_READ is spent.
    let inflating = zlib(&vec![b'a'; 1 << 20]);
    let bomb: Vec<Vec<u8>> = (0..400)
        .map(|n| {
            let keyword = format!("bomb{n}");
            samples::png_chunk(b"zTXt", &[keyword.as_bytes(), b"\0\0", &inflating].concat())
        })
        .collect();
    let png = samples::png_with(16, 16, &bomb);
    assert!(png.len() < 1 << 20, "{} bytes", png.len());
    let started = Instant::now();
    let texts = super::metadata_text(&mut Cursor::new(&png), Format::Png);
    assert!(started.elapsed() < CASE_TIME, "{:?}", started.elapsed());
    assert!(texts.kept.is_empty());
    assert_eq!(texts.dropped.len(), MAX_DROPPED_NAMED);
    assert_eq!(texts.dropped_more, 400 - MAX_DROPPED_NAMED as u64);
    let kept = Kept::from_texts(&texts);
    assert_eq!(kept.raw, None);
    let note = kept.dropped.expect("said so");
    assert!(note.ends_with("392 more texts"), "{note}");
    check("400 bombs", &png);

    // A hundred thousand tiny texts: at most MAX_TEXTS are kept, the rest counted.
    let tiny: Vec<Vec<u8>> = (0..100_000)
        .map(|n| samples::text_chunk(&format!("k{n}"), "v"))
        .collect();
    let png = samples::png_with(16, 16, &tiny);
    let started = Instant::now();
    let texts = super::metadata_text(&mut Cursor::new(&png), Format::Png);
    assert!(started.elapsed() < 4 * CASE_TIME, "{:?}", started.elapsed());
    assert_eq!(texts.kept.len(), MAX_TEXTS);
    assert_eq!(
        texts.dropped_more,
        100_000 - MAX_TEXTS as u64 - MAX_DROPPED_NAMED as u64
    );

    // A prompt of a megabyte, in a text under the limit once compressed but not after.
    let mut parameters = "masterpiece, ".repeat(80_000);
    parameters.push_str("\nSteps: 20, Seed: 1");
    let png = samples::png_with(16, 16, &[ztxt("parameters", parameters.as_bytes())]);
    let kept = super::read_metadata(&mut Cursor::new(&png), Format::Png);
    assert_eq!(kept.generation, None, "too long to read, so not understood");
    check_kept("a megabyte prompt", &kept);

    // A prompt just under the per-text limit: understood, the prompt cut to its limit.
    let mut parameters = "猫".repeat(MAX_TEXT / 3 - 100);
    parameters.push_str("\nSteps: 20, Seed: 1");
    let png = samples::png_with(16, 16, &[itxt("parameters", parameters.as_bytes())]);
    let kept = super::read_metadata(&mut Cursor::new(&png), Format::Png);
    let prompt = kept
        .generation
        .as_ref()
        .and_then(|g| g.prompt.clone())
        .expect("prompt");
    assert!(prompt.len() <= MAX_GENERATION_PROMPT && prompt.len() > MAX_GENERATION_PROMPT - 3);
    assert!(
        kept.raw.as_ref().is_some_and(|raw| raw.contains("猫猫")),
        "kept raw whole"
    );
    assert!(
        kept.dropped
            .as_deref()
            .is_some_and(|note| note.contains("the prompt past its first 20,000 bytes")),
        "{:?}",
        kept.dropped
    );
    check_kept("a long prompt", &kept);
}
