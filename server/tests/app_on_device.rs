//! atelier installed on a phone: the manifest the browser installs it from (icons as
//! declared, shortcuts that lead somewhere), the service worker with this build's files
//! listed for offline use, the offline page, `/me`, and the media caching the worker
//! relies on to tell what it may keep for everyone from what is one person's alone.
//! Each story runs on SQLite and on Postgres.

mod common;

use std::collections::HashSet;

use atelier_server::media::samples;
use axum::http::{header, StatusCode};
use common::{member, serving, Browser, TestDb, FIREFOX};

/// Width and height of a picture the manifest names.
fn picture_size(bytes: &[u8]) -> (u32, u32) {
    let picture = image::load_from_memory(bytes).expect("a picture");
    (picture.width(), picture.height())
}

/// The JSON array or string a `const NAME = …;` line of the worker holds.
fn worker_const(worker: &str, name: &str) -> serde_json::Value {
    let line = worker
        .lines()
        .find_map(|line| line.strip_prefix(&format!("const {name} = ")))
        .unwrap_or_else(|| panic!("the worker defines {name}"));
    serde_json::from_str(line.trim_end_matches(';'))
        .unwrap_or_else(|e| panic!("{name} is JSON ({e}): {line}"))
}

/// The `/pkg/` files a page loads (its script, WASM and stylesheet).
fn pkg_links(html: &str) -> HashSet<String> {
    html.split('"')
        .filter(|part| part.starts_with("/pkg/"))
        .map(str::to_string)
        .collect()
}

async fn a_phone_installs_atelier_from_its_manifest(db: &TestDb) {
    let state = serving(db, 64 * 1024).await;
    let mut phone = Browser::new(&state, [192, 0, 2, 7], FIREFOX);

    let manifest = phone.get("/manifest.webmanifest").await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(
        manifest.header(header::CONTENT_TYPE),
        "application/manifest+json"
    );
    let manifest = manifest.json();
    assert_eq!(manifest["id"], "/");
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["scope"], "/");
    assert_eq!(manifest["display"], "standalone");
    assert!(manifest["name"].as_str().is_some_and(|n| !n.is_empty()));

    // Every icon and screenshot is there, of the type and size it claims; there are
    // maskable icons of 192 and 512 pixels, and screenshots for phones and desktops.
    let mut maskable = Vec::new();
    let mut form_factors = Vec::new();
    let pictures = manifest["icons"]
        .as_array()
        .expect("icons")
        .iter()
        .chain(manifest["screenshots"].as_array().expect("screenshots"));
    for picture in pictures {
        let src = picture["src"].as_str().expect("src");
        let file = phone.get(src).await;
        assert_eq!(file.status, StatusCode::OK, "{src}");
        assert_eq!(file.header(header::CONTENT_TYPE), picture["type"], "{src}");
        if picture["type"] == "image/svg+xml" {
            continue;
        }
        let (w, h) = picture_size(&file.body);
        assert_eq!(picture["sizes"], format!("{w}x{h}"), "{src}");
        if picture["purpose"] == "maskable" {
            maskable.push(w);
        }
        if let Some(form) = picture["form_factor"].as_str() {
            form_factors.push(form);
        }
    }
    maskable.sort_unstable();
    assert_eq!(maskable, [192, 512]);
    form_factors.sort_unstable();
    assert_eq!(form_factors, ["narrow", "wide"]);

    // The shortcuts: Upload, and one's profile through /me (which asks a visitor to log in
    // first and then comes back).
    let shortcuts: Vec<&str> = manifest["shortcuts"]
        .as_array()
        .expect("shortcuts")
        .iter()
        .map(|s| s["url"].as_str().expect("url"))
        .collect();
    assert_eq!(shortcuts, ["/upload", "/me"]);
    let upload = phone.get("/upload").await;
    assert_eq!(upload.status, StatusCode::FOUND);
    assert_eq!(upload.header(header::LOCATION), "/login?next=/upload");
    let visitor = phone.get("/me").await;
    assert_eq!(visitor.status, StatusCode::SEE_OTHER);
    assert_eq!(visitor.header(header::LOCATION), "/login?next=%2Fme");
    assert!(visitor.header(header::CACHE_CONTROL).contains("no-store"));
    let mut mira = member(&state, "mira", 8).await;
    let hers = mira.get("/me").await;
    assert_eq!(hers.status, StatusCode::SEE_OTHER);
    assert_eq!(hers.header(header::LOCATION), "/u/mira");
    // Another app shares images and videos to /share-target as a multipart POST. The
    // service worker takes it on the device; if none did, the server says the files were
    // lost rather than refusing a cross-site post (it changes nothing).
    let target = &manifest["share_target"];
    assert_eq!(target["action"], "/share-target");
    assert_eq!(target["method"], "POST");
    assert_eq!(target["enctype"], "multipart/form-data");
    let accepted: Vec<&str> = target["params"]["files"][0]["accept"]
        .as_array()
        .expect("accept")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    for kind in ["image/png", "image/jpeg", "video/mp4"] {
        assert!(accepted.contains(&kind), "{kind} in {accepted:?}");
    }
    assert_eq!(target["params"]["files"][0]["name"], "files");
    // (A share is large: no body limit stands between it and this answer.)
    let picture = vec![7u8; 256 * 1024];
    let (boundary, body) = common::multipart(&[("file", &picture)]);
    let unreceived = phone
        .send(
            axum::http::Request::post("/share-target")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header(header::ORIGIN, "null")
                .header("sec-fetch-site", "cross-site"),
            String::from_utf8_lossy(&body).into_owned(),
        )
        .await;
    assert_eq!(
        unreceived.status,
        StatusCode::SEE_OTHER,
        "{}",
        unreceived.text()
    );
    assert_eq!(unreceived.header(header::LOCATION), "/upload?shared=lost");

    // Logging in from the shortcut's detour lands on /me again (and so on her profile).
    let mut again = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    let login = again
        .submit(
            "/login?next=%2Fme",
            "/api/login",
            &[
                ("username", "mira"),
                ("password", common::PASSWORD),
                ("next", "/me"),
            ],
        )
        .await;
    assert_eq!(login.header(header::LOCATION), "/me", "{}", login.text());
    assert_eq!(again.get("/me").await.header(header::LOCATION), "/u/mira");
}

