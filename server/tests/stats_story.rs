//! Statistics, told once and run on SQLite and on Postgres: the site's counters stay equal
//! to a recount through thousands of concurrent uploads, inserts and deletions; usage
//! rollups equal what the raw events say.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use app::model::Visibility;
use app::model::{normalize_tags, MediaType};
use app::stats::{Day, Feature};
use app::store::{
    FinishOutcome, FinishUpload, NewAsset, NewFile, NewUpload, NewUser, Store, StoreError,
    UsageEvent, UserId, ViewEvent,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestDb;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const OPERATIONS: usize = 10_000;
const WRITERS: usize = 8;
const TAGS: [&str; 6] = ["cat", "neon", "portrait", "sdxl", "city", "abstract"];
const MODELS: [&str; 4] = ["SDXL 1.0", "sdxl 1.0", "dreamshaper-8", "Flux.1"];

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
        .single()
        .expect("date")
}

fn file(n: u64) -> NewFile {
    NewFile {
        sha256: format!("{n:064x}"),
        // Sizes differ, so a file counted twice or not at all shows in the sums.
        byte_size: 1_000 + n * 7,
        mime_type: "image/png".into(),
        width: Some(64),
        height: Some(64),
        duration_ms: None,
        storage_path: format!("{n:04x}/{n:064x}.png"),
        created_at: start(),
    }
}

fn asset(public_id: String, owner: UserId, rng: &mut ChaCha8Rng) -> NewAsset {
    let how_many = rng.gen_range(0..3);
    let tags: Vec<String> = TAGS
        .choose_multiple(rng, how_many)
        .map(|t| t.to_string())
        .collect();
    NewAsset {
        public_id,
        owner,
        title: "a story".into(),
        prompt: "counted".into(),
        model: (rng.gen_bool(0.8)).then(|| MODELS[rng.gen_range(0..MODELS.len())].into()),
        media_type: if rng.gen_bool(0.3) {
            MediaType::Video
        } else {
            MediaType::Image
        },
        file: None,
        thumb: None,
        width: Some(64),
        height: Some(64),
        duration_ms: None,
        tags: normalize_tags(&tags),
        // A narrow window: keys clash and move on, as at a busy moment.
        created_at: start() + Duration::milliseconds(rng.gen_range(0..2_000)),
        negative_prompt: String::new(),
        visibility: if rng.gen_bool(0.2) {
            Visibility::Private
        } else {
            Visibility::Public
        },
        original_filename: None,
        preview: None,
        generation: None,
        raw_metadata: None,
        metadata_dropped: None,
        parser_version: 0,
    }
}

