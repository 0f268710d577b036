//! Featured picks over HTTP, as an admin and the people of the gallery meet them: the
//! admin features public pictures and a public collection, the shelf on `/` and
//! `sort=featured` show them, the most recently featured first and page after page; nobody
//! else may feature, nothing private can be featured, and a pick that becomes private
//! leaves every listing. The buttons are plain forms that work without JavaScript. Each
//! story runs on SQLite and on Postgres.

mod common;

use app::model::Visibility;
use axum::http::{header, StatusCode};
use common::{admin, found, member, Browser, FIREFOX};

const PICKS: [&str; 3] = ["Featurepic00", "Featurepic01", "Featurepic02"];
const PLAIN: &str = "Plainpicture";
const SECRET: &str = "Secretpic000";

async fn feature(who: &mut Browser, kind: &str, id: &str, on: bool) -> (StatusCode, String) {
    let reply = who
        .post(
            "/api/featured/set",
            &[
                ("kind", kind),
                ("id", id),
                ("featured", if on { "true" } else { "false" }),
            ],
        )
        .await;
    (reply.status, reply.text())
}

/// The ids of the shelf's assets and collections.
async fn shelf(who: &mut Browser) -> (Vec<String>, bool, Vec<String>) {
    let reply = who.get("/api/featured").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let shelf = reply.json();
    let ids = |key: &str| -> Vec<String> {
        shelf[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|item| item["id"].as_str().expect("id").to_string())
            .collect()
    };
    (
        ids("assets"),
        shelf["more_assets"].as_bool().expect("more_assets"),
        ids("collections"),
    )
}

/// Every id `sort=featured` lists, read one at a time.
async fn featured_pages(who: &mut Browser) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    for _ in 0..20 {
        let reply = who
            .get(&format!("/api/assets?sort=featured&limit=1{cursor}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let page = reply.json();
        for item in page["items"].as_array().expect("items") {
            ids.push(item["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return ids,
        }
    }
    panic!("sort=featured did not end in 20 pages");
}

async fn an_admin_features_pictures_and_a_collection(db: &common::TestDb) {
    let state = common::serving(db, 1024).await;
    let mut ada = admin(&state, "ada", 1).await;
    let mut bob = member(&state, "bob", 2).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    let mut ids: Vec<&str> = PICKS.to_vec();
    ids.push(PLAIN);
    common::publish_bare(db, "bob", &ids, Visibility::Public).await;
    common::publish_bare(db, "bob", &[SECRET], Visibility::Private).await;

    // Nothing is featured yet: the shelf is empty and `/` shows none.
    assert_eq!(shelf(&mut visitor).await, (vec![], false, vec![]));
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.text().contains("featured-shelf"));

    // Only an admin features: a visitor must log in, a member may not.
    assert_eq!(
        feature(&mut visitor, "asset", PICKS[0], true).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, text) = feature(&mut bob, "asset", PICKS[0], true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("only an admin can feature"), "{text}");

    // Bad input says what is wrong and writes nothing.
    let (status, text) = feature(&mut ada, "tag", PICKS[0], true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("kind is asset or collection"), "{text}");
    let (status, text) = feature(&mut ada, "asset", "Nosuchpic000", true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("no asset with the id"), "{text}");
    let (status, text) = feature(&mut ada, "asset", SECRET, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.contains("this asset is private; make it public first"),
        "{text}"
    );
    let reply = ada
        .post(
            "/api/featured/set",
            &[("kind", "asset"), ("id", PICKS[0]), ("featured", "maybe")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("featured is true or false"));
    assert!(featured_pages(&mut visitor).await.is_empty());

    // Three picks, one after the other; featuring the first again keeps its place.
    for id in PICKS {
        let (status, text) = feature(&mut ada, "asset", id, true).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(text.contains("\"featured\":\"20"), "{text}");
    }
    assert_eq!(
        feature(&mut ada, "asset", PICKS[0], true).await.0,
        StatusCode::OK
    );
    let newest_first: Vec<String> = PICKS.iter().rev().map(|id| id.to_string()).collect();
    assert_eq!(featured_pages(&mut visitor).await, newest_first);
    assert_eq!(
        shelf(&mut visitor).await,
        (newest_first.clone(), false, vec![])
    );
    // The shelf is on `/`, above the gallery; not once the gallery is filtered.
    let home = visitor.get("/").await.text();
    assert!(home.contains("featured-shelf"), "{home}");
    assert!(home.contains("Picture Featurepic01"));
    let filtered = visitor.get("/?q=plainpicture").await.text();
    assert!(!filtered.contains("featured-shelf"));
    // `sort=featured` narrows a search like any order.
    assert_eq!(
        found(&mut visitor, "sort=featured&q=featurepic01").await,
        vec![PICKS[1].to_string()]
    );
    // The asset says so; the admin's page has the button pressed.
    let page = visitor.get(&format!("/a/{}", PICKS[1])).await.text();
    assert!(page.contains("★ Featured"), "{page}");
    let page = ada.get(&format!("/a/{}", PICKS[1])).await.text();
    assert!(page.contains("aria-pressed=\"true\""), "{page}");
    assert!(!bob
        .get(&format!("/a/{PLAIN}"))
        .await
        .text()
        .contains("☆ Feature"));

    // A pick made private leaves every listing; taking it back works whatever it is now.
    bob.set_visibility(PICKS[2], "private").await;
    let rest: Vec<String> = vec![PICKS[1].to_string(), PICKS[0].to_string()];
    assert_eq!(featured_pages(&mut visitor).await, rest);
    assert_eq!(shelf(&mut visitor).await.0, rest);
    assert!(!visitor
        .get("/")
        .await
        .text()
        .contains("Picture Featurepic02"));
    let (status, text) = feature(&mut ada, "asset", PICKS[2], false).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\"featured\":null"), "{text}");

    // A public collection is featured; a private one may not be.
    let made = bob
        .post(
            "/api/collections/create",
            &[("title", "Best of bob"), ("visibility", "public")],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text());
    let public = made.json()["id"].as_str().expect("id").to_string();
    let made = bob
        .post(
            "/api/collections/create",
            &[("title", "Drafts"), ("visibility", "private")],
        )
        .await;
    let private = made.json()["id"].as_str().expect("id").to_string();
    let (status, text) = feature(&mut ada, "collection", &private, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("this collection is private"), "{text}");
    assert_eq!(
        feature(&mut ada, "collection", &public, true).await.0,
        StatusCode::OK
    );
    assert_eq!(shelf(&mut visitor).await.2, vec![public.clone()]);
    assert!(visitor.get("/").await.text().contains("Best of bob"));
    // Made unlisted, it leaves the shelf.
    let reply = bob
        .post(
            "/api/collections/update",
            &[
                ("id", public.as_str()),
                ("title", "Best of bob"),
                ("visibility", "unlisted"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(shelf(&mut visitor).await.2.is_empty());

    // Without JavaScript the button is a form that comes back to the page.
    let back = format!("/a/{PLAIN}");
    let reply = ada
        .submit(
            &back,
            "/api/featured/set",
            &[
                ("kind", "asset"),
                ("id", PLAIN),
                ("featured", "true"),
                ("back", &back),
            ],
        )
        .await;
    assert!(reply.status.is_redirection(), "{}", reply.status);
    assert_eq!(reply.header(header::LOCATION), back);
    assert_eq!(featured_pages(&mut visitor).await[0], PLAIN);
}

on_both_backends!(an_admin_features_pictures_and_a_collection);

/// The panics of the server's code (not of this test's) seen in this test binary.
static SERVER_PANICS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Notes every panic outside this test's own code in [`SERVER_PANICS`], then reports it as
/// before. Installed once.
fn watch_for_server_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info
                .location()
                .is_none_or(|at| !at.file().contains("tests/"))
            {
                SERVER_PANICS
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(info.to_string());
            }
            before(info);
        }));
    });
}

