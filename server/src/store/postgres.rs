//! PostgreSQL: for larger or shared deployments. One pool serves reads and writes; bulk
//! inserts bind one array per column (`UNNEST`), a few round trips per batch whatever its
//! size; full-text search is a `tsvector` with a GIN index.

use std::{str::FromStr, time::Duration};

use app::stats::Day;
use app::store::{NewAsset, StoreError, UsageEvent};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Postgres, QueryBuilder};

use super::backend::Backend;
use super::plan::{push_filters, push_tag_source, SearchPlan, TextQuery};
use super::types::{dim, key_time, size};
use super::{Db, OpenError, Options, SEARCH_CONNECTIONS, SEARCH_QUEUE_WAIT};

/// Postgres's SQLSTATE for a statement cancelled, here by `statement_timeout`.
const QUERY_CANCELED: &str = "57014";

impl Db<Postgres> {
    pub async fn open(url: &str, opened: Options) -> Result<Self, OpenError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| OpenError::BadUrl {
            backend: Postgres::SCHEME,
            reason: e.to_string(),
        })?;
        let connect_error = |e: sqlx::Error| OpenError::Connect {
            backend: Postgres::SCHEME,
            reason: e.to_string(),
        };
        // One direct attempt first: a pool would retry until its timeout and then report
        // only "timed out", hiding the real reason (refused, bad password, no database).
        PgConnection::connect_with(&options)
            .await
            .map_err(connect_error)?
            .close()
            .await
            .map_err(connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| OpenError::Migrate {
                backend: Postgres::SCHEME,
                reason: e.to_string(),
            })?;
        // Searches get connections of their own whose every statement stops at the budget.
        let budget_ms = opened.search_budget.as_millis().max(1);
        let search = PgPoolOptions::new()
            .max_connections(SEARCH_CONNECTIONS)
            .acquire_timeout(SEARCH_QUEUE_WAIT)
            .connect_with(options.options([("statement_timeout", format!("{budget_ms}ms"))]))
            .await
            .map_err(connect_error)?;
        Ok(Db {
            writer: pool.clone(),
            reader: pool,
            search,
            search_budget: opened.search_budget,
        })
    }
}

/// [`Backend::insert_keyed`]: one array per column.
async fn insert_asset_rows(
    conn: &mut PgConnection,
    rows: &[(i64, &NewAsset)],
) -> Result<Vec<(String, i64)>, StoreError> {
    let times = rows
        .iter()
        .map(|(key, _)| key_time(*key))
        .collect::<Result<Vec<DateTime<Utc>>, _>>()?;
    let column =
        |f: fn(&NewAsset) -> Option<i32>| rows.iter().map(|(_, a)| f(a)).collect::<Vec<_>>();
    let rows: Vec<(i64, String)> = sqlx::query_as(
            "INSERT INTO assets
                (id, public_id, owner_id, title, prompt, model, media_type, file_id,
                 thumb_file_id, width, height, duration_ms, created_at, negative_prompt,
                 visibility, original_filename, preview_file_id, generation, raw_metadata,
                 parser_version, metadata_dropped, metadata_bytes)
             SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16,
                    c17::jsonb, c18::jsonb, c19, c21, c22
               FROM UNNEST(
                $20::bigint[], $1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::smallint[],
                $7::bigint[], $8::bigint[], $9::int[], $10::int[], $11::int[],
                $12::timestamptz[], $13::text[], $14::text[], $15::text[], $16::bigint[],
                $17::text[], $18::text[], $19::int[], $21::text[], $22::bigint[])
                AS u(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16,
                     c17, c18, c19, c21, c22)
             ON CONFLICT (id) DO NOTHING
             RETURNING id, public_id",
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.public_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.owner.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.title.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.prompt.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, a)| *a).map(|a| a.model.as_deref()).collect::<Vec<_>>())
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.media_type.code())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.file.map(|f| f.0))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.thumb.map(|f| f.0))
                .collect::<Vec<_>>(),
        )
        .bind(column(|a| dim(a.width)))
        .bind(column(|a| dim(a.height)))
        .bind(column(|a| dim(a.duration_ms)))
        .bind(&times)
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.negative_prompt.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.visibility.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.original_filename.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.preview.map(|f| f.0))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.generation.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows
                .iter()
                .map(|(_, a)| *a)
                .map(|a| a.raw_metadata.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(column(|a| i32::try_from(a.parser_version).ok()))
        .bind(rows.iter().map(|(key, _)| *key).collect::<Vec<i64>>())
        .bind(
            rows.iter()
                .map(|(_, a)| a.metadata_dropped.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, a)| size(a.metadata_bytes()))
                .collect::<Vec<i64>>(),
        )
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(key, public_id)| (public_id, key))
        .collect())
}

