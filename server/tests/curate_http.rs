//! Curating what was published, over HTTP as people and scripts do it: an owner fixes a
//! title and a tag and hides a picture; someone else's attempt answers as a missing id;
//! bad fields are refused by name; the form works without JavaScript; an admin may edit
//! anyone's; every edit keeps a revision its owner reads and restores. Each story runs on
//! SQLite and on Postgres.

mod common;

use app::store::NewAsset;
use axum::http::{header, StatusCode};
use common::{found, member, tag_count, Browser, TestDb, FIREFOX};

const ID: &str = "Aneonalley01";

/// Alice's picture as she published it, typo and all.
async fn published(db: &TestDb) {
    let owner = common::user_id(db, "alice").await;
    let asset = NewAsset {
        title: "Neon aley".into(),
        prompt: "a neon alley at night, rain".into(),
        model: Some("sdxl".into()),
        tags: vec!["city".into(), "neon".into()],
        ..common::bare_asset(ID, owner, chrono::Utc::now())
    };
    db.store.insert_assets(&[asset]).await.expect("insert");
}

/// The edit form's fields for the picture, with `changes` over what it holds now.
fn fields<'a>(id: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("id", id),
        ("title", "Neon aley"),
        ("prompt", "a neon alley at night, rain"),
        ("negative_prompt", ""),
        ("model", "sdxl"),
        ("tags", "city, neon"),
        ("visibility", "public"),
    ];
    for (name, value) in changes {
        if let Some(field) = form.iter_mut().find(|(n, _)| n == name) {
            field.1 = value;
        }
    }
    form
}