/// Runs SQL the store does not offer, to count the brute-force way.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn open(db: &TestDb) -> Raw {
        match db.store.backend() {
            "sqlite" => Raw::Sqlite(sqlx::SqlitePool::connect(&db.url).await.expect("sqlite")),
            _ => Raw::Postgres(sqlx::PgPool::connect(&db.url).await.expect("postgres")),
        }
    }

    /// `SELECT key, value` rows (both as the SQL casts them: text and bigint).
    async fn pairs(&self, sql: &str) -> BTreeMap<String, i64> {
        let rows: Vec<(String, i64)> = match self {
            Raw::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
            Raw::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().collect()
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}

/// Whether a write failed only because a concurrent deletion removed the file it named
/// (nothing was written: the transaction rolled back).
fn lost_a_race(err: &StoreError) -> bool {
    let text = err.to_string().to_lowercase();
    text.contains("foreign key")
}

async fn counters_equal_a_recount_after_concurrent_writes(db: &TestDb) {
    let store = db.store.clone();
    let mut users = Vec::new();
    for n in 0..12 {
        users.push(
            store
                .create_user(&NewUser {
                    public_id: format!("U{n:011}"),
                    username: format!("maker{n}"),
                    password_hash: None,
                    role: app::account::Role::User,
                    created_at: start(),
                })
                .await
                .expect("user")
                .id,
        );
    }
    let users = Arc::new(Mutex::new(users));
    let live: Arc<Mutex<Vec<String>>> = Arc::default();
    let trashed: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (store, users) = (store.clone(), users.clone());
        let (live, trashed) = (live.clone(), trashed.clone());
        writers.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(w as u64);
            let mut lost = 0u32;
            for i in 0..OPERATIONS / WRITERS {
                let id = format!("{w:02}{i:010}");
                let owner = {
                    let users = users.lock().expect("users");
                    users[rng.gen_range(0..users.len())]
                };
                let roll = rng.gen_range(0..100);
                let result: Result<(), StoreError> = if roll < 40 {
                    // An upload finishing: the file (often the same bytes as another's), the
                    // asset and its tags in one transaction.
                    let upload = NewUpload {
                        public_id: format!("P{id}"),
                        owner,
                        filename: "x.png".into(),
                        byte_size: 1,
                        expected_sha256: None,
                        created_at: start(),
                        expires_at: start() + Duration::days(1),
                    };
                    let room = app::store::UploadRoom {
                        quota: u64::MAX,
                        max_open: u32::MAX,
                    };
                    assert_eq!(
                        store
                            .create_upload(&upload, room)
                            .await
                            .expect("upload row"),
                        app::store::UploadStart::Started
                    );
                    let finish = FinishUpload {
                        upload_id: upload.public_id.clone(),
                        file: file(rng.gen_range(0..40)),
                        asset: asset(format!("A{id}"), owner, &mut rng),
                        quota: u64::MAX / 2,
                        poster: None,
                    };
                    match store.finish_upload(&finish).await {
                        Ok(FinishOutcome::Finished) => {
                            live.lock().expect("live").push(format!("A{id}"));
                            Ok(())
                        }
                        Ok(other) => panic!("{other:?}"),
                        Err(err) => Err(err),
                    }
                } else if roll < 55 {
                    // A bulk insert of a few rows (as seed-demo does), some naming a file.
                    let mut batch = Vec::new();
                    for k in 0..rng.gen_range(1..4) {
                        let mut a = asset(format!("B{id}{k}"), owner, &mut rng);
                        if rng.gen_bool(0.5) {
                            let f = store.put_file(&file(rng.gen_range(0..40))).await;
                            a.file = Some(f.expect("file"));
                        }
                        batch.push(a);
                    }
                    let ids: Vec<String> = batch.iter().map(|a| a.public_id.clone()).collect();
                    let done = store.insert_assets(&batch).await;
                    if done.is_ok() {
                        live.lock().expect("live").extend(ids);
                    }
                    done
                } else if roll < 70 {
                    // An edit (by an admin, so any owner's): new texts, model, tags and
                    // visibility, racing the deletions.
                    let target = {
                        let live = live.lock().expect("live");
                        (!live.is_empty()).then(|| live[rng.gen_range(0..live.len())].clone())
                    };
                    match target {
                        Some(target) => {
                            let draft = asset(target.clone(), owner, &mut rng);
                            let edit = app::store::AssetEdit {
                                title: draft.title,
                                prompt: draft.prompt,
                                negative_prompt: String::new(),
                                model: draft.model,
                                tags: draft.tags,
                                visibility: draft.visibility,
                            };
                            store
                                .edit_asset(&target, owner, true, &edit, start())
                                .await
                                .map(drop)
                        }
                        None => Ok(()),
                    }
                } else if roll < 95 {
                    // Into the trash (80%), back out of it (10%) or purged from it (10%);
                    // now and then an id is left in its list, so that two writers move
                    // or purge the same asset at once.
                    let kind = rng.gen_range(0..10);
                    let (from, to) = match kind {
                        0..8 => (&live, Some(&trashed)),
                        8 => (&trashed, Some(&live)),
                        _ => (&trashed, None),
                    };
                    let picked = {
                        let mut from = from.lock().expect("list");
                        (!from.is_empty()).then(|| {
                            let at = rng.gen_range(0..from.len());
                            if rng.gen_bool(0.9) {
                                from.swap_remove(at)
                            } else {
                                from[at].clone()
                            }
                        })
                    };
                    let Some(picked) = picked else { continue };
                    let done = match kind {
                        0..8 => store.trash_asset(&picked, owner, true, start()).await,
                        8 => store.restore_asset(&picked, owner, true).await,
                        _ => store
                            .purge_asset(&picked, owner, true)
                            .await
                            .map(|freed| freed.is_some()),
                    };
                    if let (Ok(true), Some(to)) = (&done, to) {
                        to.lock().expect("list").push(picked);
                    }
                    done.map(drop)
                } else {
                    let user = store
                        .create_user(&NewUser {
                            public_id: format!("N{id}"),
                            username: format!("joiner{w}x{i}"),
                            password_hash: None,
                            role: app::account::Role::User,
                            created_at: start(),
                        })
                        .await;
                    user.map(|u| users.lock().expect("users").push(u.id))
                };
                match result {
                    Ok(()) => {}
                    Err(err) if lost_a_race(&err) => lost += 1,
                    Err(err) => panic!("operation {i} of writer {w}: {err}"),
                }
            }
            lost
        }));
    }
    let mut lost = 0;
    for writer in writers {
        lost += writer.await.expect("writer");
    }
    // Races lost to a deletion are rare; most operations must have gone through.
    assert!(lost < (OPERATIONS / 20) as u32, "{lost} writes lost a race");

    let kept = store.site_totals().await.expect("totals");
    let counted = store.count_site_totals().await.expect("recount");
    assert_eq!(kept, counted);
    assert!(
        kept.assets > 100 && kept.videos > 10 && kept.creators > 5,
        "{kept:?}"
    );
    assert_eq!(kept.users, users.lock().expect("users").len() as u64);

    let raw = Raw::open(db).await;
    // Each user's kept figures against their assets.
    let kept_users = raw
        .pairs(
            "SELECT CAST(id AS TEXT) || ':' || CAST(asset_count AS TEXT), storage_bytes FROM users",
        )
        .await;
    let counted_users = raw
        .pairs(
            "SELECT CAST(u.id AS TEXT) || ':' ||
                    CAST((SELECT COUNT(*) FROM assets a
                           WHERE a.owner_id = u.id AND a.trashed_at IS NULL) AS TEXT),
                    CAST((SELECT COALESCE(SUM(
                                     COALESCE((SELECT byte_size FROM files WHERE id = a.file_id), 0)
                                   + COALESCE((SELECT byte_size FROM files WHERE id = a.thumb_file_id), 0)
                                   + COALESCE((SELECT byte_size FROM files WHERE id = a.preview_file_id), 0)
                                   + COALESCE((SELECT byte_size FROM files WHERE id = a.poster_file_id), 0)
                                   + a.metadata_bytes), 0)
                            FROM assets a WHERE a.owner_id = u.id) AS BIGINT)
               FROM users u",
        )
        .await;
    assert_eq!(kept_users, counted_users);
    // Tags and models.
    let top_tags: BTreeMap<String, i64> = store
        .top_tags(1_000)
        .await
        .expect("tags")
        .into_iter()
        .map(|t| (t.name, t.count as i64))
        .collect();
    let counted_tags = raw
        .pairs(
            "SELECT t.name, COUNT(*) FROM asset_tags x JOIN tags t ON t.id = x.tag_id
               JOIN assets a ON a.id = x.asset_id
              WHERE a.trashed_at IS NULL
              GROUP BY t.name",
        )
        .await;
    assert_eq!(top_tags, counted_tags);
    let top_models: BTreeMap<String, i64> = store
        .top_models(1_000)
        .await
        .expect("models")
        .into_iter()
        .map(|m| (m.name.to_lowercase(), m.count as i64))
        .collect();
    let counted_models = raw
        .pairs(
            "SELECT lower(model), COUNT(*) FROM assets
              WHERE model IS NOT NULL AND model <> '' AND trashed_at IS NULL
              GROUP BY lower(model)",
        )
        .await;
    assert_eq!(top_models, counted_models);
    // Each user's assets by type and visibility (the profile's summary), edits included.
    let kept_counts = raw
        .pairs(
            "SELECT CAST(user_id AS TEXT) || ':' || CAST(media_type AS TEXT) || ':' || visibility,
                    CAST(assets AS BIGINT)
               FROM user_counts WHERE assets <> 0",
        )
        .await;
    let counted_counts = raw
        .pairs(
            "SELECT CAST(owner_id AS TEXT) || ':' || CAST(media_type AS TEXT) || ':' || visibility,
                    COUNT(*)
               FROM assets WHERE trashed_at IS NULL GROUP BY owner_id, media_type, visibility",
        )
        .await;
    assert_eq!(kept_counts, counted_counts);
    // Deleted assets took their unshared files with them: a file is left unreferenced
    // only by a bulk insert that lost its race after storing the file row.
    let orphans = raw
        .pairs(
            "SELECT 'orphans', COUNT(*) FROM files f
              WHERE NOT EXISTS (SELECT 1 FROM assets a WHERE a.file_id = f.id)",
        )
        .await;
    assert!(
        orphans["orphans"] <= i64::from(lost),
        "{orphans:?} with {lost} lost races"
    );
    raw.close().await;
}

