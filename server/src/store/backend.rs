//! What truly differs between SQLite and Postgres, each difference a named hook with the
//! reason for it; and [`Maintenance`], written once on top of them. Everything else is written once in the domain modules, which
//! [`for_each_backend!`](super::for_each_backend) compiles for both.

use std::{future::Future, time::Duration};

use app::store::{Maintenance, NewAsset, StoreError, UsageEvent};
use async_trait::async_trait;
use sqlx::{Database, QueryBuilder};

use super::plan::SearchPlan;
use super::{for_each_backend, Db};

/// A database atelier runs on: [`sqlx::Sqlite`] (`sqlite.rs`) or [`sqlx::Postgres`]
/// (`postgres.rs`).
pub(crate) trait Backend: Database {
    /// `"sqlite"` or `"postgres"`, as `DATABASE_URL` names it.
    const SCHEME: &'static str;

    /// Appended to the subquery that picks the next job: Postgres lets several workers
    /// claim at once and skips rows another has locked; SQLite's single writer connection
    /// already runs claims one at a time.
    const SKIP_LOCKED: &'static str;

    /// An asset's tag names in name order, joined by U+001F, as a column of `a`: the
    /// string aggregates are spelled `group_concat` on SQLite and `string_agg` on Postgres.
    const TAG_LIST: &'static str;

    /// Assets per bulk insert: SQLite binds every value (22 per row; its limit is 32,766),
    /// Postgres binds one array per column whatever the count.
    const ASSET_ROWS_PER_INSERT: usize;

    /// The join that keeps the written order (a tag's `asset_tags` range driving a search,
    /// the sample driving a facet query): SQLite's planner would otherwise pick another
    /// driver (`CROSS JOIN` fixes the order); Postgres plans both well from statistics.
    const FACET_JOIN: &'static str;

    /// The collation clause that compares text byte by byte, so that ties among facet
    /// values are broken alike: SQLite's default already is; Postgres needs `"C"`.
    const BYTE_ORDER: &'static str;

    /// Takes the rows every asset or file write changes through triggers, in the one order
    /// all writers use (the owners' `users` rows by id, then `site_totals`; see
    /// migrations/postgres/0005_stats.sql), before any other: Postgres writers run
    /// concurrently and would otherwise deadlock; SQLite's one writer connection never
    /// interleaves two transactions.
    fn lock_counters(
        conn: &mut Self::Connection,
        owners: &[i64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Bulk insert of asset rows with the keys given, skipping any whose key is taken;
    /// returns `(public_id, key)` of the rows inserted. SQLite writes multi-row `VALUES`;
    /// Postgres binds one array per column (`UNNEST`), one statement text for any count.
    fn insert_keyed(
        conn: &mut Self::Connection,
        rows: &[(i64, &NewAsset)],
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;

    /// Inserts the tag names not yet known and returns `(id, name)` of every one (same
    /// reason as [`Backend::insert_keyed`]).
    fn upsert_tags(
        conn: &mut Self::Connection,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<(i64, String)>, StoreError>> + Send;

    /// Links assets to tags, `(asset id, tag id)`, ignoring links that exist (same reason
    /// as [`Backend::insert_keyed`]).
    fn link_tags(
        conn: &mut Self::Connection,
        links: &[(i64, i64)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores raw usage events (same reason as [`Backend::insert_keyed`]; on Postgres one
    /// statement text is also planned once, which kept recording under 5 % of a search).
    fn insert_usage_events(
        conn: &mut Self::Connection,
        events: &[UsageEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Refreshes the planner's statistics after a bulk load: `ANALYZE` on SQLite;
    /// `VACUUM (ANALYZE)` on Postgres, whose index-only scans also need the visibility map.
    fn analyze(db: &Db<Self>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Merges the full-text index when writes have split it: FTS5 keeps segments that each
    /// search walks; Postgres's GIN index merges its pending list itself (nothing to do).
    fn tidy_search_index(db: &Db<Self>) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Closes the pools: SQLite first folds its WAL back into the database file, so that a
    /// copied file is complete.
    fn close(db: &Db<Self>) -> impl Future<Output = ()> + Send;

    /// Makes the statements a search runs on `conn` (a connection of the search pool) stop
    /// once `budget` has passed: SQLite runs statements inside this process, where
    /// dropping the future would not stop one, so a progress handler on the connection
    /// aborts it; Postgres's search connections were opened with `statement_timeout`
    /// (nothing to do per search).
    fn arm_search_budget(
        conn: &mut Self::Connection,
        budget: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether `err` is a statement stopped by the search budget: SQLite's
    /// `SQLITE_INTERRUPT` (from the progress handler), Postgres's `query_canceled` (from
    /// `statement_timeout`).
    fn over_budget(err: &sqlx::Error) -> bool;

    /// A search's `score` column and its `FROM `: the full-text indexes rank differently
    /// (`bm25` over FTS5, `ts_rank` over a `tsvector`).
    fn push_score<'q>(core: &mut QueryBuilder<'q, Self>, plan: &SearchPlan<'q>);

    /// The matches of a search, written after `FROM`, from the narrowest ordered source
    /// each full-text index allows; returns the source's key column.
    fn push_matches<'q>(core: &mut QueryBuilder<'q, Self>, plan: &SearchPlan<'q>) -> &'static str;
}

for_each_backend! {
    #[async_trait]
    impl Maintenance for Db<DB> {
        fn backend(&self) -> &'static str {
            DB::SCHEME
        }

        async fn ping(&self) -> Result<(), StoreError> {
            sqlx::query("SELECT 1").execute(self.reader()).await?;
            Ok(())
        }

        async fn close(&self) {
            DB::close(self).await
        }

        async fn analyze(&self) -> Result<(), StoreError> {
            DB::analyze(self).await
        }

        async fn tidy_search_index(&self) -> Result<bool, StoreError> {
            DB::tidy_search_index(self).await
        }
    }
}
