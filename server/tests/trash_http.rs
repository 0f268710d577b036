//! Unlisted pictures and the trash, over HTTP as people and scripts meet them: a picture
//! made unlisted is seen by whoever has its link and listed nowhere; trashed pictures
//! vanish from every listing, count and media route at once and come back exactly as they
//! were; purging frees their storage and files, by hand, by "Empty trash", or after
//! `trash_days`; the trash pages through many. Each story runs on SQLite and on Postgres.

mod common;

use atelier_server::media::samples;
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use common::{found, member, post_multipart, processed, tag_count, Browser, TestDb, FIREFOX};

/// Publishes a picture through the upload form, as a browser without JavaScript does; its
/// id once processed. `seed` makes its bytes its own.
async fn publish(
    who: &mut Browser,
    title: &str,
    tags: &str,
    visibility: &str,
    seed: u32,
) -> String {
    let png = samples::a1111_png(100 + seed, 80);
    let reply = post_multipart(
        who,
        "/api/upload/form",
        &[
            ("title", title.as_bytes()),
            ("tags", tags.as_bytes()),
            ("visibility", visibility.as_bytes()),
            ("file", &png),
        ],
        true,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let id = reply.header(header::LOCATION)["/a/".len()..].to_string();
    processed(who, &id).await;
    id
}

/// The storage `name`'s own profile says they use.
async fn used(who: &mut Browser, name: &str) -> u64 {
    who.get(&format!("/api/profile?username={name}"))
        .await
        .json()["storage"]["used"]
        .as_u64()
        .expect("used")
}

/// What `who` is told about `id`: the status of the asset's API answer, its page and its
/// original file.
async fn reach(who: &mut Browser, id: &str) -> [StatusCode; 3] {
    [
        who.get(&format!("/api/asset?id={id}")).await.status,
        who.get(&format!("/a/{id}")).await.status,
        who.get(&format!("/media/{id}/original")).await.status,
    ]
}

const SEEN: [StatusCode; 3] = [StatusCode::OK; 3];
const GONE: [StatusCode; 3] = [StatusCode::NOT_FOUND; 3];

async fn an_unlisted_picture_is_seen_by_its_link_and_listed_nowhere(db: &TestDb) {
    let state = common::serving(db, 4096).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    let id = publish(&mut alice, "Quiet harbour", "harbour, dusk", "unlisted", 1).await;

    // Whoever has the link sees it, and nothing caches it for others.
    assert_eq!(reach(&mut visitor, &id).await, SEEN);
    let asset = visitor.get(&format!("/api/asset?id={id}")).await;
    assert_eq!(asset.json()["visibility"], "unlisted");
    assert_eq!(asset.header(header::CACHE_CONTROL), "private, no-store");
    assert!(visitor
        .get(&format!("/a/{id}"))
        .await
        .text()
        .contains("only people with its link can see this"));

    // It is listed, searched, counted and suggested nowhere but among Alice's own.
    for who in [&mut visitor, &mut bob] {
        for query in ["", "tags=harbour", "q=harbour", "owner=alice"] {
            assert!(found(who, query).await.is_empty(), "{query}");
        }
        let facets = who.get("/api/facets?owner=alice").await.json();
        assert_eq!(facets["counted"], 0, "{facets}");
        let profile = who.get("/api/profile?username=alice").await.json();
        assert_eq!(
            (profile["images"].as_u64(), &profile["unlisted"]),
            (Some(0), &serde_json::Value::Null)
        );
    }
    assert_eq!(
        bob.get("/api/tags?prefix=harb").await.json(),
        serde_json::json!([])
    );
    assert_eq!(
        alice.get("/api/tags?prefix=harb").await.json(),
        serde_json::json!(["harbour"])
    );
    assert_eq!(
        found(&mut alice, "owner=alice&tags=dusk").await,
        [id.as_str()]
    );
    let own = alice.get("/api/profile?username=alice").await.json();
    assert_eq!(
        (own["images"].as_u64(), own["unlisted"].as_u64()),
        (Some(1), Some(1))
    );

    // Made public, it is listed; made private, the link stops working.
    let edit = |visibility: &'static str| {
        vec![
            ("id", id.clone()),
            ("title", "Quiet harbour".to_string()),
            ("prompt", String::new()),
            ("negative_prompt", String::new()),
            ("model", String::new()),
            ("tags", "harbour, dusk".to_string()),
            ("visibility", visibility.to_string()),
        ]
    };
    for (visibility, listed, reached) in [("public", true, SEEN), ("private", false, GONE)] {
        let form = edit(visibility);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let saved = alice.post("/api/assets/update", &form).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
        assert_eq!(
            !found(&mut visitor, "tags=harbour").await.is_empty(),
            listed
        );
        assert_eq!(reach(&mut visitor, &id).await, reached, "{visibility}");
    }
}

