//! Probing real files of every accepted format, and refusing the rest, by content.

use std::io::Cursor;

use super::probe::{probe, Format, Probe, ProbeError};

fn run(bytes: &[u8]) -> Result<Probe, ProbeError> {
    probe(&mut Cursor::new(bytes))
}

use super::samples::{encoded, png_chunk as chunk};

pub(super) fn bmff_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(((payload.len() + 8) as u32).to_be_bytes());
    out.extend(kind);
    out.extend(payload);
    out
}

#[test]
fn png_and_jpeg_images_are_measured_from_their_headers() {
    let png = run(&encoded(image::ImageFormat::Png, 300, 200)).expect("png");
    assert_eq!(
        (png.format, png.width, png.height, png.animated),
        (Format::Png, 300, 200, false)
    );
    let jpeg = run(&encoded(image::ImageFormat::Jpeg, 321, 123)).expect("jpeg");
    assert_eq!(
        (jpeg.format, jpeg.width, jpeg.height),
        (Format::Jpeg, 321, 123)
    );
    assert_eq!(jpeg.format.mime(), "image/jpeg");
}

#[test]
fn a_jpeg_with_exif_and_fill_bytes_before_its_frame_header() {
    let plain = encoded(image::ImageFormat::Jpeg, 64, 48);
    let mut jpeg = vec![0xFF, 0xD8];
    // An APP1 (EXIF) segment, then a fill byte before the next marker.
    let exif = b"Exif\0\0 some camera data";
    jpeg.extend([0xFF, 0xE1]);
    jpeg.extend(((exif.len() + 2) as u16).to_be_bytes());
    jpeg.extend(exif);
    jpeg.push(0xFF);
    jpeg.extend(&plain[2..]);
    let probe = run(&jpeg).expect("jpeg");
    assert_eq!((probe.width, probe.height), (64, 48));
}

#[test]
fn gif_and_the_three_kinds_of_webp() {
    let mut gif = b"GIF89a".to_vec();
    gif.extend(640u16.to_le_bytes());
    gif.extend(360u16.to_le_bytes());
    gif.extend([0xF7, 0, 0]);
    let probe = run(&gif).expect("gif");
    assert_eq!(
        (probe.format, probe.width, probe.height),
        (Format::Gif, 640, 360)
    );

    let riff = |chunk_kind: &[u8; 4], body: &[u8]| {
        let mut out = b"RIFF".to_vec();
        out.extend(((body.len() + 12) as u32).to_le_bytes());
        out.extend(b"WEBP");
        out.extend(chunk_kind);
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    };
    // Lossy: frame tag, start code, 14-bit sizes.
    let mut vp8 = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
    vp8.extend(1024u16.to_le_bytes());
    vp8.extend(768u16.to_le_bytes());
    let lossy = run(&riff(b"VP8 ", &vp8)).expect("lossy");
    assert_eq!(
        (lossy.format, lossy.width, lossy.height),
        (Format::WebP, 1024, 768)
    );

    // Lossless: 0x2f, then (width-1) | (height-1) << 14.
    let bits: u32 = 499 | (299 << 14);
    let mut vp8l = vec![0x2F];
    vp8l.extend(bits.to_le_bytes());
    vp8l.extend([0; 5]);
    let lossless = run(&riff(b"VP8L", &vp8l)).expect("lossless");
    assert_eq!((lossless.width, lossless.height), (500, 300));

    // Extended, animated: flags 0x02, canvas 1920 × 1080 (minus one, 24-bit).
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend(&1919u32.to_le_bytes()[..3]);
    vp8x.extend(&1079u32.to_le_bytes()[..3]);
    let animated = run(&riff(b"VP8X", &vp8x)).expect("extended");
    assert_eq!(
        (animated.width, animated.height, animated.animated),
        (1920, 1080, true)
    );
}

#[test]
fn avif_takes_the_largest_spatial_extent() {
    let ftyp = bmff_box(b"ftyp", b"avif\0\0\0\0mif1miafavif");
    let ispe = |w: u32, h: u32| {
        let mut p = vec![0, 0, 0, 0];
        p.extend(w.to_be_bytes());
        p.extend(h.to_be_bytes());
        bmff_box(b"ispe", &p)
    };
    let mut ipco_payload = ispe(160, 90);
    ipco_payload.extend(ispe(3840, 2160));
    let ipco = bmff_box(b"ipco", &ipco_payload);
    let iprp = bmff_box(b"iprp", &ipco);
    let mut meta_payload = vec![0, 0, 0, 0];
    meta_payload.extend(bmff_box(b"hdlr", &[0; 24]));
    meta_payload.extend(iprp);
    let meta = bmff_box(b"meta", &meta_payload);
    let file = [ftyp, meta].concat();
    let probe = run(&file).expect("avif");
    assert_eq!(
        (probe.format, probe.width, probe.height),
        (Format::Avif, 3840, 2160)
    );
    assert_eq!(probe.format.mime(), "image/avif");
}

