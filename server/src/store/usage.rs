//! Usage statistics: a batch of events folded into the daily rollups, the figures read
//! back from them, and the site's counters (kept by triggers).
//!
//! Each rollup is an upsert that returns the row's count after it: when that equals what
//! this batch added, the row is new, which is how the distinct-user columns grow by
//! exactly one per user, day and feature, even with two writers at once.

use std::collections::BTreeMap;

use app::stats::{ActiveDay, Day, Feature, FeatureDay, FeatureUsage, NamedCount, SiteTotals};
use app::store::{
    StoreError, UsageEvent, UsageRollup, UsageStore, UserFeatureCount, UserFigures, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::backend::Backend;
use super::types::{count, Ts};
use super::{for_each_backend, Db};

/// A `usage_daily` row's key and what a batch adds to it: `((day, feature), (events, new users))`.
pub(super) type DailyDelta = ((i32, &'static str), (i64, i64));

/// Rows per multi-row statement.
const ROWS_PER_STATEMENT: usize = 500;

/// A batch of events grouped the ways the rollups count them.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// `(day, feature)` → events.
    pub day_feature: BTreeMap<(i32, &'static str), i64>,
    /// `(day, user, feature)` → events, logged-in users only.
    pub user_feature: BTreeMap<(i32, i64, &'static str), i64>,
    /// `(day, user)` → events.
    pub user_day: BTreeMap<(i32, i64), i64>,
    /// `day` → events.
    pub day: BTreeMap<i32, i64>,
}

impl Batch {
    pub fn of(events: &[UsageEvent]) -> Batch {
        let mut batch = Batch::default();
        for event in events {
            let day = Day::of(event.at).0;
            let feature = event.feature.as_str();
            *batch.day_feature.entry((day, feature)).or_default() += 1;
            *batch.day.entry(day).or_default() += 1;
            if let Some(UserId(user)) = event.user {
                *batch.user_feature.entry((day, user, feature)).or_default() += 1;
                *batch.user_day.entry((day, user)).or_default() += 1;
            }
        }
        batch
    }
}

/// `INSERT … usage_user_daily … RETURNING day, user_id, feature, events` for a chunk.
fn upsert_user_feature<'q, DB>(rows: &'q [((i32, i64, &'static str), i64)]) -> QueryBuilder<'q, DB>
where
    DB: Database,
    i32: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO usage_user_daily (day, user_id, feature, events) ");
    q.push_values(rows, |mut row, ((day, user, feature), n)| {
        row.push_bind(*day)
            .push_bind(*user)
            .push_bind(*feature)
            .push_bind(*n);
    });
    q.push(
        " ON CONFLICT (day, user_id, feature)
          DO UPDATE SET events = usage_user_daily.events + excluded.events
          RETURNING day, user_id, feature, events",
    );
    q
}

/// `INSERT … usage_user_days … RETURNING day, user_id, events` for a chunk.
fn upsert_user_day<'q, DB>(rows: &'q [((i32, i64), i64)]) -> QueryBuilder<'q, DB>
where
    DB: Database,
    i32: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO usage_user_days (day, user_id, events) ");
    q.push_values(rows, |mut row, ((day, user), n)| {
        row.push_bind(*day).push_bind(*user).push_bind(*n);
    });
    q.push(
        " ON CONFLICT (day, user_id)
          DO UPDATE SET events = usage_user_days.events + excluded.events
          RETURNING day, user_id, events",
    );
    q
}

/// Adds events and new users to `usage_daily`.
fn upsert_daily<'q, DB>(rows: &'q [DailyDelta]) -> QueryBuilder<'q, DB>
where
    DB: Database,
    i32: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO usage_daily (day, feature, events, users) ");
    q.push_values(rows, |mut row, ((day, feature), (events, users))| {
        row.push_bind(*day)
            .push_bind(*feature)
            .push_bind(*events)
            .push_bind(*users);
    });
    q.push(
        " ON CONFLICT (day, feature) DO UPDATE SET
            events = usage_daily.events + excluded.events,
            users = usage_daily.users + excluded.users",
    );
    q
}

/// Adds events and newly active users to `usage_days`.
fn upsert_days<'q, DB>(rows: &'q [(i32, (i64, i64))]) -> QueryBuilder<'q, DB>
where
    DB: Database,
    i32: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new("INSERT INTO usage_days (day, events, users) ");
    q.push_values(rows, |mut row, (day, (events, users))| {
        row.push_bind(*day).push_bind(*events).push_bind(*users);
    });
    q.push(
        " ON CONFLICT (day) DO UPDATE SET
            events = usage_days.events + excluded.events,
            users = usage_days.users + excluded.users",
    );
    q
}

