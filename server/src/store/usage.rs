//! The SQL of usage statistics that both backends write alike: a batch of events folded
//! into the daily rollups, and the figures read back from them.
//!
//! Each rollup is an upsert that returns the row's count after it: when that equals what
//! this batch added, the row is new, which is how the distinct-user columns grow by
//! exactly one per user, day and feature, even with two writers at once.

use std::collections::BTreeMap;

use app::stats::{Day, Feature, FeatureUsage, NamedCount};
use app::store::{StoreError, UsageEvent, UsageRollup, UserFeatureCount, UserId};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// A `usage_daily` row's key and what a batch adds to it: `((day, feature), (events, new users))`.
pub(super) type DailyDelta = ((i32, &'static str), (i64, i64));

/// Rows per multi-row statement.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

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
    /// Asset public id → views (the viewer is never the owner: the recorder sees to that).
    pub views: BTreeMap<String, i64>,
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
            if event.feature == Feature::AssetViewed && !event.detail.is_empty() {
                *batch.views.entry(event.detail.clone()).or_default() += 1;
            }
        }
        batch
    }
}

/// `INSERT … usage_user_daily … RETURNING day, user_id, feature, events` for a chunk.
pub(super) fn upsert_user_feature<'q, DB>(
    rows: &'q [((i32, i64, &'static str), i64)],
) -> QueryBuilder<'q, DB>
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
pub(super) fn upsert_user_day<'q, DB>(rows: &'q [((i32, i64), i64)]) -> QueryBuilder<'q, DB>
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
pub(super) fn upsert_daily<'q, DB>(rows: &'q [DailyDelta]) -> QueryBuilder<'q, DB>
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
pub(super) fn upsert_days<'q, DB>(rows: &'q [(i32, (i64, i64))]) -> QueryBuilder<'q, DB>
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

/// Folds a batch into the rollups and its views into the owners' counts, on `$conn`,
/// inside the caller's transaction (after it stored the raw events, which each backend
/// writes with its own timestamp type). A macro, the same SQL for `Sqlite` and `Postgres`:
/// sqlx's executor traits do not let one generic function borrow a query builder per
/// statement.
macro_rules! fold_in {
    ($db:ty, $conn:expr, $batch:expr) => {{
        let user_feature: Vec<_> = $batch.user_feature.iter().map(|(k, n)| (*k, *n)).collect();
        let mut user_feature_after = Vec::with_capacity(user_feature.len());
        for chunk in user_feature.chunks($crate::store::usage::ROWS_PER_STATEMENT) {
            let rows: Vec<(i32, i64, String, i64)> =
                $crate::store::usage::upsert_user_feature::<$db>(chunk)
                    .build_query_as()
                    .fetch_all(&mut *$conn)
                    .await
                    .map_err($crate::store::db_error)?;
            user_feature_after.extend(rows);
        }
        let user_day: Vec<_> = $batch.user_day.iter().map(|(k, n)| (*k, *n)).collect();
        let mut user_day_after = Vec::with_capacity(user_day.len());
        for chunk in user_day.chunks($crate::store::usage::ROWS_PER_STATEMENT) {
            let rows: Vec<(i32, i64, i64)> = $crate::store::usage::upsert_user_day::<$db>(chunk)
                .build_query_as()
                .fetch_all(&mut *$conn)
                .await
                .map_err($crate::store::db_error)?;
            user_day_after.extend(rows);
        }
        let fold = $batch.fold(&user_feature_after, &user_day_after);
        for chunk in fold.daily.chunks($crate::store::usage::ROWS_PER_STATEMENT) {
            $crate::store::usage::upsert_daily::<$db>(chunk)
                .build()
                .execute(&mut *$conn)
                .await
                .map_err($crate::store::db_error)?;
        }
        for chunk in fold.days.chunks($crate::store::usage::ROWS_PER_STATEMENT) {
            $crate::store::usage::upsert_days::<$db>(chunk)
                .build()
                .execute(&mut *$conn)
                .await
                .map_err($crate::store::db_error)?;
        }
        // Owners in id order, the order every writer locks users rows in.
        let assets: Vec<&String> = $batch.views.keys().collect();
        let mut owners: Vec<(String, i64)> = Vec::new();
        for chunk in assets.chunks($crate::store::usage::ROWS_PER_STATEMENT) {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "SELECT public_id, owner_id FROM assets WHERE public_id IN (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            owners.extend(
                q.build_query_as::<(String, i64)>()
                    .fetch_all(&mut *$conn)
                    .await
                    .map_err($crate::store::db_error)?,
            );
        }
        for (owner, views) in $crate::store::usage::views_by_owner($batch, &owners) {
            let mut q = sqlx::QueryBuilder::<$db>::new(
                "UPDATE users SET views_received = views_received + ",
            );
            q.push_bind(views).push(" WHERE id = ").push_bind(owner);
            q.build()
                .execute(&mut *$conn)
                .await
                .map_err($crate::store::db_error)?;
        }
        Ok::<(), app::store::StoreError>(())
    }};
}
pub(super) use fold_in;

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

/// Views per owner, in owner id order, from `(asset public id, owner id)` rows.
pub(super) fn views_by_owner(batch: &Batch, owners: &[(String, i64)]) -> BTreeMap<i64, i64> {
    let mut out = BTreeMap::new();
    for (asset, owner) in owners {
        if let Some(views) = batch.views.get(asset) {
            *out.entry(*owner).or_default() += views;
        }
    }
    out
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The rollup rows as the API types count them.
pub(super) fn rollup(
    features: Vec<(i32, String, i64, i64)>,
    active: Vec<(i32, i64)>,
) -> UsageRollup {
    UsageRollup {
        features: features
            .into_iter()
            .filter_map(|(day, feature, events, users)| {
                Some((
                    Day(day),
                    Feature::parse(&feature)?,
                    count(events),
                    count(users),
                ))
            })
            .collect(),
        active: active
            .into_iter()
            .map(|(day, users)| (Day(day), count(users)))
            .collect(),
    }
}

/// `(feature, events, users, user events)` rows → every feature, zeros included.
pub(super) fn feature_usage(rows: Vec<(String, i64, i64, i64)>) -> Vec<FeatureUsage> {
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

pub(super) fn user_feature_counts(rows: Vec<(i64, String, i64)>) -> Vec<UserFeatureCount> {
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

pub(super) fn named_counts(rows: Vec<(String, i64)>) -> Vec<NamedCount> {
    rows.into_iter()
        .map(|(name, n)| NamedCount {
            name,
            count: count(n),
        })
        .collect()
}

/// The SQL of the per-feature table over a day range (`$1`/`?` first, `$2`/`?` last).
pub(super) const FEATURE_USAGE_SQL: &str = "
    SELECT d.feature, d.events, COALESCE(u.users, 0), COALESCE(u.by_users, 0)
      FROM (SELECT feature, CAST(SUM(events) AS BIGINT) AS events FROM usage_daily
             WHERE day BETWEEN {first} AND {last} GROUP BY feature) d
      LEFT JOIN (SELECT feature, COUNT(DISTINCT user_id) AS users,
                        CAST(SUM(events) AS BIGINT) AS by_users
                   FROM usage_user_daily WHERE day BETWEEN {first} AND {last}
                  GROUP BY feature) u ON u.feature = d.feature";

pub(super) fn totals_error(what: &str) -> StoreError {
    StoreError::Database(format!(
        "the {what} row is missing (migration 0005 not applied?)"
    ))
}
