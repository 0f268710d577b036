//! Likes and views: a like is one row per person and asset, a view one row per asset,
//! viewer and day; the triggers of migration 0011 keep the counts. Adding a row that is
//! there already changes nothing (`ON CONFLICT DO NOTHING`), which is what makes each count
//! exact however often a person clicks or a page is loaded.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;

use app::store::{LikeState, LikeStore, NewLike, StoreError, UserId, ViewEvent};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, QueryBuilder};

use super::backend::Backend;
use super::types::{count, Ts};
use super::visibility::in_private_collection_of;
use super::{for_each_backend, Db};

/// Views or likes per insert statement: three values each.
const ROWS_PER_INSERT: usize = 500;

/// The name of a day's salt in `instance_secrets`, before the day's number.
const SALT_PREFIX: &str = "view_salt:";

/// Assets per lookup of their row ids and owners.
const ASSETS_PER_LOOKUP: usize = 500;

/// Which assets a person likes, for statements that mark a listing's.
pub(super) trait LikeRows: Backend {
    /// The keys among `assets` (row ids) that `user` likes. The driver's error as it is,
    /// so that a search can tell a statement stopped by its budget.
    fn liked_among(
        conn: &mut Self::Connection,
        user: UserId,
        assets: &[i64],
    ) -> impl Future<Output = Result<HashSet<i64>, sqlx::Error>> + Send;
}

/// [`LikeRows::liked_among`], callable as a function.
pub(super) async fn liked_among<DB: LikeRows>(
    conn: &mut DB::Connection,
    user: UserId,
    assets: &[i64],
) -> Result<HashSet<i64>, sqlx::Error> {
    DB::liked_among(conn, user, assets).await
}