async fn the_service_worker_keeps_this_build_for_offline_use(db: &TestDb) {
    let state = serving(db, 64 * 1024).await;
    let mut phone = Browser::new(&state, [192, 0, 2, 7], FIREFOX);

    let worker = phone.get("/sw.js").await;
    assert_eq!(worker.status, StatusCode::OK);
    assert!(worker
        .header(header::CONTENT_TYPE)
        .starts_with("text/javascript"));
    // Always asked again, so a new build is found at once; never cached for a year.
    let control = worker.header(header::CACHE_CONTROL);
    assert!(
        control.contains("no-cache") && !control.contains("immutable"),
        "{control}"
    );
    let worker = worker.text();
    let version = worker_const(&worker, "VERSION");
    let version = version.as_str().expect("a string");
    assert!(
        version.len() == 16 && version.bytes().all(|b| b.is_ascii_hexdigit()),
        "named after the build: {version}"
    );
    let precache: Vec<String> =
        serde_json::from_value(worker_const(&worker, "PRECACHE")).expect("a list of addresses");

    // Everything it keeps is there to fetch.
    for address in &precache {
        let file = phone.get(address).await;
        assert_eq!(file.status, StatusCode::OK, "{address}");
    }
    // The offline page and what a page loads from this build are kept.
    let kept: HashSet<&str> = precache.iter().map(String::as_str).collect();
    for needed in ["/offline.html", "/offline.js", "/manifest.webmanifest"] {
        assert!(kept.contains(needed), "{needed} in {precache:?}");
    }
    let page = phone.get("/").await.text();
    for file in pkg_links(&page) {
        assert!(kept.contains(file.as_str()), "{file} in {precache:?}");
    }
    // Pages and the API depend on who asks: never kept.
    assert!(
        precache
            .iter()
            .all(|a| a.starts_with("/pkg/") || a.contains('.')),
        "only files: {precache:?}"
    );

    // The offline page links this build's stylesheet and its script.
    let offline = phone.get("/offline.html").await;
    assert!(offline
        .header(header::CONTENT_TYPE)
        .starts_with("text/html"));
    let offline = offline.text();
    assert!(offline.contains("<script src=\"/offline.js\""), "{offline}");
    for file in pkg_links(&page).iter().filter(|f| f.ends_with(".css")) {
        assert!(
            offline.contains(file.as_str()),
            "{file} linked from the offline page"
        );
    }
    let script = phone.get("/offline.js").await;
    assert!(script
        .header(header::CONTENT_TYPE)
        .starts_with("text/javascript"));
}

/// Publishes a picture through the upload form with `visibility`; its id once processed.
async fn publish(who: &mut Browser, visibility: &str, seed: u32) -> String {
    let png = samples::a1111_png(300 + seed, 64);
    let reply = common::post_multipart(
        who,
        "/api/upload/form",
        &[("visibility", visibility.as_bytes()), ("file", &png)],
        true,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let id = reply.header(header::LOCATION)["/a/".len()..].to_string();
    common::processed(who, &id).await;
    id
}

async fn media_says_whether_it_is_everyones_or_one_persons(db: &TestDb) {
    let state = serving(db, 64 * 1024).await;
    let mut mira = member(&state, "mira", 8).await;
    let shown = publish(&mut mira, "public", 1).await;
    let unlisted = publish(&mut mira, "unlisted", 2).await;
    let mine = publish(&mut mira, "private", 3).await;
    // The worker keeps `public, … immutable` stills for everyone on the device, and
    // `private, … immutable` ones only until the person logged in changes.
    for (id, kind) in [(shown, "public"), (unlisted, "public"), (mine, "private")] {
        let detail = mira.get(&format!("/api/asset?id={id}")).await.json();
        for still in ["thumb_url", "preview_url"] {
            let address = detail[still].as_str().expect("a still").to_string();
            let reply = mira.get(&address).await;
            assert_eq!(reply.status, StatusCode::OK, "{address}");
            let control = reply.header(header::CACHE_CONTROL);
            assert!(
                control.starts_with(kind) && control.contains("immutable"),
                "{id} {still}: {control}"
            );
        }
    }
}

on_both_backends!(
    a_phone_installs_atelier_from_its_manifest,
    the_service_worker_keeps_this_build_for_offline_use,
    media_says_whether_it_is_everyones_or_one_persons,
);