/// `@@` this, and (for relevance) `ts_rank` of it.
fn push_tsquery(core: &mut QueryBuilder<'_, Postgres>, text: &TextQuery) {
    core.push("(");
    let mut all = core.separated(" && ");
    if !text.words.is_empty() {
        all.push("plainto_tsquery('simple', ")
            .push_bind_unseparated(text.words.join(" "))
            .push_unseparated(")");
    }
    for phrase in &text.phrases {
        all.push("phraseto_tsquery('simple', ")
            .push_bind_unseparated(phrase.join(" "))
            .push_unseparated(")");
    }
    core.push(")");
}

impl Backend for Postgres {
    const SCHEME: &'static str = "postgres";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";
    const TAG_LIST: &'static str = "(SELECT string_agg(t.name, chr(31) ORDER BY t.name)
           FROM asset_tags x JOIN tags t ON t.id = x.tag_id WHERE x.asset_id = a.id)";
    const ASSET_ROWS_PER_INSERT: usize = 5_000;
    const FACET_JOIN: &'static str = "JOIN";
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";

    async fn lock_counters(conn: &mut PgConnection, owners: &[i64]) -> Result<(), StoreError> {
        if !owners.is_empty() {
            sqlx::query("SELECT 1 FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
                .bind(owners)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("SELECT 1 FROM site_totals WHERE id = 1 FOR UPDATE")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn insert_keyed(
        conn: &mut PgConnection,
        rows: &[(i64, &NewAsset)],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        insert_asset_rows(conn, rows).await
    }

    async fn upsert_tags(
        conn: &mut PgConnection,
        names: &[&str],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "INSERT INTO tags (name) SELECT u.name FROM UNNEST($1::text[]) AS u(name)
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
             RETURNING id, name",
        )
        .bind(names)
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn link_tags(conn: &mut PgConnection, links: &[(i64, i64)]) -> Result<(), StoreError> {
        let (assets, tags): (Vec<i64>, Vec<i64>) = links.iter().copied().unzip();
        sqlx::query(
            "INSERT INTO asset_tags (asset_id, tag_id)
             SELECT u.asset_id, u.tag_id FROM UNNEST($1::bigint[], $2::bigint[])
                 AS u(asset_id, tag_id)
             ON CONFLICT DO NOTHING",
        )
        .bind(&assets)
        .bind(&tags)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn insert_usage_events(
        conn: &mut PgConnection,
        events: &[UsageEvent],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO usage_events (at, day, feature, user_id, detail)
             SELECT u.at, u.day, u.feature, u.user_id, u.detail
               FROM UNNEST($1::timestamptz[], $2::int[], $3::text[], $4::bigint[], $5::text[])
                 AS u(at, day, feature, user_id, detail)",
        )
        .bind(events.iter().map(|e| e.at).collect::<Vec<DateTime<Utc>>>())
        .bind(events.iter().map(|e| Day::of(e.at).0).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.feature.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| e.user.map(|u| u.0))
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// `ts_rank`, negated: lower is better, as with bm25.
    async fn analyze(db: &Db<Postgres>) -> Result<(), StoreError> {
        // VACUUM too: after a bulk load the visibility map is empty, so index-only scans
        // (asset_tags for facets and tag pages) would visit the table for every row, and
        // autovacuum would do this work later, in the middle of serving.
        sqlx::query("VACUUM (ANALYZE)").execute(db.writer()).await?;
        Ok(())
    }
    async fn tidy_search_index(_db: &Db<Postgres>) -> Result<bool, StoreError> {
        // The GIN index moves its pending entries into the tree itself (on insert when the
        // list is full, and on autovacuum): nothing to do here.
        Ok(false)
    }
    async fn arm_search_budget(
        _conn: &mut PgConnection,
        _budget: Duration,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    fn over_budget(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some(QUERY_CANCELED))
    }

    async fn close(db: &Db<Postgres>) {
        db.search.close().await;
        db.writer.close().await;
    }

    fn push_score<'q>(core: &mut QueryBuilder<'q, Postgres>, plan: &SearchPlan<'q>) {
        match &plan.text {
            Some(text) if plan.relevant => {
                core.push("-ts_rank(a.search_vector, ");
                push_tsquery(core, text);
                core.push(")::float8 AS score FROM ");
            }
            _ => {
                core.push("NULL::float8 AS score FROM ");
            }
        }
    }

    /// With a tag, the rarest tag's asset_tags range (ordered by asset key); otherwise the
    /// planner picks among the primary key, the owner/type/model indexes and the full-text
    /// GIN index.
    fn push_matches<'q>(
        core: &mut QueryBuilder<'q, Postgres>,
        plan: &SearchPlan<'q>,
    ) -> &'static str {
        let source = push_tag_source(core, plan, Self::FACET_JOIN);
        push_filters(core, plan, &source, ("lower(a.model) = lower(", ")"));
        if let Some(text) = &plan.text {
            core.push(" AND a.search_vector @@ ");
            push_tsquery(core, text);
        }
        source.key
    }
}
