//! Bulk actions over 1,000 assets, on SQLite and on Postgres, in a database that holds
//! many more (100,000 by default, a thousand owners, two tags each).
//!
//! One person's newest 1,000 assets get two tags added, the tags taken off again, their
//! visibility set to private and back, and then they are trashed: each one
//! `BulkStore::bulk_change`, one transaction, timed as the server runs it (revisions, the
//! triggers' counts and the full-text index included). After each, the counters are
//! compared with a recount.
//!
//! Prints the figures and writes them to target/bench/bulk.txt. Run with `make bench` (or
//! `cargo bench -p server --bench bulk`). `ATELIER_BENCH_ASSETS` changes the database's
//! size, `ATELIER_BENCH_BACKENDS=sqlite` (or `postgres`) runs one backend; Postgres is used
//! when `ATELIER_TEST_POSTGRES_URL` names a server (default
//! postgres://postgres@127.0.0.1:5432/postgres).

use std::{fmt::Write as _, fs, path::Path, sync::Arc, time::Instant};

use app::account::Role;
use app::model::{MediaType, Visibility};
use app::store::{BulkChange, BulkOutcome, NewAsset, NewUser, Store, UserId, MAX_BULK};
use chrono::{Duration, Utc};
use sqlx::{Connection, Executor};

const OWNERS: u64 = 1_000;
/// Assets inserted per call while seeding.
const SEED_BATCH: u64 = 5_000;

/// Users `user0…`, then `count` assets spread over them, two tags each; the ids of user 0's
/// newest [`MAX_BULK`] assets, and user 0.
async fn seed(store: &Arc<dyn Store>, count: u64) -> (Vec<String>, UserId) {
    let start = Utc::now() - Duration::days(30);
    let mut owners = Vec::new();
    for n in 0..OWNERS {
        let user = store
            .create_user(&NewUser {
                public_id: format!("U{n:0>11}"),
                username: format!("user{n}"),
                password_hash: None,
                role: Role::User,
                created_at: start,
            })
            .await
            .expect("user");
        owners.push(user.id);
    }
    // User 0 owns the last MAX_BULK assets (the newest), the others share the rest.
    let mine_from = count.saturating_sub(MAX_BULK as u64);
    let mut batch = Vec::new();
    for i in 0..count {
        let owner = if i >= mine_from {
            owners[0]
        } else {
            owners[(1 + i % (OWNERS - 1)) as usize]
        };
        batch.push(NewAsset {
            public_id: format!("A{i:0>11}"),
            owner,
            title: format!("asset {i}"),
            prompt: format!("a prompt about neon city number {i}"),
            model: Some(if i % 3 == 0 { "sdxl" } else { "flux-dev" }.into()),
            media_type: MediaType::Image,
            file: None,
            thumb: None,
            width: Some(512),
            height: Some(512),
            duration_ms: None,
            tags: vec![
                format!("tag{}", i % 200),
                format!("tag{}", (i * 7 + 3) % 200),
            ],
            created_at: start + Duration::milliseconds(i as i64),
            negative_prompt: String::new(),
            visibility: Visibility::Public,
            original_filename: None,
            preview: None,
            generation: None,
            raw_metadata: None,
            metadata_dropped: None,
            parser_version: 0,
        });
        if batch.len() as u64 == SEED_BATCH || i + 1 == count {
            store.insert_assets(&batch).await.expect("insert");
            batch.clear();
        }
    }
    store.analyze().await.expect("analyze");
    let ids = (mine_from..count).map(|i| format!("A{i:0>11}")).collect();
    (ids, owners[0])
}

/// Runs the bulk actions over `ids`; one line per action.
async fn measure(store: &Arc<dyn Store>, ids: &[String], owner: UserId) -> String {
    let tags = vec!["harbour".to_string(), "dawn".to_string()];
    let actions = [
        ("add two tags", BulkChange::AddTags(tags.clone())),
        ("remove them", BulkChange::RemoveTags(tags)),
        (
            "make private",
            BulkChange::SetVisibility(Visibility::Private),
        ),
        ("make public", BulkChange::SetVisibility(Visibility::Public)),
        ("trash", BulkChange::Trash),
    ];
    let mut lines = String::new();
    for (name, change) in actions {
        let started = Instant::now();
        let outcome = store
            .bulk_change(ids, owner, false, &change, 32, Utc::now())
            .await
            .expect("bulk");
        let took = started.elapsed();
        let BulkOutcome::Done { changed } = outcome else {
            panic!("{name}: {outcome:?}");
        };
        assert_eq!(changed.len(), ids.len(), "{name}: every asset changes");
        // The counters the triggers keep agree with a recount.
        assert_eq!(
            store.site_totals().await.expect("totals"),
            store.count_site_totals().await.expect("recount"),
            "{name}: the site's totals"
        );
        writeln!(
            lines,
            "  {name:<13} {:>7.1} ms",
            took.as_secs_f64() * 1000.0
        )
        .ok();
    }
    lines
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: u64 = std::env::var("ATELIER_BENCH_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
        .max(MAX_BULK as u64);
    let backends = std::env::var("ATELIER_BENCH_BACKENDS").unwrap_or_default();
    let wants = |name: &str| backends.is_empty() || backends.split(',').any(|b| b == name);
    let mut report = format!(
        "bulk actions over {MAX_BULK} of one person's assets, in a database of {count} assets \
         of {OWNERS} people (one transaction each)\n"
    );
    print!("{report}");
    if wants("sqlite") {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        let store = atelier_server::store::open(&url).await.expect("open");
        let (ids, owner) = seed(&store, count).await;
        let lines = format!("sqlite:\n{}", measure(&store, &ids, owner).await);
        print!("{lines}");
        report.push_str(&lines);
        store.close().await;
    }
    if wants("postgres") {
        let admin = std::env::var("ATELIER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("atelier_bench_bulk_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("postgres answers");
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create");
        let mut url = url::Url::parse(&admin).expect("url");
        url.set_path(&name);
        let store = atelier_server::store::open(url.as_str())
            .await
            .expect("open");
        let (ids, owner) = seed(&store, count).await;
        let lines = format!("postgres:\n{}", measure(&store, &ids, owner).await);
        print!("{lines}");
        report.push_str(&lines);
        store.close().await;
        conn.execute(format!("DROP DATABASE \"{name}\"").as_str())
            .await
            .expect("drop");
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    fs::create_dir_all(&out).expect("target/bench");
    fs::write(out.join("bulk.txt"), &report).expect("write");
}