async fn an_owner_fixes_a_title_and_a_tag_and_hides_a_picture(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    published(db).await;
    assert_eq!(found(&mut visitor, "tags=city").await, [ID]);

    // Bob's try answers exactly as a missing id does.
    let theirs = bob.post("/api/assets/update", &fields(ID, &[])).await;
    let missing = bob
        .post("/api/assets/update", &fields("Anosuchasset", &[]))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.text());
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.text().replace(ID, "?"),
        missing.text().replace("Anosuchasset", "?")
    );

    // Alice fixes the title, swaps a tag, names the model and makes it hers alone.
    let fixed = alice
        .post(
            "/api/assets/update",
            &fields(
                ID,
                &[
                    ("title", "Neon alley"),
                    ("tags", "neon, Night"),
                    ("model", "flux-dev"),
                    ("visibility", "private"),
                ],
            ),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.text());
    let asset = alice.get(&format!("/api/asset?id={ID}")).await.json();
    assert_eq!(asset["title"], "Neon alley");
    assert_eq!(asset["tags"], serde_json::json!(["neon", "night"]));
    assert_eq!(asset["model"], "flux-dev");
    assert_eq!(asset["visibility"], "private");
    assert_eq!(
        (tag_count(db, "city").await, tag_count(db, "night").await),
        (0, 1)
    );
    // Out of everyone else's sight at once; the owner still finds it among hers (the
    // gallery lists public assets only) by its new words.
    assert_eq!(
        visitor.get(&format!("/api/asset?id={ID}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(found(&mut visitor, "tags=neon").await.is_empty());
    assert!(found(&mut alice, "tags=neon").await.is_empty());
    assert_eq!(
        found(&mut alice, "owner=alice&q=alley&tags=night").await,
        [ID]
    );
    assert!(found(&mut alice, "owner=alice&tags=city").await.is_empty());
    assert_eq!(found(&mut alice, "owner=alice&model=flux-dev").await, [ID]);

    // Bad fields are refused by name, and change nothing.
    let too_many = (0..33)
        .map(|n| format!("t{n}"))
        .collect::<Vec<_>>()
        .join(",");
    for (changes, words) in [
        (vec![("title", "  ")], "title may not be empty"),
        (vec![("tags", too_many.as_str())], "at most 32 tags"),
        (
            vec![("visibility", "everyone")],
            "public, unlisted or private",
        ),
    ] {
        let refused = alice
            .post("/api/assets/update", &fields(ID, &changes))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
        assert!(refused.text().contains(words), "{}", refused.text());
    }
    assert_eq!(
        alice.get(&format!("/api/asset?id={ID}")).await.json()["title"],
        "Neon alley"
    );

    // Without JavaScript the form posts and comes back to the page, which shows the change.
    let page = format!("/a/{ID}");
    let posted = alice
        .submit(
            &page,
            "/api/assets/update",
            &fields(
                ID,
                &[("title", "Neon alley, rain"), ("visibility", "public")],
            ),
        )
        .await;
    assert!(posted.status.is_redirection(), "{}", posted.text());
    assert_eq!(posted.header(header::LOCATION), page);
    let shown = alice.get(&page).await;
    assert!(shown.text().contains("Neon alley, rain"));
    assert!(
        shown.text().contains("Save changes"),
        "the owner sees the form"
    );
    assert!(!visitor.get(&page).await.text().contains("Save changes"));
    assert_eq!(found(&mut visitor, "tags=neon").await, [ID]);
}

async fn an_admin_may_edit_anyones_picture(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let _alice = member(&state, "alice", 1).await;
    let mut admin = common::admin(&state, "curator", 2).await;
    published(db).await;
    let edited = admin
        .post(
            "/api/assets/update",
            &fields(ID, &[("tags", "city, neon, featured")]),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text());
    assert_eq!(tag_count(db, "featured").await, 1);
    assert_eq!(
        admin.get(&format!("/api/asset?id={ID}")).await.json()["tags"],
        serde_json::json!(["city", "featured", "neon"])
    );
    // Each edit is a usage event the admin sees.
    state.usage.flush().await;
    let usage = admin.get("/api/stats/usage?range=7d").await.json();
    let edits = usage["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|s| s["feature"] == "asset_edited")
        .map(|s| {
            s["events"]
                .as_array()
                .expect("events")
                .iter()
                .filter_map(serde_json::Value::as_u64)
                .sum::<u64>()
        });
    assert_eq!(edits, Some(1));
}

/// The revisions of `id` as `browser` reads them.
async fn revisions(browser: &mut Browser, id: &str) -> serde_json::Value {
    let reply = browser.get(&format!("/api/asset/revisions?id={id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header(header::CACHE_CONTROL), "private, no-store");
    reply.json()
}

async fn an_owner_reads_the_history_of_a_prompt_and_restores_a_version(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    published(db).await;
    // Published, it has no history yet.
    let fresh = revisions(&mut alice, ID).await;
    assert_eq!(fresh["revisions"], serde_json::json!([]));
    assert_eq!(fresh["current"]["title"], "Neon aley");

    // She rewrites the prompt and swaps a tag, then fixes the title.
    let rewritten = [
        ("prompt", "a neon alley at dusk, light rain"),
        ("tags", "neon, night"),
    ];
    for changes in [
        &rewritten[..],
        &[("title", "Neon alley"), rewritten[0], rewritten[1]],
    ] {
        let saved = alice.post("/api/assets/update", &fields(ID, changes)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    }
    // Saving what is already there keeps no revision.
    let same = alice
        .post(
            "/api/assets/update",
            &fields(
                ID,
                &[
                    ("title", "Neon alley"),
                    ("tags", "night, neon"),
                    rewritten[0],
                ],
            ),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text());

    let history = revisions(&mut alice, ID).await;
    let list = history["revisions"].as_array().expect("revisions");
    assert_eq!(list.len(), 2, "{history}");
    let (title_edit, prompt_edit) = (&list[0], &list[1]);
    assert_eq!(title_edit["number"], 2);
    assert_eq!(title_edit["editor"], "alice");
    assert_eq!(title_edit["fields"], serde_json::json!(["title"]));
    assert_eq!(
        title_edit["changes"],
        serde_json::json!([{ "field": "title", "from": "Neon aley", "to": "Neon alley" }])
    );
    assert_eq!(prompt_edit["number"], 1);
    assert_eq!(prompt_edit["fields"], serde_json::json!(["prompt", "tags"]));
    assert_eq!(
        prompt_edit["prompt_diff"],
        serde_json::json!([
            { "change": "same", "text": "a neon alley at" },
            { "change": "removed", "text": "night," },
            { "change": "added", "text": "dusk, light" },
            { "change": "same", "text": "rain" },
        ])
    );
    assert_eq!(prompt_edit["tags_added"], serde_json::json!(["night"]));
    assert_eq!(prompt_edit["tags_removed"], serde_json::json!(["city"]));

    // Nobody else reads it: Bob's answer is a missing id's, a visitor must log in.
    let theirs = bob.get(&format!("/api/asset/revisions?id={ID}")).await;
    let missing = bob.get("/api/asset/revisions?id=Anosuchasset").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.text().replace(ID, "?"),
        missing.text().replace("Anosuchasset", "?")
    );
    let refused = bob
        .post("/api/assets/revert", &[("id", ID), ("revision", "1")])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        visitor
            .get(&format!("/api/asset/revisions?id={ID}"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // She restores the version before her first edit: as published, a new revision.
    for (revision, status) in [
        ("99", StatusCode::NOT_FOUND),
        ("first", StatusCode::BAD_REQUEST),
    ] {
        let refused = alice
            .post("/api/assets/revert", &[("id", ID), ("revision", revision)])
            .await;
        assert_eq!(refused.status, status, "{}", refused.text());
    }
    let page = format!("/a/{ID}");
    let restored = alice
        .submit(
            &page,
            "/api/assets/revert",
            &[("id", ID), ("revision", "1")],
        )
        .await;
    assert!(restored.status.is_redirection(), "{}", restored.text());
    assert_eq!(restored.header(header::LOCATION), page);
    let asset = alice.get(&format!("/api/asset?id={ID}")).await.json();
    assert_eq!(asset["title"], "Neon aley");
    assert_eq!(asset["prompt"], "a neon alley at night, rain");
    assert_eq!(asset["tags"], serde_json::json!(["city", "neon"]));
    assert_eq!(
        (tag_count(db, "city").await, tag_count(db, "night").await),
        (1, 0)
    );
    let history = revisions(&mut alice, ID).await;
    assert_eq!(history["revisions"][0]["number"], 3);
    assert_eq!(
        history["revisions"][0]["fields"],
        serde_json::json!(["title", "prompt", "tags"])
    );
    // The page shows the history to its owner, without JavaScript too.
    let shown = alice.get(&page).await.text();
    assert!(
        shown.contains("Restore the version before edit 3"),
        "{shown}"
    );
    assert!(!visitor.get(&page).await.text().contains("History"));

    // Only the newest revisions are kept.
    let cap = app::store::MAX_REVISIONS as usize;
    for n in 0..cap {
        let title = format!("Neon alley, take {n}");
        let saved = alice
            .post(
                "/api/assets/update",
                &fields(ID, &[("title", title.as_str())]),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    }
    let history = revisions(&mut alice, ID).await;
    let list = history["revisions"].as_array().expect("revisions");
    assert_eq!(list.len(), cap);
    assert_eq!(list[0]["number"].as_u64(), Some(3 + cap as u64));
    assert_eq!(list[cap - 1]["number"].as_u64(), Some(4));

    // Purged, the asset takes its revisions with it.
    for path in ["/api/assets/trash", "/api/assets/purge"] {
        let reply = alice.post(path, &[("id", ID)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
    }
    assert_eq!(
        alice
            .get(&format!("/api/asset/revisions?id={ID}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

on_both_backends!(
    an_owner_fixes_a_title_and_a_tag_and_hides_a_picture,
    an_admin_may_edit_anyones_picture,
    an_owner_reads_the_history_of_a_prompt_and_restores_a_version,
);