/// People close the tab, or lose the connection, while `/` is being rendered: eight
/// readers at once drop their request at a different moment each time. Leptos disposes of
/// a page's reactive owner when its request is dropped, and an effect on the other worker
/// thread could still be building the page's cards then, which panicked ("reactive value
/// … already disposed", "Location outside a <Router>"). Nothing panics, and the next reader
/// gets the whole page.
async fn a_reader_who_leaves_mid_page_breaks_nothing(db: &common::TestDb) {
    use tower::ServiceExt;

    watch_for_server_panics();
    let state = common::serving(db, 1024).await;
    let mut ada = admin(&state, "ada", 1).await;
    member(&state, "bob", 2).await;
    // A full shelf and a full first page of the gallery: many cards to build.
    let many: Vec<String> = (0..48).map(|n| format!("Leavingpic{n:02}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    common::publish_bare(db, "bob", &many, Visibility::Public).await;
    for id in &many[..8] {
        assert_eq!(feature(&mut ada, "asset", id, true).await.0, StatusCode::OK);
    }
    let visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    // Eight readers at once, twenty-four pages each.
    let mut readers = tokio::task::JoinSet::new();
    for reader in 0..8u64 {
        // Both the login link (visitors) and the like form (members) are on the cards.
        // Each from its own address, as the gallery's rate limits are per address.
        let ip = 10 + reader as u8;
        let mut who = Browser::new(&state, [192, 0, 2, ip], FIREFOX);
        if reader % 2 == 1 {
            assert_eq!(
                who.login("bob", common::PASSWORD).await.status,
                StatusCode::OK
            );
        }
        readers.spawn(async move {
            for round in 0..24u64 {
                let mut request = axum::http::Request::get("/")
                    .header(header::HOST, "atelier.test")
                    .header(header::USER_AGENT, FIREFOX)
                    .header(header::ACCEPT, "text/html");
                if let Some(token) = &who.cookie {
                    request = request.header(header::COOKIE, format!("{}={token}", common::COOKIE));
                }
                // Async pages are sent whole: leaving is dropping the request before the
                // answer comes, at a different moment each time.
                let wait = (round * 7 + reader * 3) % 24 * 250;
                let page = who
                    .app
                    .clone()
                    .oneshot(request.body(axum::body::Body::empty()).expect("request"));
                let left = tokio::time::timeout(std::time::Duration::from_micros(wait), page);
                if let Ok(answer) = left.await {
                    let status = answer.expect("infallible").status();
                    assert_eq!(status, StatusCode::OK);
                }
            }
        });
    }
    while let Some(done) = readers.join_next().await {
        done.expect("a reader's requests");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seen = std::mem::take(&mut *SERVER_PANICS.lock().expect("not poisoned"));
    assert!(seen.is_empty(), "panics after the reader left: {seen:#?}");
    let mut visitor = visitor;
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let page = home.text();
    for id in &many[..8] {
        assert!(page.contains(&format!("Picture {id}")), "{id} on {page}");
    }
}

on_both_backends!(a_reader_who_leaves_mid_page_breaks_nothing);