for_each_backend! {
    impl LikeRows for DB {
        async fn liked_among(
            conn: &mut <DB as Database>::Connection,
            user: UserId,
            assets: &[i64],
        ) -> Result<HashSet<i64>, sqlx::Error> {
            let mut liked = HashSet::new();
            for chunk in assets.chunks(ASSETS_PER_LOOKUP) {
                let mut query = QueryBuilder::<DB>::new(
                    "SELECT asset_id FROM likes WHERE user_id = ",
                );
                query.push_bind(user.0).push(" AND asset_id IN (");
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                let rows: Vec<i64> = query.build_query_scalar().fetch_all(&mut *conn).await?;
                liked.extend(rows);
            }
            Ok(liked)
        }
    }

    impl Db<DB> {
        /// `(row id, owner)` of each asset (public id) that still exists.
        async fn targets(
            conn: &mut <DB as Database>::Connection,
            assets: impl Iterator<Item = &str>,
        ) -> Result<BTreeMap<String, (i64, i64)>, StoreError> {
            let mut ids: Vec<&str> = assets.collect();
            ids.sort_unstable();
            ids.dedup();
            let mut found = BTreeMap::new();
            for chunk in ids.chunks(ASSETS_PER_LOOKUP) {
                let mut query = QueryBuilder::<DB>::new(
                    "SELECT public_id, id, owner_id FROM assets WHERE public_id IN (",
                );
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(")");
                let rows: Vec<(String, i64, i64)> =
                    query.build_query_as().fetch_all(&mut *conn).await?;
                found.extend(rows.into_iter().map(|(public, id, owner)| (public, (id, owner))));
            }
            Ok(found)
        }
    }

    #[async_trait]
    impl LikeStore for Db<DB> {
        async fn set_like(
            &self,
            public_id: &str,
            user: UserId,
            like: bool,
            shown: bool,
            at: DateTime<Utc>,
        ) -> Result<Option<LikeState>, StoreError> {
            let mut tx = self.writer().begin().await?;
            // Liking needs an asset one may see; taking a like back only one's like (the
            // asset may have turned private since).
            let asset: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT a.id FROM assets a
                  WHERE a.public_id = $1 AND a.trashed_at IS NULL
                    AND ($4 = 1 OR a.visibility <> 'private' OR a.owner_id = $2 OR {}
                         OR ($3 = 0 AND EXISTS (SELECT 1 FROM likes l
                                                 WHERE l.user_id = $2 AND l.asset_id = a.id)))",
                in_private_collection_of("$2")
            ))
            .bind(public_id)
            .bind(user.0)
            .bind(i32::from(like))
            .bind(i32::from(shown))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(asset) = asset else {
                return Ok(None);
            };
            let changed = if like {
                sqlx::query(
                    "INSERT INTO likes (user_id, asset_id, at) VALUES ($1, $2, $3)
                     ON CONFLICT (user_id, asset_id) DO NOTHING",
                )
                .bind(user.0)
                .bind(asset)
                .bind(Ts(at))
                .execute(&mut *tx)
                .await?
            } else {
                sqlx::query("DELETE FROM likes WHERE user_id = $1 AND asset_id = $2")
                    .bind(user.0)
                    .bind(asset)
                    .execute(&mut *tx)
                    .await?
            }
            .rows_affected()
                > 0;
            let likes: i64 = sqlx::query_scalar("SELECT like_count FROM assets WHERE id = $1")
                .bind(asset)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(LikeState {
                liked: like,
                likes: count(likes),
                changed,
            }))
        }

        async fn record_views(&self, views: &[ViewEvent]) -> Result<u64, StoreError> {
            if views.is_empty() {
                return Ok(0);
            }
            let mut tx = self.writer().begin().await?;
            let named = || views.iter().map(|v| v.asset.as_str());
            let targets = Self::targets(&mut tx, named()).await?;
            // The owners' rows first, in id order, as every writer takes them: the trigger
            // adds to their views received. Then the assets again: one purged while this
            // waited for its owner's row is gone now, and is let go.
            let mut owners: Vec<i64> = targets.values().map(|(_, owner)| *owner).collect();
            owners.sort_unstable();
            owners.dedup();
            DB::lock_counters(&mut tx, &owners).await?;
            let targets = Self::targets(&mut tx, named()).await?;
            let rows: Vec<(i64, i32, &str)> = views
                .iter()
                .filter_map(|v| {
                    targets
                        .get(&v.asset)
                        .map(|(id, _)| (*id, v.day, v.viewer.as_str()))
                })
                .collect();
            let mut counted = 0;
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut query =
                    QueryBuilder::<DB>::new("INSERT INTO asset_views (asset_id, day, viewer) ");
                query.push_values(chunk, |mut row, (asset, day, viewer)| {
                    row.push_bind(*asset).push_bind(*day).push_bind(*viewer);
                });
                query.push(" ON CONFLICT (asset_id, day, viewer) DO NOTHING");
                counted += query.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(counted)
        }

        async fn add_likes(&self, likes: &[NewLike]) -> Result<u64, StoreError> {
            if likes.is_empty() {
                return Ok(0);
            }
            let mut tx = self.writer().begin().await?;
            let targets = Self::targets(&mut tx, likes.iter().map(|l| l.asset.as_str())).await?;
            let rows: Vec<(i64, i64, Ts)> = likes
                .iter()
                .filter_map(|l| targets.get(&l.asset).map(|(id, _)| (l.user.0, *id, Ts(l.at))))
                .collect();
            let mut added = 0;
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut query = QueryBuilder::<DB>::new("INSERT INTO likes (user_id, asset_id, at) ");
                query.push_values(chunk, |mut row, (user, asset, at)| {
                    row.push_bind(*user).push_bind(*asset).push_bind(*at);
                });
                query.push(" ON CONFLICT (user_id, asset_id) DO NOTHING");
                added += query.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(added)
        }

        async fn prune_views(&self, before_day: i32) -> Result<u64, StoreError> {
            let mut tx = self.writer().begin().await?;
            let gone = sqlx::query("DELETE FROM asset_views WHERE day < $1")
                .bind(before_day)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let salts: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM instance_secrets WHERE name LIKE 'view_salt:%'",
            )
            .fetch_all(&mut *tx)
            .await?;
            for name in salts {
                let day = name
                    .strip_prefix(SALT_PREFIX)
                    .and_then(|day| day.parse::<i32>().ok());
                if day.is_none_or(|day| day < before_day) {
                    sqlx::query("DELETE FROM instance_secrets WHERE name = $1")
                        .bind(&name)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(gone)
        }

        async fn view_salt(&self, day: i32) -> Result<String, StoreError> {
            let name = format!("{SALT_PREFIX}{day}");
            let fresh = {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            };
            // The first to ask makes it; whoever comes second reads the first one's.
            sqlx::query(
                "INSERT INTO instance_secrets (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&name)
            .bind(fresh)
            .execute(self.writer())
            .await?;
            Ok(sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
                .bind(&name)
                .fetch_one(self.writer())
                .await?)
        }
    }
}
