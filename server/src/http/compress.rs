//! Compressing what the server writes on the fly: pages, JSON, CSV and other text, with
//! brotli or gzip as the client accepts (brotli at quality 4, gzip at its default).
//! Media is never compressed here (pictures and videos are compressed already), nor is a
//! byte range of anything, nor a response that already has an encoding (the embedded front
//! end carries its own brotli and gzip variants, made at build time).
//!
//! Bodies that depend on who asks hold no secret an attacker could guess a byte at a time
//! (BREACH): sessions travel only in cookies, share tokens are stored hashed and shown once
//! to the person who made them, and the cross-site guard checks headers, not tokens in pages.

use axum::http::{header, Response};
use tower_http::compression::{
    predicate::{Predicate, SizeAbove},
    CompressionLayer,
};

/// Bodies shorter than this go out as they are: compressing them saves less than the
/// encoding's own overhead and the time.
pub const MIN_COMPRESSED_BYTES: u16 = 1024;

/// The media types worth compressing: text, JSON, the manifest and SVG.
#[derive(Clone, Copy, Debug, Default)]
pub struct Textual;

impl Predicate for Textual {
    fn should_compress<B>(&self, response: &Response<B>) -> bool
    where
        B: http_body::Body,
    {
        let Some(kind) = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
        else {
            return false;
        };
        let kind = kind.split(';').next().unwrap_or_default().trim();
        kind.get(..5)
            .is_some_and(|top| top.eq_ignore_ascii_case("text/"))
            || [
                "application/json",
                "application/manifest+json",
                "image/svg+xml",
            ]
            .iter()
            .any(|textual| kind.eq_ignore_ascii_case(textual))
    }
}

/// The layer: brotli and gzip, for textual bodies of at least [`MIN_COMPRESSED_BYTES`].
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(Textual.and(SizeAbove::new(MIN_COMPRESSED_BYTES)))
}
