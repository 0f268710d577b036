//! The HTTP surface as a client sees it: the JSON API, the pages, static and stored files.
//! Each story runs on SQLite and on Postgres.

mod common;

use std::collections::HashSet;

use atelier_server::{
    demo::{self, SeedOptions},
    http::{router, Security, ServerState},
    net::TrustedProxies,
    storage::FileStore,
};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use common::{send, Reply, TestDb};

async fn get(app: &Router, uri: &str, headers: &[(header::HeaderName, &str)]) -> Reply {
    let mut req = Request::get(uri);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    send(app, req.body(Body::empty()).expect("request")).await
}

async fn seeded_app(db: &TestDb, count: u64, with_files: bool) -> Router {
    let files = FileStore::open(db.dir.path()).expect("file store");
    demo::seed(
        db.store.as_ref(),
        with_files.then_some(&files),
        &SeedOptions { count, seed: 11 },
    )
    .await
    .expect("seed");
    router(ServerState::new(db.store.clone(), files))
}

async fn the_api_pages_through_every_asset_once(db: &TestDb) {
    let app = seeded_app(db, 30, false).await;

    let first = get(&app, "/api/assets", &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first
        .header(header::CONTENT_TYPE)
        .starts_with("application/json"));
    let page = first.json();
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 24, "the default page size");
    let item = items[0].as_object().expect("object");
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    for key in [
        "created_at",
        "id",
        "media_type",
        "model",
        "owner",
        "prompt",
        "tags",
        "thumb_url",
        "title",
    ] {
        assert!(keys.contains(&key), "missing {key} in {keys:?}");
    }
    assert!(["image", "video"].contains(&item["media_type"].as_str().expect("str")));
    assert!(item["tags"].is_array());
    let created = item["created_at"].as_str().expect("created_at");
    assert!(created.ends_with('Z'), "RFC 3339 UTC: {created}");
    chrono::DateTime::parse_from_rfc3339(created).expect("RFC 3339");
    let id = item["id"].as_str().expect("id");
    assert!(app::ids::is_public_id(id), "opaque id: {id}");

    // Following next_cursor with limit=7 visits all 30, newest first, none twice.
    let mut ids = Vec::new();
    let mut times = Vec::new();
    let mut uri = "/api/assets?limit=7".to_string();
    loop {
        let page = get(&app, &uri, &[]).await.json();
        for item in page["items"].as_array().expect("items") {
            ids.push(item["id"].as_str().expect("id").to_string());
            times.push(item["created_at"].as_str().expect("time").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/assets?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 30);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 30);
    let parsed: Vec<_> = times
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("time"))
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // Bad parameters are a 400 with a message that says what is wrong.
    for (uri, needle) in [
        ("/api/assets?limit=0", "from 1 to 100"),
        ("/api/assets?limit=101", "from 1 to 100"),
        ("/api/assets?limit=lots", "from 1 to 100"),
        ("/api/assets?cursor=bm9wZQ", "cursor"),
    ] {
        let reply = get(&app, uri, &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        let body = reply.json();
        assert_eq!(body["error"], "bad_request", "{uri}");
        assert!(
            body["message"].as_str().expect("message").contains(needle),
            "{uri}: {body}"
        );
    }

    // One asset by id; an unknown id is a 404 with a JSON error.
    let one = get(&app, &format!("/api/asset?id={id}"), &[]).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["id"], id);
    let missing = get(&app, "/api/asset?id=Zzzzzzzzzzzz", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"], "not_found");
}

