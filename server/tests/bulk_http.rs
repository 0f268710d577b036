//! Bulk actions over HTTP, as people and scripts use them: an owner tags, untags, hides and
//! trashes a selection in one request each, every asset keeping a revision and every
//! count staying exact; a selection with someone else's asset, too many tags or a bad
//! action changes nothing and says why; the form works without JavaScript; an admin acts
//! on anyone's. Each story runs on SQLite and on Postgres.

mod common;

use app::store::NewAsset;
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use common::{found, member, tag_count, Browser, TestDb, FIREFOX};

/// `name`'s pictures, `ids`, published a second apart, the first tagged `harbour`.
async fn published(db: &TestDb, name: &str, ids: &[&str]) {
    let owner = common::user_id(db, name).await;
    let start = Utc::now() - Duration::minutes(10);
    let assets: Vec<NewAsset> = ids
        .iter()
        .zip(0..)
        .map(|(id, n)| NewAsset {
            title: format!("Boat {n}"),
            prompt: "a fishing boat at dawn".into(),
            tags: if n == 0 {
                vec!["harbour".into()]
            } else {
                Vec::new()
            },
            ..common::bare_asset(id, owner, start + Duration::seconds(n))
        })
        .collect();
    db.store.insert_assets(&assets).await.expect("insert");
}

/// The form of a bulk action over `ids`.
fn form<'a>(ids: &[&'a str], fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("ids[]", *id)).collect();
    form.extend_from_slice(fields);
    form
}

/// What `GET /api/asset` says of `id` to `who`: its tags and visibility.
async fn state_of(who: &mut Browser, id: &str) -> (serde_json::Value, serde_json::Value) {
    let asset = who.get(&format!("/api/asset?id={id}")).await.json();
    (asset["tags"].clone(), asset["visibility"].clone())
}

/// How many assets `name`'s profile shows `who`.
async fn listed(who: &mut Browser, name: &str) -> u64 {
    let profile = who
        .get(&format!("/api/profile?username={name}"))
        .await
        .json();
    profile["images"].as_u64().expect("images") + profile["videos"].as_u64().expect("videos")
}

const BOATS: [&str; 5] = [
    "Aboatnumber0",
    "Aboatnumber1",
    "Aboatnumber2",
    "Aboatnumber3",
    "Aboatnumber4",
];