async fn a_trashed_asset_stays_charged_and_a_purged_one_frees_only_unshared_files(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let ada = create(store, "ada").await;
    let bo = create(store, "bo").await;
    let shared = store.put_file(&file(1)).await.expect("file");
    let own = store.put_file(&file(2)).await.expect("file");
    let mut first = asset("A00000000001".into(), ada, &mut rng);
    first.file = Some(shared);
    let mut second = asset("A00000000002".into(), bo, &mut rng);
    second.file = Some(shared);
    let mut third = asset("A00000000003".into(), ada, &mut rng);
    third.file = Some(own);
    store
        .insert_assets(&[first, second, third])
        .await
        .expect("insert");
    let before = store.site_totals().await.expect("totals");
    assert_eq!((before.users, before.assets, before.creators), (2, 3, 2));
    assert_eq!(before.storage_bytes, file(1).byte_size + file(2).byte_size);
    assert_eq!(
        store.storage_used(ada).await.expect("used"),
        file(1).byte_size + file(2).byte_size
    );

    // Bo cannot trash Ada's asset; an admin (any_owner) can. In the trash it is counted
    // nowhere, but still charged; out of it, nothing can purge it.
    let now = start();
    assert!(!store
        .trash_asset("A00000000001", bo, false, now)
        .await
        .expect("trash"));
    assert_eq!(
        store
            .purge_asset("A00000000001", bo, true)
            .await
            .expect("purge"),
        None,
        "not in the trash"
    );
    assert!(store
        .trash_asset("A00000000001", bo, true, now)
        .await
        .expect("trash"));
    let trashed = store.site_totals().await.expect("totals");
    assert_eq!((trashed.assets, trashed.creators), (2, 2));
    assert_eq!(trashed, store.count_site_totals().await.expect("recount"));
    assert_eq!(
        store.storage_used(ada).await.expect("used"),
        file(1).byte_size + file(2).byte_size
    );
    // Bo cannot purge it from Ada's trash either; an admin can.
    assert_eq!(
        store
            .purge_asset("A00000000001", bo, false)
            .await
            .expect("purge"),
        None
    );
    let freed = store
        .purge_asset("A00000000001", bo, true)
        .await
        .expect("purge")
        .expect("purged");
    assert!(freed.is_empty(), "Bo's asset still holds those bytes");
    assert_eq!(
        store.storage_used(ada).await.expect("used"),
        file(2).byte_size
    );
    // Ada trashes her last one: she is no longer a creator; purged, its file goes.
    assert!(store
        .trash_asset("A00000000003", ada, false, now)
        .await
        .expect("trash"));
    assert_eq!(store.site_totals().await.expect("totals").creators, 1);
    let freed = store
        .purge_asset("A00000000003", ada, false)
        .await
        .expect("purge")
        .expect("purged");
    assert_eq!(
        freed.iter().map(|f| f.sha256.as_str()).collect::<Vec<_>>(),
        [file(2).sha256.as_str()]
    );
    assert_eq!(store.storage_used(ada).await.expect("used"), 0);
    let after = store.site_totals().await.expect("totals");
    assert_eq!((after.assets, after.creators), (1, 1));
    assert_eq!(after.storage_bytes, file(1).byte_size);
    assert_eq!(after, store.count_site_totals().await.expect("recount"));
    // Gone is gone: nothing to restore or purge again.
    assert!(!store
        .restore_asset("A00000000003", ada, false)
        .await
        .expect("restore"));
    assert_eq!(
        store
            .purge_asset("A00000000003", ada, false)
            .await
            .expect("again"),
        None
    );
}

