//! Likes and views over HTTP, as people use them: members like pictures (once each,
//! however often they click) and the gallery sorts by it over the last week, month or all
//! time, page after page; a profile's "Liked" tab lists what they like and never what
//! others may not see; views count once per viewer and day, exactly, even after a
//! restart; the like form works without JavaScript. Each story runs on SQLite and on
//! Postgres.

mod common;

use app::model::Visibility;
use app::stats::Day;
use app::store::{NewAsset, ViewEvent};
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use common::{found, member, Browser, TestDb, FIREFOX};

/// `name` publishes `(id, age)` pictures, each `age` old, with `visibility`.
async fn published(db: &TestDb, name: &str, assets: &[(&str, Duration)], visibility: Visibility) {
    let owner = common::user_id(db, name).await;
    let now = Utc::now();
    let assets: Vec<NewAsset> = assets
        .iter()
        .map(|(id, age)| NewAsset {
            title: format!("Picture {id}"),
            visibility,
            ..common::bare_asset(id, owner, now - *age)
        })
        .collect();
    db.store.insert_assets(&assets).await.expect("insert");
}

async fn like(who: &mut Browser, id: &str, like: bool) -> (StatusCode, serde_json::Value) {
    let reply = who
        .post(
            "/api/assets/like",
            &[("id", id), ("like", if like { "true" } else { "false" })],
        )
        .await;
    let body = if reply.status == StatusCode::OK {
        reply.json()
    } else {
        serde_json::Value::String(reply.text())
    };
    (reply.status, body)
}

