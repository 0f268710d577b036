//! Migration 0009 (unlisted and the trash) at a million assets, on SQLite and on Postgres.
//!
//! A database is migrated up to 0008 (from a copy of those migration files), a million
//! assets of a thousand users with two tags each are inserted with SQL (the triggers of 0008
//! counting them as they go), and then the store is opened as `atelier serve` opens it,
//! which applies 0009: on SQLite a rebuild of `assets` (copy, drop, rename, every index and
//! trigger again) with foreign keys off, then the check of every foreign key; on Postgres
//! the constraint swapped (and checked over every row) and a column added. The time of that
//! open is the figure. Afterwards the counters are compared with a recount, and the tag
//! links and jobs are checked to be all there.
//!
//! Prints the figures and writes them to target/bench/migrate.txt. Run with `make bench`
//! (or `cargo bench -p server --bench migrate`). `ATELIER_BENCH_ASSETS` changes the count,
//! `ATELIER_BENCH_BACKENDS=sqlite` (or `postgres`) runs one backend; Postgres is used when
//! `ATELIER_TEST_POSTGRES_URL` names a server (default postgres://postgres@127.0.0.1:5432/postgres).

use std::{fmt::Write as _, fs, path::Path, time::Instant};

use app::store::{Maintenance, UsageStore};
use atelier_server::store::{Options, PgStore, SqliteStore};
use sqlx::{migrate::Migrator, Connection, Executor};

/// The migration measured: those before it are applied first.
const MEASURED: &str = "0009";
const USERS: u64 = 1_000;

/// A copy of `backend`'s migrations before [`MEASURED`], for a migrator that stops there.
async fn migrations_before(backend: &str, into: &Path) -> Migrator {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(backend);
    fs::create_dir_all(into).expect("dir");
    for entry in fs::read_dir(&source).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.as_str() < MEASURED {
            fs::copy(&path, into.join(&name)).expect("copy");
        }
    }
    Migrator::new(into).await.expect("migrator")
}

/// How each backend spells what the seeding SQL needs.
struct Dialect {
    /// Rows `i` from 1 to `n`, written after `FROM`.
    series: fn(u64) -> String,
    /// `i` as 11 digits.
    padded: &'static str,
    /// An asset's creation time from its key `k`.
    created: &'static str,
    /// A user's creation time.
    now: &'static str,
    /// An integer 0 or 1 from a condition's truth.
    flag: &'static str,
    /// Lets an insert name an identity column's value.
    overriding: &'static str,
}

const SQLITE: Dialect = Dialect {
    series: |n| {
        format!("(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s) s")
    },
    padded: "substr('00000000000' || i, -11, 11)",
    created: "k",
    now: "0",
    flag: "",
    overriding: "",
};

const POSTGRES: Dialect = Dialect {
    series: |n| format!("generate_series(1, {n}) AS s(i)"),
    padded: "lpad(i::text, 11, '0')",
    created: "timestamptz 'epoch' + k * interval '1 microsecond'",
    now: "now()",
    flag: "::int",
    overriding: "OVERRIDING SYSTEM VALUE",
};

/// Users, then `count` assets (id = creation time in µs) spread over them, two tags each.
fn seed_sql(count: u64, d: &Dialect) -> Vec<String> {
    let Dialect {
        series,
        padded,
        created,
        now,
        flag,
        overriding,
    } = d;
    vec![
        format!(
            "INSERT INTO users (id, public_id, username, created_at) {overriding}
             SELECT i, 'U' || {padded}, 'user' || i, {now} FROM {}",
            series(USERS)
        ),
        format!(
            "INSERT INTO tags (id, name) {overriding} SELECT i, 'tag' || i FROM {}",
            series(200)
        ),
        format!(
            "INSERT INTO assets (id, public_id, owner_id, title, prompt, model, media_type,
                                 width, height, created_at, visibility)
             SELECT k, 'A' || {padded}, 1 + i % {USERS}, 'asset ' || i,
                    'a prompt about neon city number ' || i,
                    CASE WHEN i % 3 = 0 THEN 'sdxl' ELSE 'flux-dev' END, (i % 10 = 0){flag},
                    512, 512, {created}, CASE WHEN i % 7 = 0 THEN 'private' ELSE 'public' END
               FROM (SELECT i, 1700000000000000 + i * 1000 AS k FROM {}) n",
            series(count)
        ),
        format!(
            "INSERT INTO asset_tags (asset_id, tag_id)
             SELECT 1700000000000000 + i * 1000, 1 + i % 200 FROM {}
             UNION ALL
             SELECT 1700000000000000 + i * 1000, 1 + (i * 7 + 3) % 200 FROM {}
              WHERE (i * 7 + 3) % 200 <> i % 200",
            series(count),
            series(count)
        ),
    ]
}

