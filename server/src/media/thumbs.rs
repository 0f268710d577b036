//! Thumbnails: JPEG stills that keep the aspect ratio, at 512 px for the gallery and
//! 1024 px for the asset page (never larger than the original). A JPEG is scaled down while
//! it is decoded (the DCT allows 1/2, 1/4 and 1/8), so a 12-megapixel photo is never
//! decoded at full size; other formats are decoded whole (their pixel count was checked by
//! the probe) and use their first frame. The camera's EXIF orientation is applied.

use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};

use image::{imageops, DynamicImage, GrayImage, RgbImage};

use super::probe::Format;

/// Long side of the gallery thumbnail and of the asset page's still.
pub const SIZES: [u32; 2] = [512, 1024];
/// JPEG quality of thumbnails.
const QUALITY: u8 = 82;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    #[error("this image cannot be decoded: {0}")]
    Decode(String),
    #[error("thumbnails are not made for {0} files here")]
    Unsupported(&'static str),
}

/// One encoded thumbnail.
#[derive(Clone, Debug)]
pub struct Thumb {
    /// The long side it was made for (one of [`SIZES`]).
    pub size: u32,
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// Makes a thumbnail for each of `sizes` (long side), from an image file already
/// recognised as `format`. Sizes at or above the original's keep the original size.
pub fn thumbnails<R: Read + Seek>(
    file: &mut R,
    format: Format,
    sizes: &[u32],
) -> Result<Vec<Thumb>, ThumbError> {
    let largest = sizes.iter().copied().max().unwrap_or(512);
    let (image, orientation) = match format {
        Format::Jpeg => {
            let orientation = super::meta::jpeg_orientation(file);
            (decode_jpeg_scaled(file, largest)?, orientation)
        }
        Format::Png | Format::Gif | Format::WebP => {
            let image_format = match format {
                Format::Png => image::ImageFormat::Png,
                Format::Gif => image::ImageFormat::Gif,
                _ => image::ImageFormat::WebP,
            };
            file.seek(SeekFrom::Start(0))
                .map_err(|e| ThumbError::Decode(e.to_string()))?;
            let mut reader = image::ImageReader::new(BufReader::new(file));
            reader.set_format(image_format);
            // The probe has already refused more than 100 megapixels; let image check
            // its own allocation limits too.
            (
                reader
                    .decode()
                    .map_err(|e| ThumbError::Decode(e.to_string()))?,
                None,
            )
        }
        Format::Avif => return Err(ThumbError::Unsupported("AVIF")),
        Format::Mp4 | Format::Mov | Format::WebM => return Err(ThumbError::Unsupported("video")),
    };
    let image = orient(image, orientation.unwrap_or(1));
    let mut out = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let (width, height) = fit(image.width(), image.height(), size);
        let resized = if (width, height) == (image.width(), image.height()) {
            image.to_rgb8()
        } else {
            // Area averaging: fast, and sharp enough for a thumbnail.
            imageops::thumbnail(&image.to_rgb8(), width, height)
        };
        out.push(Thumb {
            size,
            width,
            height,
            jpeg: encode_jpeg(&resized)?,
        });
    }
    Ok(out)
}

/// The size that fits `(width, height)` into a `size` × `size` box, aspect kept, never
/// enlarged, at least one pixel a side.
pub fn fit(width: u32, height: u32, size: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= size {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        u32::try_from((u64::from(side) * u64::from(size) + u64::from(long) / 2) / u64::from(long))
            .unwrap_or(1)
            .max(1)
    };
    (scale(width), scale(height))
}

fn decode_jpeg_scaled<R: Read + Seek>(
    file: &mut R,
    target: u32,
) -> Result<DynamicImage, ThumbError> {
    let bad = |e: jpeg_decoder::Error| ThumbError::Decode(e.to_string());
    file.seek(SeekFrom::Start(0))
        .map_err(|e| ThumbError::Decode(e.to_string()))?;
    let mut decoder = jpeg_decoder::Decoder::new(BufReader::new(file));
    decoder.read_info().map_err(bad)?;
    let info = decoder
        .info()
        .ok_or_else(|| ThumbError::Decode("no frame header".into()))?;
    // Ask for at least the target on the long side; the decoder picks the smallest DCT
    // scale that gives it.
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let long = w.max(h).max(1);
    let want = |side: u32| {
        u16::try_from((u64::from(side) * u64::from(target)).div_ceil(u64::from(long)))
            .unwrap_or(u16::MAX)
            .max(1)
    };
    let (sw, sh) = decoder.scale(want(w), want(h)).map_err(bad)?;
    let pixels = decoder.decode().map_err(bad)?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let format = decoder
        .info()
        .map(|i| i.pixel_format)
        .ok_or_else(|| ThumbError::Decode("no pixel format".into()))?;
    let short = || ThumbError::Decode("fewer pixels than the header promised".into());
    Ok(match format {
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(sw, sh, pixels).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(sw, sh, pixels).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let gray: Vec<u8> = pixels.chunks_exact(2).map(|p| p[0]).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(sw, sh, gray).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Adobe JPEGs store CMYK inverted; this is the usual approximation.
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(sw, sh, rgb).ok_or_else(short)?)
        }
    })
}

/// Turns the image upright as EXIF orientation `o` (1–8) says.
fn orient(image: DynamicImage, o: u16) -> DynamicImage {
    match o {
        2 => image.fliph(),
        3 => image.rotate180(),
        4 => image.flipv(),
        5 => image.rotate90().fliph(),
        6 => image.rotate90(),
        7 => image.rotate270().fliph(),
        8 => image.rotate270(),
        _ => image,
    }
}

fn encode_jpeg(image: &RgbImage) -> Result<Vec<u8>, ThumbError> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(image)
        .map_err(|e| ThumbError::Decode(e.to_string()))?;
    Ok(out.into_inner())
}