/// Every id of a listing, read a page of `limit` at a time.
async fn paged(who: &mut Browser, query: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut uri = format!("/api/assets?{query}&limit={limit}");
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let reply = who.get(&uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let page = reply.json();
        for item in page["items"].as_array().expect("items") {
            ids.push(item["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
    panic!("{query} did not end in 50 pages");
}

const NEW: [&str; 4] = [
    "Newpicture00",
    "Newpicture01",
    "Newpicture02",
    "Newpicture03",
];
const TEN_DAYS: &str = "Tendaysold00";
const FORTY_DAYS: &str = "Fortydaysold";
const HIDDEN: &str = "Onlyalice000";
const UNLISTED: &str = "Bylinkonly00";

async fn members_like_pictures_and_the_gallery_sorts_by_it(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut carol = member(&state, "carol", 3).await;
    let mut dave = member(&state, "dave", 4).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    let hours = |h: i64| Duration::hours(h);
    let fresh: Vec<(&str, Duration)> = NEW
        .iter()
        .zip(1..)
        .map(|(id, n)| (*id, hours(10 - n)))
        .collect();
    published(db, "alice", &fresh, Visibility::Public).await;
    published(
        db,
        "alice",
        &[
            (TEN_DAYS, Duration::days(10)),
            (FORTY_DAYS, Duration::days(40)),
        ],
        Visibility::Public,
    )
    .await;
    published(db, "alice", &[(HIDDEN, hours(1))], Visibility::Private).await;
    published(db, "alice", &[(UNLISTED, hours(1))], Visibility::Unlisted).await;

    // A visitor must log in first.
    assert_eq!(
        like(&mut visitor, NEW[0], true).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Newpicture02: three likes; Newpicture01 and the ten-day-old one: two each.
    for (who, ids) in [
        (&mut bob, &[NEW[1], NEW[2]][..]),
        (&mut carol, &[NEW[2], TEN_DAYS][..]),
        (&mut dave, &[NEW[2], NEW[1], TEN_DAYS][..]),
    ] {
        for id in ids {
            let (status, done) = like(who, id, true).await;
            assert_eq!(status, StatusCode::OK, "{done}");
            assert_eq!(done["liked"], true);
        }
    }
    // Liking again is still one like; taking back a like never given changes nothing.
    let (_, again) = like(&mut bob, NEW[1], true).await;
    assert_eq!(
        (again["liked"].clone(), again["likes"].clone()),
        (true.into(), 2.into())
    );
    let (_, never) = like(&mut bob, NEW[0], false).await;
    assert_eq!(
        (never["liked"].clone(), never["likes"].clone()),
        (false.into(), 0.into())
    );

    // Most liked of all time, ties newest first; this week's leaves the older ones out.
    let all_time = [NEW[2], NEW[1], TEN_DAYS, NEW[3], NEW[0], FORTY_DAYS];
    assert_eq!(found(&mut visitor, "sort=liked").await, all_time);
    assert_eq!(paged(&mut visitor, "sort=liked", 1).await, all_time);
    assert_eq!(paged(&mut visitor, "sort=liked", 4).await, all_time);
    assert_eq!(
        found(&mut visitor, "sort=liked&period=week").await,
        [NEW[2], NEW[1], NEW[3], NEW[0]]
    );
    assert_eq!(
        found(&mut visitor, "sort=liked&period=month").await,
        [NEW[2], NEW[1], TEN_DAYS, NEW[3], NEW[0]]
    );
    // The text's within: says the same; on a profile too.
    assert_eq!(
        found(&mut visitor, "q=within:week&sort=liked&owner=alice").await,
        [NEW[2], NEW[1], NEW[3], NEW[0]]
    );

    // Each person sees their own likes marked; the counts are everyone's.
    let page = bob.get("/api/assets?sort=liked&limit=3").await.json();
    let marks: Vec<(String, u64, bool)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_string(),
                a["likes"].as_u64().expect("likes"),
                a["liked"].as_bool().expect("liked"),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            (NEW[2].to_string(), 3, true),
            (NEW[1].to_string(), 2, true),
            (TEN_DAYS.to_string(), 2, false)
        ]
    );
    let reply = bob.get(&format!("/api/asset?id={}", NEW[2])).await;
    assert!(reply.header(header::CACHE_CONTROL).contains("private"));
    let asset = reply.json();
    assert_eq!(
        (asset["likes"].clone(), asset["liked"].clone()),
        (3.into(), true.into())
    );
    let asset = visitor
        .get(&format!("/api/asset?id={}", NEW[2]))
        .await
        .json();
    assert_eq!(
        (asset["likes"].clone(), asset["liked"].clone()),
        (3.into(), false.into())
    );

    // Dave's "Liked" tab, newest first, and by likes.
    assert_eq!(
        found(&mut visitor, "liked=dave").await,
        [NEW[2], NEW[1], TEN_DAYS]
    );
    assert_eq!(
        found(&mut visitor, "liked=Dave&sort=oldest").await,
        [TEN_DAYS, NEW[1], NEW[2]]
    );
    assert!(found(&mut visitor, "liked=nobody").await.is_empty());

    // Another's private picture cannot be liked; an unlisted one can, by its link, and
    // lists nowhere; alice may like her own private one, which lists nowhere either.
    let (status, said) = like(&mut bob, HIDDEN, true).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{said}");
    assert_eq!(like(&mut bob, UNLISTED, true).await.0, StatusCode::OK);
    assert_eq!(like(&mut alice, HIDDEN, true).await.0, StatusCode::OK);
    assert_eq!(found(&mut visitor, "liked=bob").await, [NEW[2], NEW[1]]);
    assert!(found(&mut visitor, "liked=alice").await.is_empty());
    // One's own "Liked" tab also lists the unlisted ones one liked, and one's own private.
    assert_eq!(
        found(&mut bob, "liked=bob").await,
        [UNLISTED, NEW[2], NEW[1]]
    );
    assert_eq!(found(&mut alice, "liked=alice").await, [HIDDEN]);
    assert!(found(&mut carol, "liked=bob").await.len() == 2);
    assert!(!found(&mut visitor, "sort=liked")
        .await
        .contains(&HIDDEN.to_string()));

    // In the trash it cannot be liked and lists nowhere; restored, its likes are back.
    let trashed = alice.post("/api/assets/trash", &[("id", NEW[2])]).await;
    assert_eq!(trashed.status, StatusCode::OK, "{}", trashed.text());
    assert_eq!(
        like(&mut carol, NEW[2], false).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(found(&mut visitor, "sort=liked&limit=1").await, [NEW[1]]);
    assert_eq!(found(&mut visitor, "liked=dave").await, [NEW[1], TEN_DAYS]);
    let restored = alice.post("/api/assets/restore", &[("id", NEW[2])]).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
    assert_eq!(found(&mut visitor, "sort=liked&limit=1").await, [NEW[2]]);

    // Taking likes back moves the order.
    for who in [&mut carol, &mut dave] {
        assert_eq!(like(who, NEW[2], false).await.1["liked"], false);
    }
    assert_eq!(
        found(&mut visitor, "sort=liked&limit=3").await,
        [NEW[1], TEN_DAYS, NEW[2]]
    );

    // Made private, the unlisted one can no longer be liked, but bob can take his like
    // back (and only he: carol never liked it).
    alice.set_visibility(UNLISTED, "private").await;
    assert_eq!(
        like(&mut carol, UNLISTED, true).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        like(&mut carol, UNLISTED, false).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, taken) = like(&mut bob, UNLISTED, false).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["likes"], 0);
    assert_eq!(
        like(&mut bob, UNLISTED, true).await.0,
        StatusCode::NOT_FOUND
    );

    // Mistakes are named.
    let bad = bob
        .post("/api/assets/like", &[("id", NEW[0]), ("like", "maybe")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("like is true or false"),
        "{}",
        bad.text()
    );
    let bad = visitor.get("/api/assets?period=year").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let stale = visitor.get("/api/assets?sort=liked&limit=1").await.json();
    let cursor = stale["next_cursor"].as_str().expect("cursor");
    let mixed = visitor
        .get(&format!("/api/assets?sort=viewed&cursor={cursor}"))
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{}", mixed.text());

    // Likes are a feature of the usage statistics.
    state.usage.flush().await;
    let today = Day::today();
    let usage = db.store.feature_usage(today, today).await.expect("usage");
    let likes = usage
        .iter()
        .find(|f| f.feature == app::stats::Feature::AssetLiked)
        .expect("asset_liked");
    // A repeated like is not another one.
    assert_eq!((likes.events, likes.users), (9, 4));
}

async fn views_count_once_per_viewer_and_day(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut alice = member(&state, "alice", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    published(
        db,
        "alice",
        &[
            ("Viewedpic000", Duration::hours(2)),
            ("Quietpic0000", Duration::hours(1)),
        ],
        Visibility::Public,
    )
    .await;
    let mut first = Browser::new(&state, [198, 51, 100, 7], FIREFOX);
    let mut second = Browser::new(&state, [198, 51, 100, 8], FIREFOX);
    let (mut first_again, mut bob_again) = (first.clone(), bob.clone());
    for who in [
        &mut first,
        &mut first_again,
        &mut second,
        &mut bob,
        &mut bob_again,
        &mut alice,
    ] {
        let reply = who.get("/api/asset?id=Viewedpic000").await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    state.usage.flush().await;
    // Two visitors and bob; alice's own look is not a view.
    let views = |asset: serde_json::Value| asset["views"].as_u64().expect("views");
    assert_eq!(
        views(alice.get("/api/asset?id=Viewedpic000").await.json()),
        3
    );
    let profile = first.get("/api/profile?username=alice").await.json();
    assert_eq!(profile["views_received"], 3);

    // A restarted server has forgotten who looked lately; the database has not.
    let restarted = common::serving(db, 1024).await;
    let mut again = Browser::new(&restarted, [198, 51, 100, 7], FIREFOX);
    again.get("/api/asset?id=Viewedpic000").await;
    restarted.usage.flush().await;
    assert_eq!(
        views(again.get("/api/asset?id=Viewedpic000").await.json()),
        3
    );

    // The next day the same viewer counts again; a view of a missing asset is let go.
    let bob_id = common::user_id(db, "bob").await;
    let tomorrow = Day::today().0 + 1;
    let counted = db
        .store
        .record_views(&[
            ViewEvent {
                asset: "Viewedpic000".into(),
                viewer: format!("u:{}", bob_id.0),
                day: tomorrow,
            },
            ViewEvent {
                asset: "Viewedpic000".into(),
                viewer: format!("u:{}", bob_id.0),
                day: tomorrow,
            },
            ViewEvent {
                asset: "Nosuchasset0".into(),
                viewer: format!("u:{}", bob_id.0),
                day: tomorrow,
            },
        ])
        .await
        .expect("views");
    assert_eq!(counted, 1);
    assert_eq!(views(bob.get("/api/asset?id=Viewedpic000").await.json()), 4);
    // Who looked before a day is forgotten; the counts stay.
    assert!(db.store.prune_views(tomorrow).await.expect("prune") >= 3);
    assert_eq!(views(bob.get("/api/asset?id=Viewedpic000").await.json()), 4);

    assert_eq!(
        found(&mut bob, "sort=viewed").await,
        ["Viewedpic000", "Quietpic0000"]
    );
    let profile = bob.get("/api/profile?username=alice").await.json();
    assert_eq!(profile["views_received"], 4);
}

async fn the_like_form_works_without_javascript(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut bob = member(&state, "bob", 2).await;
    member(&state, "alice", 1).await;
    published(
        db,
        "alice",
        &[("Formpicture0", Duration::hours(1))],
        Visibility::Public,
    )
    .await;

    // The gallery shows bob the form; a visitor a link to log in.
    let page = bob.get("/?sort=liked").await.text();
    assert!(
        page.contains(r#"action="/api/assets/like""#),
        "no like form"
    );
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    assert!(visitor.get("/").await.text().contains("/login?next=%2F"));

    let liked = bob
        .submit(
            "/?sort=liked",
            "/api/assets/like",
            &[
                ("id", "Formpicture0"),
                ("like", "true"),
                ("back", "/?sort=liked"),
            ],
        )
        .await;
    assert!(liked.status.is_redirection(), "{}", liked.text());
    assert_eq!(liked.header(header::LOCATION), "/?sort=liked");
    let page = bob.get("/a/Formpicture0").await.text();
    assert!(page.contains(r#"aria-pressed="true""#), "not marked liked");
    // Somewhere else is no place to go back to.
    let elsewhere = bob
        .submit(
            "/",
            "/api/assets/like",
            &[
                ("id", "Formpicture0"),
                ("like", "false"),
                ("back", "https://evil.test/"),
            ],
        )
        .await;
    assert_eq!(elsewhere.header(header::LOCATION), "/");
    let asset = bob.get("/api/asset?id=Formpicture0").await.json();
    assert_eq!(
        (asset["likes"].clone(), asset["liked"].clone()),
        (0.into(), false.into())
    );
    // Bob's "Liked" tab is a page of its own.
    let tab = visitor.get("/u/bob/liked").await;
    assert_eq!(tab.status, StatusCode::OK);
    assert!(
        tab.text().contains("bob has not liked anything yet."),
        "{}",
        tab.text()
    );
}

on_both_backends!(
    members_like_pictures_and_the_gallery_sorts_by_it,
    views_count_once_per_viewer_and_day,
    the_like_form_works_without_javascript,
);