#[test]
fn an_mp4_video_gives_its_size_duration_and_codec() {
    let frames: Vec<Vec<u8>> = (0..12).map(|_| vec![90u8; 32 * 16 * 3]).collect();
    let mp4 = crate::demo::h264::encode_mp4(32, 16, 12, &frames);
    let probe = run(&mp4).expect("mp4");
    assert_eq!(
        (probe.format, probe.width, probe.height),
        (Format::Mp4, 32, 16)
    );
    let ms = probe.duration_ms.expect("duration");
    assert!((990..=1000).contains(&ms), "12 frames at 12 fps: {ms} ms");
    assert_eq!(probe.codec.as_deref(), Some("avc1"));

    // The same file with moov after a large mdat (common for camera files) still probes.
    let ftyp_len = u32::from_be_bytes([mp4[0], mp4[1], mp4[2], mp4[3]]) as usize;
    let mut moved = mp4[..ftyp_len].to_vec();
    moved.extend(bmff_box(b"free", &vec![0u8; 100_000]));
    moved.extend(&mp4[ftyp_len..]);
    assert!(run(&moved).is_ok(), "boxes are skipped by size, not read");

    // QuickTime's brand makes it a MOV.
    let mut mov = mp4.clone();
    mov[8..12].copy_from_slice(b"qt  ");
    assert_eq!(run(&mov).expect("mov").format, Format::Mov);
}

/// A minimal WebM: EBML header, Segment with Info (duration) and one video track.
pub(super) fn webm(doc_type: &str, codec: &str, duration_ms: f64) -> Vec<u8> {
    fn el(id: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        // 8-byte size: 0x01 then 7 bytes.
        out.push(0x01);
        out.extend(&(payload.len() as u64).to_be_bytes()[1..]);
        out.extend(payload);
        out
    }
    let header = el(
        &[0x1A, 0x45, 0xDF, 0xA3],
        &el(&[0x42, 0x82], doc_type.as_bytes()),
    );
    let info = el(
        &[0x15, 0x49, 0xA9, 0x66],
        &[
            el(&[0x2A, 0xD7, 0xB1], &1_000_000u32.to_be_bytes()),
            el(&[0x44, 0x89], &duration_ms.to_be_bytes()),
        ]
        .concat(),
    );
    let video = el(
        &[0xE0],
        &[
            el(&[0xB0], &1280u16.to_be_bytes()),
            el(&[0xBA], &720u16.to_be_bytes()),
        ]
        .concat(),
    );
    let entry = el(
        &[0xAE],
        &[el(&[0x83], &[1]), el(&[0x86], codec.as_bytes()), video].concat(),
    );
    let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &entry);
    let cluster = el(&[0x1F, 0x43, 0xB6, 0x75], &[0u8; 64]);
    let segment = el(&[0x18, 0x53, 0x80, 0x67], &[info, tracks, cluster].concat());
    [header, segment].concat()
}

#[test]
fn a_webm_video_gives_its_size_duration_and_codec() {
    let probe = run(&webm("webm", "V_VP9", 4500.0)).expect("webm");
    assert_eq!(
        (probe.format, probe.width, probe.height, probe.duration_ms),
        (Format::WebM, 1280, 720, Some(4500))
    );
    assert_eq!(probe.codec.as_deref(), Some("V_VP9"));

    let mkv = run(&webm("matroska", "V_VP9", 1000.0)).expect_err("mkv");
    assert_eq!(mkv.status(), 415);
    let theora = run(&webm("webm", "V_THEORA", 1000.0)).expect_err("codec");
    assert!(theora.to_string().contains("V_THEORA"), "{theora}");
}

#[test]
fn videos_longer_than_five_minutes_are_refused() {
    let long = run(&webm("webm", "V_VP9", 6.0 * 60_000.0)).expect_err("too long");
    assert_eq!(long.status(), 422);
    assert!(long.to_string().contains("up to 5 minutes"), "{long}");
}