async fn trashed_pictures_vanish_everywhere_and_come_back_exactly(db: &TestDb) {
    let state = common::serving(db, 4096).await;
    let mut admin = common::admin(&state, "curator", 9).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    let mut ids = Vec::new();
    for (n, title) in ["Harbour at dusk", "Lighthouse", "Gulls"]
        .into_iter()
        .enumerate()
    {
        let visibility = if n == 2 { "unlisted" } else { "public" };
        ids.push(publish(&mut alice, title, "harbour, sea", visibility, n as u32).await);
    }
    let before: Vec<serde_json::Value> = {
        let mut all = Vec::new();
        for id in &ids {
            all.push(alice.get(&format!("/api/asset?id={id}")).await.json());
        }
        all
    };
    let totals = admin.get("/api/stats").await.json();
    let storage = used(&mut alice, "alice").await;
    assert_eq!(
        (totals["assets"].as_u64(), tag_count(db, "harbour").await),
        (Some(3), 3)
    );

    // Alice trashes all three by mistake; Bob cannot touch them.
    for id in &ids {
        let theirs = bob.post("/api/assets/trash", &[("id", id.as_str())]).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        let trashed = alice
            .post("/api/assets/trash", &[("id", id.as_str())])
            .await;
        assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    }
    // Gone from everywhere at once, for her too, except her trash (its thumbnails).
    for id in &ids {
        assert_eq!(reach(&mut visitor, id).await, GONE);
        assert_eq!(reach(&mut bob, id).await, GONE);
        let own = reach(&mut alice, id).await;
        assert_eq!(
            own[..2],
            GONE[..2],
            "no page or API answer for the owner either"
        );
        assert_eq!(own[2], StatusCode::OK, "the owner's trash shows it");
        let again = alice
            .post("/api/assets/trash", &[("id", id.as_str())])
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "already in the trash");
        let edit = alice
            .post(
                "/api/assets/update",
                &[
                    ("id", id.as_str()),
                    ("title", "x"),
                    ("prompt", ""),
                    ("negative_prompt", ""),
                    ("model", ""),
                    ("tags", ""),
                    ("visibility", "public"),
                ],
            )
            .await;
        assert_eq!(
            edit.status,
            StatusCode::NOT_FOUND,
            "a trashed picture is not edited"
        );
    }
    assert!(found(&mut alice, "owner=alice").await.is_empty());
    assert!(found(&mut visitor, "q=harbour").await.is_empty());
    assert_eq!(
        alice.get("/api/facets?owner=alice").await.json()["counted"],
        0
    );
    assert_eq!(
        alice.get("/api/tags?prefix=harb").await.json(),
        serde_json::json!([])
    );
    let emptied = admin.get("/api/stats").await.json();
    assert_eq!(
        (emptied["assets"].as_u64(), emptied["creators"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(tag_count(db, "harbour").await, 0);
    let profile = alice.get("/api/profile?username=alice").await.json();
    assert_eq!(
        (profile["images"].as_u64(), profile["unlisted"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        used(&mut alice, "alice").await,
        storage,
        "still charged in the trash"
    );

    // Her trash lists them, last trashed first, each with its purge date.
    let trash = alice.get("/api/trash").await;
    assert_eq!(trash.status, StatusCode::OK, "{}", trash.text());
    assert_eq!(trash.header(header::CACHE_CONTROL), "private, no-store");
    let trash = trash.json();
    assert_eq!(trash["trash_days"], 30);
    let listed: Vec<&str> = trash["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["asset"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(listed, [ids[2].as_str(), &ids[1], &ids[0]]);
    for item in trash["items"].as_array().expect("items") {
        let at = |key: &str| {
            chrono::DateTime::parse_from_rfc3339(item[key].as_str().expect("time"))
                .expect("rfc3339")
        };
        assert_eq!(at("purge_at") - at("trashed_at"), Duration::days(30));
    }
    assert_eq!(
        bob.get("/api/trash").await.json()["items"],
        serde_json::json!([])
    );
    assert_eq!(
        visitor.get("/api/trash").await.status,
        StatusCode::UNAUTHORIZED
    );
    let page = alice.get("/trash").await.text();
    assert!(
        page.contains("Lighthouse") && page.contains("goes for good on"),
        "{page}"
    );

    // Restored (one as a form without JavaScript, which comes back to the trash), each is
    // exactly what it was, and every count is back.
    let form = alice
        .submit("/trash", "/api/assets/restore", &[("id", ids[0].as_str())])
        .await;
    assert!(form.status.is_redirection(), "{}", form.text());
    assert_eq!(form.header(header::LOCATION), "/trash");
    for id in &ids[1..] {
        let restored = alice
            .post("/api/assets/restore", &[("id", id.as_str())])
            .await;
        assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
    }
    let again = alice
        .post("/api/assets/restore", &[("id", ids[0].as_str())])
        .await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "not in the trash any more"
    );
    for (id, was) in ids.iter().zip(&before) {
        assert_eq!(&alice.get(&format!("/api/asset?id={id}")).await.json(), was);
    }
    assert_eq!(
        reach(&mut visitor, &ids[2]).await,
        SEEN,
        "unlisted, by its link"
    );
    assert_eq!(
        found(&mut visitor, "tags=harbour").await,
        [ids[1].clone(), ids[0].clone()]
    );
    assert_eq!(admin.get("/api/stats").await.json(), totals);
    assert_eq!(tag_count(db, "harbour").await, 3);
    assert_eq!(
        alice.get("/api/trash").await.json()["items"],
        serde_json::json!([])
    );

    // Each move was a usage event.
    state.usage.flush().await;
    let usage = admin.get("/api/stats/usage?range=7d").await.json();
    let events = |feature: &str| -> u64 {
        usage["features"]
            .as_array()
            .expect("features")
            .iter()
            .find(|s| s["feature"] == feature)
            .map_or(0, |s| {
                s["events"]
                    .as_array()
                    .expect("events")
                    .iter()
                    .filter_map(|n| n.as_u64())
                    .sum()
            })
    };
    assert_eq!((events("asset_trashed"), events("asset_restored")), (3, 3));
}

async fn purging_frees_the_storage_by_hand_by_emptying_and_in_time(db: &TestDb) {
    let state = common::serving(db, 4096).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let files = || common::stored_files(db);
    let kept = publish(&mut alice, "Kept", "keep", "public", 1).await;
    let kept_storage = used(&mut alice, "alice").await;
    let stored = files().len();
    let mut ids = Vec::new();
    for n in 2..5 {
        ids.push(publish(&mut alice, &format!("Draft {n}"), "draft", "public", n).await);
    }
    for id in &ids {
        let trashed = alice
            .post("/api/assets/trash", &[("id", id.as_str())])
            .await;
        assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    }
    // Only what is in the trash is purged, and only by its owner.
    let live = alice
        .post("/api/assets/purge", &[("id", kept.as_str())])
        .await;
    assert_eq!(live.status, StatusCode::NOT_FOUND);
    assert_eq!(
        live.json()["message"],
        format!("no asset of yours in your trash has the id “{kept}”")
    );
    let theirs = bob
        .post("/api/assets/purge", &[("id", ids[0].as_str())])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // By hand, one; its files go.
    let purged = alice
        .post("/api/assets/purge", &[("id", ids[0].as_str())])
        .await;
    assert_eq!(purged.status, StatusCode::OK, "{}", purged.text());
    assert_eq!(reach(&mut alice, &ids[0]).await, GONE);
    let restore = alice
        .post("/api/assets/restore", &[("id", ids[0].as_str())])
        .await;
    assert_eq!(
        restore.status,
        StatusCode::NOT_FOUND,
        "purged is gone for good"
    );
    assert!(
        files().len() < stored + 3 * 3,
        "its original and stills went"
    );

    // "Empty trash" takes the rest.
    let emptied = alice.post("/api/trash/empty", &[]).await;
    assert_eq!(emptied.status, StatusCode::OK, "{}", emptied.text());
    assert_eq!(
        emptied.json(),
        serde_json::json!({ "purged": 2, "remaining": 0 })
    );
    assert_eq!(used(&mut alice, "alice").await, kept_storage);
    assert_eq!(
        files().len(),
        stored,
        "only the kept picture's files are left"
    );
    assert_eq!(reach(&mut alice, &kept).await, SEEN);

    // In time: with trash_days at 1, nothing goes before a day has passed, then it does.
    db.store
        .set_setting("trash_days", "1", Utc::now())
        .await
        .expect("trash_days");
    let old = publish(&mut alice, "Old news", "draft", "public", 7).await;
    let trashed = alice
        .post("/api/assets/trash", &[("id", old.as_str())])
        .await;
    assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    let trash = alice.get("/api/trash").await.json();
    assert_eq!(trash["trash_days"], 1);
    let purge = |at| atelier_server::assets::purge_expired(db.store.as_ref(), &state.files, at);
    assert_eq!(purge(Utc::now()).await.expect("purge"), 0);
    assert_eq!(reach(&mut alice, &old).await[2], StatusCode::OK);
    assert_eq!(
        purge(Utc::now() + Duration::days(1) + Duration::minutes(1))
            .await
            .expect("purge"),
        1
    );
    assert_eq!(reach(&mut alice, &old).await, GONE);
    assert_eq!(used(&mut alice, "alice").await, kept_storage);
    assert_eq!(files().len(), stored);
}

async fn the_trash_pages_through_many(db: &TestDb) {
    let state = common::serving(db, 4096).await;
    let mut alice = member(&state, "alice", 1).await;
    let owner = common::user_id(db, "alice").await;
    let count = app::model::TRASH_PAGE as usize + 1;
    let start = Utc::now() - Duration::hours(1);
    let assets: Vec<_> = (0..count)
        .map(|n| {
            common::bare_asset(
                &format!("Atrash{n:06}"),
                owner,
                start + Duration::seconds(n as i64),
            )
        })
        .collect();
    db.store.insert_assets(&assets).await.expect("insert");
    for (n, asset) in assets.iter().enumerate() {
        // Two at each moment: the page's order breaks ties by the asset.
        let at = start + Duration::seconds(n as i64 / 2);
        assert!(db
            .store
            .trash_asset(&asset.public_id, owner, false, at)
            .await
            .expect("trash"));
    }
    let first = alice.get("/api/trash").await.json();
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = alice
        .get(&format!("/api/trash?cursor={cursor}"))
        .await
        .json();
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
    let ids: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|page| page["items"].as_array().expect("items").clone())
        .map(|item| item["asset"]["id"].as_str().expect("id").to_string())
        .collect();
    let mut expected: Vec<String> = assets.iter().map(|a| a.public_id.clone()).collect();
    expected.reverse();
    assert_eq!(ids, expected);
    let bad = alice.get("/api/trash?cursor=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("not a cursor of this list"),
        "{}",
        bad.text()
    );
}

on_both_backends!(
    an_unlisted_picture_is_seen_by_its_link_and_listed_nowhere,
    trashed_pictures_vanish_everywhere_and_come_back_exactly,
    purging_frees_the_storage_by_hand_by_emptying_and_in_time,
    the_trash_pages_through_many,
);