struct Figures {
    seed_s: f64,
    migrate_s: f64,
}

async fn sqlite(dir: &Path, count: u64) -> Figures {
    let path = dir.join("bench.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let migrator = migrations_before("sqlite", &dir.join("sqlite-migrations")).await;
    let started = Instant::now();
    {
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
            .await
            .expect("pragmas");
        migrator.run(&mut conn).await.expect("migrate to 0008");
        let mut tx = conn.begin().await.expect("begin");
        for statement in seed_sql(count, &SQLITE) {
            tx.execute(statement.as_str()).await.expect("seed");
        }
        tx.commit().await.expect("commit");
        conn.close().await.expect("close");
    }
    let seed_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let store = SqliteStore::open(&url, Options::default())
        .await
        .expect("open");
    let migrate_s = started.elapsed().as_secs_f64();
    check(&store, count).await;
    store.close().await;
    Figures { seed_s, migrate_s }
}

async fn postgres(url: &str, count: u64) -> Figures {
    let name = format!("atelier_bench_migrate_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(url).await.expect("postgres");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let db_url = match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("a Postgres URL names a database: {url}"),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let migrator = migrations_before("postgres", &dir.path().join("pg-migrations")).await;
    let started = Instant::now();
    {
        let mut conn = sqlx::PgConnection::connect(&db_url).await.expect("connect");
        migrator.run(&mut conn).await.expect("migrate to 0008");
        let mut tx = conn.begin().await.expect("begin");
        for statement in seed_sql(count, &POSTGRES) {
            tx.execute(statement.as_str()).await.expect("seed");
        }
        tx.commit().await.expect("commit");
        conn.execute("VACUUM ANALYZE").await.expect("vacuum");
        conn.close().await.expect("close");
    }
    let seed_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let store = PgStore::open(&db_url, Options::default())
        .await
        .expect("open");
    let migrate_s = started.elapsed().as_secs_f64();
    check(&store, count).await;
    store.close().await;
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    Figures { seed_s, migrate_s }
}

/// The migrated store counts what it held: every asset, by the counters and by a recount.
async fn check<S: UsageStore + app::store::AssetStore>(store: &S, count: u64) {
    let kept = store.site_totals().await.expect("totals");
    assert_eq!(kept.assets, count, "every asset is still counted");
    assert_eq!(kept, store.count_site_totals().await.expect("recount"));
    assert_eq!(store.count_assets().await.expect("count"), count);
    let tags: u64 = store
        .top_tags(1_000)
        .await
        .expect("tags")
        .iter()
        .map(|t| t.count)
        .sum();
    assert!(tags > count, "the tag links survived the rebuild ({tags})");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: u64 = std::env::var("ATELIER_BENCH_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let backends = std::env::var("ATELIER_BENCH_BACKENDS").unwrap_or_default();
    let wants = |name: &str| backends.is_empty() || backends.split(',').any(|b| b == name);
    let mut report = format!(
        "migration {MEASURED} (unlisted and the trash) at {count} assets, {USERS} users, two tags each\n"
    );
    if wants("sqlite") {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = sqlite(dir.path(), count).await;
        let size = fs::metadata(dir.path().join("bench.db")).map_or(0, |m| m.len());
        writeln!(
            report,
            "sqlite:   seeding {:.1} s; opening the store (the table rebuilt, keys checked) {:.1} s; \
             database {} MiB",
            f.seed_s,
            f.migrate_s,
            size / (1024 * 1024)
        )
        .ok();
        print!("{report}");
    }
    if wants("postgres") {
        let url = std::env::var("ATELIER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let f = postgres(&url, count).await;
        let line = format!(
            "postgres: seeding {:.1} s; opening the store (constraint checked, column added) {:.1} s\n",
            f.seed_s, f.migrate_s
        );
        print!("{line}");
        report.push_str(&line);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    fs::create_dir_all(&out).expect("target/bench");
    fs::write(out.join("migrate.txt"), &report).expect("write");
}
