//! Collections over HTTP, as people use them: two people build a shared private collection
//! (one as editor, one as contributor), order it, and it never shows to anyone else;
//! every permission is checked as a table of standing (owner, each role, a share link's
//! holder, a stranger) × action × visibility against the one rule book
//! (`app::access::allows`). Each story runs on SQLite and on Postgres.

mod common;

use app::access::{allows, Action, MemberRole, Standing};
use app::model::Visibility;
use axum::http::StatusCode;
use common::{found, member, Browser, TestDb, FIREFOX};

/// Makes a collection as `who`; its public id.
async fn create(who: &mut Browser, title: &str, visibility: &str) -> String {
    let reply = who
        .post(
            "/api/collections/create",
            &[("title", title), ("visibility", visibility)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["id"].as_str().expect("id").to_string()
}

async fn add(
    who: &mut Browser,
    collection: &str,
    assets: &[&str],
) -> (StatusCode, serde_json::Value) {
    let mut form = vec![("id", collection)];
    form.extend(assets.iter().map(|a| ("assets[]", *a)));
    let reply = who.post("/api/collections/items/add", &form).await;
    let body = if reply.status == StatusCode::OK {
        reply.json()
    } else {
        serde_json::Value::String(reply.text())
    };
    (reply.status, body)
}

async fn invite(who: &mut Browser, collection: &str, username: &str, role: &str) -> StatusCode {
    who.post(
        "/api/collections/members/set",
        &[("id", collection), ("username", username), ("role", role)],
    )
    .await
    .status
}

/// The ids of a collection's items in its own order, as `who` sees them.
async fn items(who: &mut Browser, collection: &str) -> Vec<String> {
    found(who, &format!("collection={collection}")).await
}

/// `who` presses an arrow (`up` or `down`) under `asset` in `collection`.
async fn arrow(who: &mut Browser, collection: &str, asset: &str, to: &str) {
    let moved = who
        .post(
            "/api/collections/items/move",
            &[("id", collection), ("asset", asset), ("to", to)],
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
}

async fn two_people_build_a_private_collection_together(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut olive = member(&state, "olive", 1).await;
    let mut eddie = member(&state, "eddie", 2).await;
    let mut cora = member(&state, "cora", 3).await;
    let mut sam = member(&state, "sam", 4).await;
    let mut visitor = Browser::new(&state, [192, 0, 2, 9], FIREFOX);
    common::publish_bare(
        db,
        "olive",
        &["Olivepic0000", "Olivepic0001"],
        Visibility::Public,
    )
    .await;
    common::publish_bare(db, "eddie", &["Eddiepic0000"], Visibility::Unlisted).await;
    common::publish_bare(
        db,
        "cora",
        &["Corapic00000", "Corapic00001"],
        Visibility::Private,
    )
    .await;
    common::publish_bare(db, "sam", &["Sampic000000"], Visibility::Public).await;

    let trip = create(&mut olive, "  Desert trip ", "private").await;
    let detail = olive
        .get(&format!("/api/collection?id={trip}"))
        .await
        .json();
    assert_eq!(detail["title"], "Desert trip");
    assert_eq!(detail["standing"], "owner");
    // Strangers and visitors cannot tell it exists.
    for who in [&mut sam, &mut visitor] {
        let reply = who.get(&format!("/api/collection?id={trip}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    }

    // Olive invites Eddie as editor and Cora as contributor.
    assert_eq!(
        invite(&mut olive, &trip, "Eddie", "editor").await,
        StatusCode::OK
    );
    assert_eq!(
        invite(&mut olive, &trip, "cora", "contributor").await,
        StatusCode::OK
    );
    assert_eq!(
        invite(&mut olive, &trip, "nobody", "viewer").await,
        StatusCode::NOT_FOUND
    );
    let members = olive
        .get(&format!("/api/collection?id={trip}"))
        .await
        .json()["members"]
        .clone();
    assert_eq!(members[0]["username"], "eddie");
    assert_eq!(members[0]["role"], "editor");
    assert_eq!(members[1]["role"], "contributor");

    // Each adds their own; Olive and Eddie may also add anyone's public picture.
    assert_eq!(
        add(&mut olive, &trip, &["Olivepic0000", "Olivepic0001"])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        add(&mut eddie, &trip, &["Eddiepic0000", "Sampic000000"])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        add(&mut cora, &trip, &["Corapic00000", "Corapic00001"])
            .await
            .0,
        StatusCode::OK
    );
    // Cora may not add someone else's, even a public one; nothing of the request is added.
    let (status, said) = add(&mut cora, &trip, &["Sampic000000", "Olivepic0000"]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{said}");
    // Adding again leaves it where it was.
    let (_, again) = add(&mut olive, &trip, &["Olivepic0000"]).await;
    assert_eq!(again["unchanged"], serde_json::json!(["Olivepic0000"]));

    // In the order they were added; Cora's private pictures show to every member of this
    // private collection.
    let order = [
        "Olivepic0000",
        "Olivepic0001",
        "Eddiepic0000",
        "Sampic000000",
        "Corapic00000",
        "Corapic00001",
    ];
    for who in [&mut olive, &mut eddie, &mut cora] {
        assert_eq!(items(who, &trip).await, order);
    }
    // Through the private collection they have a place in, members see Cora's private
    // picture itself (its page, its media) and may like it; nobody else does.
    for who in [&mut olive, &mut eddie] {
        assert_eq!(
            who.get("/api/asset?id=Corapic00000").await.status,
            StatusCode::OK
        );
        assert_eq!(
            who.get("/media/Corapic00000/thumb").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        sam.get("/api/asset?id=Corapic00000").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sam.get("/media/Corapic00000/thumb").await.status,
        StatusCode::NOT_FOUND
    );
    let liked = eddie
        .post(
            "/api/assets/like",
            &[("id", "Corapic00000"), ("like", "true")],
        )
        .await;
    assert_eq!(liked.status, StatusCode::OK, "{}", liked.text());
    assert_eq!(
        sam.post(
            "/api/assets/like",
            &[("id", "Corapic00000"), ("like", "true")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // An editor invites, but changes nobody's role: that is the owner's.
    let demote = eddie
        .post(
            "/api/collections/members/set",
            &[
                ("id", trip.as_str()),
                ("username", "CORA"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(demote.status, StatusCode::FORBIDDEN, "{}", demote.text());
    assert!(
        demote.text().contains("is a member already"),
        "{}",
        demote.text()
    );

    // Sam, whose picture is in it, still cannot see the collection.
    let reply = sam.get(&format!("/api/assets?collection={trip}")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());

    // Eddie reorders: Cora's first picture to the front, Olive's second one down.
    for (asset, to) in [("Corapic00000", "Olivepic0000"), ("Olivepic0001", "down")] {
        let moved = eddie
            .post(
                "/api/collections/items/move",
                &[("id", &trip), ("asset", asset), ("to", to)],
            )
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    }
    assert_eq!(
        items(&mut cora, &trip).await,
        [
            "Corapic00000",
            "Olivepic0000",
            "Eddiepic0000",
            "Olivepic0001",
            "Sampic000000",
            "Corapic00001"
        ]
    );
    // Cora may not reorder; paging one at a time keeps the order.
    let refused = cora
        .post(
            "/api/collections/items/move",
            &[
                ("id", trip.as_str()),
                ("asset", "Corapic00001"),
                ("to", "up"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .contains("as a contributor you may not reorder"),
        "{}",
        refused.text()
    );
    let mut paged = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let page = olive
            .get(&format!(
                "/api/assets?collection={trip}&limit=4&cursor={cursor}"
            ))
            .await
            .json();
        for item in page["items"].as_array().expect("items") {
            paged.push(item["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, items(&mut olive, &trip).await);
    // Any other order and filter works inside too.
    assert_eq!(
        found(
            &mut olive,
            &format!("collection={trip}&owner=cora&sort=oldest")
        )
        .await,
        ["Corapic00000", "Corapic00001"]
    );

    // Cora takes hers out; she may not take out Olive's (the answer says it stayed).
    let out = cora
        .post(
            "/api/collections/items/remove",
            &[
                ("id", trip.as_str()),
                ("assets[]", "Corapic00001"),
                ("assets[]", "Olivepic0000"),
            ],
        )
        .await
        .json();
    assert_eq!(out["changed"], serde_json::json!(["Corapic00001"]));
    assert_eq!(out["unchanged"], serde_json::json!(["Olivepic0000"]));

    // The owner's profile lists it to members only; the asset page's "In collections" too.
    let listed = |reply: serde_json::Value| -> Vec<String> {
        reply
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["title"].as_str().expect("title").to_string())
            .collect()
    };
    assert_eq!(
        listed(eddie.get("/api/collections?owner=olive").await.json()),
        ["Desert trip"]
    );
    assert!(listed(sam.get("/api/collections?owner=olive").await.json()).is_empty());
    assert!(listed(
        visitor
            .get("/api/collections?asset=Sampic000000")
            .await
            .json()
    )
    .is_empty());
    let mine = listed(cora.get("/api/collections?mine=true").await.json());
    assert_eq!(mine, ["Desert trip"]);
    let counted = olive.get("/api/collections?owner=olive").await.json();
    assert_eq!(counted[0]["items"], 5);

    // Made public, anyone sees it, but not Cora's private picture in it.
    let made_public = olive
        .post(
            "/api/collections/update",
            &[
                ("id", trip.as_str()),
                ("title", "Desert trip"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(made_public.status, StatusCode::OK, "{}", made_public.text());
    let cover = eddie
        .post(
            "/api/collections/cover",
            &[("id", trip.as_str()), ("asset", "Eddiepic0000")],
        )
        .await;
    assert_eq!(cover.status, StatusCode::OK, "{}", cover.text());
    assert_eq!(
        items(&mut visitor, &trip).await,
        [
            "Olivepic0000",
            "Eddiepic0000",
            "Olivepic0001",
            "Sampic000000"
        ]
    );
    // Public now, the collection no longer opens Cora's private picture to the others.
    assert_eq!(
        olive.get("/api/asset?id=Corapic00000").await.status,
        StatusCode::NOT_FOUND
    );
    let public = visitor.get("/api/collections?owner=olive").await.json();
    assert_eq!(public[0]["items"], 4);
    assert_eq!(public[0]["cover_id"], "Eddiepic0000");
    // A cover must be one of its items.
    let bad_cover = olive
        .post(
            "/api/collections/cover",
            &[("id", trip.as_str()), ("asset", "Corapic00001")],
        )
        .await;
    assert_eq!(
        bad_cover.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_cover.text()
    );

    // Sam's public picture, collected by Eddie, turns private: collecting it kept nothing
    // of Sam's; it leaves the grid, its page and its media for everyone but Sam.
    let hidden = sam
        .post(
            "/api/assets/update",
            &[
                ("id", "Sampic000000"),
                ("title", "Picture"),
                ("prompt", ""),
                ("negative_prompt", ""),
                ("model", ""),
                ("tags", ""),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.text());
    assert!(!items(&mut visitor, &trip)
        .await
        .contains(&"Sampic000000".to_string()));
    assert_eq!(
        eddie.get("/api/asset?id=Sampic000000").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        eddie.get("/media/Sampic000000/thumb").await.status,
        StatusCode::NOT_FOUND
    );
    // The arrows move past what the mover sees: with Sam's picture hidden after Olive's
    // second and Cora's before Olive's first, neither arrow at an end moves anything
    // (Sam still sees his where it was), and "down" passes one visible item.
    arrow(&mut eddie, &trip, "Olivepic0001", "down").await;
    arrow(&mut eddie, &trip, "Olivepic0000", "up").await;
    assert_eq!(
        items(&mut sam, &trip).await,
        [
            "Olivepic0000",
            "Eddiepic0000",
            "Olivepic0001",
            "Sampic000000"
        ]
    );
    arrow(&mut eddie, &trip, "Olivepic0000", "down").await;
    assert_eq!(
        items(&mut sam, &trip).await,
        [
            "Eddiepic0000",
            "Olivepic0000",
            "Olivepic0001",
            "Sampic000000"
        ]
    );
    // Nor does the asset's own listing of collections say where a hidden asset is.
    assert_eq!(
        visitor
            .get("/api/collections?asset=Sampic000000")
            .await
            .json(),
        serde_json::json!([])
    );

    // Cora leaves; a collection is handed over to an editor only.
    let to_contributor = olive
        .post(
            "/api/collections/transfer",
            &[("id", trip.as_str()), ("username", "cora")],
        )
        .await;
    assert_eq!(to_contributor.status, StatusCode::BAD_REQUEST);
    assert!(
        to_contributor.text().contains("not an editor"),
        "{}",
        to_contributor.text()
    );
    // Olive hands the collection to Eddie and stays on as an editor.
    assert_eq!(
        cora.post("/api/collections/leave", &[("id", trip.as_str())])
            .await
            .status,
        StatusCode::OK
    );
    let handed = olive
        .post(
            "/api/collections/transfer",
            &[("id", trip.as_str()), ("username", "eddie")],
        )
        .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.text());
    let now = olive
        .get(&format!("/api/collection?id={trip}"))
        .await
        .json();
    assert_eq!(
        (now["owner"].clone(), now["standing"].clone()),
        ("eddie".into(), "editor".into())
    );
    // Only the owner deletes it; the pictures stay.
    assert_eq!(
        olive
            .post("/api/collections/delete", &[("id", trip.as_str())])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        eddie
            .post("/api/collections/delete", &[("id", trip.as_str())])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        olive
            .get(&format!("/api/collection?id={trip}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        olive.get("/api/asset?id=Olivepic0000").await.status,
        StatusCode::OK
    );

    // Collection activity is a feature of the usage statistics.
    state.usage.flush().await;
    let today = app::stats::Day::today();
    let usage = db.store.feature_usage(today, today).await.expect("usage");
    let used = usage
        .iter()
        .find(|f| f.feature == app::stats::Feature::CollectionChanged)
        .expect("collection_changed");
    assert!(used.events >= 12 && used.users == 3, "{used:?}");
}

/// Who stands where in one collection of the table.
struct Cast {
    owner: Browser,
    editor: Browser,
    contributor: Browser,
    viewer: Browser,
    stranger: Browser,
}

impl Cast {
    fn playing(&mut self, standing: Standing) -> &mut Browser {
        match standing {
            Standing::Owner => &mut self.owner,
            Standing::Member(MemberRole::Editor) => &mut self.editor,
            Standing::Member(MemberRole::Contributor) => &mut self.contributor,
            Standing::Member(MemberRole::Viewer) => &mut self.viewer,
            Standing::LinkHolder | Standing::Stranger => &mut self.stranger,
        }
    }
}

/// Each person's public picture, by standing.
fn picture(standing: Standing) -> &'static str {
    match standing {
        Standing::Owner => "Tableowner00",
        Standing::Member(MemberRole::Editor) => "Tableeditor0",
        Standing::Member(MemberRole::Contributor) => "Tablecontrib",
        Standing::Member(MemberRole::Viewer) => "Tableviewer0",
        Standing::LinkHolder | Standing::Stranger => "Tablestrange",
    }
}

const NAMES: [(&str, Standing); 5] = [
    ("towner", Standing::Owner),
    ("teditor", Standing::Member(MemberRole::Editor)),
    ("tcontrib", Standing::Member(MemberRole::Contributor)),
    ("tviewer", Standing::Member(MemberRole::Viewer)),
    ("tstranger", Standing::Stranger),
];

/// A fresh collection of `visibility` with the cast in place and everyone's picture in it
/// but the stranger's, which is their own to add; and, unless it is public, a share link's
/// token for the link holder (empty for a public one).
async fn stage(cast: &mut Cast, visibility: &str) -> (String, String) {
    let id = create(&mut cast.owner, "Table", visibility).await;
    for (name, standing) in &NAMES[1..4] {
        let Standing::Member(role) = standing else {
            continue;
        };
        assert_eq!(
            invite(&mut cast.owner, &id, name, role.as_str()).await,
            StatusCode::OK
        );
    }
    let (status, said) = add(
        &mut cast.owner,
        &id,
        &[
            "Tableowner00",
            "Tableeditor0",
            "Tablecontrib",
            "Tableviewer0",
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    let token = if visibility == "public" {
        String::new()
    } else {
        let made = cast
            .owner
            .post("/api/share/create", &[("collection", id.as_str())])
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text());
        made.json()["token"].as_str().expect("token").to_string()
    };
    (id, token)
}

/// Tries `action` as `standing` on `collection` (the link holder with `token`); whether it
/// happened.
async fn attempt(
    cast: &mut Cast,
    standing: Standing,
    action: Action,
    collection: &str,
    token: &str,
) -> bool {
    let mine = picture(standing);
    // Someone else's picture in it: the owner's, or (for the owner) the editor's.
    let theirs = if standing == Standing::Owner {
        "Tableeditor0"
    } else {
        "Tableowner00"
    };
    let who = cast.playing(standing);
    let ok = |status: StatusCode| {
        assert!(
            status == StatusCode::OK
                || status == StatusCode::BAD_REQUEST
                || status == StatusCode::FORBIDDEN
                || status == StatusCode::NOT_FOUND
                || status == StatusCode::UNAUTHORIZED,
            "{action:?} as {standing:?}: {status}"
        );
        status == StatusCode::OK
    };
    let id = collection;
    match action {
        Action::View => {
            let s = if standing == Standing::LinkHolder {
                token
            } else {
                ""
            };
            let detail = who.get(&format!("/api/collection?id={id}&s={s}")).await;
            let items = who
                .get(&format!("/api/assets?collection={id}&s={s}"))
                .await
                .status;
            assert_eq!(
                detail.status, items,
                "{standing:?} sees the items as the collection"
            );
            ok(detail.status)
        }
        // Everyone's picture but the stranger's is in already: adding it again is still
        // allowed (it stays where it is) or refused as a whole.
        Action::AddOwn => ok(who
            .post(
                "/api/collections/items/add",
                &[("id", id), ("assets[]", mine)],
            )
            .await
            .status),
        Action::RemoveOwn | Action::RemoveAny => {
            let asset = if action == Action::RemoveOwn {
                mine
            } else {
                theirs
            };
            let reply = who
                .post(
                    "/api/collections/items/remove",
                    &[("id", id), ("assets[]", asset)],
                )
                .await;
            ok(reply.status) && reply.json()["changed"] == serde_json::json!([asset])
        }
        Action::Reorder => ok(who
            .post(
                "/api/collections/items/move",
                &[("id", id), ("asset", "Tableowner00"), ("to", "end")],
            )
            .await
            .status),
        Action::Edit => ok(who
            .post(
                "/api/collections/update",
                &[("id", id), ("title", "Renamed"), ("visibility", "unlisted")],
            )
            .await
            .status),
        Action::InviteViewerOrContributor => ok(who
            .post(
                "/api/collections/members/set",
                &[("id", id), ("username", "tnewbie"), ("role", "contributor")],
            )
            .await
            .status),
        Action::ManageMembers => ok(who
            .post(
                "/api/collections/members/remove",
                &[("id", id), ("username", "tviewer")],
            )
            .await
            .status),
        Action::TransferOwnership => ok(who
            .post(
                "/api/collections/transfer",
                &[("id", id), ("username", "teditor")],
            )
            .await
            .status),
        Action::Delete => ok(who
            .post("/api/collections/delete", &[("id", id)])
            .await
            .status),
        Action::Leave => ok(who
            .post("/api/collections/leave", &[("id", id)])
            .await
            .status),
        Action::Share => ok(who
            .post("/api/share/create", &[("collection", id)])
            .await
            .status),
    }
}

async fn every_standing_action_and_visibility_follows_the_rule_book(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut browsers = Vec::new();
    for (n, (name, standing)) in NAMES.iter().enumerate() {
        browsers.push(member(&state, name, 10 + n as u8).await);
        common::publish_bare(db, name, &[picture(*standing)], Visibility::Public).await;
    }
    member(&state, "tnewbie", 20).await;
    let mut browsers = browsers.into_iter();
    let mut next = || browsers.next().expect("browser");
    let mut cast = Cast {
        owner: next(),
        editor: next(),
        contributor: next(),
        viewer: next(),
        stranger: next(),
    };
    let mut cells = 0;
    for visibility in [
        Visibility::Public,
        Visibility::Unlisted,
        Visibility::Private,
    ] {
        for action in Action::ALL {
            for standing in Standing::ALL {
                let (collection, token) = stage(&mut cast, visibility.as_str()).await;
                let did = attempt(&mut cast, standing, action, &collection, &token).await;
                assert_eq!(
                    did,
                    allows(standing, action, visibility),
                    "{} tried to {} a {} collection",
                    standing.as_str(),
                    action.as_str(),
                    visibility.as_str()
                );
                cells += 1;
                // Whatever happened, the collection goes (its owner may have changed).
                for (_, owner) in NAMES {
                    let reply = cast
                        .playing(owner)
                        .post("/api/collections/delete", &[("id", collection.as_str())])
                        .await;
                    if reply.status == StatusCode::OK {
                        break;
                    }
                }
            }
        }
    }
    assert_eq!(cells, 3 * 12 * 6);
    // A visitor is a stranger who must log in to change anything.
    let mut visitor = Browser::new(&state, [192, 0, 2, 99], FIREFOX);
    let (open, _) = stage(&mut cast, "public").await;
    let refused = visitor
        .post(
            "/api/collections/items/add",
            &[("id", open.as_str()), ("assets[]", "Tableowner00")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    two_people_build_a_private_collection_together,
    every_standing_action_and_visibility_follows_the_rule_book,
);
