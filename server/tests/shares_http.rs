//! Share links over HTTP, the story: two people build a private collection (one
//! as editor, one as contributor), its owner shares it with a third person through a link
//! that expires, visitors open it and like what they see, the gallery's "most liked this
//! week" shows the order, and the link stops working once revoked. Each story runs on
//! SQLite and on Postgres.

mod common;

use app::model::Visibility;
use app::store::{NewAsset, NewShareLink, ShareTarget};
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use common::{found, member, Browser, TestDb, FIREFOX};

fn ids(reply: &serde_json::Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect()
}

async fn a_private_collection_is_shared_by_a_link_until_it_is_revoked(db: &TestDb) {
    let state = common::serving(db, 1024).await;
    let mut olive = member(&state, "olive", 1).await;
    let mut eddie = member(&state, "eddie", 2).await;
    let mut cora = member(&state, "cora", 3).await;
    let mut dave = member(&state, "dave", 4).await;
    let mut erin = member(&state, "erin", 5).await;
    let mut visitor = Browser::new(&state, [198, 51, 100, 20], FIREFOX);
    common::publish_bare(
        db,
        "olive",
        &["Olivepic0000", "Olivepic0001"],
        Visibility::Public,
    )
    .await;
    common::publish_bare(db, "eddie", &["Eddiepic0000"], Visibility::Unlisted).await;
    // Cora's private picture has a thumbnail (a tiny stand-in for the bytes).
    let stand_in = b"RIFF\x0c\x00\x00\x00WEBPVP8 ";
    let dir = db.dir.path().join("files").join("c0").join("ff");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("thumb.webp"), stand_in).expect("bytes");
    let thumb = db
        .store
        .put_file(&app::store::NewFile {
            sha256: "c0ffee".repeat(10) + "c0ff",
            byte_size: stand_in.len() as u64,
            mime_type: "image/webp".into(),
            width: Some(512),
            height: Some(512),
            duration_ms: None,
            storage_path: "c0/ff/thumb.webp".into(),
            created_at: Utc::now(),
        })
        .await
        .expect("file");
    let cora_id = common::user_id(db, "cora").await;
    db.store
        .insert_assets(&[NewAsset {
            title: "Picture Corapic00000".into(),
            visibility: Visibility::Private,
            thumb: Some(thumb),
            ..common::bare_asset("Corapic00000", cora_id, Utc::now() - Duration::minutes(30))
        }])
        .await
        .expect("insert");
    common::publish_bare(db, "olive", &["Elsewhere000"], Visibility::Private).await;

    // Olive's private collection, curated with Eddie (editor) and Cora (contributor).
    let made = olive
        .post(
            "/api/collections/create",
            &[("title", "Canyon light"), ("visibility", "private")],
        )
        .await
        .json();
    let canyon = made["id"].as_str().expect("id").to_string();
    for (name, role) in [("eddie", "editor"), ("cora", "contributor")] {
        let invited = olive
            .post(
                "/api/collections/members/set",
                &[("id", canyon.as_str()), ("username", name), ("role", role)],
            )
            .await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.text());
    }
    let mut olive_again = olive.clone();
    for (who, asset) in [
        (&mut olive, "Olivepic0000"),
        (&mut olive_again, "Olivepic0001"),
        (&mut eddie, "Eddiepic0000"),
        (&mut cora, "Corapic00000"),
    ] {
        let added = who
            .post(
                "/api/collections/items/add",
                &[("id", canyon.as_str()), ("assets[]", asset)],
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    }

    // Only the owner shares it; a link lasts a week.
    let refused = eddie
        .post("/api/share/create", &[("collection", canyon.as_str())])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .contains("as an editor you may not make or revoke share links"),
        "{}",
        refused.text()
    );
    let link = olive
        .post(
            "/api/share/create",
            &[("collection", canyon.as_str()), ("expires_in_days", "7")],
        )
        .await;
    assert_eq!(link.status, StatusCode::OK, "{}", link.text());
    let link = link.json();
    let token = link["token"].as_str().expect("token").to_string();
    assert_eq!(link["path"], format!("/s/{token}"));
    assert_eq!(link["kind"], "collection");
    let expires =
        chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().expect("expiry"))
            .expect("a time");
    let week = expires.with_timezone(&Utc) - Utc::now();
    assert!(
        week > Duration::days(6) && week <= Duration::days(7),
        "{week}"
    );
    let too_long = olive
        .post(
            "/api/share/create",
            &[("collection", canyon.as_str()), ("expires_in_days", "400")],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);

    // The link opens the collection to a visitor without an account: the page goes on to
    // it, the token carried along.
    let page = visitor.get(&format!("/s/{token}")).await;
    assert!(page.status.is_redirection(), "{}", page.status);
    assert_eq!(
        page.header(header::LOCATION),
        format!("/c/{canyon}?s={token}")
    );
    let detail = visitor
        .get(&format!("/api/collection?id={canyon}&s={token}"))
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    assert_eq!(detail.json()["standing"], "link_holder");
    // Its count is of what the holder sees: Cora's private picture too.
    assert_eq!(detail.json()["items"], 4);
    let items = visitor
        .get(&format!("/api/assets?collection={canyon}&s={token}"))
        .await
        .json();
    assert_eq!(
        ids(&items),
        [
            "Olivepic0000",
            "Olivepic0001",
            "Eddiepic0000",
            "Corapic00000"
        ]
    );
    // Its pictures open with the token, Cora's private one too; without it they do not.
    let thumb = items["items"][3]["thumb_url"].as_str().expect("thumb");
    assert!(thumb.contains(&format!("s={token}")), "{thumb}");
    // (Eddie's unlisted picture has no still yet: the route answers with a placeholder.)
    let path = format!("/media/Eddiepic0000/thumb?s={token}");
    assert_eq!(visitor.get(&path).await.status, StatusCode::OK);
    let with_token = visitor
        .get(&format!("/media/Corapic00000/thumb?s={token}"))
        .await;
    assert_eq!(with_token.status, StatusCode::OK, "{}", with_token.text());
    assert_eq!(
        visitor.get("/media/Corapic00000/thumb").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor
            .get(&format!("/api/asset?id=Corapic00000&s={token}"))
            .await
            .status,
        StatusCode::OK
    );
    // It opens only what it shares.
    for path in [
        format!("/api/asset?id=Elsewhere000&s={token}"),
        "/api/collection?id=Corapic00000".to_string(),
        format!("/media/Elsewhere000/thumb?s={token}"),
    ] {
        assert_eq!(
            visitor.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        visitor
            .get(&format!("/api/assets?collection={canyon}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Visitors with accounts like what the link shows them; the gallery's most liked this
    // week lists the public ones in order, never the private one.
    for (who, assets) in [
        (
            &mut dave,
            &["Olivepic0001", "Olivepic0000", "Corapic00000"][..],
        ),
        (&mut erin, &["Olivepic0001"][..]),
    ] {
        for asset in assets {
            let liked = who
                .post(
                    "/api/assets/like",
                    &[("id", *asset), ("like", "true"), ("s", token.as_str())],
                )
                .await;
            assert_eq!(liked.status, StatusCode::OK, "{}", liked.text());
        }
    }
    let without = erin
        .post(
            "/api/assets/like",
            &[("id", "Corapic00000"), ("like", "true")],
        )
        .await;
    assert_eq!(without.status, StatusCode::NOT_FOUND);
    assert_eq!(
        found(&mut visitor, "sort=liked&period=week").await,
        ["Olivepic0001", "Olivepic0000"]
    );
    let cora_asset = cora.get("/api/asset?id=Corapic00000").await.json();
    assert_eq!(cora_asset["likes"], 1);

    // Revoked, it opens nothing any more, and says so.
    let links = olive.get("/api/share/links").await.json();
    assert_eq!(links[0]["opens"], 1);
    assert_eq!(links[0]["open"], true);
    let link_id = links[0]["id"].as_str().expect("id").to_string();
    let revoked = olive
        .post("/api/share/revoke", &[("id", link_id.as_str())])
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let closed = visitor.get(&format!("/api/share/open?token={token}")).await;
    assert_eq!(closed.status, StatusCode::NOT_FOUND);
    assert!(
        closed.text().contains("expired, was revoked"),
        "{}",
        closed.text()
    );
    for path in [
        format!("/api/collection?id={canyon}&s={token}"),
        format!("/api/assets?collection={canyon}&s={token}"),
        format!("/api/asset?id=Corapic00000&s={token}"),
    ] {
        assert_eq!(
            visitor.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(olive.get("/api/share/links").await.json()[0]["open"], false);
    // Nobody else revokes it.
    assert_eq!(
        eddie
            .post("/api/share/revoke", &[("id", link_id.as_str())])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A link that has run out opens nothing either.
    let (old, old_hash) = app::auth::new_token();
    let olive_id = common::user_id(db, "olive").await;
    db.store
        .create_share_link(&NewShareLink {
            public_id: "Oldlink00000".into(),
            token_hash: old_hash,
            owner: olive_id,
            target: ShareTarget::Collection(canyon.clone()),
            created_at: Utc::now() - Duration::days(8),
            expires_at: Some(Utc::now() - Duration::days(1)),
        })
        .await
        .expect("link")
        .expect("room");
    assert_eq!(
        visitor
            .get(&format!("/api/share/open?token={old}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A link to one private asset opens it, and nothing else.
    let one = olive
        .post("/api/share/create", &[("asset", "Elsewhere000")])
        .await
        .json();
    let one = one["token"].as_str().expect("token").to_string();
    let opened = visitor
        .get(&format!("/api/share/open?token={one}"))
        .await
        .json();
    assert_eq!(opened["path"], format!("/a/Elsewhere000?s={one}"));
    let asset = visitor
        .get(&format!("/api/asset?id=Elsewhere000&s={one}"))
        .await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(
        visitor
            .get(&format!("/api/asset?id=Corapic00000&s={one}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A public asset needs no link; someone else's cannot be shared.
    let public = olive
        .post("/api/share/create", &[("asset", "Olivepic0000")])
        .await;
    assert_eq!(public.status, StatusCode::BAD_REQUEST);
    let theirs = olive
        .post("/api/share/create", &[("asset", "Corapic00000")])
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // Openings are a feature of the usage statistics.
    state.usage.flush().await;
    let today = app::stats::Day::today();
    let usage = db.store.feature_usage(today, today).await.expect("usage");
    let opens = usage
        .iter()
        .find(|f| f.feature == app::stats::Feature::ShareOpened)
        .expect("share_opened");
    assert_eq!((opens.events, opens.anonymous), (2, 2));
}

on_both_backends!(a_private_collection_is_shared_by_a_link_until_it_is_revoked);
