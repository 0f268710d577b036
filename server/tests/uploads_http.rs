//! Uploads as people and scripts make them over HTTP: a ComfyUI PNG sent in chunks over a
//! connection that drops, a phone video, the form without JavaScript; and every bad input
//! the server must refuse with its own status while leaving nothing behind. Each story runs
//! on SQLite and on Postgres.

mod common;

use std::{path::PathBuf, time::Duration};

use atelier_server::{http::ServerState, media::samples};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use bytes::Bytes;
use common::{
    member, multipart, post_multipart, processed, stills_bytes, Browser, Reply, TestDb, FIREFOX,
};
use sha2::{Digest, Sha256};

/// Small chunks, so a few kilobytes make a many-chunk upload.
const CHUNK: u64 = 1024;

async fn state(db: &TestDb) -> ServerState {
    common::serving(db, CHUNK).await
}

async fn start(browser: &mut Browser, filename: &str, size: usize, sha256: Option<&str>) -> Reply {
    let size = size.to_string();
    let mut form = vec![("filename", filename), ("size", size.as_str())];
    if let Some(sha) = sha256 {
        form.push(("sha256", sha));
    }
    browser.post("/api/upload/start", &form).await
}

async fn send_chunk(browser: &mut Browser, upload_id: &str, offset: u64, data: &[u8]) -> Reply {
    let offset = offset.to_string();
    post_multipart(
        browser,
        "/api/upload/chunk",
        &[
            ("upload_id", upload_id.as_bytes()),
            ("offset", offset.as_bytes()),
            ("data", data),
        ],
        false,
    )
    .await
}

/// Starts an upload and sends every chunk; returns the upload id and the last reply.
async fn upload_bytes(browser: &mut Browser, filename: &str, bytes: &[u8]) -> (String, Reply) {
    let started = start(browser, filename, bytes.len(), None).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let ticket = started.json();
    let id = ticket["upload_id"].as_str().expect("upload id").to_string();
    assert_eq!(ticket["chunk_size"], CHUNK);
    assert_eq!(ticket["received"], 0);
    let mut offset = 0u64;
    let mut last = None;
    for piece in bytes.chunks(CHUNK as usize) {
        let reply = send_chunk(browser, &id, offset, piece).await;
        if reply.status != StatusCode::OK {
            return (id, reply);
        }
        offset = reply.json()["received"].as_u64().expect("received");
        last = Some(reply);
    }
    (id, last.expect("at least one chunk"))
}

async fn finish(browser: &mut Browser, upload_id: &str, form: &[(&str, &str)]) -> Reply {
    let mut fields = vec![("upload_id", upload_id)];
    fields.extend_from_slice(form);
    browser.post("/api/upload/finish", &fields).await
}

/// Uploads and finishes `bytes`; returns the new asset's id.
async fn publish(
    browser: &mut Browser,
    filename: &str,
    bytes: &[u8],
    form: &[(&str, &str)],
) -> String {
    let (id, last) = upload_bytes(browser, filename, bytes).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    assert_eq!(last.json()["complete"], true);
    let done = finish(browser, &id, form).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    done.json()["asset_id"]
        .as_str()
        .expect("asset id")
        .to_string()
}

