//! Protections every request passes through: no cross-site writes to the API (CSRF), a cap
//! on request bodies, and headers that keep browsers from guessing or leaking.

use app::error::ApiError;
use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::Response,
};

use super::error::error_response;

/// Largest request body any endpoint accepts (the upload endpoints stream under their own,
/// counted limits).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refuses state-changing `/api/` requests that a browser says come from another site:
/// `Sec-Fetch-Site: cross-site`, or, from browsers that do not send it, an `Origin` that
/// is not this host. Requests with neither header (curl, scripts) are not from a browser
/// page, so there is no user to forge for.
pub async fn refuse_cross_site_writes(req: Request, next: Next) -> Response {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && req.uri().path().starts_with("/api/") && is_cross_site(&req) {
        let refusal =
            ApiError::Forbidden("requests from other sites cannot change anything here".into());
        return error_response(&refusal, None);
    }
    next.run(req).await
}

fn is_cross_site(req: &Request) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes().eq_ignore_ascii_case(b"cross-site");
    }
    match headers.get(header::ORIGIN) {
        None => false,
        Some(origin) => !is_own_origin(origin, headers, req.uri().authority().map(|a| a.as_str())),
    }
}

fn is_own_origin(origin: &HeaderValue, headers: &HeaderMap, authority: Option<&str>) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else {
        return false;
    };
    // `Origin: null` (sandboxed frames, file: pages) has no "://" and is never ours.
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
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
    fn only_other_sites_are_refused() {
        assert!(is_cross_site(&request(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_cross_site(&request(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!is_cross_site(&request(&[("sec-fetch-site", "none")])));
        assert!(is_cross_site(&request(&[(
            "origin",
            "https://evil.example"
        )])));
        assert!(is_cross_site(&request(&[("origin", "null")])));
        assert!(!is_cross_site(&request(&[(
            "origin",
            "http://atelier.example:3000"
        )])));
        assert!(!is_cross_site(&request(&[])), "no browser, no forgery");
    }
}
