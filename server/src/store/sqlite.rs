//! SQLite: the embedded default. WAL, `synchronous=NORMAL`, foreign keys on, a busy
//! timeout, pages read through a memory map; one writer connection (so transactions never
//! fight over the write lock), a small pool of readers and a smaller one for searches
//! (each stopped past its budget by a progress handler). Full-text search is FTS5.

use std::{
    str::FromStr,
    time::{Duration, Instant},
};

use app::stats::Day;
use app::store::{NewAsset, StoreError, UsageEvent};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::backend::Backend;
use super::plan::{push_filters, push_tag_source, SearchPlan, Source};
use super::types::{dim, size, Json, Ts};
use super::{Db, OpenError, Options, SEARCH_CONNECTIONS, SEARCH_QUEUE_WAIT};

/// Virtual-machine instructions between two looks at the clock by a search's progress
/// handler (a look costs about as much as a few dozen instructions).
const PROGRESS_EVERY_OPS: i32 = 2_000;

/// SQLite's result code for a statement its progress handler stopped.
const SQLITE_INTERRUPT: &str = "9";

/// Full-text index segments tolerated before [`Maintenance::tidy_search_index`] merges them.
const MAX_FTS_SEGMENTS: i64 = 4;

/// Raw usage events per multi-row `INSERT` (5 parameters each).
const EVENTS_PER_INSERT: usize = 500;

/// Tag links per multi-row `INSERT` (2 parameters each).
const LINKS_PER_INSERT: usize = 800;

impl Db<Sqlite> {
    pub async fn open(url: &str, opened: Options) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| OpenError::BadUrl {
                backend: Sqlite::SCHEME,
                reason: e.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000")
            .pragma("mmap_size", "1073741824");
        let connect_error = |e: sqlx::Error| OpenError::Connect {
            backend: Sqlite::SCHEME,
            reason: e.to_string(),
        };
        migrate(&options)
            .await
            .map_err(|reason| OpenError::Migrate {
                backend: Sqlite::SCHEME,
                reason,
            })?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        let readers = std::thread::available_parallelism()
            .map(|n| n.get() as u32 * 2)
            .unwrap_or(4)
            .clamp(2, 16);
        let reader = SqlitePoolOptions::new()
            .max_connections(readers)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(connect_error)?;
        let search = SqlitePoolOptions::new()
            .max_connections(SEARCH_CONNECTIONS)
            .acquire_timeout(SEARCH_QUEUE_WAIT)
            .after_release(|conn, _| {
                Box::pin(async move {
                    // A search's progress handler (and its deadline) ends with the search.
                    conn.lock_handle().await?.remove_progress_handler();
                    Ok(true)
                })
            })
            .connect_with(options.read_only(true))
            .await
            .map_err(connect_error)?;
        Ok(Db {
            writer,
            reader,
            search,
            search_budget: opened.search_budget,
        })
    }
}

