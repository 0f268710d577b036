//! The trash: moving an asset in (`trashed_at` set) and out again, each in one transaction
//! whose triggers take its counts out and put them back (migrations/*/0009), its owner's
//! trash page, and what the background purge deletes.

use app::store::{StoreError, TrashCursor, TrashStore, TrashedAsset, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::assets::{asset_columns, AssetRow, AssetRows, ASSET_FROM};
use super::backend::Backend;
use super::types::{count, Ts};
use super::{for_each_backend, Db};

/// A row of the trash page.
#[derive(sqlx::FromRow)]
struct TrashRow {
    #[sqlx(flatten)]
    asset: AssetRow,
    trashed_at: Ts,
}

for_each_backend! {
    impl Db<DB> {
        /// Sets or clears `trashed_at` of an asset of `actor`'s that is out of the trash
        /// (`to` set) or in it (`to` empty), under the owner's counters. `false` when there
        /// is no such asset.
        async fn move_trash(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
            to: Option<DateTime<Utc>>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.writer().begin().await?;
            let trashed = to.is_none();
            let Some((id, owner)) =
                DB::owned_asset(&mut *tx, public_id, actor, any_owner, trashed).await?
            else {
                return Ok(false);
            };
            DB::lock_counters(&mut *tx, &[owner]).await?;
            let moved = sqlx::query(
                "UPDATE assets SET trashed_at = $1
                  WHERE id = $2 AND (trashed_at IS NOT NULL) = $3",
            )
            .bind(to.map(Ts))
            .bind(id)
            .bind(trashed)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                // Moved or purged by someone else since it was read.
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        }
    }

    #[async_trait]
    impl TrashStore for Db<DB> {
        async fn trash_asset(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            self.move_trash(public_id, actor, any_owner, Some(at)).await
        }

        async fn restore_asset(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
        ) -> Result<bool, StoreError> {
            self.move_trash(public_id, actor, any_owner, None).await
        }

        async fn trash_page(
            &self,
            owner: UserId,
            after: Option<TrashCursor>,
            limit: u32,
        ) -> Result<Vec<TrashedAsset>, StoreError> {
            let mut query = QueryBuilder::<DB>::new(format!(
                "SELECT {}, a.trashed_at {ASSET_FROM} WHERE a.owner_id = ",
                asset_columns::<DB>()
            ));
            query.push_bind(owner.0).push(" AND a.trashed_at IS NOT NULL");
            if let Some(after) = after {
                query
                    .push(" AND (a.trashed_at < ")
                    .push_bind(Ts(after.trashed_at))
                    .push(" OR (a.trashed_at = ")
                    .push_bind(Ts(after.trashed_at))
                    .push(" AND a.id < ")
                    .push_bind(after.key)
                    .push("))");
            }
            query
                .push(" ORDER BY a.trashed_at DESC, a.id DESC LIMIT ")
                .push_bind(i64::from(limit));
            let rows: Vec<TrashRow> = query.build_query_as().fetch_all(self.reader()).await?;
            rows.into_iter()
                .map(|row| {
                    Ok(TrashedAsset {
                        key: row.asset.key,
                        asset: row.asset.into_summary()?,
                        trashed_at: row.trashed_at.0,
                    })
                })
                .collect()
        }

        async fn trash_ids(
            &self,
            owner: Option<UserId>,
            before: Option<DateTime<Utc>>,
            limit: u32,
        ) -> Result<Vec<String>, StoreError> {
            let mut query =
                QueryBuilder::<DB>::new("SELECT public_id FROM assets WHERE trashed_at IS NOT NULL");
            if let Some(owner) = owner {
                query.push(" AND owner_id = ").push_bind(owner.0);
            }
            if let Some(before) = before {
                query.push(" AND trashed_at < ").push_bind(Ts(before));
            }
            query
                .push(" ORDER BY trashed_at, id LIMIT ")
                .push_bind(i64::from(limit));
            Ok(query.build_query_scalar().fetch_all(self.reader()).await?)
        }

        async fn trash_count(&self, owner: UserId) -> Result<u64, StoreError> {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM assets WHERE owner_id = $1 AND trashed_at IS NOT NULL",
            )
            .bind(owner.0)
            .fetch_one(self.reader())
            .await?;
            Ok(count(n))
        }
    }
}
