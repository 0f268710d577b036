//! Thumbnail speed: a 12-megapixel JPEG to a 512 px thumbnail, atelier's way (scaled DCT
//! decode, area averaging) against the image crate's full decode and Lanczos3 resize, in
//! the same run. Prints the figures and writes them to target/bench/thumbnail.txt.
//! Run with `make bench` (or `cargo bench -p server --bench thumbnail`).

use std::io::Cursor;
use std::time::{Duration, Instant};

use atelier_server::media::{probe::Format, thumbs};

const RUNS: usize = 7;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(mut f: impl FnMut()) -> Duration {
    f(); // warm up
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    // A photo-like 4000 × 3000 picture: gradients and texture, so the JPEG is realistic.
    let photo = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 23;
        image::Rgb([
            ((x / 16) % 256) as u8,
            ((y / 12) % 256) as u8,
            (((x + y) / 28) % 256) as u8 ^ n as u8,
        ])
    });
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&photo)
        .expect("encode");
    let jpeg = jpeg.into_inner();

    let ours = time(|| {
        let thumbs =
            thumbs::thumbnails(&mut Cursor::new(&jpeg), Format::Jpeg, &[512]).expect("thumbnail");
        assert_eq!((thumbs[0].width, thumbs[0].height), (512, 384));
    });
    let lanczos = time(|| {
        let image =
            image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).expect("decode");
        let small = image::imageops::resize(
            &image.to_rgb8(),
            512,
            384,
            image::imageops::FilterType::Lanczos3,
        );
        assert_eq!(small.width(), 512);
    });

    let speedup = lanczos.as_secs_f64() / ours.as_secs_f64();
    let report = format!(
        "thumbnail: 12 MP JPEG ({} KiB) -> 512 px, median of {RUNS}\n\
         atelier (scaled decode + area average + JPEG encode): {:.1} ms (goal <= 150 ms)\n\
         image crate (full decode + Lanczos3 resize, no encode): {:.1} ms\n\
         speed-up: {speedup:.1}x (goal >= 5x)\n",
        jpeg.len() / 1024,
        ours.as_secs_f64() * 1000.0,
        lanczos.as_secs_f64() * 1000.0,
    );
    print!("{report}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("thumbnail.txt"), &report);
    }
}