/// Applies the migrations not yet applied, on a connection of their own with foreign keys
/// off: SQLite's way to rebuild a table (0009), whose `DROP TABLE` would otherwise delete
/// the rows that refer to it through their `ON DELETE CASCADE`. Each migration is still
/// one transaction. When any was applied, every foreign key is checked afterwards.
async fn migrate(options: &SqliteConnectOptions) -> Result<(), String> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = options
        .clone()
        .foreign_keys(false)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let before = applied_migrations(&mut conn).await;
    sqlx::migrate!("../migrations/sqlite")
        .run(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if applied_migrations(&mut conn).await != before {
        let broken: Vec<(String, Option<i64>, String)> =
            sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                .fetch_all(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        if let Some((table, rowid, parent)) = broken.first() {
            return Err(format!(
                "after the migrations, {} rows refer to rows that do not exist (the first: \
                 {table} row {} refers to {parent})",
                broken.len(),
                rowid.map_or_else(|| "?".to_string(), |r| r.to_string())
            ));
        }
    }
    conn.close().await.map_err(|e| e.to_string())
}

/// How many migrations the database has applied (none before the first).
async fn applied_migrations(conn: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await
        .unwrap_or(0)
}

impl Backend for Sqlite {
    const SCHEME: &'static str = "sqlite";
    const SKIP_LOCKED: &'static str = "";
    const TAG_LIST: &'static str = "(SELECT group_concat(t.name, char(31) ORDER BY t.name)
           FROM asset_tags x JOIN tags t ON t.id = x.tag_id WHERE x.asset_id = a.id)";
    const ASSET_ROWS_PER_INSERT: usize = 200;
    const FACET_JOIN: &'static str = "CROSS JOIN";
    const BYTE_ORDER: &'static str = "";

    async fn lock_counters(
        _conn: &mut SqliteConnection,
        _owners: &[i64],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    async fn insert_keyed(
        conn: &mut SqliteConnection,
        rows: &[(i64, &NewAsset)],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO assets
                (id, public_id, owner_id, title, prompt, model, media_type, file_id,
                 thumb_file_id, width, height, duration_ms, created_at, negative_prompt,
                 visibility, original_filename, preview_file_id, generation, raw_metadata,
                 metadata_dropped, metadata_bytes, parser_version) ",
        );
        insert.push_values(rows, |mut row, (key, asset)| {
            row.push_bind(*key)
                .push_bind(&asset.public_id)
                .push_bind(asset.owner.0)
                .push_bind(&asset.title)
                .push_bind(&asset.prompt)
                .push_bind(&asset.model)
                .push_bind(asset.media_type.code())
                .push_bind(asset.file.map(|f| f.0))
                .push_bind(asset.thumb.map(|f| f.0))
                .push_bind(dim(asset.width))
                .push_bind(dim(asset.height))
                .push_bind(dim(asset.duration_ms))
                .push_bind(*key)
                .push_bind(&asset.negative_prompt)
                .push_bind(asset.visibility.as_str())
                .push_bind(&asset.original_filename)
                .push_bind(asset.preview.map(|f| f.0))
                .push_bind(asset.generation.as_deref().map(Json))
                .push_bind(asset.raw_metadata.as_deref().map(Json))
                .push_bind(&asset.metadata_dropped)
                .push_bind(size(asset.metadata_bytes()))
                .push_bind(i64::from(asset.parser_version));
        });
        insert.push(" ON CONFLICT (id) DO NOTHING RETURNING public_id, id");
        Ok(insert.build_query_as().fetch_all(&mut *conn).await?)
    }

    async fn upsert_tags(
        conn: &mut SqliteConnection,
        names: &[&str],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(LINKS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO tags (name) ");
            insert.push_values(chunk, |mut row, name| {
                row.push_bind(*name);
            });
            insert
                .push(" ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id, name");
            out.extend(
                insert
                    .build_query_as::<(i64, String)>()
                    .fetch_all(&mut *conn)
                    .await?,
            );
        }
        Ok(out)
    }

    async fn link_tags(
        conn: &mut SqliteConnection,
        links: &[(i64, i64)],
    ) -> Result<(), StoreError> {
        for chunk in links.chunks(LINKS_PER_INSERT) {
            let mut insert =
                QueryBuilder::<Sqlite>::new("INSERT INTO asset_tags (asset_id, tag_id) ");
            insert.push_values(chunk, |mut row, (asset_id, tag_id)| {
                row.push_bind(*asset_id).push_bind(*tag_id);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn insert_usage_events(
        conn: &mut SqliteConnection,
        events: &[UsageEvent],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(EVENTS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO usage_events (at, day, feature, user_id, detail) ",
            );
            insert.push_values(chunk, |mut row, event| {
                row.push_bind(Ts(event.at))
                    .push_bind(Day::of(event.at).0)
                    .push_bind(event.feature.as_str())
                    .push_bind(event.user.map(|u| u.0))
                    .push_bind(&event.detail);
            });
            insert.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn analyze(db: &Db<Sqlite>) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(db.writer()).await?;
        Ok(())
    }
    async fn tidy_search_index(db: &Db<Sqlite>) -> Result<bool, StoreError> {
        // Every write adds a segment to the FTS5 index and FTS5 merges them only level by
        // level, so a search walks a dozen or more; one segment makes a word search about
        // five times cheaper (0.15 → 0.03 ms at a million assets), and merging them all
        // takes about 1.5 s there.
        let segments: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT segid) FROM assets_fts_idx")
            .fetch_one(db.writer())
            .await?;
        if segments <= MAX_FTS_SEGMENTS {
            return Ok(false);
        }
        sqlx::query("INSERT INTO assets_fts (assets_fts) VALUES ('optimize')")
            .execute(db.writer())
            .await?;
        Ok(true)
    }
    async fn arm_search_budget(
        conn: &mut SqliteConnection,
        budget: Duration,
    ) -> Result<(), StoreError> {
        let deadline = Instant::now() + budget;
        conn.lock_handle()
            .await?
            .set_progress_handler(PROGRESS_EVERY_OPS, move || Instant::now() < deadline);
        Ok(())
    }

    fn over_budget(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some(SQLITE_INTERRUPT))
    }

    async fn close(db: &Db<Sqlite>) {
        db.search.close().await;
        db.reader.close().await;
        // Fold the WAL back into the main file so a copied database is complete.
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(db.writer())
            .await
        {
            tracing::warn!(%err, "WAL checkpoint at shutdown failed");
        }
        db.writer.close().await;
    }

    fn push_score<'q>(core: &mut QueryBuilder<'q, Sqlite>, plan: &SearchPlan<'q>) {
        core.push(if plan.relevant {
            "bm25(assets_fts) AS score FROM "
        } else {
            "NULL AS score FROM "
        });
    }

    /// The page's ids are read in key order from the narrowest ordered source: the
    /// full-text index (whose rowids are asset keys), the rarest tag's asset_tags range,
    /// or an assets index the planner picks; everything else is checked per row.
    fn push_matches<'q>(
        core: &mut QueryBuilder<'q, Sqlite>,
        plan: &SearchPlan<'q>,
    ) -> &'static str {
        let source = match &plan.text {
            Some(text) if plan.collection.is_none() => {
                core.push(
                    "assets_fts CROSS JOIN assets a ON a.id = assets_fts.rowid \
                     WHERE assets_fts MATCH ",
                )
                .push_bind(text.fts5());
                Source::text("assets_fts.rowid", plan)
            }
            _ => push_tag_source(core, plan, Self::FACET_JOIN),
        };
        push_filters(core, plan, &source, ("a.model = ", " COLLATE NOCASE"));
        // In a collection the text is a filter on its items.
        if let (Some(text), Some(_)) = (&plan.text, plan.collection) {
            core.push(" AND a.id IN (SELECT rowid FROM assets_fts WHERE assets_fts MATCH ")
                .push_bind(text.fts5())
                .push(")");
        }
        source.key
    }
}