/// What the per-user upserts returned, folded into the site-wide rows' deltas: a row whose
/// count equals this batch's share was created by it, so its user is new there.
pub(super) struct Fold {
    pub daily: Vec<DailyDelta>,
    pub days: Vec<(i32, (i64, i64))>,
}

impl Batch {
    pub fn fold(
        &self,
        user_feature_after: &[(i32, i64, String, i64)],
        user_day_after: &[(i32, i64, i64)],
    ) -> Fold {
        let mut new_users: BTreeMap<(i32, &'static str), i64> = BTreeMap::new();
        for (day, user, feature, after) in user_feature_after {
            let Some(feature) = Feature::parse(feature).map(Feature::as_str) else {
                continue;
            };
            if self.user_feature.get(&(*day, *user, feature)) == Some(after) {
                *new_users.entry((*day, feature)).or_default() += 1;
            }
        }
        let mut new_active: BTreeMap<i32, i64> = BTreeMap::new();
        for (day, user, after) in user_day_after {
            if self.user_day.get(&(*day, *user)) == Some(after) {
                *new_active.entry(*day).or_default() += 1;
            }
        }
        Fold {
            daily: self
                .day_feature
                .iter()
                .map(|(key, events)| (*key, (*events, new_users.get(key).copied().unwrap_or(0))))
                .collect(),
            days: self
                .day
                .iter()
                .map(|(day, events)| (*day, (*events, new_active.get(day).copied().unwrap_or(0))))
                .collect(),
        }
    }
}

/// The rollup rows as the API types count them.
/// A `usage_daily` row.
#[derive(sqlx::FromRow)]
struct DailyRow {
    day: i32,
    feature: String,
    events: i64,
    users: i64,
}

/// A `usage_days` row's distinct active users.
#[derive(sqlx::FromRow)]
struct DaysRow {
    day: i32,
    users: i64,
}

fn rollup(features: Vec<DailyRow>, active: Vec<DaysRow>) -> UsageRollup {
    UsageRollup {
        features: features
            .into_iter()
            .filter_map(|row| {
                Some(FeatureDay {
                    day: Day(row.day),
                    feature: Feature::parse(&row.feature)?,
                    events: count(row.events),
                    users: count(row.users),
                })
            })
            .collect(),
        active: active
            .into_iter()
            .map(|row| ActiveDay {
                day: Day(row.day),
                users: count(row.users),
            })
            .collect(),
    }
}

/// `(feature, events, users, user events)` rows → every feature, zeros included.
fn feature_usage(rows: Vec<(String, i64, i64, i64)>) -> Vec<FeatureUsage> {
    Feature::ALL
        .into_iter()
        .map(|feature| {
            let row = rows.iter().find(|r| r.0 == feature.as_str());
            let (events, users, by_users) = row.map_or((0, 0, 0), |r| (r.1, r.2, r.3));
            FeatureUsage {
                feature,
                events: count(events),
                users: count(users),
                anonymous: count(events - by_users),
            }
        })
        .collect()
}

fn user_feature_counts(rows: Vec<(i64, String, i64)>) -> Vec<UserFeatureCount> {
    rows.into_iter()
        .filter_map(|(user, feature, events)| {
            Some(UserFeatureCount {
                user: UserId(user),
                feature: Feature::parse(&feature)?,
                events: count(events),
            })
        })
        .collect()
}

fn named_counts(rows: Vec<(String, i64)>) -> Vec<NamedCount> {
    rows.into_iter()
        .map(|(name, n)| NamedCount {
            name,
            count: count(n),
        })
        .collect()
}

/// Raw events deleted per statement when pruning, so the writer is never held for long.
const PRUNE_SLICE: i64 = 10_000;

/// The site's counters, as `site_totals` keeps them and the `site_stats` view counts them.
#[derive(sqlx::FromRow)]
struct TotalsRow {
    users: i64,
    assets: i64,
    images: i64,
    videos: i64,
    creators: i64,
    storage_bytes: i64,
}

impl From<TotalsRow> for SiteTotals {
    fn from(row: TotalsRow) -> SiteTotals {
        SiteTotals {
            users: count(row.users),
            assets: count(row.assets),
            images: count(row.images),
            videos: count(row.videos),
            creators: count(row.creators),
            storage_bytes: count(row.storage_bytes),
        }
    }
}

/// A user's standing figures with their active days in a range.
#[derive(sqlx::FromRow)]
struct FiguresRow {
    id: i64,
    username: String,
    asset_count: i64,
    views_received: i64,
    storage_bytes: i64,
    days: i64,
}

impl From<FiguresRow> for UserFigures {
    fn from(row: FiguresRow) -> UserFigures {
        UserFigures {
            user: UserId(row.id),
            username: row.username,
            assets: count(row.asset_count),
            views_received: count(row.views_received),
            storage_bytes: count(row.storage_bytes),
            active_days: count(row.days),
        }
    }
}

for_each_backend! {
    /// Folds a batch into the rollups, on `conn`,
    /// inside the caller's transaction (after it stored the raw events).
    async fn fold_in(
        conn: &mut <DB as Database>::Connection,
        batch: &Batch,
    ) -> Result<(), StoreError> {
        let user_feature: Vec<_> = batch.user_feature.iter().map(|(k, n)| (*k, *n)).collect();
        let mut user_feature_after = Vec::with_capacity(user_feature.len());
        for chunk in user_feature.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<(i32, i64, String, i64)> = upsert_user_feature::<DB>(chunk)
                .build_query_as()
                .fetch_all(&mut *conn)
                .await?;
            user_feature_after.extend(rows);
        }
        let user_day: Vec<_> = batch.user_day.iter().map(|(k, n)| (*k, *n)).collect();
        let mut user_day_after = Vec::with_capacity(user_day.len());
        for chunk in user_day.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<(i32, i64, i64)> = upsert_user_day::<DB>(chunk)
                .build_query_as()
                .fetch_all(&mut *conn)
                .await?;
            user_day_after.extend(rows);
        }
        let fold = batch.fold(&user_feature_after, &user_day_after);
        for chunk in fold.daily.chunks(ROWS_PER_STATEMENT) {
            upsert_daily::<DB>(chunk).build().execute(&mut *conn).await?;
        }
        for chunk in fold.days.chunks(ROWS_PER_STATEMENT) {
            upsert_days::<DB>(chunk).build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    #[async_trait]
    impl UsageStore for Db<DB> {
        async fn site_totals(&self) -> Result<SiteTotals, StoreError> {
            let row: Option<TotalsRow> = sqlx::query_as(
                "SELECT users, assets, images, videos, creators, storage_bytes
                   FROM site_totals WHERE id = 1",
            )
            .fetch_optional(self.reader())
            .await?;
            row.map(SiteTotals::from).ok_or_else(|| {
                StoreError::Database(
                    "the site_totals row is missing (migration 0005 not applied?)".into(),
                )
            })
        }

        async fn count_site_totals(&self) -> Result<SiteTotals, StoreError> {
            let row: TotalsRow = sqlx::query_as(
                "SELECT total_users AS users, total_assets AS assets, total_images AS images,
                        total_videos AS videos, active_creators AS creators,
                        (SELECT CAST(COALESCE(SUM(byte_size), 0) AS BIGINT) FROM files)
                          AS storage_bytes
                   FROM site_stats",
            )
            .fetch_one(self.reader())
            .await?;
            Ok(row.into())
        }

        async fn top_tags(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError> {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT name, asset_count FROM tags WHERE asset_count > 0
                  ORDER BY asset_count DESC, name LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
            Ok(named_counts(rows))
        }

        async fn top_models(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError> {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT name, assets FROM model_counts WHERE assets > 0
                  ORDER BY assets DESC, model_key LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
            Ok(named_counts(rows))
        }

        async fn record_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
            if events.is_empty() {
                return Ok(());
            }
            let batch = Batch::of(events);
            let mut tx = self.writer().begin().await?;
            DB::insert_usage_events(&mut *tx, events).await?;
            fold_in(&mut tx, &batch).await?;
            Ok(tx.commit().await?)
        }

        async fn usage_rollup(&self, first: Day, last: Day) -> Result<UsageRollup, StoreError> {
            let features: Vec<DailyRow> = sqlx::query_as(
                "SELECT day, feature, events, users FROM usage_daily
                  WHERE day BETWEEN $1 AND $2 ORDER BY day, feature",
            )
            .bind(first.0)
            .bind(last.0)
            .fetch_all(self.reader())
            .await?;
            let active: Vec<DaysRow> = sqlx::query_as(
                "SELECT day, users FROM usage_days WHERE day BETWEEN $1 AND $2 ORDER BY day",
            )
            .bind(first.0)
            .bind(last.0)
            .fetch_all(self.reader())
            .await?;
            Ok(rollup(features, active))
        }

        async fn feature_usage(
            &self,
            first: Day,
            last: Day,
        ) -> Result<Vec<FeatureUsage>, StoreError> {
            let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
                "SELECT d.feature, d.events, COALESCE(u.users, 0), COALESCE(u.by_users, 0)
                   FROM (SELECT feature, CAST(SUM(events) AS BIGINT) AS events FROM usage_daily
                          WHERE day BETWEEN $1 AND $2 GROUP BY feature) d
                   LEFT JOIN (SELECT feature, COUNT(DISTINCT user_id) AS users,
                                     CAST(SUM(events) AS BIGINT) AS by_users
                                FROM usage_user_daily WHERE day BETWEEN $1 AND $2
                               GROUP BY feature) u ON u.feature = d.feature",
            )
            .bind(first.0)
            .bind(last.0)
            .fetch_all(self.reader())
            .await?;
            Ok(feature_usage(rows))
        }

        async fn user_feature_counts(
            &self,
            first: Day,
            last: Day,
        ) -> Result<Vec<UserFeatureCount>, StoreError> {
            let rows: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT user_id, feature, CAST(SUM(events) AS BIGINT) FROM usage_user_daily
                  WHERE day BETWEEN $1 AND $2 GROUP BY user_id, feature",
            )
            .bind(first.0)
            .bind(last.0)
            .fetch_all(self.reader())
            .await?;
            Ok(user_feature_counts(rows))
        }

        async fn active_user_figures(
            &self,
            first: Day,
            last: Day,
            limit: u32,
        ) -> Result<Vec<UserFigures>, StoreError> {
            let rows: Vec<FiguresRow> = sqlx::query_as(
                "SELECT u.id, u.username, u.asset_count, u.views_received, u.storage_bytes, a.days
                   FROM (SELECT user_id, COUNT(*) AS days, CAST(SUM(events) AS BIGINT) AS events
                           FROM usage_user_days WHERE day BETWEEN $1 AND $2
                          GROUP BY user_id ORDER BY events DESC, user_id LIMIT $3) a
                   JOIN users u ON u.id = a.user_id
                  ORDER BY a.events DESC, u.id",
            )
            .bind(first.0)
            .bind(last.0)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
            Ok(rows.into_iter().map(UserFigures::from).collect())
        }

        async fn prune_usage_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
            let mut removed = 0;
            loop {
                let n = sqlx::query(
                    "DELETE FROM usage_events WHERE id IN
                        (SELECT id FROM usage_events WHERE at < $1 LIMIT $2)",
                )
                .bind(Ts(before))
                .bind(PRUNE_SLICE)
                .execute(self.writer())
                .await?
                .rows_affected();
                removed += n;
                if n < PRUNE_SLICE.unsigned_abs() {
                    return Ok(removed);
                }
            }
        }
    }
}
