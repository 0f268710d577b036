//! Curating what was published: an edit of an asset's texts, tags and visibility, in one
//! transaction whose triggers keep every count and the full-text index in step.

use std::collections::BTreeSet;

use app::store::{AssetEdit, CurateStore, StoreError, UserId};
use async_trait::async_trait;

use super::assets::AssetRows;
use super::backend::Backend;
use super::{for_each_backend, Db};

for_each_backend! {
    #[async_trait]
    impl CurateStore for Db<DB> {
        async fn edit_asset(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
            edit: &AssetEdit,
        ) -> Result<bool, StoreError> {
            let mut tx = self.writer().begin().await?;
            // One in the trash is not edited: it comes back exactly as it went.
            let Some((id, owner)) =
                DB::owned_asset(&mut *tx, public_id, actor, any_owner, false).await?
            else {
                return Ok(false);
            };
            // The owner's row and the site's counters first, as every writer takes them;
            // then the count rows the triggers move.
            DB::lock_counters(&mut *tx, &[owner]).await?;
            let updated = sqlx::query(
                "UPDATE assets SET title = $1, prompt = $2, negative_prompt = $3, model = $4,
                        visibility = $5
                  WHERE id = $6 AND trashed_at IS NULL",
            )
            .bind(&edit.title)
            .bind(&edit.prompt)
            .bind(&edit.negative_prompt)
            .bind(&edit.model)
            .bind(edit.visibility.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                // Trashed or deleted since it was read.
                return Ok(false);
            }
            // The tags: the links the edit drops go, the ones it adds come.
            let names: Vec<&str> = edit.tags.iter().map(String::as_str).collect();
            let wanted: BTreeSet<i64> = if names.is_empty() {
                BTreeSet::new()
            } else {
                DB::upsert_tags(&mut *tx, &names)
                    .await?
                    .into_iter()
                    .map(|(tag, _)| tag)
                    .collect()
            };
            let linked: BTreeSet<i64> =
                sqlx::query_scalar("SELECT tag_id FROM asset_tags WHERE asset_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
            for gone in linked.difference(&wanted) {
                sqlx::query("DELETE FROM asset_tags WHERE asset_id = $1 AND tag_id = $2")
                    .bind(id)
                    .bind(gone)
                    .execute(&mut *tx)
                    .await?;
            }
            let added: Vec<(i64, i64)> = wanted.difference(&linked).map(|tag| (id, *tag)).collect();
            if !added.is_empty() {
                DB::link_tags(&mut *tx, &added).await?;
            }
            tx.commit().await?;
            Ok(true)
        }
    }
}
