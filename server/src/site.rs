//! The front end embedded in the binary (see `build.rs`): served from memory with the
//! best encoding the client accepts, strong ETags, and immutable caching for hashed names.

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::Response,
};

pub struct EmbeddedFile {
    /// URL path, e.g. `/pkg/atelier.Hx3….js` or `/robots.txt`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// Quoted strong ETag (content hash).
    pub etag: &'static str,
    /// Hashed names under `/pkg/` never change content: cache them for a year.
    pub immutable: bool,
    pub identity: &'static [u8],
    pub br: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/site_files.rs"));

/// URLs of the hashed front-end files, for the HTML shell.
pub fn assets() -> app::shell::SiteAssets {
    app::shell::SiteAssets {
        js: JS_URL,
        wasm: WASM_URL,
        css: CSS_URL,
    }
}

pub fn find(path: &str) -> Option<&'static EmbeddedFile> {
    FILES.iter().find(|f| f.path == path)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Picks brotli, then gzip, then identity, honouring `q=0` refusals.
fn negotiate(headers: &HeaderMap, file: &EmbeddedFile) -> Encoding {
    let accept = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let accepts = |name: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if file.br.is_some() && accepts("br") {
        Encoding::Brotli
    } else if file.gzip.is_some() && accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// Serves an embedded file, or `None` when no file has this path.
pub fn respond(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    let file = find(path)?;
    if method != Method::GET && method != Method::HEAD {
        return Some(status_only(StatusCode::METHOD_NOT_ALLOWED));
    }
    let encoding = negotiate(headers, file);
    let (body, content_encoding) = match encoding {
        Encoding::Brotli => (file.br.unwrap_or(file.identity), Some("br")),
        Encoding::Gzip => (file.gzip.unwrap_or(file.identity), Some("gzip")),
        Encoding::Identity => (file.identity, None),
    };
    let cache = if file.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, file.content_type)
        .header(header::ETAG, file.etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::VARY, "accept-encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if let Some(coding) = content_encoding {
        builder = builder.header(header::CONTENT_ENCODING, coding);
    }
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == file.etag || tag.trim() == "*")
        });
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        builder = builder.header(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if method == Method::HEAD {
            builder.body(Body::empty())
        } else {
            builder.body(Body::from(body))
        }
    };
    Some(response.unwrap_or_else(|_| status_only(StatusCode::INTERNAL_SERVER_ERROR)))
}

fn status_only(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> EmbeddedFile {
        EmbeddedFile {
            path: "/x.js",
            content_type: "text/javascript",
            etag: "\"abc\"",
            immutable: true,
            identity: b"plain",
            br: Some(b"br"),
            gzip: Some(b"gz"),
        }
    }

    fn with(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).expect("ascii"),
        );
        h
    }

    #[test]
    fn best_accepted_encoding_wins() {
        let f = file();
        assert_eq!(negotiate(&with("gzip, deflate, br"), &f), Encoding::Brotli);
        assert_eq!(negotiate(&with("gzip"), &f), Encoding::Gzip);
        assert_eq!(negotiate(&with("br;q=0, gzip"), &f), Encoding::Gzip);
        assert_eq!(negotiate(&with("identity"), &f), Encoding::Identity);
        assert_eq!(negotiate(&HeaderMap::new(), &f), Encoding::Identity);
    }
}
