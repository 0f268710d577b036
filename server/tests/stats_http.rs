//! Statistics as people and scripts meet them over HTTP: every feature someone uses is
//! one event, the admin reads it back per day, per feature and per person (and as CSV),
//! nobody else can, and deleting an asset gives its storage back. Each story runs on SQLite
//! and on Postgres.

mod common;

use std::collections::BTreeMap;

use atelier_server::{http::ServerState, media::samples};
use axum::http::{header, Request, StatusCode};
use common::{member, post_multipart, Browser, Reply, TestDb, FIREFOX, PASSWORD};

const CHUNK: u64 = 4096;

async fn state(db: &TestDb) -> ServerState {
    common::serving(db, CHUNK).await
}

/// Starts an upload and sends its bytes; the last reply and the upload id.
async fn send(browser: &mut Browser, name: &str, bytes: &[u8]) -> (String, Reply) {
    let size = bytes.len().to_string();
    let started = browser
        .post(
            "/api/upload/start",
            &[("filename", name), ("size", size.as_str())],
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let id = started.json()["upload_id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut last = None;
    for (n, piece) in bytes.chunks(CHUNK as usize).enumerate() {
        let offset = (n as u64 * CHUNK).to_string();
        let reply = post_multipart(
            browser,
            "/api/upload/chunk",
            &[
                ("upload_id", id.as_bytes()),
                ("offset", offset.as_bytes()),
                ("data", piece),
            ],
            false,
        )
        .await;
        let failed = reply.status != StatusCode::OK;
        last = Some(reply);
        if failed {
            break;
        }
    }
    (id, last.expect("a chunk"))
}

/// Each feature's uses over the last week, from the admin's API.
async fn week(admin: &mut Browser) -> BTreeMap<String, (u64, u64)> {
    let reply = admin.get("/api/stats/usage?range=7d").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let usage = reply.json();
    assert_eq!(usage["days"].as_array().expect("days").len(), 7);
    usage["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|s| {
            let sum = |key: &str| {
                s[key]
                    .as_array()
                    .expect("series")
                    .iter()
                    .map(|v| v.as_u64().expect("count"))
                    .sum::<u64>()
            };
            (
                s["feature"].as_str().expect("name").to_string(),
                (sum("events"), sum("users")),
            )
        })
        .collect()
}

async fn every_feature_a_person_uses_is_one_event_the_admin_can_read(db: &TestDb) {
    let state = state(db).await;
    // The instance's owner made the admin account through the setup link.
    let mut admin = common::admin(&state, "curator", 1).await;
    let mut ada = member(&state, "ada", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);

    assert_eq!(ada.post("/api/logout", &[]).await.status, StatusCode::OK);
    assert_eq!(ada.login("ada", PASSWORD).await.status, StatusCode::OK);
    let (upload, last) = send(&mut ada, "lighthouse.png", &samples::a1111_png(64, 48)).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    let done = ada
        .post(
            "/api/upload/finish",
            &[("upload_id", upload.as_str()), ("title", "Lighthouse")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let asset = done.json()["asset_id"].as_str().expect("id").to_string();
    // Not a picture: refused from its first bytes.
    let (_, refused) = send(&mut ada, "page.png", &samples::html_page()).await;
    assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Her own look at her asset is no view; the admin's and a visitor's are.
    assert_eq!(
        ada.get(&format!("/api/asset?id={asset}")).await.status,
        StatusCode::OK
    );
    admin.get(&format!("/api/asset?id={asset}")).await;
    visitor.get(&format!("/api/asset?id={asset}")).await;
    // Reloading, as the page or the API, is not another view.
    for _ in 0..5 {
        visitor.get(&format!("/api/asset?id={asset}")).await;
        visitor.get(&format!("/a/{asset}")).await;
        admin.get(&format!("/a/{asset}")).await;
    }
    // A search is one use, whatever pages follow; the plain gallery is none.
    let found = visitor.get("/api/assets?q=lighthouse&type=image").await;
    let cursor = found.json()["next_cursor"].clone();
    assert_eq!(found.json()["items"][0]["id"], asset.as_str());
    assert!(cursor.is_null());
    visitor.get("/api/assets").await;
    visitor
        .get("/api/assets?tags=nothing-here&limit=1&cursor=")
        .await;
    // Taking the original counts; a page's <video> reading it, or a later range, does not.
    let original = format!("/media/{asset}/original");
    assert_eq!(visitor.get(&original).await.status, StatusCode::OK);
    let played = visitor
        .send(
            Request::get(&original).header("sec-fetch-dest", "video"),
            String::new(),
        )
        .await;
    assert_eq!(played.status, StatusCode::OK);
    let rest = visitor
        .send(
            Request::get(&original).header(header::RANGE, "bytes=100-"),
            String::new(),
        )
        .await;
    assert_eq!(rest.status, StatusCode::PARTIAL_CONTENT);

    state.usage.flush().await;
    let used = week(&mut admin).await;
    let expected: BTreeMap<String, (u64, u64)> = [
        // (events, distinct logged-in people)
        ("register", (2, 2)),
        ("login", (1, 1)),
        ("logout", (1, 1)),
        ("upload_started", (2, 1)),
        ("upload_finished", (1, 1)),
        ("upload_failed", (1, 1)),
        ("asset_viewed", (2, 1)),
        ("search", (2, 0)),
        ("download", (1, 0)),
        ("asset_edited", (0, 0)),
        ("asset_trashed", (0, 0)),
        ("asset_restored", (0, 0)),
        ("asset_purged", (0, 0)),
        ("bulk_edit", (0, 0)),
        ("asset_liked", (0, 0)),
        ("collection_changed", (0, 0)),
        ("share_opened", (0, 0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(used, expected);

    // Per person, for the admin; ada's asset was viewed twice by others.
    let usage = admin.get("/api/admin/usage?range=7d&sort=username").await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.text());
    let usage = usage.json();
    let people: Vec<&str> = usage["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("name"))
        .collect();
    assert_eq!(people, ["ada", "curator"]);
    let ada_row = &usage["users"][0];
    // register, login, logout, upload_started, upload_finished, upload_failed, asset_viewed,
    // search, download, asset_edited, asset_trashed, asset_restored, asset_purged, bulk_edit,
    // asset_liked, collection_changed, share_opened
    assert_eq!(
        ada_row["events"],
        serde_json::json!([1, 1, 1, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    );
    assert_eq!(ada_row["assets"], 1);
    assert_eq!(ada_row["views_received"], 2);
    assert_eq!(ada_row["active_days"], 1);
    let search = usage["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["feature"] == "search")
        .expect("search")
        .clone();
    assert_eq!(search["anonymous"], 2);
    assert_eq!(usage["tracking"], true);
    assert_eq!(usage["retention_days"], 90);

    // The same as CSV.
    let csv = admin
        .get("/admin/usage.csv?range=7d&table=users&sort=username")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    assert!(csv
        .header(header::CONTENT_DISPOSITION)
        .contains("atelier-usage-users-7d.csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "username,register,login,logout,upload_started,upload_finished,upload_failed,\
         asset_viewed,search,download,asset_edited,asset_trashed,asset_restored,asset_purged,\
         bulk_edit,asset_liked,collection_changed,share_opened,events,active_days,assets,views_received,\
         storage_bytes"
    );
    assert!(
        lines[1].starts_with("ada,1,1,1,2,1,1,0,0,0,0,0,0,0,0,0,0,0,7,1,1,2,"),
        "{}",
        lines[1]
    );

    // Her profile, as she sees it: views and storage against her quota (the file, its
    // metadata and its stills, once its job made them).
    common::processed(&mut ada, &asset).await;
    let profile = ada.get("/api/profile?username=ada").await.json();
    assert_eq!(profile["views_received"], 2);
    assert_eq!(
        profile["storage"]["used"].as_u64(),
        Some(common::charged(&samples::a1111_png(64, 48)) + common::stills_bytes(db, &asset).await)
    );
    assert_eq!(profile["storage"]["quota"].as_u64(), Some(2 << 30));
    let seen_by_others = visitor.get("/api/profile?username=ada").await.json();
    assert_eq!(seen_by_others["views_received"], 2);
    assert!(seen_by_others["storage"].is_null());

    // The totals are exact.
    let totals = admin.get("/api/stats").await.json();
    let counted = db.store.count_site_totals().await.expect("recount");
    assert_eq!(totals["users"], 2);
    assert_eq!(totals["assets"], 1);
    assert_eq!(totals["creators"], 1);
    assert_eq!(
        totals["storage_bytes"].as_u64(),
        Some(counted.storage_bytes)
    );

    // With tracking off nothing more is recorded.
    db.store
        .set_setting("usage_tracking", "off", chrono::Utc::now())
        .await
        .expect("setting");
    atelier_server::usage::upkeep(db.store.as_ref(), &state.usage)
        .await
        .expect("upkeep");
    visitor.get("/api/assets?q=lighthouse").await;
    state.usage.flush().await;
    assert_eq!(week(&mut admin).await["search"], (2, 0));
    let usage = admin.get("/api/admin/usage").await.json();
    assert_eq!(usage["tracking"], false);
}

async fn only_admins_read_statistics_and_bad_parameters_are_named(db: &TestDb) {
    let state = state(db).await;
    let mut admin = common::admin(&state, "curator", 1).await;
    let mut ada = member(&state, "ada", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    for path in [
        "/api/stats",
        "/api/stats/usage",
        "/api/stats/overview",
        "/api/admin/usage",
        "/admin/usage.csv",
    ] {
        assert_eq!(
            visitor.get(path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(ada.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
        let reply = admin.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        assert_eq!(
            reply.header(header::CACHE_CONTROL),
            "private, no-store",
            "{path}"
        );
    }
    let refused = ada.get("/api/stats").await;
    assert_eq!(
        refused.json()["message"],
        "only an admin can see this instance's usage statistics"
    );
    for (path, words) in [
        (
            "/api/stats/usage?range=2w",
            "range is one of 7d, 30d, 90d or 1y, not “2w”",
        ),
        ("/api/admin/usage?sort=height", "not “height”"),
        ("/api/admin/usage?dir=up", "dir is asc or desc, not “up”"),
    ] {
        let reply = admin.get(path).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        let message = reply.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(words), "{path}: {message}");
    }
    let csv = admin.get("/admin/usage.csv?table=chairs").await;
    assert_eq!(csv.status, StatusCode::BAD_REQUEST);
    assert!(csv.text().contains("table is users or features"));

    // The overview has a year of days for 1y, the totals and the top lists.
    let overview = admin.get("/api/stats/overview?range=1y").await.json();
    assert_eq!(
        overview["usage"]["days"].as_array().expect("days").len(),
        365
    );
    assert_eq!(overview["totals"]["users"], 2);
    assert!(overview["top_tags"].as_array().expect("tags").is_empty());

    // The pages say the same to people.
    let page = ada.get("/stats").await;
    assert!(
        page.text()
            .contains("only an admin can see this instance&#x27;s usage statistics")
            || page
                .text()
                .contains("only an admin can see this instance's usage statistics")
    );
    let page = admin.get("/stats").await;
    assert_eq!(page.status, StatusCode::OK);
    for words in [
        "Uploads per day",
        "Active users per day",
        "Show as a table",
        "Top tags",
    ] {
        assert!(page.text().contains(words), "{words}");
    }
}

async fn an_owner_deletes_an_asset_and_gets_its_storage_back(db: &TestDb) {
    let state = state(db).await;
    let mut admin = common::admin(&state, "curator", 1).await;
    let mut ada = member(&state, "ada", 2).await;
    let mut bo = member(&state, "bob", 3).await;
    let bytes = samples::a1111_png(80, 60);
    let first = publish(&mut ada, &bytes, "First").await;
    let second = publish(&mut ada, &bytes, "Same bytes again").await;
    let third = publish(&mut bo, &bytes, "Bo's").await;
    // Let the thumbnail jobs finish (they add files).
    for id in [&first, &second, &third] {
        for _ in 0..200 {
            let job = ada.get(&format!("/api/asset?id={id}")).await.json();
            if matches!(job["job"]["state"].as_str(), Some("done" | "failed")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let (stills_first, stills_second) = (
        common::stills_bytes(db, &first).await,
        common::stills_bytes(db, &second).await,
    );
    assert_eq!(
        used(&mut ada, "ada").await,
        Some(2 * common::charged(&bytes) + stills_first + stills_second)
    );

    // Bob cannot delete Ada's: the same 404 as a missing one.
    let refused = bo
        .post("/api/assets/trash", &[("id", first.as_str())])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        refused.json()["message"],
        format!("no asset of yours has the id “{first}”")
    );
    let trashed = ada
        .post("/api/assets/trash", &[("id", first.as_str())])
        .await;
    assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    assert_eq!(
        ada.get(&format!("/api/asset?id={first}")).await.status,
        StatusCode::NOT_FOUND
    );
    // In the trash it is still charged; purged, it is not.
    assert_eq!(
        used(&mut ada, "ada").await,
        Some(2 * common::charged(&bytes) + stills_first + stills_second)
    );
    let purged = ada
        .post("/api/assets/purge", &[("id", first.as_str())])
        .await;
    assert_eq!(purged.status, StatusCode::OK, "{}", purged.text());
    assert_eq!(
        used(&mut ada, "ada").await,
        Some(common::charged(&bytes) + stills_second)
    );
    // The bytes are still another asset's, so the file stays and serves.
    assert_eq!(
        bo.get(&format!("/media/{second}/original")).await.status,
        StatusCode::OK
    );
    // An admin may delete anyone's; the last holder of the bytes takes the file with it.
    let stored = common::stored_files(db);
    for id in [&second, &third] {
        for path in ["/api/assets/trash", "/api/assets/purge"] {
            let reply = admin.post(path, &[("id", id.as_str())]).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        }
    }
    assert_eq!(used(&mut ada, "ada").await, Some(0));
    assert!(common::stored_files(db).is_empty(), "was {stored:?}");
    let totals = admin.get("/api/stats").await.json();
    assert_eq!(totals["assets"], 0);
    assert_eq!(totals["creators"], 0);
    assert_eq!(totals["storage_bytes"], 0);
    // Again: gone.
    let again = admin
        .post("/api/assets/purge", &[("id", third.as_str())])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // Without JavaScript the form sends the owner on to their trash.
    let kept = publish(&mut ada, &bytes, "Kept a moment").await;
    let form = ada
        .submit(
            &format!("/a/{kept}"),
            "/api/assets/trash",
            &[("id", kept.as_str())],
        )
        .await;
    assert_eq!(form.status, StatusCode::FOUND, "{}", form.text());
    assert_eq!(form.header(header::LOCATION), "/trash");
}

/// Uploads and publishes `bytes`; the new asset's id.
async fn publish(who: &mut Browser, bytes: &[u8], title: &str) -> String {
    let (upload, last) = send(who, "a.png", bytes).await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text());
    let done = who
        .post(
            "/api/upload/finish",
            &[("upload_id", upload.as_str()), ("title", title)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    done.json()["asset_id"].as_str().expect("id").to_string()
}

/// The storage `name`'s own profile says they use.
async fn used(browser: &mut Browser, name: &str) -> Option<u64> {
    browser
        .get(&format!("/api/profile?username={name}"))
        .await
        .json()["storage"]["used"]
        .as_u64()
}

on_both_backends!(
    every_feature_a_person_uses_is_one_event_the_admin_can_read,
    only_admins_read_statistics_and_bad_parameters_are_named,
    an_owner_deletes_an_asset_and_gets_its_storage_back,
);