#[test]
fn a_pixel_bomb_is_refused_from_its_header() {
    // 20,000 × 20,000 = 400 megapixels, announced in 33 bytes.
    let err = run(&super::samples::pixel_bomb_png()).expect_err("bomb");
    assert_eq!(err.status(), 422);
    assert!(err.to_string().contains("400 megapixels"), "{err}");
}

#[test]
fn anything_else_is_refused_by_content_whatever_its_name() {
    let cases: [&[u8]; 7] = [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
        b"<svg onload=alert(1)>",
        b"%PDF-1.7\n",
        b"",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        b"BM\x36\x00\x00\x00",
    ];
    for bytes in cases {
        let err = run(bytes).expect_err("refused");
        assert_eq!(err.status(), 415, "{:?}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn cut_or_damaged_headers_are_422_never_a_panic() {
    let jpeg = encoded(image::ImageFormat::Jpeg, 50, 50);
    let png = encoded(image::ImageFormat::Png, 50, 50);
    let frames: Vec<Vec<u8>> = (0..2).map(|_| vec![0u8; 16 * 16 * 3]).collect();
    let mp4 = crate::demo::h264::encode_mp4(16, 16, 2, &frames);
    // Cut anywhere: refused as damaged, or (when the headers are whole) measured right;
    // never a panic. Damage past the headers shows when the thumbnail is decoded.
    for (name, full, size) in [
        ("jpeg", &jpeg, (50, 50)),
        ("png", &png, (50, 50)),
        ("mp4", &mp4, (16, 16)),
    ] {
        for cut in 0..full.len().min(2_000) {
            match run(&full[..cut]) {
                Ok(probe) => assert_eq!((probe.width, probe.height), size, "{name} cut at {cut}"),
                Err(err) => assert!(
                    [415, 422].contains(&err.status()),
                    "{name} cut at {cut}: {err}"
                ),
            }
        }
        assert!(
            run(&full[..9]).is_err(),
            "{name}: nine bytes are never enough"
        );
    }
    // A box that claims to be larger than the file.
    let mut lying = mp4.clone();
    let ftyp_len = u32::from_be_bytes([mp4[0], mp4[1], mp4[2], mp4[3]]) as usize;
    lying[ftyp_len..ftyp_len + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(run(&lying).expect_err("overrun").status(), 422);
}

#[test]
fn random_bytes_behind_every_magic_number_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let magics: [&[u8]; 8] = [
        b"\x89PNG\r\n\x1a\n",
        &[0xFF, 0xD8, 0xFF],
        b"GIF89a",
        b"RIFF\x00\x00\x00\x00WEBPVP8X",
        &[0x1A, 0x45, 0xDF, 0xA3],
        b"\x00\x00\x00\x14ftypisom\x00\x00\x00\x00isom",
        b"\x00\x00\x00\x14ftypavif\x00\x00\x00\x00avif",
        b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",
    ];
    for magic in magics {
        for _ in 0..500 {
            let len = rng.gen_range(0..400);
            let mut bytes = magic.to_vec();
            bytes.extend((0..len).map(|_| rng.gen::<u8>()));
            if let Err(err) = run(&bytes) {
                assert!([415, 422].contains(&err.status()), "{err}");
            }
        }
    }
}

mod metadata {
    use std::io::{Cursor, Write};

    use super::{chunk, encoded};
    use crate::media::meta::{self, Generation, Lora};

    use crate::media::samples::{A1111_PARAMETERS as A1111, COMFYUI_PROMPT as COMFY};

    fn zlib(text: &str) -> Vec<u8> {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).expect("compress");
        encoder.finish().expect("finish")
    }

    use crate::media::samples::text_chunk as text;

    fn ztxt(keyword: &str, value: &str) -> Vec<u8> {
        chunk(
            b"zTXt",
            &[keyword.as_bytes(), b"\0\0", &zlib(value)].concat(),
        )
    }

    fn itxt(keyword: &str, value: &str, compressed: bool) -> Vec<u8> {
        let body = if compressed {
            zlib(value)
        } else {
            value.as_bytes().to_vec()
        };
        let flag = [u8::from(compressed), 0];
        chunk(
            b"iTXt",
            &[keyword.as_bytes(), b"\0", &flag, b"en\0\0", &body].concat(),
        )
    }

    /// A real PNG (it decodes) with `chunks` inserted after its header.
    fn png_with(chunks: &[Vec<u8>]) -> Vec<u8> {
        let out = crate::media::samples::png_with(64, 64, chunks);
        image::load_from_memory(&out).expect("still a valid PNG");
        out
    }

    fn read(png: &[u8]) -> (Vec<(String, String)>, Option<Generation>) {
        let chunks = meta::png_text(&mut Cursor::new(png)).kept;
        let parsed = meta::parse(&chunks);
        (chunks, parsed)
    }

    /// The raw metadata kept of `chunks`, as JSON.
    fn raw(chunks: &[(String, String)]) -> serde_json::Value {
        let (json, dropped) = meta::raw_json(chunks);
        assert!(dropped.is_empty(), "{dropped:?}");
        serde_json::from_str(&json.expect("something kept")).expect("JSON")
    }

    #[test]
    fn a1111_parameters_give_prompt_negative_settings_and_loras() {
        let (_, generation) = read(&png_with(&[text("parameters", A1111)]));
        let g = generation.expect("understood");
        assert_eq!(g.tool.as_deref(), Some("a1111"));
        assert_eq!(
            g.prompt.as_deref(),
            Some(
                "masterpiece, best quality, 1girl, <lora:add_detail:0.6>, cyberpunk city at night"
            )
        );
        assert_eq!(
            g.negative_prompt.as_deref(),
            Some("lowres, bad anatomy, watermark")
        );
        assert_eq!(g.model.as_deref(), Some("sd_xl_base_1.0"));
        assert_eq!(g.sampler.as_deref(), Some("DPM++ 2M Karras"));
        assert_eq!(
            (g.steps, g.cfg, g.seed),
            (Some(28), Some(7.0), Some(1_234_567_890))
        );
        assert_eq!((g.width, g.height), (Some(832), Some(1216)));
        assert_eq!(
            g.loras,
            [Lora {
                name: "add_detail".into(),
                weight: Some(0.6)
            }]
        );
    }

    #[test]
    fn a1111_in_a_compressed_international_chunk() {
        let (_, generation) = read(&png_with(&[itxt("parameters", A1111, true)]));
        assert_eq!(generation.expect("understood").seed, Some(1_234_567_890));
        let (_, generation) = read(&png_with(&[ztxt(
            "parameters",
            "a red fox\nSteps: 4, Seed: 9",
        )]));
        let g = generation.expect("understood");
        assert_eq!(
            (g.prompt.as_deref(), g.negative_prompt, g.seed),
            (Some("a red fox"), None, Some(9))
        );
    }

    #[test]
    fn comfyui_graphs_are_followed_from_the_sampler() {
        let workflow = r#"{"nodes": [], "links": [], "version": 0.4}"#;
        let (chunks, generation) = read(&png_with(&[
            text("prompt", COMFY),
            itxt("workflow", workflow, false),
        ]));
        let g = generation.expect("understood");
        assert_eq!(g.tool.as_deref(), Some("comfyui"));
        assert_eq!(g.prompt.as_deref(), Some("purple galaxy bottle, landscape"));
        assert_eq!(g.negative_prompt.as_deref(), Some("text, watermark"));
        assert_eq!(g.model.as_deref(), Some("v1-5-pruned-emaonly.safetensors"));
        assert_eq!(
            (g.steps, g.cfg, g.seed),
            (Some(20), Some(8.0), Some(156_680_208_700_286))
        );
        assert_eq!(g.sampler.as_deref(), Some("euler"));
        assert_eq!((g.width, g.height), (Some(512), Some(768)));
        assert_eq!(g.loras[0].name, "epiNoiseoffset_v2.safetensors");
        assert_eq!(g.loras[0].weight, Some(0.75));
        // The raw metadata keeps both chunks, as JSON.
        let raw = raw(&chunks);
        assert!(raw["prompt"]["3"]["inputs"]["seed"].is_u64());
        assert_eq!(raw["workflow"]["version"], 0.4);
    }

    #[test]
    fn invokeai_novelai_and_fooocus() {
        let invoke = r#"{"positive_prompt": "an owl in a library", "negative_prompt": "blurry",
            "model": {"name": "juggernautXL"}, "seed": 42, "steps": 30, "cfg_scale": 6.5,
            "scheduler": "dpmpp_2m", "width": 1024, "height": 1024,
            "loras": [{"model": {"name": "owl_style"}, "weight": 0.5}]}"#;
        let g = read(&png_with(&[text("invokeai_metadata", invoke)]))
            .1
            .expect("invoke");
        assert_eq!(g.tool.as_deref(), Some("invokeai"));
        assert_eq!(
            (g.prompt.as_deref(), g.model.as_deref()),
            (Some("an owl in a library"), Some("juggernautXL"))
        );
        assert_eq!(g.loras[0].name, "owl_style");

        let nai = r#"{"prompt": "1girl, snow", "uc": "lowres", "steps": 28, "scale": 5, "seed": 7, "sampler": "k_euler"}"#;
        let g = read(&png_with(&[
            text("Software", "NovelAI"),
            text("Description", "1girl, snow"),
            text("Comment", nai),
        ]))
        .1
        .expect("novelai");
        assert_eq!(g.tool.as_deref(), Some("novelai"));
        assert_eq!(
            (g.prompt.as_deref(), g.negative_prompt.as_deref()),
            (Some("1girl, snow"), Some("lowres"))
        );
        assert_eq!(g.cfg, Some(5.0));

        let fooocus = r#"{"prompt": "a lighthouse", "negative_prompt": "", "base_model": "juggernautXL_v8",
            "steps": 30, "guidance_scale": 4, "seed": "123", "sampler": "dpmpp_2m_sde_gpu",
            "resolution": "(1152, 896)"}"#;
        let g = read(&png_with(&[text("parameters", fooocus)]))
            .1
            .expect("fooocus");
        assert_eq!(g.tool.as_deref(), Some("fooocus"));
        assert_eq!(
            (g.seed, g.width, g.height),
            (Some(123), Some(1152), Some(896))
        );
        assert_eq!(g.negative_prompt, None, "empty is absent");
    }

    #[test]
    fn unknown_metadata_is_kept_raw_and_not_understood() {
        let (chunks, generation) = read(&png_with(&[
            text("Author", "someone"),
            text("prompt", "{not json"),
        ]));
        assert_eq!(generation, None);
        let raw = raw(&chunks);
        assert_eq!(raw["Author"], "someone");
        assert_eq!(raw["prompt"], "{not json");
        // No text at all: nothing to keep.
        assert!(read(&encoded(image::ImageFormat::Png, 8, 8)).0.is_empty());
    }

    /// A TIFF block whose Exif IFD holds `comment` as the UserComment.
    fn tiff_with_comment(little: bool, comment: &[u8]) -> Vec<u8> {
        let u16b = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u32b = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut t = Vec::new();
        t.extend(if little { b"II" } else { b"MM" });
        t.extend(u16b(42));
        t.extend(u32b(8)); // IFD0 at 8
                           // IFD0: one entry, ExifIFD pointer → 26.
        t.extend(u16b(1));
        t.extend(u16b(0x8769));
        t.extend(u16b(4));
        t.extend(u32b(1));
        t.extend(u32b(26));
        t.extend(u32b(0)); // no next IFD
                           // Exif IFD at 26: UserComment, UNDEFINED, data at 44.
        t.extend(u16b(1));
        t.extend(u16b(0x9286));
        t.extend(u16b(7));
        t.extend(u32b(comment.len() as u32));
        t.extend(u32b(44));
        t.extend(u32b(0));
        assert_eq!(t.len(), 44);
        t.extend(comment);
        t
    }

    fn jpeg_with_app1(payload: &[u8]) -> Vec<u8> {
        let plain = encoded(image::ImageFormat::Jpeg, 32, 32);
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend(((payload.len() + 2) as u16).to_be_bytes());
        out.extend(payload);
        out.extend(&plain[2..]);
        image::load_from_memory(&out).expect("still a valid JPEG");
        out
    }

    #[test]
    fn a1111_jpegs_carry_parameters_in_the_exif_user_comment() {
        // As A1111 writes it (piexif): "UNICODE\0" and UTF-16 big-endian, in a TIFF of
        // either byte order.
        let utf16: Vec<u8> = A1111.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for little in [false, true] {
            let comment = [b"UNICODE\0".as_slice(), &utf16].concat();
            let exif = [b"Exif\0\0".as_slice(), &tiff_with_comment(little, &comment)].concat();
            let jpeg = jpeg_with_app1(&exif);
            let chunks = meta::jpeg_text(&mut Cursor::new(&jpeg)).kept;
            assert_eq!(chunks.len(), 1, "{chunks:?}");
            let g = meta::parse(&chunks).expect("understood");
            assert_eq!(
                (g.tool.as_deref(), g.seed),
                (Some("a1111"), Some(1_234_567_890))
            );
            assert_eq!(
                g.negative_prompt.as_deref(),
                Some("lowres, bad anatomy, watermark")
            );
        }
        // ASCII-coded comments too.
        let comment = [b"ASCII\0\0\0".as_slice(), b"a cat\nSteps: 5, Seed: 3"].concat();
        let exif = [b"Exif\0\0".as_slice(), &tiff_with_comment(false, &comment)].concat();
        let g = meta::parse(&meta::jpeg_text(&mut Cursor::new(&jpeg_with_app1(&exif))).kept)
            .expect("understood");
        assert_eq!((g.prompt.as_deref(), g.seed), (Some("a cat"), Some(3)));
    }

    #[test]
    fn xmp_in_jpeg_and_exif_in_webp_are_kept() {
        let xmp = [
            b"http://ns.adobe.com/xap/1.0/\0".as_slice(),
            b"<x:xmpmeta><rdf:Description dc:creator=\"someone\"/></x:xmpmeta>",
        ]
        .concat();
        let chunks = meta::jpeg_text(&mut Cursor::new(&jpeg_with_app1(&xmp))).kept;
        assert_eq!(chunks[0].0, "XMP");
        assert!(chunks[0].1.contains("dc:creator"));
        assert_eq!(meta::parse(&chunks), None, "kept, not understood");

        let comment = [b"ASCII\0\0\0".as_slice(), b"a fox\nSteps: 9, Seed: 11"].concat();
        let exif = tiff_with_comment(true, &comment);
        let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
        let mut vp8l = vec![0x2F];
        vp8l.extend((3u32 | (3 << 14)).to_le_bytes());
        for (kind, body) in [(b"VP8L", vp8l.as_slice()), (b"EXIF", exif.as_slice())] {
            webp.extend(kind);
            webp.extend((body.len() as u32).to_le_bytes());
            webp.extend(body);
            if body.len() % 2 == 1 {
                webp.push(0);
            }
        }
        let chunks = meta::webp_text(&mut Cursor::new(&webp)).kept;
        let g = meta::parse(&chunks).expect("understood");
        assert_eq!((g.prompt.as_deref(), g.seed), (Some("a fox"), Some(11)));
    }

    #[test]
    fn a_zip_bomb_in_a_text_chunk_is_left_out_and_named() {
        // 64 MiB of text in about 64 KiB: inflating stops at the limit.
        let huge = "a".repeat(64 * 1024 * 1024);
        let png = png_with(&[ztxt("workflow", &huge), text("parameters", A1111)]);
        assert!(png.len() < 128 * 1024, "{} bytes", png.len());
        let texts = meta::png_text(&mut Cursor::new(&png));
        assert_eq!(
            texts.dropped,
            [meta::Dropped::TooLong {
                key: "workflow".into()
            }]
        );
        assert_eq!(texts.kept.len(), 1, "the other text is kept");
        let kept = crate::media::kept::Kept::from_texts(&texts);
        assert_eq!(
            kept.generation.and_then(|g| g.seed),
            Some(1_234_567_890),
            "and understood"
        );
        let note = kept.dropped.expect("said so");
        assert!(
            note.contains("“workflow” (over the 256 KiB one text may take)"),
            "{note}"
        );
    }

    #[test]
    fn texts_up_to_the_limits_are_kept_whole_and_the_total_is_bounded() {
        // A large real workflow (about 200 KB) is kept whole.
        let workflow = format!(
            "{{\"nodes\": [{}]}}",
            vec![r#"{"id": 1, "type": "KSampler", "widgets_values": [1, 20, 8]}"#; 3000].join(", ")
        );
        assert!(workflow.len() > 150_000 && workflow.len() < meta::MAX_TEXT);
        let (chunks, _) = read(&png_with(&[
            text("prompt", COMFY),
            itxt("workflow", &workflow, true),
        ]));
        assert_eq!(chunks[1].1, workflow);
        assert_eq!(
            raw(&chunks)["workflow"]["nodes"].as_array().map(Vec::len),
            Some(3000)
        );

        // Three texts just under the per-text limit: the third would pass the total.
        let big = "b".repeat(meta::MAX_TEXT - 100);
        let (chunks, _) = read(&png_with(&[
            text("one", &big),
            ztxt("two", &big),
            itxt("three", &big, true),
        ]));
        assert_eq!(chunks.len(), 3);
        let (json, dropped) = meta::raw_json(&chunks);
        let json = json.expect("kept");
        assert!(json.len() <= meta::MAX_RAW, "{} bytes", json.len());
        assert!(matches!(
            dropped.as_slice(),
            [meta::Dropped::OverTotal { key, .. }] if key == "three"
        ));
    }
}

