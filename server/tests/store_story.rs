//! The store's story, told once and run on SQLite and on Postgres.

mod common;

use std::collections::HashSet;

use app::model::Visibility;
use app::model::{normalize_tags, MediaType};
use app::search::Sort;
use app::store::{AssetQuery, Cursor, NewAsset, NewFile, NewUser, StoreError};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestDb;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0)
        .single()
        .expect("valid date")
}

fn user(name: &str, id: &str) -> NewUser {
    NewUser {
        public_id: id.into(),
        username: name.into(),
        password_hash: None,
        role: app::account::Role::User,
        created_at: at(1, 0),
    }
}

fn file(sha_char: char, mime: &str) -> NewFile {
    NewFile {
        sha256: sha_char.to_string().repeat(64),
        byte_size: 1234,
        mime_type: mime.into(),
        width: Some(640),
        height: Some(480),
        duration_ms: None,
        storage_path: format!("{sha_char}{sha_char}/x"),
        created_at: at(1, 0),
    }
}

async fn a_creator_publishes_and_visitors_page_through_the_gallery(db: &TestDb) {
    let store = db.store.as_ref();

    // Alice joins; nobody can take her name in another case.
    let alice = store
        .create_user(&user("Alice", "aliceAAAAAAA"))
        .await
        .expect("create");
    let taken = store.create_user(&user("ALICE", "aliceBBBBBBB")).await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(msg)) if msg.contains("ALICE")),
        "{taken:?}"
    );
    let found = store
        .find_user("alice")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!((found.id, found.username.as_str()), (alice.id, "Alice"));
    assert_eq!(store.find_user("bob").await.expect("find"), None);

    // The same bytes stored twice are one file.
    let picture = store.put_file(&file('a', "image/jpeg")).await.expect("put");
    assert_eq!(
        store
            .put_file(&file('a', "image/jpeg"))
            .await
            .expect("again"),
        picture
    );
    let clip = store.put_file(&file('b', "video/mp4")).await.expect("put");
    assert_ne!(clip, picture);

    // She publishes seven assets over a week; two share the same instant.
    let ids = [
        "A00000000001",
        "A00000000002",
        "A00000000003",
        "A00000000004",
        "A00000000005",
        "A00000000006",
        "A00000000007",
    ];
    let times = [
        at(2, 9),
        at(3, 9),
        at(3, 9),
        at(4, 12),
        at(5, 1),
        at(6, 1),
        at(7, 23),
    ];
    let batch: Vec<NewAsset> = ids
        .iter()
        .zip(times)
        .enumerate()
        .map(|(n, (id, created_at))| NewAsset {
            public_id: (*id).into(),
            owner: alice.id,
            title: format!("Study {n}"),
            prompt: format!("a study in blue, number {n}"),
            model: (n % 2 == 0).then(|| "sdxl-1.0".to_string()),
            media_type: if n == 3 {
                MediaType::Video
            } else {
                MediaType::Image
            },
            file: Some(if n == 3 { clip } else { picture }),
            thumb: Some(picture),
            width: Some(640),
            height: Some(480),
            duration_ms: (n == 3).then_some(4_000),
            tags: normalize_tags(["Portrait", "blue", "portrait", "Zebra"]),
            created_at,
            negative_prompt: String::new(),
            visibility: Visibility::Public,
            original_filename: None,
            preview: None,
            generation: None,
            raw_metadata: None,
            metadata_dropped: None,
            parser_version: 0,
        })
        .collect();
    store.insert_assets(&batch).await.expect("insert");
    assert_eq!(store.count_assets().await.expect("count"), 7);

    // A batch with one bad row (a public id already used) stores nothing at all.
    let mut bad = batch[..2].to_vec();
    bad[0].public_id = "B00000000001".into();
    let failed = store.insert_assets(&bad).await;
    assert!(failed.is_err(), "a duplicate public id must fail the batch");
    assert_eq!(store.count_assets().await.expect("count"), 7);

    // Visitors see the newest first, three at a time, every asset exactly once.
    let pages = common::every_page(store, 3).await;
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|p| p.items.len() <= 3));
    let seen: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
    let order: Vec<&str> = seen.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        order,
        [
            "A00000000007",
            "A00000000006",
            "A00000000005",
            "A00000000004",
            "A00000000003",
            "A00000000002",
            "A00000000001"
        ],
        "newest first; of two equal times, the later insert is a microsecond newer"
    );
    assert_eq!(seen.iter().map(|a| &a.id).collect::<HashSet<_>>().len(), 7);

    let newest = &seen[0];
    assert_eq!(newest.owner, "Alice");
    assert_eq!(newest.title, "Study 6");
    assert_eq!(newest.tags, ["blue", "portrait", "zebra"]);
    assert_eq!(newest.model.as_deref(), Some("sdxl-1.0"));
    assert_eq!(newest.created_at, at(7, 23));
    assert_eq!(
        newest.thumb_url.as_deref(),
        Some(&*format!("/media/A00000000007/thumb?v={}", "a".repeat(16)))
    );

    // Exactly one page when it all fits; an exhausted cursor gives an empty page.
    assert_eq!(
        seen[4].created_at - seen[5].created_at,
        Duration::microseconds(1)
    );
    let all = store
        .search_assets(&AssetQuery::newest(7))
        .await
        .expect("list");
    assert_eq!((all.items.len(), all.next_cursor), (7, None));
    let past_the_end = Cursor {
        sort: Sort::Newest,
        key: (at(1, 0) - Duration::days(1)).timestamp_micros(),
        score: None,
        count: None,
    };
    let empty = store
        .search_assets(&AssetQuery {
            after: Some(past_the_end),
            ..AssetQuery::newest(5)
        })
        .await
        .expect("list");
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());

    // The asset page has the original file; unknown ids are simply absent.
    let video = store
        .view_asset("A00000000004", None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(video.summary.media_type, MediaType::Video);
    assert_eq!(video.summary.duration_ms, Some(4_000));
    assert_eq!(
        video.media_url,
        Some(format!("/media/A00000000004/original?v={}", "b".repeat(16)))
    );
    assert_eq!(video.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(video.byte_size, Some(1234));
    assert_eq!(
        store.view_asset("Zzzzzzzzzzzz", None).await.expect("get"),
        None
    );

    store.ping().await.expect("the database answers");
}

on_both_backends!(a_creator_publishes_and_visitors_page_through_the_gallery);
