//! Protections every request passes through: no cross-site writes to the API (CSRF), caps
//! on request URLs and bodies, and headers that keep browsers from guessing or leaking.

use app::error::ApiError;
use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::Response,
};

use super::error::error_response;
use crate::net::Https;

/// Largest request body any endpoint accepts (the upload endpoints stream under their own,
/// counted limits).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest request target (path and query) accepted: a search URL with every filter at its
/// limit is about 3 KiB.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses a request whose URL is over [`MAX_URI_BYTES`] with `400`, before any handler
/// reads it.
pub async fn refuse_long_urls(req: Request, next: Next) -> Response {
    let len = req
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if len > MAX_URI_BYTES {
        let refusal = ApiError::BadRequest(format!(
            "this address is {len} bytes long; at most {MAX_URI_BYTES} are accepted"
        ));
        return error_response(&refusal, None);
    }
    next.run(req).await
}

/// Refuses state-changing `/api/` requests that a browser does not say come from this very
/// origin: with `Sec-Fetch-Site`, only `same-origin` passes (and `none`, a navigation the
/// person started themselves, such as a bookmark); `same-site` (a sibling subdomain, which
/// may be someone else's) and `cross-site` do not. Browsers too old to send it are judged
/// by `Origin`, which must be this origin exactly, scheme included. Requests with neither
/// header (curl, scripts) are not from a browser page, so there is no user to forge for.
pub async fn refuse_cross_site_writes(req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && req.uri().path().starts_with("/api/") && !is_same_origin(&req) {
        let refusal =
            ApiError::Forbidden("requests from other sites cannot change anything here".into());
        return error_response(&refusal, None);
    }
    next.run(req).await
}

fn is_same_origin(req: &Request) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.as_bytes();
        let navigation = headers
            .get("sec-fetch-mode")
            .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"navigate"));
        return site.eq_ignore_ascii_case(b"same-origin")
            || (navigation && site.eq_ignore_ascii_case(b"none"));
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let https = req.extensions().get::<Https>().is_some_and(|h| h.0);
            is_own_origin(
                origin,
                headers,
                req.uri().authority().map(|a| a.as_str()),
                https,
            )
        }
    }
}

/// `Origin` is `http://host` (or `https://host` when the request came over HTTPS), with
/// the `Host` this request was sent to.
fn is_own_origin(
    origin: &HeaderValue,
    headers: &HeaderMap,
    authority: Option<&str>,
    https: bool,
) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else {
        return false;
    };
    let scheme = if https { "https" } else { "http" };
    // `Origin: null` (sandboxed frames, file: pages) has no "://" and is never ours.
    origin
        .split_once("://")
        .is_some_and(|(their_scheme, rest)| {
            their_scheme.eq_ignore_ascii_case(scheme) && rest.eq_ignore_ascii_case(host)
        })
}

/// How long browsers remember to use only HTTPS for this host (a year).
pub const HSTS_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// `Strict-Transport-Security` on every answer to a request that came over HTTPS (as a
/// trusted proxy says), so browsers never try plain HTTP for this host again.
pub async fn strict_transport(req: Request, next: Next) -> Response {
    let https = req.extensions().get::<Https>().is_some_and(|h| h.0);
    let mut response = next.run(req).await;
    if https {
        if let Ok(value) = HeaderValue::from_str(&format!("max-age={HSTS_MAX_AGE_SECS}")) {
            response
                .headers_mut()
                .entry(header::STRICT_TRANSPORT_SECURITY)
                .or_insert(value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::post("/api/x").header("host", "atelier.example:3000");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).expect("request")
    }

    #[test]
    fn only_this_origin_may_write() {
        assert!(!is_same_origin(&request(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(!is_same_origin(&request(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(is_same_origin(&request(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        // `none` is a navigation the person started; a script's request never says that.
        assert!(is_same_origin(&request(&[
            ("sec-fetch-site", "none"),
            ("sec-fetch-mode", "navigate")
        ])));
        assert!(!is_same_origin(&request(&[
            ("sec-fetch-site", "none"),
            ("sec-fetch-mode", "cors")
        ])));
        assert!(!is_same_origin(&request(&[(
            "origin",
            "https://evil.example"
        )])));
        assert!(!is_same_origin(&request(&[("origin", "null")])));
        assert!(is_same_origin(&request(&[(
            "origin",
            "http://atelier.example:3000"
        )])));
        // The scheme is part of the origin: a page on plain HTTP is not the HTTPS site.
        assert!(!is_same_origin(&request(&[(
            "origin",
            "https://atelier.example:3000"
        )])));
        let mut over_https = request(&[("origin", "https://atelier.example:3000")]);
        over_https.extensions_mut().insert(Https(true));
        assert!(is_same_origin(&over_https));
        let mut downgraded = request(&[("origin", "http://atelier.example:3000")]);
        downgraded.extensions_mut().insert(Https(true));
        assert!(!is_same_origin(&downgraded));
        assert!(is_same_origin(&request(&[])), "no browser, no forgery");
    }
}