mod thumbnails {
    use std::io::Cursor;

    use super::encoded;
    use crate::media::probe::Format;
    use crate::media::thumbs::{fit, thumbnails, SIZES};

    #[test]
    fn sizes_keep_the_aspect_and_never_enlarge() {
        assert_eq!(fit(4000, 3000, 512), (512, 384));
        assert_eq!(fit(3000, 4000, 512), (384, 512));
        assert_eq!(fit(400, 300, 512), (400, 300), "never enlarged");
        assert_eq!(fit(10_000, 10, 512), (512, 1), "at least one pixel");
    }

    fn decoded(jpeg: &[u8]) -> image::DynamicImage {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).expect("a JPEG")
    }

    #[test]
    fn a_large_jpeg_becomes_two_jpeg_thumbnails() {
        let photo = encoded(image::ImageFormat::Jpeg, 2400, 1600);
        let thumbs = thumbnails(&mut Cursor::new(&photo), Format::Jpeg, &SIZES).expect("thumbs");
        let sizes: Vec<(u32, u32, u32)> =
            thumbs.iter().map(|t| (t.size, t.width, t.height)).collect();
        assert_eq!(sizes, [(512, 512, 341), (1024, 1024, 683)]);
        for thumb in &thumbs {
            let image = decoded(&thumb.jpeg);
            assert_eq!((image.width(), image.height()), (thumb.width, thumb.height));
        }
    }

    #[test]
    fn png_webp_and_gif_use_their_first_frame_and_small_images_stay_small() {
        for format in [
            image::ImageFormat::Png,
            image::ImageFormat::WebP,
            image::ImageFormat::Gif,
        ] {
            let bytes = encoded(format, 900, 300);
            let probe_format = match format {
                image::ImageFormat::Png => Format::Png,
                image::ImageFormat::WebP => Format::WebP,
                _ => Format::Gif,
            };
            let thumbs =
                thumbnails(&mut Cursor::new(&bytes), probe_format, &SIZES).expect("thumbs");
            assert_eq!(
                (thumbs[0].width, thumbs[0].height),
                (512, 171),
                "{format:?}"
            );
            assert_eq!(
                (thumbs[1].width, thumbs[1].height),
                (900, 300),
                "{format:?}: not enlarged"
            );
        }
    }

    #[test]
    fn a_phone_photo_is_turned_upright() {
        // A landscape-stored JPEG whose EXIF says "rotate 90°" (orientation 6).
        let plain = encoded(image::ImageFormat::Jpeg, 800, 600);
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend(1u16.to_be_bytes());
        tiff.extend(0x0112u16.to_be_bytes());
        tiff.extend(3u16.to_be_bytes());
        tiff.extend(1u32.to_be_bytes());
        tiff.extend(6u16.to_be_bytes());
        tiff.extend([0, 0]);
        tiff.extend(0u32.to_be_bytes());
        let exif = [b"Exif\0\0".as_slice(), &tiff].concat();
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1];
        jpeg.extend(((exif.len() + 2) as u16).to_be_bytes());
        jpeg.extend(&exif);
        jpeg.extend(&plain[2..]);
        let thumbs = thumbnails(&mut Cursor::new(&jpeg), Format::Jpeg, &[512]).expect("thumbs");
        assert_eq!(
            (thumbs[0].width, thumbs[0].height),
            (384, 512),
            "portrait after rotation"
        );
    }

    #[test]
    fn a_damaged_image_is_an_error_not_a_panic() {
        let mut photo = encoded(image::ImageFormat::Jpeg, 640, 480);
        photo.truncate(photo.len() / 2);
        // A cut JPEG still decodes partly (grey bottom) or fails; either way, no panic.
        let _ = thumbnails(&mut Cursor::new(&photo), Format::Jpeg, &SIZES);
        let garbage = b"\x89PNG\r\n\x1a\nnot really".to_vec();
        assert!(thumbnails(&mut Cursor::new(&garbage), Format::Png, &SIZES).is_err());
    }
}