async fn pages_render_on_the_server_and_link_to_the_next_page(db: &TestDb) {
    let app = seeded_app(db, 30, false).await;
    let api = get(&app, "/api/assets", &[]).await.json();
    let titles: Vec<&str> = api["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().expect("title"))
        .collect();
    let next = api["next_cursor"].as_str().expect("a second page");

    let home = get(&app, "/", &[]).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.header(header::CONTENT_TYPE).starts_with("text/html"));
    let html = home.text();
    for title in &titles {
        assert!(html.contains(title), "home page lacks {title}");
    }
    assert!(
        html.contains(&format!("href=\"/?cursor={next}\"")),
        "a plain next-page link"
    );

    let second = get(&app, &format!("/?cursor={next}"), &[]).await.text();
    let page2 = get(&app, &format!("/api/assets?cursor={next}"), &[])
        .await
        .json();
    let first_of_page2 = page2["items"][0]["title"].as_str().expect("title");
    assert!(second.contains(first_of_page2));

    let id = api["items"][0]["id"].as_str().expect("id");
    let prompt = api["items"][0]["prompt"].as_str().expect("prompt");
    let detail = get(&app, &format!("/a/{id}"), &[]).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.text().contains(prompt));

    assert_eq!(
        get(&app, "/a/Zzzzzzzzzzzz", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/no/such/page", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let health = get(&app, "/healthz", &[]).await;
    assert_eq!(
        (health.status, health.text().trim()),
        (StatusCode::OK, "ok")
    );
}

/// The id and media address of the first video among a listing's `items`.
async fn first_video(app: &Router, items: &[serde_json::Value]) -> (String, String) {
    let video = items
        .iter()
        .find(|i| i["media_type"] == "video")
        .expect("the demo has a video in every dozen assets");
    let id = video["id"].as_str().expect("id");
    let detail = get(app, &format!("/api/asset?id={id}"), &[]).await.json();
    let url = detail["media_url"].as_str().expect("video file");
    (id.to_string(), url.to_string())
}

async fn static_and_stored_files_are_served_with_caching(db: &TestDb) {
    let app = seeded_app(db, 12, true).await;

    // Embedded public files: content type, strong ETag, revalidation.
    let robots = get(&app, "/robots.txt", &[]).await;
    assert_eq!(robots.status, StatusCode::OK);
    assert!(robots
        .header(header::CONTENT_TYPE)
        .starts_with("text/plain"));
    assert!(robots.text().contains("User-agent"));
    let etag = robots.header(header::ETAG).to_string();
    assert!(etag.starts_with('"'));
    let again = get(&app, "/robots.txt", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let icon = get(&app, "/favicon.svg", &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(icon.header(header::CONTENT_TYPE), "image/svg+xml");

    // Stored media by content hash, cached forever; videos answer range requests.
    let page = get(&app, "/api/assets?limit=100", &[]).await.json();
    let items = page["items"].as_array().expect("items");
    let thumb = items[0]["thumb_url"]
        .as_str()
        .expect("demo assets have files");
    let image = get(&app, thumb, &[]).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.header(header::CONTENT_TYPE), "image/jpeg");
    assert!(image.header(header::CACHE_CONTROL).contains("immutable"));
    assert_eq!(&image.body[..2], &[0xFF, 0xD8], "a real JPEG");

    let (id, url) = first_video(&app, items).await;
    assert!(
        url.starts_with(&format!("/media/{id}/original?v=")),
        "{url}"
    );
    let head = get(&app, &url, &[(header::RANGE, "bytes=0-15")]).await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.header(header::CONTENT_TYPE), "video/mp4");
    assert_eq!(&head.body[4..8], b"ftyp");

    for bad in [
        "/media/nothex/original",
        "/media/..%2F..%2Fatelier.db/original",
        &format!("/media/{id}/exe"),
        "/media/Zzzzzzzzzzzz/original",
        &format!("/files/{}.jpg", "0".repeat(64)),
    ] {
        assert_eq!(
            get(&app, bad, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

async fn browsers_get_guard_rails(db: &TestDb) {
    let app = seeded_app(db, 3, false).await;

    // Pages name this response's nonce in their CSP, and only the scripts carrying it run.
    let home = get(&app, "/", &[]).await;
    let csp = home.header(header::CONTENT_SECURITY_POLICY).to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the CSP");
    assert!(nonce.len() >= 16, "{csp}");
    for directive in [
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    let html = home.text();
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + html
                .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                .count(),
        scripts,
        "every script carries the nonce: {html}"
    );
    let again = get(&app, "/", &[]).await;
    assert_ne!(
        again.header(header::CONTENT_SECURITY_POLICY),
        csp,
        "a fresh nonce per response"
    );
    for reply in [&home, &get(&app, "/api/assets", &[]).await] {
        assert_eq!(reply.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(
            reply.header(header::REFERRER_POLICY),
            "strict-origin-when-cross-origin"
        );
    }

    // Another site's page cannot make the browser change anything here.
    let post = |headers: &[(&str, &str)], body: Vec<u8>| {
        let mut req = Request::post("/api/assets")
            .header(header::HOST, "atelier.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .expect("request")
    };
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", "https://evil.example")],
    ] {
        let refused = send(&app, post(&headers, b"limit=1".to_vec())).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(refused.json()["error"], "forbidden");
    }
    let own = send(
        &app,
        post(&[("origin", "http://atelier.test")], b"limit=1".to_vec()),
    )
    .await;
    assert_ne!(own.status, StatusCode::FORBIDDEN);

    // Bodies are capped.
    let huge = send(
        &app,
        post(&[("sec-fetch-site", "same-origin")], vec![b'a'; 200 * 1024]),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// Every page of `/api/assets?{query}`, followed to the end.
async fn all_of(app: &Router, query: &str) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    let mut uri = format!("/api/assets?limit=100&{query}");
    loop {
        let reply = get(app, &uri, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
        let page = reply.json();
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/assets?limit=100&{query}&cursor={cursor}"),
            None => return items,
        }
    }
}

fn ids(items: &[serde_json::Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect()
}

fn has_tag(item: &serde_json::Value, tag: &str) -> bool {
    item["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .any(|t| t == tag)
}

async fn visitors_filter_and_search_by_url(db: &TestDb) {
    let app = seeded_app(db, 60, false).await;
    let everything = all_of(&app, "").await;
    assert_eq!(everything.len(), 60);
    let first = &everything[0];

    // Type, as a field or in the search text, gives the same videos.
    let videos: Vec<&serde_json::Value> = everything
        .iter()
        .filter(|i| i["media_type"] == "video")
        .collect();
    assert!(!videos.is_empty() && videos.len() < 60);
    let by_field = all_of(&app, "type=video").await;
    assert_eq!(by_field.len(), videos.len());
    assert!(by_field.iter().all(|i| i["media_type"] == "video"));
    assert_eq!(ids(&all_of(&app, "q=type%3Avideo").await), ids(&by_field));

    // A tag in, another out; the tag and type together.
    let tag = first["tags"][0].as_str().expect("a tag");
    let tagged = all_of(&app, &format!("tags={tag}")).await;
    let expected: Vec<&str> = everything
        .iter()
        .filter(|i| has_tag(i, tag))
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids(&tagged), expected);
    let without = all_of(&app, &format!("q=-tag%3A{tag}")).await;
    assert_eq!(without.len() + tagged.len(), 60);
    assert!(without.iter().all(|i| !has_tag(i, tag)));
    let both = all_of(&app, &format!("q=tag%3A{tag}+type%3Aimage")).await;
    assert!(both
        .iter()
        .all(|i| has_tag(i, tag) && i["media_type"] == "image"));

    // The facets count the same matches.
    let facets = get(&app, "/api/facets", &[]).await;
    assert_eq!(facets.status, StatusCode::OK);
    let facets = facets.json();
    assert_eq!(
        (facets["counted"].as_u64(), facets["more"].as_bool()),
        (Some(60), Some(false))
    );
    let counted = |list: &serde_json::Value, value: &str| {
        list.as_array()
            .expect("a list")
            .iter()
            .find(|f| f["value"] == value)
            .and_then(|f| f["count"].as_u64())
    };
    assert_eq!(
        counted(&facets["types"], "video"),
        Some(videos.len() as u64)
    );
    let tag_facets = facets["tags"].as_array().expect("tags");
    assert!(!tag_facets.is_empty());
    for facet in tag_facets {
        let name = facet["value"].as_str().expect("tag");
        let with = everything.iter().filter(|i| has_tag(i, name)).count();
        assert_eq!(facet["count"].as_u64(), Some(with as u64), "#{name}");
    }
    let video_facets = get(&app, "/api/facets?q=type%3Avideo&sort=oldest", &[])
        .await
        .json();
    assert_eq!(video_facets["counted"].as_u64(), Some(videos.len() as u64));
    let bad = get(&app, "/api/facets?type=gif", &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Words of the title find it; every result has them in its title or prompt.
    let word = first["title"]
        .as_str()
        .expect("title")
        .split_whitespace()
        .last()
        .expect("a word")
        .to_lowercase();
    let found = all_of(&app, &format!("q={word}")).await;
    assert!(ids(&found).contains(&first["id"].as_str().expect("id")));
    for item in &found {
        let text = format!("{} {}", item["title"], item["prompt"]).to_lowercase();
        assert!(text.contains(&word), "{word} not in {text}");
    }

    // One owner's assets, and their profile counts the same.
    let owner = first["owner"].as_str().expect("owner");
    let theirs = all_of(&app, &format!("owner={owner}")).await;
    assert!(theirs.iter().all(|i| i["owner"] == owner));
    let profile = get(&app, &format!("/api/profile?username={owner}"), &[]).await;
    assert_eq!(profile.status, StatusCode::OK);
    let profile = profile.json();
    let counted =
        profile["images"].as_u64().expect("images") + profile["videos"].as_u64().expect("videos");
    assert_eq!(counted as usize, theirs.len());
    assert_eq!(
        profile["private"],
        serde_json::Value::Null,
        "not their own profile"
    );
    assert_eq!(
        get(&app, "/api/profile?username=nobody_here", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Dates are inclusive days; the oldest-first order is the newest-first one reversed.
    let day = &first["created_at"].as_str().expect("time")[..10];
    let that_day = all_of(&app, &format!("from={day}&to={day}")).await;
    assert!(that_day
        .iter()
        .all(|i| i["created_at"].as_str().expect("time").starts_with(day)));
    assert!(ids(&that_day).contains(&first["id"].as_str().expect("id")));
    let mut oldest = ids(&all_of(&app, "sort=oldest").await)
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    oldest.reverse();
    assert_eq!(oldest, ids(&everything));

    // Mistakes are a 400 that names them.
    let newest_cursor = get(&app, "/api/assets?limit=5", &[]).await.json()["next_cursor"]
        .as_str()
        .expect("more")
        .to_string();
    for (query, needle) in [
        ("type=gif".to_string(), "type: is image or video, not “gif”"),
        ("from=yesterday".to_string(), "“yesterday” is not a date"),
        ("q=colour%3Ared".to_string(), "unknown search key “colour:”"),
        (
            "q=type%3Avideo&type=image".to_string(),
            "type: is given twice",
        ),
        (
            "sort=best".to_string(),
            "sort is newest, oldest, relevant, liked, viewed, featured or curated",
        ),
        ("sort=relevant&type=video".to_string(), "needs words"),
        ("from=2026-05-01&to=2026-04-01".to_string(), "later than"),
        (
            format!("sort=oldest&cursor={newest_cursor}"),
            "start again without it",
        ),
    ] {
        let reply = get(&app, &format!("/api/assets?{query}"), &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let message = reply.json()["message"]
            .as_str()
            .expect("message")
            .to_string();
        assert!(message.contains(needle), "{query}: {message}");
    }

    // The pages read the same URL without JavaScript: the form shows the filter, only
    // matching cards are listed, and the next-page link keeps the filter.
    let page = get(&app, "/?type=video", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("data-media-type=\"video\""));
    assert!(!html.contains("data-media-type=\"image\""));
    assert!(
        html.contains("<option value=\"video\" selected"),
        "the form shows the filter"
    );
    let page = get(&app, "/?type=image&limit=5", &[]).await.text();
    assert!(
        page.contains("href=\"/?type=image&amp;cursor="),
        "next page keeps the filter"
    );

    let tag_page = get(&app, &format!("/t/{tag}"), &[]).await;
    assert_eq!(tag_page.status, StatusCode::OK);
    let html = tag_page.text();
    assert!(html.contains(&format!("#<!-- -->{tag}")) || html.contains(&format!("#{tag}")));
    for item in tagged.iter().take(5) {
        assert!(html.contains(item["id"].as_str().expect("id")));
    }

    let profile_page = get(&app, &format!("/u/{owner}"), &[]).await;
    assert_eq!(profile_page.status, StatusCode::OK);
    let html = profile_page.text();
    assert!(html.contains("member since"));
    assert!(html.contains(theirs[0]["id"].as_str().expect("id")));
    assert_eq!(
        get(&app, "/u/nobody_here", &[]).await.status,
        StatusCode::NOT_FOUND
    );

    let mistake = get(&app, "/?q=colour%3Ared", &[]).await;
    assert_eq!(mistake.status, StatusCode::BAD_REQUEST);
    let html = mistake.text();
    assert!(
        html.contains("unknown search key “colour:”"),
        "the message is on the page"
    );
    assert!(html.contains("name=\"q\""), "with the form to fix it");
}

async fn https_deployments_get_hsts_and_huge_searches_are_refused_at_once(db: &TestDb) {
    use axum::extract::connect_info::MockConnectInfo;
    let files = FileStore::open(db.dir.path()).expect("file store");
    let security = Security {
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.1".parse().expect("range")]),
        ..Security::default()
    };
    let state = ServerState::with_security(db.store.clone(), files, security);
    let behind_proxy = router(state.clone()).layer(MockConnectInfo(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        40_000,
    ))));
    let direct = router(state).layer(MockConnectInfo(std::net::SocketAddr::from((
        [198, 51, 100, 4],
        40_000,
    ))));
    let proto = header::HeaderName::from_static("x-forwarded-proto");
    let https = [(proto.clone(), "https")];
    let sts = header::STRICT_TRANSPORT_SECURITY;

    // The proxy says the browser spoke HTTPS: browsers are told to keep to it.
    let secure = get(&behind_proxy, "/", &https).await;
    assert_eq!(secure.header(sts.clone()), "max-age=31536000");
    assert_eq!(
        get(&behind_proxy, "/api/assets", &https)
            .await
            .header(sts.clone()),
        "max-age=31536000"
    );
    // Plain HTTP, or a client's own claim, gets none.
    assert_eq!(get(&behind_proxy, "/", &[]).await.header(sts.clone()), "");
    assert_eq!(get(&direct, "/", &https).await.header(sts), "");

    // Two thousand tags in one 12 KB URL: refused before anything reads them. (Past 64 KB
    // hyper itself answers 414.)
    let names: Vec<String> = (0..2_000).map(|n| format!("t{n}")).collect();
    let bomb = get(
        &direct,
        &format!("/api/assets?tags={}", names.join(",")),
        &[],
    )
    .await;
    assert_eq!(bomb.status, StatusCode::BAD_REQUEST, "{}", bomb.text());
    assert!(
        bomb.text().contains("at most 8192 are accepted"),
        "{}",
        bomb.text()
    );
    // Within the URL limit but over the tag count.
    let many = get(
        &direct,
        &format!("/api/assets?tags={}", names[..21].join(",")),
        &[],
    )
    .await;
    assert_eq!(many.status, StatusCode::BAD_REQUEST, "{}", many.text());
    assert!(many.text().contains("include up to 20"), "{}", many.text());
    let facets = get(
        &direct,
        &format!("/api/facets?exclude_tags={}", names[..21].join(",")),
        &[],
    )
    .await;
    assert_eq!(facets.status, StatusCode::BAD_REQUEST, "{}", facets.text());
    // Twenty are fine.
    let twenty = get(
        &direct,
        &format!("/api/assets?tags={}", names[..20].join(",")),
        &[],
    )
    .await;
    assert_eq!(twenty.status, StatusCode::OK, "{}", twenty.text());
}

/// A body as it was before brotli.
fn unbrotli(body: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::new();
    brotli::Decompressor::new(body, 4096)
        .read_to_string(&mut out)
        .expect("a brotli stream of UTF-8");
    out
}

/// A body as it was before gzip.
fn ungzip(body: &[u8]) -> String {
    use std::io::Read;
    let mut out = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut out)
        .expect("a gzip stream of UTF-8");
    out
}

/// A phone on a slow network: pages and JSON come compressed in what the browser takes,
/// media and byte ranges as they are, and a client that takes nothing gets plain bodies.
async fn phones_get_pages_and_json_compressed_and_media_as_it_is(db: &TestDb) {
    let app = seeded_app(db, 12, true).await;
    let chromium = [(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd")];

    // The gallery page: brotli, a third of its size or less, the same page once decoded.
    let plain = get(&app, "/", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    let packed = get(&app, "/", &chromium).await;
    assert_eq!(packed.status, StatusCode::OK);
    assert_eq!(packed.header(header::CONTENT_ENCODING), "br");
    assert!(packed
        .header(header::VARY)
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    let page = unbrotli(&packed.body);
    assert!(
        page.contains("</html>"),
        "a whole page: {} bytes",
        page.len()
    );
    assert!(
        packed.body.len() * 3 <= page.len(),
        "{} bytes for a page of {}",
        packed.body.len(),
        page.len()
    );
    // The same page but for its per-response nonce.
    assert!(
        page.len().abs_diff(plain.body.len()) < 64,
        "{} against {}",
        page.len(),
        plain.body.len()
    );

    // The listing's JSON, in gzip for a client that only takes gzip: the same JSON.
    let json = get(&app, "/api/assets?limit=12", &[]).await;
    let gzipped = get(
        &app,
        "/api/assets?limit=12",
        &[(header::ACCEPT_ENCODING, "gzip")],
    )
    .await;
    assert_eq!(gzipped.header(header::CONTENT_ENCODING), "gzip");
    let listing: serde_json::Value = serde_json::from_str(&ungzip(&gzipped.body)).expect("JSON");
    assert_eq!(listing, json.json());
    assert!(gzipped.body.len() < json.body.len());

    // Media is compressed already: never again, even when asked, and ranges stay ranges.
    let items = listing["items"].as_array().expect("items");
    let thumb = items[0]["thumb_url"].as_str().expect("a thumbnail");
    let image = get(&app, thumb, &chromium).await;
    assert_eq!(image.status, StatusCode::OK);
    assert!(image.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(&image.body[..2], &[0xFF, 0xD8], "a real JPEG");
    let (_, url) = first_video(&app, items).await;
    let mut ranged = chromium.to_vec();
    ranged.push((header::RANGE, "bytes=0-15"));
    let head = get(&app, &url, &ranged).await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert!(head.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(&head.body[4..8], b"ftyp");

    // A short answer is not worth it.
    let health = get(&app, "/healthz", &chromium).await;
    assert!(health.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(health.text().trim(), "ok");
}

on_both_backends!(
    phones_get_pages_and_json_compressed_and_media_as_it_is,
    https_deployments_get_hsts_and_huge_searches_are_refused_at_once,
    visitors_filter_and_search_by_url,
    browsers_get_guard_rails,
    the_api_pages_through_every_asset_once,
    pages_render_on_the_server_and_link_to_the_next_page,
    static_and_stored_files_are_served_with_caching,
);