async fn an_owner_tags_hides_and_trashes_a_selection(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    published(db, "alice", &BOATS).await;

    // She tags three at once; "harbour" was on one of them already.
    let tagged = alice
        .post(
            "/api/assets/bulk",
            &form(
                &BOATS[..3],
                &[("action", "add_tags"), ("tags", "Harbour, dawn")],
            ),
        )
        .await;
    assert_eq!(tagged.status, StatusCode::OK, "{}", tagged.text());
    let done = tagged.json();
    assert_eq!(done["action"], "add_tags");
    assert_eq!(done["tags"], serde_json::json!(["harbour", "dawn"]));
    assert_eq!(done["selected"], 3);
    assert_eq!(done["changed"], serde_json::json!(&BOATS[..3]));
    assert_eq!(
        (tag_count(db, "harbour").await, tag_count(db, "dawn").await),
        (3, 3)
    );
    assert_eq!(
        state_of(&mut alice, BOATS[0]).await.0,
        serde_json::json!(["dawn", "harbour"])
    );
    assert_eq!(
        found(&mut visitor, "tags=dawn&sort=oldest").await,
        &BOATS[..3]
    );
    // Each asset that changed keeps a revision of its tags, as an edit does.
    let history = alice
        .get(&format!("/api/asset/revisions?id={}", BOATS[1]))
        .await
        .json();
    assert_eq!(
        history["revisions"][0]["fields"],
        serde_json::json!(["tags"])
    );
    assert_eq!(
        history["revisions"][0]["tags_added"],
        serde_json::json!(["dawn", "harbour"])
    );
    // The same again changes nothing.
    let again = alice
        .post(
            "/api/assets/bulk",
            &form(&BOATS[..3], &[("action", "add_tags"), ("tags", "dawn")]),
        )
        .await
        .json();
    assert_eq!(again["changed"], serde_json::json!([]));

    // "dawn" off all five: three had it.
    let untagged = alice
        .post(
            "/api/assets/bulk",
            &form(&BOATS, &[("action", "remove_tags"), ("tags", "dawn")]),
        )
        .await;
    assert_eq!(untagged.status, StatusCode::OK, "{}", untagged.text());
    assert_eq!(untagged.json()["changed"], serde_json::json!(&BOATS[..3]));
    assert_eq!(tag_count(db, "dawn").await, 0);
    assert!(found(&mut visitor, "tags=dawn").await.is_empty());

    // Two hidden: out of everyone else's sight, each with a revision of its visibility.
    let hidden = alice
        .post(
            "/api/assets/bulk",
            &form(
                &BOATS[3..],
                &[("action", "set_visibility"), ("visibility", "private")],
            ),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.text());
    assert_eq!(listed(&mut visitor, "alice").await, 3);
    assert_eq!(listed(&mut alice, "alice").await, 5);
    assert_eq!(
        visitor
            .get(&format!("/api/asset?id={}", BOATS[4]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let history = alice
        .get(&format!("/api/asset/revisions?id={}", BOATS[4]))
        .await
        .json();
    assert_eq!(
        history["revisions"][0]["changes"],
        serde_json::json!([{ "field": "visibility", "from": "public", "to": "private" }])
    );

    // Two trashed: gone from every listing and count, both in her trash.
    let trashed = alice
        .post(
            "/api/assets/bulk",
            &form(&[BOATS[0], BOATS[4]], &[("action", "trash")]),
        )
        .await;
    assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    assert_eq!(listed(&mut alice, "alice").await, 3);
    assert_eq!(listed(&mut visitor, "alice").await, 2);
    assert_eq!(tag_count(db, "harbour").await, 2);
    let trash = alice.get("/api/trash").await.json();
    assert_eq!(trash["items"].as_array().map(Vec::len), Some(2), "{trash}");
    assert_eq!(
        db.store.site_totals().await.expect("totals").assets,
        3,
        "the site's totals count what is out of the trash"
    );

    // Each action was one usage event, which an admin sees.
    state.usage.flush().await;
    let mut admin = common::admin(&state, "curator", 9).await;
    let usage = admin.get("/api/stats/usage?range=7d").await.json();
    let bulk: u64 = usage["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|s| s["feature"] == "bulk_edit")
        .map_or(0, |s| {
            s["events"]
                .as_array()
                .expect("events")
                .iter()
                .filter_map(serde_json::Value::as_u64)
                .sum()
        });
    assert_eq!(bulk, 5);
}

async fn a_bad_selection_changes_nothing_and_says_why(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    published(db, "alice", &BOATS).await;
    published(db, "bob", &["Bobsownboat0"]).await;
    let before = state_of(&mut alice, BOATS[0]).await;
    let untouched = |what: &str| format!("{what}: nothing should have changed");

    // Bob's asset among hers: all or nothing, and his id is named (as a missing one is).
    let with_bobs = alice
        .post(
            "/api/assets/bulk",
            &form(
                &[BOATS[0], "Bobsownboat0", "Anosuchboat0"],
                &[("action", "add_tags"), ("tags", "mine")],
            ),
        )
        .await;
    assert_eq!(
        with_bobs.status,
        StatusCode::NOT_FOUND,
        "{}",
        with_bobs.text()
    );
    let text = with_bobs.text();
    assert!(text.contains("“Bobsownboat0”, “Anosuchboat0”"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(tag_count(db, "mine").await, 0, "{}", untouched("tags"));

    // Trashed ones are not in a selection's reach.
    let trashed = alice
        .post(
            "/api/assets/bulk",
            &form(&[BOATS[4]], &[("action", "trash")]),
        )
        .await;
    assert_eq!(trashed.status, StatusCode::OK);
    let again = alice
        .post(
            "/api/assets/bulk",
            &form(&[BOATS[3], BOATS[4]], &[("action", "trash")]),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text());
    assert_eq!(
        listed(&mut alice, "alice").await,
        4,
        "{}",
        untouched("trash")
    );

    // Tags past an asset's limit: the whole action is refused, naming the asset.
    let many: Vec<String> = (0..31).map(|n| format!("t{n}")).collect();
    let first = alice
        .post(
            "/api/assets/bulk",
            &form(
                &[BOATS[0]],
                &[("action", "add_tags"), ("tags", &many.join(","))],
            ),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let over = alice
        .post(
            "/api/assets/bulk",
            &form(
                &[BOATS[1], BOATS[0]],
                &[("action", "add_tags"), ("tags", "one, two")],
            ),
        )
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST, "{}", over.text());
    assert!(
        over.text().contains("“Aboatnumber0” would have 34 tags")
            && over.text().contains("at most 32"),
        "{}",
        over.text()
    );
    assert_eq!(tag_count(db, "one").await, 0, "{}", untouched("tags"));
    assert_eq!(
        state_of(&mut alice, BOATS[1]).await,
        (serde_json::json!([]), before.1.clone())
    );

    // Each bad request is refused by name.
    let too_many: Vec<String> = (0..=app::store::MAX_BULK)
        .map(|n| format!("A{n:0>11}"))
        .collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    for (fields, status, words) in [
        (
            form(&[], &[("action", "trash")]),
            StatusCode::BAD_REQUEST,
            "select at least one asset",
        ),
        (
            form(&[BOATS[0]], &[("action", "paint")]),
            StatusCode::BAD_REQUEST,
            "not “paint”",
        ),
        (
            form(&[BOATS[0]], &[("action", "add_tags"), ("tags", " , ")]),
            StatusCode::BAD_REQUEST,
            "name the tags to add",
        ),
        (
            form(
                &[BOATS[0]],
                &[("action", "set_visibility"), ("visibility", "friends")],
            ),
            StatusCode::BAD_REQUEST,
            "public, unlisted or private",
        ),
        (
            form(&[BOATS[0]], &[("action", "set_visibility")]),
            StatusCode::BAD_REQUEST,
            "public, unlisted or private",
        ),
        (
            form(&["../etc/passwd"], &[("action", "trash")]),
            StatusCode::NOT_FOUND,
            "“../etc/passwd”",
        ),
        (
            form(&too_many, &[("action", "trash")]),
            StatusCode::BAD_REQUEST,
            "at most 1000 assets at once (1001 were)",
        ),
    ] {
        let refused = alice.post("/api/assets/bulk", &fields).await;
        assert_eq!(refused.status, status, "{}", refused.text());
        assert!(
            refused.text().contains(words),
            "{words}: {}",
            refused.text()
        );
    }
    assert_eq!(
        listed(&mut alice, "alice").await,
        4,
        "{}",
        untouched("trash")
    );

    // Someone not logged in is asked to; Bob cannot touch hers.
    let anonymous = visitor
        .post(
            "/api/assets/bulk",
            &form(&[BOATS[0]], &[("action", "trash")]),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let bobs = bob
        .post(
            "/api/assets/bulk",
            &form(&[BOATS[0]], &[("action", "trash")]),
        )
        .await;
    assert_eq!(bobs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        listed(&mut alice, "alice").await,
        4,
        "{}",
        untouched("trash")
    );
}

async fn the_form_works_without_javascript(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    published(db, "alice", &BOATS).await;

    // Her profile has a checkbox per asset, tied to the bulk form.
    let page = alice.get("/u/alice").await.text();
    assert!(page.contains(r#"id="bulk-form""#), "{page}");
    for id in BOATS {
        assert!(
            page.contains(&format!(r#"name="ids[]" value="{id}" form="bulk-form""#)),
            "{id}"
        );
    }
    // Nobody else's view of it has any.
    let mut visitor = Browser::new(&state, [192, 0, 2, 3], FIREFOX);
    assert!(!visitor.get("/u/alice").await.text().contains("bulk-form"));

    // The browser sends the checked boxes (brackets encoded) and comes back to the page.
    let back = "/u/alice?q=boat";
    let posted = alice
        .submit(
            back,
            "/api/assets/bulk",
            &form(
                &BOATS[1..3],
                &[("action", "add_tags"), ("tags", "calm"), ("back", back)],
            ),
        )
        .await;
    assert!(posted.status.is_redirection(), "{}", posted.text());
    assert_eq!(posted.header(header::LOCATION), back);
    assert_eq!(tag_count(db, "calm").await, 2);
    // A `back` off this site goes to the gallery instead.
    let elsewhere = alice
        .submit(
            back,
            "/api/assets/bulk",
            &form(
                &BOATS[1..2],
                &[("action", "trash"), ("back", "https://example.com/")],
            ),
        )
        .await;
    assert!(elsewhere.status.is_redirection(), "{}", elsewhere.text());
    assert_eq!(elsewhere.header(header::LOCATION), "/");
    assert_eq!(listed(&mut alice, "alice").await, 4);
}

async fn an_admin_acts_on_anyones_assets(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut admin = common::admin(&state, "curator", 3).await;
    published(db, "alice", &BOATS[..2]).await;
    published(db, "bob", &["Bobsownboat0"]).await;

    // The gallery shows the admin the checkboxes.
    assert!(admin.get("/").await.text().contains(r#"id="bulk-form""#));
    assert!(!alice.get("/").await.text().contains(r#"id="bulk-form""#));

    let trashed = admin
        .post(
            "/api/assets/bulk",
            &form(&[BOATS[0], "Bobsownboat0"], &[("action", "trash")]),
        )
        .await;
    assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    assert_eq!(listed(&mut alice, "alice").await, 1);
    assert_eq!(listed(&mut bob, "bob").await, 0);
    // Each owner finds theirs in their own trash.
    for (who, id) in [(&mut alice, BOATS[0]), (&mut bob, "Bobsownboat0")] {
        let trash = who.get("/api/trash").await.json();
        assert_eq!(trash["items"][0]["asset"]["id"], id, "{trash}");
    }
}

on_both_backends!(
    an_owner_tags_hides_and_trashes_a_selection,
    a_bad_selection_changes_nothing_and_says_why,
    the_form_works_without_javascript,
    an_admin_acts_on_anyones_assets,
);