fn stored_with_extension(db: &TestDb, ext: &str) -> Vec<PathBuf> {
    common::files_under(&db.dir.path().join("files"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

fn temp_files(db: &TestDb) -> Vec<PathBuf> {
    common::files_under(&db.dir.path().join("tmp"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn a_creator_uploads_a_comfyui_png_and_finds_the_prompt_filled_in(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;

    let limits = alice.get("/api/upload/limits").await.json();
    assert_eq!(limits["quota_bytes"], 2u64 << 30);
    assert_eq!(limits["used_bytes"], 0);
    assert_eq!(limits["max_image_bytes"], 50u64 << 20);

    let png = samples::comfyui_png(600, 400);
    assert!(png.len() > 3 * CHUNK as usize, "several chunks");
    let sha = sha256_hex(&png);
    let started = start(&mut alice, "ComfyUI_00042_.png", png.len(), Some(&sha)).await;
    let id = started.json()["upload_id"]
        .as_str()
        .expect("id")
        .to_string();

    // Progress: the status follows the bytes, and tells nothing about the file until all are in.
    let first = send_chunk(&mut alice, &id, 0, &png[..CHUNK as usize]).await;
    assert_eq!(first.json()["received"], CHUNK);
    assert_eq!(first.json()["complete"], false);
    let midway = alice
        .get(&format!("/api/upload/status?upload_id={id}"))
        .await;
    assert_eq!(midway.header(header::CACHE_CONTROL), "no-store");
    let midway = midway.json();
    assert_eq!(
        (midway["received"].as_u64(), midway["complete"].as_bool()),
        (Some(CHUNK), Some(false))
    );
    assert!(midway["metadata"].is_null());

    let mut offset = CHUNK;
    for piece in png[CHUNK as usize..].chunks(CHUNK as usize) {
        let reply = send_chunk(&mut alice, &id, offset, piece).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        offset = reply.json()["received"].as_u64().expect("received");
    }
    let status = alice
        .get(&format!("/api/upload/status?upload_id={id}"))
        .await
        .json();
    assert_eq!(status["complete"], true);
    assert_eq!(status["media_type"], "image");
    assert_eq!(status["mime_type"], "image/png");
    assert_eq!(
        (status["width"].as_u64(), status["height"].as_u64()),
        (Some(600), Some(400))
    );
    assert_eq!(status["raw_metadata_present"], true);
    let metadata = &status["metadata"];
    assert_eq!(metadata["tool"], "comfyui");
    assert_eq!(metadata["prompt"], "purple galaxy bottle, landscape");
    assert_eq!(metadata["negative_prompt"], "text, watermark");
    assert_eq!(metadata["model"], "v1-5-pruned-emaonly.safetensors");
    assert_eq!(metadata["seed"], 156_680_208_700_286u64);

    // The form is left empty where the file already says it: the file's values are used.
    let done = finish(
        &mut alice,
        &id,
        &[("title", ""), ("tags", "Galaxy, bottle ,galaxy")],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let asset_id = done.json()["asset_id"].as_str().expect("asset").to_string();
    assert_eq!(done.json()["url"], format!("/a/{asset_id}"));
    assert!(
        temp_files(db).is_empty(),
        "the temp file is gone once stored"
    );

    let asset = processed(&mut alice, &asset_id).await;
    assert_eq!(asset["job"]["state"], "done", "{asset}");
    assert_eq!(asset["job"]["progress"], 100);
    assert_eq!(asset["title"], "ComfyUI 00042");
    assert_eq!(asset["prompt"], "purple galaxy bottle, landscape");
    assert_eq!(asset["negative_prompt"], "text, watermark");
    assert_eq!(asset["model"], "v1-5-pruned-emaonly.safetensors");
    assert_eq!(asset["tags"], serde_json::json!(["bottle", "galaxy"]));
    assert_eq!(asset["visibility"], "public");
    assert_eq!(asset["original_filename"], "ComfyUI_00042_.png");
    assert_eq!(asset["generation"]["steps"], 20);
    assert_eq!(
        asset["generation"]["loras"][0]["name"],
        "epiNoiseoffset_v2.safetensors"
    );
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(600), Some(400))
    );

    // The original comes back byte for byte, typed by our sniffing, cacheable forever.
    let url = asset["media_url"].as_str().expect("original");
    let original = alice.get(url).await;
    assert_eq!(original.status, StatusCode::OK);
    assert_eq!(original.body, png);
    assert_eq!(original.header(header::CONTENT_TYPE), "image/png");
    assert_eq!(original.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    // Only this site's pages may embed it.
    assert_eq!(
        original.header(header::HeaderName::from_static(
            "cross-origin-resource-policy"
        )),
        "same-origin"
    );
    assert_eq!(
        original.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(original.header(header::ETAG), format!("\"{sha}\""));
    assert!(
        original
            .header(header::CONTENT_DISPOSITION)
            .contains("filename=\"ComfyUI_00042_.png\""),
        "{}",
        original.header(header::CONTENT_DISPOSITION)
    );
    let again = alice
        .send(
            Request::get(url).header(header::IF_NONE_MATCH, format!("\"{sha}\"")),
            String::new(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // Thumbnails keep the aspect ratio: 512 and 600 px wide (never enlarged past 1024).
    for (key, width, height) in [("thumb_url", 512, 341), ("preview_url", 600, 400)] {
        let url = asset[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {asset}"));
        let still = alice.get(url).await;
        assert_eq!(still.status, StatusCode::OK, "{url}");
        assert_eq!(still.header(header::CONTENT_TYPE), "image/jpeg");
        let decoded = image::load_from_memory(&still.body).expect("a real JPEG");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (width, height),
            "{key}"
        );
    }

    // And it is in the gallery, with its thumbnail.
    let gallery = alice.get("/api/assets").await.json();
    assert_eq!(gallery["items"][0]["id"], asset_id.as_str());
    assert_eq!(gallery["items"][0]["thumb_url"], asset["thumb_url"]);
    // Her quota is charged the file, the metadata kept with it and the stills.
    let used = alice.get("/api/upload/limits").await.json()["used_bytes"].as_u64();
    assert!(common::charged(&png) > png.len() as u64);
    let stills = stills_bytes(db, &asset_id).await;
    assert!(stills > 0);
    assert_eq!(used, Some(common::charged(&png) + stills));
}

/// A body that delivers `bytes` and fails, as a dropped connection does, once the server
/// has written more than `written` bytes of the upload `temp` (what arrived before a cut
/// is what the server got; here the cut waits until it has got some).
fn cut_body(bytes: Vec<u8>, temp: PathBuf, written: u64) -> Body {
    use futures::StreamExt;
    let parts: Vec<Option<Bytes>> = vec![Some(Bytes::from(bytes)), None];
    Body::from_stream(futures::stream::iter(parts).then(move |part| {
        let temp = temp.clone();
        async move {
            match part {
                Some(bytes) => Ok(bytes),
                None => {
                    for _ in 0..500 {
                        let len = std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0);
                        if len > written {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "connection reset by peer",
                    ))
                }
            }
        }
    }))
}

async fn a_dropped_connection_resumes_from_the_servers_offset(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let png = samples::a1111_png(300, 200);
    let started = start(&mut alice, "forge.png", png.len(), None).await.json();
    let id = started["upload_id"].as_str().expect("id").to_string();

    // Chunk 1 arrives whole; chunk 2 is cut halfway through its data.
    let one = send_chunk(&mut alice, &id, 0, &png[..1024]).await;
    assert_eq!(one.json()["received"], 1024);
    let (boundary, body) = multipart(&[
        ("upload_id", id.as_bytes()),
        ("offset", b"1024"),
        ("data", &png[1024..2048]),
    ]);
    let data_at = body
        .windows(1024)
        .position(|w| w == &png[1024..2048])
        .expect("the data in the body");
    let cut_at = data_at + 512;
    let reply = alice
        .send_body(
            Request::post("/api/upload/chunk")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("sec-fetch-site", "same-origin"),
            cut_body(
                body[..cut_at].to_vec(),
                db.dir.path().join(format!("tmp/upload-{id}")),
                1024,
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let kept = reply.json()["received"]
        .as_u64()
        .unwrap_or_else(|| panic!("the server says what it kept: {}", reply.text()));
    assert!(kept > 1024 && kept <= 1536, "kept what arrived: {kept}");

    // The client asks where to continue (as after a reload), and a stale offset is refused
    // with the right one.
    let status = alice
        .get(&format!("/api/upload/status?upload_id={id}"))
        .await
        .json();
    assert_eq!(status["received"], kept);
    let stale = send_chunk(&mut alice, &id, 1024, &png[1024..2048]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["received"], kept);

    let mut offset = kept;
    while offset < png.len() as u64 {
        let end = (offset + CHUNK).min(png.len() as u64);
        let reply = send_chunk(&mut alice, &id, offset, &png[offset as usize..end as usize]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        offset = reply.json()["received"].as_u64().expect("received");
    }
    let status = alice
        .get(&format!("/api/upload/status?upload_id={id}"))
        .await
        .json();
    assert_eq!(status["complete"], true);
    assert_eq!(status["metadata"]["tool"], "a1111");
    let done = finish(&mut alice, &id, &[("prompt", "my own words")]).await;
    let asset_id = done.json()["asset_id"].as_str().expect("asset").to_string();
    let asset = processed(&mut alice, &asset_id).await;
    assert_eq!(
        asset["prompt"], "my own words",
        "what the person typed wins"
    );
    assert_eq!(
        asset["model"], "sd_xl_base_1.0",
        "the file fills what they left empty"
    );
    let original = alice.get(asset["media_url"].as_str().expect("url")).await;
    assert_eq!(
        sha256_hex(&original.body),
        sha256_hex(&png),
        "the resumed file is intact"
    );
}

async fn a_server_restart_mid_upload_resumes_from_what_was_synced(db: &TestDb) {
    let before = state(db).await;
    let mut alice = member(&before, "alice", 1).await;
    let png = samples::png_with(
        200,
        120,
        &[
            samples::text_chunk("parameters", samples::A1111_PARAMETERS),
            samples::text_chunk("workflow", &"{}".repeat(3000)),
        ],
    );
    assert!(png.len() > 4 * CHUNK as usize);
    let ticket = start(&mut alice, "restart.png", png.len(), None)
        .await
        .json();
    let id = ticket["upload_id"].as_str().expect("id").to_string();
    for (n, piece) in png.chunks(CHUNK as usize).take(2).enumerate() {
        let reply = send_chunk(&mut alice, &id, n as u64 * CHUNK, piece).await;
        assert_eq!(reply.json()["received"], (n as u64 + 1) * CHUNK);
    }

    // A new server process over the same data: only synced bytes count (the temp file is
    // synced every 64 MiB, at the end and after a cut; these 2 KiB were not), so the upload
    // goes on from the last synced receipt and the file is cut back to it.
    let after = state(db).await;
    let mut again = Browser::new(&after, [192, 0, 2, 1], FIREFOX);
    again.cookie = alice.cookie.clone();
    let status = again
        .get(&format!("/api/upload/status?upload_id={id}"))
        .await
        .json();
    assert_eq!(status["received"], 0, "{status}");
    let third = &png[2 * CHUNK as usize..3 * CHUNK as usize];
    let stale = send_chunk(&mut again, &id, 2 * CHUNK, third).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["received"], 0);
    let (mut offset, size) = (0u64, png.len() as u64);
    while offset < size {
        let end = (offset + CHUNK).min(size);
        let reply = send_chunk(&mut again, &id, offset, &png[offset as usize..end as usize]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        offset = reply.json()["received"].as_u64().expect("received");
    }
    let done = finish(&mut again, &id, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let asset_id = done.json()["asset_id"].as_str().expect("asset").to_string();
    let asset = processed(&mut again, &asset_id).await;
    let original = again.get(asset["media_url"].as_str().expect("url")).await;
    assert_eq!(original.body, png, "the file is whole after the restart");
}

async fn bad_uploads_get_their_own_status_and_leave_nothing(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;

    // An HTML page named .png: refused by its first bytes, nothing stored.
    let html = samples::html_page();
    let (id, reply) = upload_bytes(&mut alice, "cat.png", &html).await;
    assert_eq!(
        reply.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.json()["error"], "unsupported");
    assert!(reply.json()["message"]
        .as_str()
        .expect("message")
        .contains("not a PNG, JPEG"));
    let status = alice
        .get(&format!("/api/upload/status?upload_id={id}"))
        .await
        .json();
    assert!(
        status["error"].as_str().is_some(),
        "the status says why: {status}"
    );
    let refinish = finish(&mut alice, &id, &[]).await;
    assert_eq!(refinish.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // The same page sent one byte first (too few to tell), then the rest: the second
    // chunk is refused from the file's first bytes, long before the end.
    let started = start(&mut alice, "sly.png", html.len() + 4 * CHUNK as usize, None).await;
    let sly = started.json()["upload_id"]
        .as_str()
        .expect("upload id")
        .to_string();
    let one = send_chunk(&mut alice, &sly, 0, &html[..1]).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let rest = send_chunk(&mut alice, &sly, 1, &html[1..]).await;
    assert_eq!(
        rest.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        rest.text()
    );

    // A field the endpoint does not use is read past, but only so far.
    let png = samples::a1111_png(64, 64);
    let started = start(&mut alice, "padded.png", png.len(), None).await;
    let padded = started.json()["upload_id"]
        .as_str()
        .expect("upload id")
        .to_string();
    let junk = vec![b'x'; 16 * 1024];
    let reply = post_multipart(
        &mut alice,
        "/api/upload/chunk",
        &[
            ("upload_id", padded.as_bytes()),
            ("padding", &junk),
            ("offset", b"0"),
            ("data", &png[..png.len().min(CHUNK as usize)]),
        ],
        false,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains("“padding” is not one this endpoint uses"),
        "{}",
        reply.text()
    );
    // The upload itself is untouched by the bad request; its owner drops it.
    let dropped = alice
        .post("/api/upload/cancel", &[("upload_id", padded.as_str())])
        .await;
    assert_eq!(dropped.status, StatusCode::OK, "{}", dropped.text());

    // A pixel bomb: its 57-byte header is enough to refuse it.
    let (_, reply) = upload_bytes(&mut alice, "bomb.png", &samples::pixel_bomb_png()).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert!(reply.text().contains("400 megapixels"), "{}", reply.text());

    // Over the image cap: refused after the first chunk, though 4 were announced.
    db.store
        .set_setting("max_image_size", "2KiB", chrono::Utc::now())
        .await
        .expect("setting");
    let big = samples::png_with(
        200,
        200,
        &[samples::text_chunk("parameters", &"x".repeat(5000))],
    );
    assert!(big.len() > 4 * CHUNK as usize);
    let (_, reply) = upload_bytes(&mut alice, "big.png", &big).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    assert!(
        reply.text().contains("images may be up to 2.0 KiB"),
        "{}",
        reply.text()
    );
    // Announcing more than any cap is refused at the start.
    let huge = start(&mut alice, "film.mp4", 600 << 20, None).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    db.store
        .set_setting("max_image_size", "50MiB", chrono::Utc::now())
        .await
        .expect("setting");

    // A chunk over the chunk size, and bytes past the announced size.
    let png = samples::a1111_png(64, 64);
    let ticket = start(&mut alice, "a.png", png.len(), None).await.json();
    let id = ticket["upload_id"].as_str().expect("id").to_string();
    let fat = send_chunk(&mut alice, &id, 0, &vec![0u8; 2 * CHUNK as usize]).await;
    assert_eq!(fat.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", fat.text());
    assert_eq!(fat.json()["received"], 0, "a refused chunk is not kept");
    let small = start(&mut alice, "tiny.png", 10, None).await.json();
    let small_id = small["upload_id"].as_str().expect("id");
    let past = send_chunk(&mut alice, small_id, 0, &png[..20]).await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST);
    assert!(past.text().contains("past the 10 bytes"), "{}", past.text());

    // Someone else's upload does not exist for bob; nobody logged in cannot upload.
    let theirs = send_chunk(&mut bob, &id, 0, &png[..100]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let peek = bob.get(&format!("/api/upload/status?upload_id={id}")).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    assert_eq!(
        send_chunk(&mut visitor, &id, 0, &png[..100]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Missing or malformed multipart boundaries are a 400, and the server carries on.
    for content_type in [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "text/plain",
    ] {
        let reply = alice
            .send_body(
                Request::post("/api/upload/chunk")
                    .header(header::CONTENT_TYPE, content_type)
                    .header("sec-fetch-site", "same-origin"),
                Body::from("--x\r\n\r\ngarbage"),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{content_type}: {}",
            reply.text()
        );
    }
    let wrong = alice
        .send_body(
            Request::post("/api/upload/chunk")
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=abc")
                .header("sec-fetch-site", "same-origin"),
            Body::from("--zzz\r\nnot what was promised"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.text());
    assert_eq!(alice.get("/api/upload/limits").await.status, StatusCode::OK);

    // Another site cannot post chunks in alice's name.
    let forged = alice
        .send_body(
            Request::post("/api/upload/chunk")
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=abc")
                .header("sec-fetch-site", "cross-site"),
            Body::from("--abc--"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // None of it reached storage; the bytes of refused uploads are gone.
    assert!(common::files_under(&db.dir.path().join("files")).is_empty());
    let temps = temp_files(db);
    assert_eq!(temps.len(), 2, "only the two uploads still open: {temps:?}");
    let cancelled = alice
        .post("/api/upload/cancel", &[("upload_id", id.as_str())])
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    assert_eq!(temp_files(db).len(), 1);

    // An abandoned upload expires; the sweeper takes its row and bytes.
    let swept = state
        .uploads
        .sweep(chrono::Utc::now() + chrono::Duration::hours(25), true)
        .await
        .expect("sweep");
    assert!(swept >= 1);
    assert!(temp_files(db).is_empty());
    let gone = alice
        .get(&format!("/api/upload/status?upload_id={small_id}"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

async fn identical_uploads_at_once_are_stored_once(db: &TestDb) {
    let state = state(db).await;
    let alice = member(&state, "alice", 1).await;
    let png = samples::a1111_png(128, 128);
    let uploads = (0..20).map(|n| {
        let mut browser = alice.clone();
        let png = png.clone();
        tokio::spawn(async move {
            publish(
                &mut browser,
                &format!("copy-{n}.png"),
                &png,
                &[("title", &format!("Copy {n}"))],
            )
            .await
        })
    });
    let ids: Vec<String> = futures::future::join_all(uploads)
        .await
        .into_iter()
        .map(|r| r.expect("upload task"))
        .collect();
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        20
    );
    let stored = stored_with_extension(db, "png");
    assert_eq!(stored.len(), 1, "twenty assets, one file: {stored:?}");
    assert_eq!(std::fs::read(&stored[0]).expect("read"), png);
    let mut alice = alice;
    let mut stills = 0;
    for id in &ids {
        processed(&mut alice, id).await;
        stills += stills_bytes(db, id).await;
    }
    let used = alice.get("/api/upload/limits").await.json()["used_bytes"].as_u64();
    assert_eq!(
        used,
        Some(20 * common::charged(&png) + stills),
        "each asset counts for its owner"
    );
}

/// Makes every insert into `assets` fail, as a full disk or a broken database would.
async fn break_asset_inserts(db: &TestDb, broken: bool) {
    use sqlx::Connection;
    let statements: &[&str] = match (db.store.backend(), broken) {
        ("sqlite", true) => &["CREATE TRIGGER break_assets BEFORE INSERT ON assets \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END"],
        ("sqlite", false) => &["DROP TRIGGER break_assets"],
        (_, true) => &[
            "CREATE FUNCTION break_assets() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'forced failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER break_assets BEFORE INSERT ON assets \
             FOR EACH ROW EXECUTE FUNCTION break_assets()",
        ],
        (_, false) => &[
            "DROP TRIGGER break_assets ON assets",
            "DROP FUNCTION break_assets()",
        ],
    };
    match db.store.backend() {
        "sqlite" => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            for sql in statements {
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
            }
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            for sql in statements {
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
            }
        }
    }
}

async fn a_database_failure_at_finish_leaves_no_file(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let png = samples::comfyui_png(80, 80);
    let (id, last) = upload_bytes(&mut alice, "comfy.png", &png).await;
    assert_eq!(last.status, StatusCode::OK);

    break_asset_inserts(db, true).await;
    let failed = finish(&mut alice, &id, &[]).await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        failed.text()
    );
    assert!(
        stored_with_extension(db, "png").is_empty(),
        "no file without its row"
    );
    let used = alice.get("/api/upload/limits").await.json()["used_bytes"].as_u64();
    assert_eq!(used, Some(0), "the quota charge rolled back too");
    assert!(alice.get("/api/assets").await.json()["items"]
        .as_array()
        .expect("items")
        .is_empty());

    // The upload is intact: once the database is well again, finishing works.
    break_asset_inserts(db, false).await;
    let done = finish(&mut alice, &id, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(stored_with_extension(db, "png").len(), 1);
}

async fn set(db: &TestDb, key: &str, value: &str) {
    db.store
        .set_setting(key, value, chrono::Utc::now())
        .await
        .expect("setting");
}

fn upload_id(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["upload_id"]
        .as_str()
        .expect("upload id")
        .to_string()
}

/// An upload holds its announced size against the quota from its start: a second one that
/// would not fit beside it is refused before a byte is sent and starts once the first is
/// cancelled; starts racing each other never take more room than there is; and finishing
/// is checked again against what the assets hold.
async fn an_unfinished_upload_holds_its_size_against_the_quota(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let png = samples::a1111_png(96, 96);
    let size = png.len() as u64;
    set(db, "upload_quota", &(size * 3 / 2).to_string()).await;

    let first = upload_id(&start(&mut alice, "one.png", png.len(), None).await);
    let limits = alice.get("/api/upload/limits").await.json();
    assert_eq!(limits["open_uploads"], 1, "{limits}");
    assert_eq!(limits["open_upload_bytes"], size, "{limits}");
    let refused = start(&mut alice, "two.png", png.len(), None).await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.text()
    );
    let message = refused.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("held by 1 unfinished upload") && message.contains("storage quota"),
        "{message}"
    );
    let cancelled = alice
        .post("/api/upload/cancel", &[("upload_id", &first)])
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    let second = upload_id(&start(&mut alice, "two.png", png.len(), None).await);
    alice
        .post("/api/upload/cancel", &[("upload_id", &second)])
        .await;

    // Eight starts at once from eight tabs, with room for two: two start.
    set(db, "upload_quota", &(size * 5 / 2).to_string()).await;
    let tabs: Vec<_> = (0..8)
        .map(|i| {
            let mut tab = alice.clone();
            let size = png.len();
            tokio::spawn(async move { start(&mut tab, &format!("{i}.png"), size, None).await })
        })
        .collect();
    let mut started = Vec::new();
    for tab in tabs {
        let reply = tab.await.expect("a tab");
        match reply.status {
            StatusCode::OK => started.push(upload_id(&reply)),
            StatusCode::PAYLOAD_TOO_LARGE => {}
            other => panic!("{other}: {}", reply.text()),
        }
    }
    assert_eq!(started.len(), 2, "{started:?}");

    // Both send everything; each finishes (room was held for both).
    for id in &started {
        let mut offset = 0u64;
        for piece in png.chunks(CHUNK as usize) {
            let reply = send_chunk(&mut alice, id, offset, piece).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            offset = reply.json()["received"].as_u64().expect("received");
        }
    }
    // Finishing is checked against what the assets hold, stills included (a tiny PNG's
    // stills can outweigh it, and the first one's job may make them before the second
    // finishes): room for both and their stills.
    let stills_room = 256 * 1024;
    set(
        db,
        "upload_quota",
        &(common::charged(&png) * 2 + stills_room).to_string(),
    )
    .await;
    for id in &started {
        let done = finish(&mut alice, id, &[]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    }
    assert_eq!(
        stored_with_extension(db, "png").len(),
        1,
        "the same bytes, stored once"
    );
    // With nothing left over, a new upload is refused before any byte is sent.
    let owner = common::user_id(db, "alice").await;
    let used = db.store.storage_used(owner).await.expect("used");
    set(db, "upload_quota", &used.to_string()).await;
    let refused = start(&mut alice, "three.png", png.len(), None).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        alice.get("/api/upload/limits").await.json()["open_uploads"],
        0
    );
}

/// A person may have only so many unfinished uploads: past the cap a start is a 429 that
/// says what to do, and one finished or cancelled makes room again. Refused uploads do not
/// count (their bytes are gone).
async fn unfinished_uploads_are_capped_per_person(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    set(db, "max_open_uploads", "2").await;
    let png = samples::a1111_png(64, 64);
    let one = upload_id(&start(&mut alice, "1.png", png.len(), None).await);
    // A refused upload (not media) leaves the count.
    let junk = upload_id(&start(&mut alice, "junk.png", 64, None).await);
    let refused = send_chunk(&mut alice, &junk, 0, &[b'x'; 64]).await;
    assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let two = upload_id(&start(&mut alice, "2.png", png.len(), None).await);
    let over = start(&mut alice, "3.png", png.len(), None).await;
    assert_eq!(
        over.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        over.text()
    );
    let body = over.json();
    assert_eq!(body["error"], "too_many_requests");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("2 unfinished uploads") && message.contains("cancel"),
        "{message}"
    );
    // Someone else's count is their own.
    upload_id(&start(&mut bob, "b.png", png.len(), None).await);
    // Publishing one makes room.
    let mut offset = 0u64;
    for piece in png.chunks(CHUNK as usize) {
        let reply = send_chunk(&mut alice, &one, offset, piece).await;
        offset = reply.json()["received"].as_u64().expect("received");
    }
    assert_eq!(finish(&mut alice, &one, &[]).await.status, StatusCode::OK);
    upload_id(&start(&mut alice, "3.png", png.len(), None).await);
    assert_eq!(
        start(&mut alice, "4.png", png.len(), None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    alice
        .post("/api/upload/cancel", &[("upload_id", &two)])
        .await;
    upload_id(&start(&mut alice, "4.png", png.len(), None).await);
}

/// Thumbnails, previews and a video's poster frame are charged to their owner with the
/// original, and freed with it.
async fn stills_and_posters_count_against_the_quota(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let owner = common::user_id(db, "alice").await;
    let png = samples::a1111_png(700, 500);
    let asset = publish(&mut alice, "big.png", &png, &[]).await;
    let processed_png = processed(&mut alice, &asset).await;
    assert_eq!(processed_png["job"]["state"], "done", "{processed_png}");
    let stills = stills_bytes(db, &asset).await;
    assert!(stills > 0, "a 700 px image has a thumbnail and a preview");
    let used = db.store.storage_used(owner).await.expect("used");
    assert_eq!(used, common::charged(&png) + stills);
    assert_eq!(
        alice.get("/api/upload/limits").await.json()["used_bytes"],
        used
    );

    // A video with the poster frame its uploader's browser drew.
    let video = samples::mp4(64, 48, 10);
    let (id, last) = upload_bytes(&mut alice, "clip.mp4", &video).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    let poster = samples::a1111_png(64, 48);
    let sent = post_multipart(
        &mut alice,
        "/api/upload/poster",
        &[("upload_id", id.as_bytes()), ("data", &poster)],
        false,
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    let done = finish(&mut alice, &id, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let clip = done.json()["asset_id"].as_str().expect("id").to_string();
    processed(&mut alice, &clip).await;
    let clip_stills = stills_bytes(db, &clip).await;
    assert!(clip_stills >= poster.len() as u64, "the poster is charged");
    assert_eq!(
        db.store.storage_used(owner).await.expect("used"),
        used + common::charged(&video) + clip_stills
    );

    // Deleting for good frees all of it.
    for id in [&asset, &clip] {
        for path in ["/api/assets/trash", "/api/assets/purge"] {
            let gone = alice.post(path, &[("id", id.as_str())]).await;
            assert_eq!(gone.status, StatusCode::OK, "{path}: {}", gone.text());
        }
    }
    assert_eq!(db.store.storage_used(owner).await.expect("used"), 0);
}

/// Below the free-space floor on the data disk, uploads wait with a 507 that says why; a
/// chunk refused so leaves the upload as it was, and it goes on once there is room.
async fn below_the_free_space_floor_uploads_wait_with_507(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let png = samples::comfyui_png(600, 400);
    assert!(png.len() as u64 > 3 * CHUNK, "a many-chunk upload");
    let id = upload_id(&start(&mut alice, "one.png", png.len(), None).await);
    let first = send_chunk(&mut alice, &id, 0, &png[..CHUNK as usize]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());

    set(db, "min_free_disk", "1024TiB").await;
    let refused = start(&mut alice, "two.png", png.len(), None).await;
    assert_eq!(
        refused.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        refused.text()
    );
    let body = refused.json();
    assert_eq!(body["error"], "insufficient_storage");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("running out of disk space")),
        "{body}"
    );
    let chunk = send_chunk(
        &mut alice,
        &id,
        CHUNK,
        &png[CHUNK as usize..2 * CHUNK as usize],
    )
    .await;
    assert_eq!(
        chunk.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        chunk.text()
    );
    assert_eq!(chunk.json()["received"], CHUNK, "resume from where it was");
    let temp = db.dir.path().join("tmp").join(format!("upload-{id}"));
    assert_eq!(
        std::fs::metadata(&temp).expect("temp file").len(),
        CHUNK,
        "nothing of the refused chunk was kept"
    );
    // The form without JavaScript is told the same, back on its page.
    let (boundary, form) = multipart(&[("file", &png)]);
    let reply = alice
        .send_body(
            Request::post("/api/upload/form")
                .header(header::ACCEPT, "text/html")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                ),
            Body::from(form),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert!(
        reply
            .header(header::LOCATION)
            .contains("running%20out%20of%20disk"),
        "{}",
        reply.header(header::LOCATION)
    );

    set(db, "min_free_disk", "1MiB").await;
    let mut offset = CHUNK;
    for piece in png[CHUNK as usize..].chunks(CHUNK as usize) {
        let reply = send_chunk(&mut alice, &id, offset, piece).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        offset = reply.json()["received"].as_u64().expect("received");
    }
    assert_eq!(finish(&mut alice, &id, &[]).await.status, StatusCode::OK);
}

/// An upload's expiry slides while its bytes arrive: a slow upload that keeps going is
/// not swept, while one that stopped is.
async fn an_upload_that_keeps_going_does_not_expire(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    set(db, "upload_expiry_hours", "2").await;
    let png = samples::comfyui_png(600, 400);
    assert!(png.len() as u64 > 3 * CHUNK, "a many-chunk upload");
    let going = upload_id(&start(&mut alice, "going.png", png.len(), None).await);
    let stopped = upload_id(&start(&mut alice, "stopped.png", png.len(), None).await);

    // Ninety minutes on (30 left of 120), the first gets another chunk; the second got
    // nothing.
    for id in [&going, &stopped] {
        shift_expiry(db, id, chrono::Duration::minutes(-90)).await;
    }
    let reply = send_chunk(&mut alice, &going, 0, &png[..CHUNK as usize]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let slid = db
        .store
        .find_upload(&going)
        .await
        .expect("lookup")
        .expect("row")
        .expires_at;
    let now = chrono::Utc::now();
    assert!(
        slid > now + chrono::Duration::minutes(110),
        "a whole window again: {slid} at {now}"
    );
    // An hour later the sweeper takes only the one that stopped.
    let removed = state
        .uploads
        .sweep(now + chrono::Duration::hours(1), false)
        .await
        .expect("sweep");
    assert_eq!(removed, 1);
    assert!(db
        .store
        .find_upload(&going)
        .await
        .expect("lookup")
        .is_some());
    assert!(db
        .store
        .find_upload(&stopped)
        .await
        .expect("lookup")
        .is_none());
}

/// Moves an upload's expiry by `by` (as if it had started that much earlier or later).
async fn shift_expiry(db: &TestDb, upload_id: &str, by: chrono::Duration) {
    let row = db
        .store
        .find_upload(upload_id)
        .await
        .expect("lookup")
        .expect("row");
    let moved = row.expires_at + by;
    use sqlx::Connection;
    let micros = moved.timestamp_micros();
    match db.store.backend() {
        "sqlite" => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            sqlx::query("UPDATE uploads SET expires_at = $1 WHERE public_id = $2")
                .bind(micros)
                .bind(upload_id)
                .execute(&mut conn)
                .await
                .expect("update");
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query("UPDATE uploads SET expires_at = $1 WHERE public_id = $2")
                .bind(moved)
                .bind(upload_id)
                .execute(&mut conn)
                .await
                .expect("update");
        }
    }
}

async fn private_media_is_a_404_to_everyone_else(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let png = samples::a1111_png(64, 64);
    let secret = publish(&mut alice, "secret.png", &png, &[("visibility", "private")]).await;
    let asset = processed(&mut alice, &secret).await;
    assert_eq!(asset["visibility"], "private");
    let original = asset["media_url"].as_str().expect("url").to_string();
    let thumb = asset["thumb_url"].as_str().expect("thumb").to_string();
    let mine = alice.get(&original).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.header(header::CACHE_CONTROL).starts_with("private"));

    let missing = bob.get("/media/Zzzzzzzzzzzz/original").await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    for url in [&original, &thumb, &format!("/media/{secret}/preview")] {
        for reply in [bob.get(url).await, visitor.get(url).await] {
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{url}");
            assert_eq!(reply.body, missing.body, "byte-identical to a missing id");
            assert_eq!(
                reply.header(header::CONTENT_TYPE),
                missing.header(header::CONTENT_TYPE)
            );
        }
    }
    let api = bob.get(&format!("/api/asset?id={secret}")).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bob.get(&format!("/a/{secret}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(bob.get("/api/assets").await.json()["items"]
        .as_array()
        .expect("items")
        .is_empty());
    assert_eq!(
        alice.get(&format!("/a/{secret}")).await.status,
        StatusCode::OK
    );

    // Her own listing and profile show it to her alone; the gallery shows it to nobody.
    let items = |reply: &common::Reply| -> Vec<String> {
        reply.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().expect("id").to_string())
            .collect()
    };
    let hers = alice.get("/api/assets?owner=alice").await;
    assert_eq!(items(&hers), std::slice::from_ref(&secret));
    assert_eq!(hers.header(header::CACHE_CONTROL), "private, no-store");
    assert!(items(&alice.get("/api/assets").await).is_empty());
    assert!(items(&bob.get("/api/assets?owner=alice").await).is_empty());
    assert!(items(&visitor.get("/api/assets?q=by%3Aalice").await).is_empty());
    let profile = alice.get("/api/profile?username=alice").await.json();
    assert_eq!(
        (profile["images"].as_u64(), profile["private"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(profile["is_me"], true);
    let seen_by_bob = bob.get("/api/profile?username=alice").await.json();
    assert_eq!(
        (
            seen_by_bob["images"].as_u64(),
            seen_by_bob["private"].as_u64()
        ),
        (Some(0), None)
    );
    let page = alice.get("/u/alice").await.text();
    assert!(
        page.contains(&secret) && page.contains("Only me"),
        "her profile page lists it"
    );
    assert!(!bob.get("/u/alice").await.text().contains(&secret));
}

async fn a_phone_video_plays_and_seeks(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mp4 = samples::mp4(64, 48, 20);
    let id = publish(
        &mut alice,
        "PXL_20260301.mp4",
        &mp4,
        &[("title", "Harbour at dusk")],
    )
    .await;
    let asset = processed(&mut alice, &id).await;
    assert_eq!(asset["media_type"], "video");
    assert_eq!(asset["duration_ms"], 2000);
    assert_eq!(asset["mime_type"], "video/mp4");
    let url = asset["media_url"].as_str().expect("url");
    let range = alice
        .send(
            Request::get(url).header(header::RANGE, "bytes=4-11"),
            String::new(),
        )
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.header(header::CONTENT_TYPE), "video/mp4");
    assert_eq!(&range.body[..4], b"ftyp");
    assert_eq!(
        range.header(header::CONTENT_RANGE),
        format!("bytes 4-11/{}", mp4.len())
    );

    // Without ffmpeg there is no poster: the job says so and the still is a placeholder,
    // never a broken image.
    let thumb = alice.get(&format!("/media/{id}/thumb")).await;
    assert_eq!(thumb.status, StatusCode::OK);
    if atelier_server::jobs::ffmpeg_available() {
        assert_eq!(thumb.header(header::CONTENT_TYPE), "image/jpeg");
    } else {
        assert_eq!(asset["job"]["state"], "done");
        assert!(asset["job"]["error"]
            .as_str()
            .expect("note")
            .contains("ffmpeg"));
        assert_eq!(thumb.header(header::CONTENT_TYPE), "image/svg+xml");
        assert!(asset["thumb_url"].is_null());
    }

    // The browser captured a frame and sent it with the upload: that is the poster.
    let clip = samples::mp4(96, 64, 10);
    let (upload_id, last) = upload_bytes(&mut alice, "clip.mp4", &clip).await;
    assert_eq!(last.status, StatusCode::OK);
    let send_poster = |bytes: Vec<u8>| {
        let (boundary, body) = multipart(&[("upload_id", upload_id.as_bytes()), ("data", &bytes)]);
        (
            Request::post("/api/upload/poster")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("sec-fetch-site", "same-origin"),
            Body::from(body),
        )
    };
    let (req, body) = send_poster(samples::html_page());
    let refused = alice.send_body(req, body).await;
    assert_eq!(
        refused.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        refused.text()
    );
    let frame = samples::encoded(image::ImageFormat::Jpeg, 96, 64);
    let (req, body) = send_poster(frame);
    let kept = alice.send_body(req, body).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text());
    let done = finish(&mut alice, &upload_id, &[]).await;
    let clip_id = done.json()["asset_id"].as_str().expect("asset").to_string();
    let clip_asset = processed(&mut alice, &clip_id).await;
    assert_eq!(clip_asset["job"]["state"], "done", "{clip_asset}");
    assert!(clip_asset["job"]["error"].is_null(), "{clip_asset}");
    let poster = alice
        .get(clip_asset["thumb_url"].as_str().expect("a poster still"))
        .await;
    assert_eq!(poster.header(header::CONTENT_TYPE), "image/jpeg");
    let decoded = image::load_from_memory(&poster.body).expect("a real JPEG");
    assert_eq!((decoded.width(), decoded.height()), (96, 64));
    assert!(
        temp_files(db).is_empty(),
        "the poster's temp file went with the upload"
    );
}

async fn the_form_without_javascript_uploads_one_file(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let png = samples::a1111_png(120, 90);
    let reply = post_multipart(
        &mut alice,
        "/api/upload/form",
        &[
            ("title", b"Neon alley"),
            ("tags", b"cyberpunk, night"),
            ("visibility", b"public"),
            ("file", &png),
        ],
        true,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let location = reply.header(header::LOCATION).to_string();
    let id = location.strip_prefix("/a/").expect("to the asset page");
    let asset = processed(&mut alice, id).await;
    assert_eq!(asset["title"], "Neon alley");
    assert_eq!(
        asset["prompt"]
            .as_str()
            .map(|p| p.starts_with("masterpiece")),
        Some(true)
    );
    assert_eq!(asset["tags"], serde_json::json!(["cyberpunk", "night"]));
    assert!(temp_files(db).is_empty());

    // A refusal goes back to the form with the reason.
    let refused = post_multipart(
        &mut alice,
        "/api/upload/form",
        &[("title", b"x"), ("file", &samples::html_page())],
        true,
    )
    .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused
        .header(header::LOCATION)
        .starts_with("/upload?error=this%20file%20is%20not"));
    assert!(
        temp_files(db).is_empty(),
        "nothing left of the refused upload"
    );
    assert_eq!(stored_with_extension(db, "png").len(), 1);
}

async fn a_failed_job_says_why_and_can_be_retried(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    // Headers that promise a picture, pixel data that is not one: recognised, but no
    // thumbnail can be made from it.
    let mut png = samples::encoded(image::ImageFormat::Png, 64, 64);
    let idat = png.windows(4).position(|w| w == b"IDAT").expect("IDAT");
    for byte in &mut png[idat + 4..idat + 40] {
        *byte = 0x5a;
    }
    let id = publish(&mut alice, "broken.png", &png, &[]).await;
    let asset = processed(&mut alice, &id).await;
    assert_eq!(asset["job"]["state"], "failed", "{asset}");
    assert_eq!(asset["job"]["attempts"], 1);
    assert!(asset["job"]["error"]
        .as_str()
        .expect("why")
        .contains("cannot be decoded"));
    assert!(asset["thumb_url"].is_null());
    assert_eq!(asset["is_mine"], true);
    assert_eq!(
        bob.get(&format!("/api/asset?id={id}")).await.json()["is_mine"],
        false
    );

    // Only the owner may retry; the job runs again (and fails again, for the same reason).
    let theirs = bob
        .post("/api/jobs/retry", &[("asset_id", id.as_str())])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let retried = alice
        .post("/api/jobs/retry", &[("asset_id", id.as_str())])
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text());
    let mut again = serde_json::Value::Null;
    for _ in 0..200 {
        again = processed(&mut alice, &id).await;
        if again["job"]["attempts"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(again["job"]["attempts"], 2, "{again}");
    assert_eq!(again["job"]["state"], "failed");
}

async fn tag_suggestions_show_only_tags_the_asker_may_see(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let png = samples::a1111_png(64, 64);
    publish(
        &mut alice,
        "plans.png",
        &png,
        &[("visibility", "private"), ("tags", "secret-project")],
    )
    .await;
    publish(&mut bob, "garden.png", &png, &[("tags", "secret-garden")]).await;

    let suggested = |reply: common::Reply| -> Vec<String> {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        serde_json::from_slice(&reply.body).expect("a list of tags")
    };
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    // A private asset's tags are as secret as the asset.
    assert_eq!(
        suggested(visitor.get("/api/tags?prefix=secret").await),
        ["secret-garden"]
    );
    assert_eq!(
        suggested(bob.get("/api/tags?prefix=secret").await),
        ["secret-garden"]
    );
    let hers = alice.get("/api/tags?prefix=secret").await;
    assert_eq!(hers.header(header::CACHE_CONTROL), "private, no-store");
    assert_eq!(suggested(hers), ["secret-garden", "secret-project"]);
}

/// A compressed PNG text chunk (`zTXt`).
/// What the database holds for an asset's metadata: the bytes charged for it, and the
/// byte length of its raw JSON as stored.
async fn stored_metadata(db: &TestDb, asset_id: &str) -> (i64, Option<i64>) {
    use sqlx::Connection;
    match db.store.backend() {
        "sqlite" => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            sqlx::query_as(
                "SELECT metadata_bytes, length(CAST(raw_metadata AS BLOB))
                   FROM assets WHERE public_id = $1",
            )
            .bind(asset_id)
            .fetch_one(&mut conn)
            .await
            .expect("asset row")
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            let (bytes, raw): (i64, Option<i32>) = sqlx::query_as(
                "SELECT metadata_bytes, octet_length(raw_metadata::text)
                   FROM assets WHERE public_id = $1",
            )
            .bind(asset_id)
            .fetch_one(&mut conn)
            .await
            .expect("asset row");
            (bytes, raw.map(i64::from))
        }
    }
}

/// The most `/api/asset` may answer for one asset whatever its file carried: the form's
/// texts and the parsed generation within their limits, with JSON escaping to spare.
const MAX_ASSET_JSON: usize = 256 * 1024;
/// The most an asset page may weigh: the same, shown and serialised for hydration.
const MAX_ASSET_PAGE: usize = 512 * 1024;

async fn a_metadata_bomb_is_kept_within_limits_and_charged_to_its_uploader(db: &TestDb) {
    use atelier_server::media::meta::{MAX_RAW, MAX_TEXT};
    let state = state(db).await;
    let mut mallory = member(&state, "mallory", 1).await;
    let mut bob = member(&state, "bob", 2).await;

    // A small PNG whose compressed texts inflate to 30 MB, and a real A1111 text whose
    // prompt is far longer than any real one.
    let bombs: Vec<Vec<u8>> = (0..3)
        .map(|n| samples::ztxt_chunk(&format!("bomb{n}"), &vec![b'{'; 10 << 20]))
        .collect();
    let long_prompt = "masterpiece, best quality, ".repeat(2_000);
    let parameters = format!("{long_prompt}\nSteps: 28, Sampler: Euler a, Seed: 42, Model: sdxl");
    let mut chunks = bombs;
    chunks.push(samples::ztxt_chunk("parameters", parameters.as_bytes()));
    let png = samples::png_with(64, 64, &chunks);
    assert!(png.len() < 64 * 1024, "a small file: {} bytes", png.len());

    // It is accepted: what the file says is read, within the limits.
    let (upload_id, last) = upload_bytes(&mut mallory, "bomb.png", &png).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    let status = mallory
        .get(&format!("/api/upload/status?upload_id={upload_id}"))
        .await;
    assert!(
        status.body.len() < MAX_ASSET_JSON,
        "{} bytes",
        status.body.len()
    );
    let status = status.json();
    assert_eq!(status["complete"], true);
    assert_eq!(status["metadata"]["seed"], 42);
    let done = finish(&mut mallory, &upload_id, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let id = done.json()["asset_id"]
        .as_str()
        .expect("asset id")
        .to_string();

    // The API answers a bounded asset that says what was left out.
    let api = mallory.get(&format!("/api/asset?id={id}")).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text());
    assert!(
        api.body.len() <= MAX_ASSET_JSON,
        "/api/asset is {} bytes",
        api.body.len()
    );
    let asset = api.json();
    assert_eq!(asset["raw_metadata_present"], true);
    let prompt = asset["generation"]["prompt"].as_str().expect("prompt");
    assert!(prompt.len() <= app::model::MAX_GENERATION_PROMPT && prompt.len() > 19_000);
    assert_eq!(asset["generation"]["model"], "sdxl");
    let dropped = asset["metadata_dropped"]
        .as_str()
        .expect("what was left out");
    for n in 0..3 {
        assert!(dropped.contains(&format!("“bomb{n}”")), "{dropped}");
    }
    assert!(
        dropped.contains("the prompt past its first 20,000 bytes"),
        "{dropped}"
    );

    // So does the page, with the owner's link to the raw text.
    let page = mallory.get(&format!("/a/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.len() <= MAX_ASSET_PAGE,
        "the page is {} bytes",
        page.body.len()
    );
    let html = page.text();
    assert!(
        html.contains("metadata was too large and was not kept: “bomb0” (over the 256 KiB"),
        "the page says what was dropped"
    );
    let link = format!("/api/asset/metadata?id={id}");
    assert!(html.contains(&link), "the owner's download link");

    // The database keeps the raw text within its limit, and charges it with the file.
    let (metadata_bytes, raw_bytes) = stored_metadata(db, &id).await;
    let raw_bytes = raw_bytes.expect("raw metadata kept");
    assert!(
        raw_bytes as usize <= MAX_RAW + MAX_RAW / 8,
        "{raw_bytes} bytes stored"
    );
    assert!(
        metadata_bytes as usize > parameters.len() && metadata_bytes as usize <= MAX_RAW + MAX_TEXT,
        "{metadata_bytes} bytes charged"
    );
    processed(&mut mallory, &id).await;
    let stills = stills_bytes(db, &id).await;
    let used = mallory.get("/api/upload/limits").await.json()["used_bytes"].as_u64();
    assert_eq!(
        used,
        Some(png.len() as u64 + metadata_bytes as u64 + stills),
        "file + metadata + stills"
    );

    // The owner downloads the raw text: the parameters whole, the bombs not at all.
    let raw = mallory.get(&link).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.text());
    assert!(raw.body.len() <= MAX_RAW);
    assert!(raw
        .header(header::CONTENT_DISPOSITION)
        .starts_with("attachment; filename=\"bomb-metadata.json\""));
    assert_eq!(raw.header(header::CACHE_CONTROL), "private, no-store");
    let json = raw.json();
    assert_eq!(json["parameters"], parameters.as_str());
    assert!(json.get("bomb0").is_none());

    // Anyone else gets what a missing id gets, to the byte (the id aside).
    let missing_id = "Zzzzzzzzzzzz";
    let missing = bob
        .get(&format!("/api/asset/metadata?id={missing_id}"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    for reply in [bob.get(&link).await, visitor.get(&link).await] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
        assert_eq!(reply.text().replace(&id, missing_id), missing.text());
        assert_eq!(
            reply.header(header::CONTENT_TYPE),
            missing.header(header::CONTENT_TYPE)
        );
    }
    // Nor does anyone else see the link.
    let theirs = bob.get(&format!("/a/{id}")).await.text();
    assert!(!theirs.contains(&link) && theirs.contains("was not kept"));

    // Deleting the asset for good frees the file and its metadata alike.
    for path in ["/api/assets/trash", "/api/assets/purge"] {
        let deleted = mallory.post(path, &[("id", id.as_str())]).await;
        assert_eq!(deleted.status, StatusCode::OK, "{path}: {}", deleted.text());
    }
    let used = mallory.get("/api/upload/limits").await.json()["used_bytes"].as_u64();
    assert_eq!(used, Some(0));
}

/// What another person learns from an answer about `id`: its status, its type and its body
/// with the id itself written as `ID` (and a page's per-response script nonce as `N`).
fn answer_about(reply: &common::Reply, id: &str) -> (StatusCode, String, String) {
    let mut body = reply.text().replace(id, "ID");
    let mut at = 0;
    while let Some(found) = body[at..].find("nonce=\"") {
        let start = at + found + "nonce=\"".len();
        let Some(len) = body[start..].find('"') else {
            break;
        };
        body.replace_range(start..start + len, "N");
        at = start;
    }
    (
        reply.status,
        reply.header(header::CONTENT_TYPE).to_string(),
        body,
    )
}

async fn another_persons_private_asset_is_a_missing_id_everywhere(db: &TestDb) {
    let state = state(db).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let png = samples::a1111_png(64, 64);
    let secret = publish(
        &mut alice,
        "secret.png",
        &png,
        &[("visibility", "private"), ("tags", "hidden-plans")],
    )
    .await;
    processed(&mut alice, &secret).await;
    let missing = "Zzzzzzzzzzzz";
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);

    let reads = [
        "/a/{}",
        "/media/{}/original",
        "/media/{}/original?download=1",
        "/media/{}/thumb",
        "/media/{}/preview",
        "/api/asset?id={}",
        "/api/asset/metadata?id={}",
    ];
    for who in [&mut bob, &mut visitor] {
        for route in reads {
            let theirs = who.get(&route.replace("{}", &secret)).await;
            let nobodys = who.get(&route.replace("{}", missing)).await;
            assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{route}");
            assert_eq!(
                answer_about(&theirs, &secret),
                answer_about(&nobodys, missing),
                "{route}"
            );
        }
    }
    // Writes: trashing, restoring or purging it, retrying its job (editing it: curate_http).
    for (path, field) in [
        ("/api/assets/trash", "id"),
        ("/api/assets/restore", "id"),
        ("/api/assets/purge", "id"),
        ("/api/jobs/retry", "asset_id"),
    ] {
        let theirs = bob.post(path, &[(field, secret.as_str())]).await;
        let nobodys = bob.post(path, &[(field, missing)]).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            answer_about(&theirs, &secret),
            answer_about(&nobodys, missing),
            "{path}"
        );
    }
    // Searches, facets and tag suggestions do not count or name it.
    for uri in [
        "/api/assets?q=hidden",
        "/api/assets?tags=hidden-plans",
        "/api/assets?owner=alice",
    ] {
        assert_eq!(
            bob.get(uri).await.json()["items"],
            serde_json::json!([]),
            "{uri}"
        );
    }
    let facets = bob.get("/api/facets?owner=alice").await.json();
    assert_eq!(facets["counted"], 0, "{facets}");
    assert_eq!(
        bob.get("/api/tags?prefix=hidden").await.json(),
        serde_json::json!([])
    );
    // And it is all still there for alice.
    assert_eq!(
        alice.get(&format!("/api/asset?id={secret}")).await.status,
        StatusCode::OK
    );
}

async fn a_role_sent_to_a_write_endpoint_is_ignored(db: &TestDb) {
    let state = state(db).await;
    let mut mallory = Browser::new(&state, [203, 0, 113, 20], FIREFOX);
    let elevated = [("role", "admin"), ("is_admin", "true")];
    let registered = mallory
        .post(
            "/api/register",
            &[
                ("username", "mallory"),
                ("password", common::PASSWORD),
                elevated[0],
                elevated[1],
            ],
        )
        .await;
    assert_eq!(registered.json()["role"], "user", "{}", registered.text());
    let png = samples::a1111_png(64, 64);
    let (upload, last) = upload_bytes(&mut mallory, "m.png", &png).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    let finished = finish(&mut mallory, &upload, &elevated).await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.text());
    for (path, form) in [
        (
            "/api/login",
            vec![("username", "mallory"), ("password", common::PASSWORD)],
        ),
        ("/api/sessions/revoke-others", vec![]),
        (
            "/api/password",
            vec![
                ("current", common::PASSWORD),
                ("password", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        ),
    ] {
        let mut form = form;
        form.extend_from_slice(&elevated);
        let reply = mallory.post(path, &form).await;
        assert!(reply.status.is_success(), "{path}: {}", reply.text());
        assert_eq!(mallory.me().await.json()["role"], "user", "after {path}");
    }
    // The admin's pages and data stay closed.
    assert_eq!(
        mallory.get("/api/admin/usage").await.status,
        StatusCode::FORBIDDEN
    );
}

on_both_backends!(
    another_persons_private_asset_is_a_missing_id_everywhere,
    a_role_sent_to_a_write_endpoint_is_ignored,
    tag_suggestions_show_only_tags_the_asker_may_see,
    a_metadata_bomb_is_kept_within_limits_and_charged_to_its_uploader,
    a_failed_job_says_why_and_can_be_retried,
    a_server_restart_mid_upload_resumes_from_what_was_synced,
    a_creator_uploads_a_comfyui_png_and_finds_the_prompt_filled_in,
    a_dropped_connection_resumes_from_the_servers_offset,
    bad_uploads_get_their_own_status_and_leave_nothing,
    identical_uploads_at_once_are_stored_once,
    a_database_failure_at_finish_leaves_no_file,
    an_unfinished_upload_holds_its_size_against_the_quota,
    unfinished_uploads_are_capped_per_person,
    stills_and_posters_count_against_the_quota,
    below_the_free_space_floor_uploads_wait_with_507,
    an_upload_that_keeps_going_does_not_expire,
    private_media_is_a_404_to_everyone_else,
    a_phone_video_plays_and_seeks,
    the_form_without_javascript_uploads_one_file,
);