async fn create(store: &dyn Store, name: &str) -> UserId {
    store
        .create_user(&NewUser {
            public_id: format!("{name:X<12}"),
            username: name.into(),
            password_hash: None,
            role: app::account::Role::User,
            created_at: start(),
        })
        .await
        .expect("user")
        .id
}

async fn usage_rollups_equal_the_raw_events(db: &TestDb) {
    let store = db.store.clone();
    let mut people = Vec::new();
    for n in 0..6 {
        people.push(create(store.as_ref(), &format!("user{n}")).await);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let viewed = asset("A0000000000V".into(), people[0], &mut rng);
    store.insert_assets(&[viewed]).await.expect("asset");
    let today = Utc::now();
    // Batches written at once from several tasks, over ten days, the same users and
    // features again and again, some not logged in.
    let mut tasks = Vec::new();
    for t in 0..4u64 {
        let store = store.clone();
        let people = people.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(100 + t);
            let mut seen = Vec::new();
            for _ in 0..25 {
                let events: Vec<UsageEvent> = (0..rng.gen_range(1..80))
                    .map(|_| {
                        let feature = Feature::ALL[rng.gen_range(0..Feature::ALL.len())];
                        UsageEvent {
                            at: today - Duration::minutes(rng.gen_range(0..60 * 24 * 10)),
                            feature,
                            user: rng.gen_bool(0.7).then(|| people[rng.gen_range(0..6)]),
                            detail: if feature == Feature::AssetViewed {
                                "A0000000000V".into()
                            } else {
                                "tags,type".into()
                            },
                        }
                    })
                    .collect();
                store.record_usage(&events).await.expect("record");
                // The views of the same pages, counted apart: once per viewer and day.
                let views: Vec<ViewEvent> = (0..rng.gen_range(0..20))
                    .map(|_| ViewEvent {
                        asset: "A0000000000V".into(),
                        viewer: format!("v:{}", rng.gen_range(0..12)),
                        day: Day::today().0 - rng.gen_range(0..10),
                    })
                    .collect();
                store.record_views(&views).await.expect("views");
                seen.extend(views.into_iter().map(|v| (v.viewer, v.day)));
            }
            seen
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        seen.extend(task.await.expect("task"));
    }
    let raw = Raw::open(db).await;
    let by_day_feature = |value: &str| {
        format!(
            "SELECT CAST(day AS TEXT) || ':' || feature, {value} FROM usage_events
              GROUP BY day, feature"
        )
    };
    assert_eq!(
        raw.pairs("SELECT CAST(day AS TEXT) || ':' || feature, events FROM usage_daily")
            .await,
        raw.pairs(&by_day_feature("COUNT(*)")).await
    );
    assert_eq!(
        raw.pairs("SELECT CAST(day AS TEXT) || ':' || feature, users FROM usage_daily")
            .await,
        raw.pairs(&by_day_feature("COUNT(DISTINCT user_id)")).await
    );
    assert_eq!(
        raw.pairs("SELECT CAST(day AS TEXT), events FROM usage_days")
            .await,
        raw.pairs("SELECT CAST(day AS TEXT), COUNT(*) FROM usage_events GROUP BY day")
            .await
    );
    assert_eq!(
        raw.pairs("SELECT CAST(day AS TEXT), users FROM usage_days")
            .await,
        raw.pairs(
            "SELECT CAST(day AS TEXT), COUNT(DISTINCT user_id) FROM usage_events GROUP BY day"
        )
        .await
    );
    assert_eq!(
        raw.pairs(
            "SELECT CAST(day AS TEXT) || ':' || CAST(user_id AS TEXT) || ':' || feature, events
               FROM usage_user_daily"
        )
        .await,
        raw.pairs(
            "SELECT CAST(day AS TEXT) || ':' || CAST(user_id AS TEXT) || ':' || feature, COUNT(*)
               FROM usage_events WHERE user_id IS NOT NULL GROUP BY day, user_id, feature"
        )
        .await
    );
    // Views by other people reached the asset's owner, each viewer once a day, though the
    // batches came at once.
    let profile = store
        .profile("user0")
        .await
        .expect("profile")
        .expect("user");
    assert_eq!(profile.views_received, seen.len() as u64);

    // What the pages read back, against the same events.
    let last = Day::today();
    let first = Day(last.0 - 29);
    let rollup = store.usage_rollup(first, last).await.expect("rollup");
    let total: u64 = rollup.features.iter().map(|r| r.events).sum();
    let raw_total = raw.pairs("SELECT 'all', COUNT(*) FROM usage_events").await["all"];
    assert_eq!(total as i64, raw_total);
    let features = store.feature_usage(first, last).await.expect("features");
    assert_eq!(features.len(), Feature::ALL.len());
    let counted = raw
        .pairs("SELECT feature, COUNT(DISTINCT user_id) FROM usage_events GROUP BY feature")
        .await;
    let anonymous = raw
        .pairs("SELECT feature, COUNT(*) FROM usage_events WHERE user_id IS NULL GROUP BY feature")
        .await;
    for f in &features {
        let name = f.feature.as_str();
        assert_eq!(
            f.users as i64,
            counted.get(name).copied().unwrap_or(0),
            "{name}"
        );
        assert_eq!(
            f.anonymous as i64,
            anonymous.get(name).copied().unwrap_or(0),
            "{name}"
        );
    }
    let people_rows = store
        .active_user_figures(first, last, 100)
        .await
        .expect("figures");
    let active_days = raw
        .pairs(
            "SELECT CAST(user_id AS TEXT), COUNT(DISTINCT day) FROM usage_events
              WHERE user_id IS NOT NULL GROUP BY user_id",
        )
        .await;
    assert_eq!(people_rows.len(), active_days.len());
    for row in &people_rows {
        assert_eq!(
            row.active_days as i64,
            active_days[&row.user.0.to_string()],
            "{}",
            row.username
        );
    }

    // Raw events past their retention go; the rollups stay.
    let daily_before = raw
        .pairs("SELECT 'sum', CAST(SUM(events) AS BIGINT) FROM usage_daily")
        .await;
    let pruned = store
        .prune_usage_events(today - Duration::days(5))
        .await
        .expect("prune");
    assert!(pruned > 0);
    let left = raw.pairs("SELECT 'all', COUNT(*) FROM usage_events").await["all"];
    assert_eq!(left, raw_total - pruned as i64);
    assert_eq!(
        raw.pairs("SELECT 'sum', CAST(SUM(events) AS BIGINT) FROM usage_daily")
            .await,
        daily_before
    );
    raw.close().await;
}

on_both_backends!(
    counters_equal_a_recount_after_concurrent_writes,
    a_trashed_asset_stays_charged_and_a_purged_one_frees_only_unshared_files,
    usage_rollups_equal_the_raw_events,
);
