//! Curating what was published: an edit of an asset's texts, tags and visibility, in one
//! transaction whose triggers keep every count and the full-text index in step, and the
//! revision it keeps of what it changed; an asset's history read back.

use std::collections::BTreeSet;

use app::model::Visibility;
use app::store::{
    AssetEdit, CurateStore, History, OldFields, RevisionRecord, StoreError, UserId, MAX_REVISIONS,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Database;

use super::assets::AssetRows;
use super::backend::Backend;
use super::types::{Json, Ts};
use super::{for_each_backend, Db};

/// A revision row as stored.
#[derive(sqlx::FromRow)]
struct RevisionRow {
    number: i32,
    at: Ts,
    editor: Option<String>,
    old: String,
}

impl TryFrom<RevisionRow> for RevisionRecord {
    type Error = StoreError;

    fn try_from(row: RevisionRow) -> Result<RevisionRecord, StoreError> {
        Ok(RevisionRecord {
            number: u32::try_from(row.number).unwrap_or(0),
            at: row.at.0,
            editor: row.editor,
            old: serde_json::from_str(&row.old).map_err(|err| {
                StoreError::Database(format!("revision {} does not read: {err}", row.number))
            })?,
        })
    }
}

for_each_backend! {
    impl Db<DB> {
        /// The asset's editable fields as they are now, its tags in name order.
        async fn fields_now(
            conn: &mut <DB as Database>::Connection,
            id: i64,
        ) -> Result<AssetEdit, StoreError> {
            let (title, prompt, negative_prompt, model, visibility): (
                String,
                String,
                String,
                Option<String>,
                String,
            ) = sqlx::query_as(
                "SELECT title, prompt, negative_prompt, model, visibility FROM assets WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            let tags: Vec<String> = sqlx::query_scalar(
                "SELECT t.name FROM asset_tags x JOIN tags t ON t.id = x.tag_id
                  WHERE x.asset_id = $1 ORDER BY t.name",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            Ok(AssetEdit {
                title,
                prompt,
                negative_prompt,
                model,
                tags,
                visibility: Visibility::parse(&visibility).ok_or_else(|| {
                    StoreError::Database(format!("asset {id} has unknown visibility {visibility}"))
                })?,
            })
        }
    }

    #[async_trait]
    impl CurateStore for Db<DB> {
        async fn edit_asset(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
            edit: &AssetEdit,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.writer().begin().await?;
            // One in the trash is not edited: it comes back exactly as it went.
            let Some((id, owner)) =
                DB::owned_asset(&mut *tx, public_id, actor, any_owner, false).await?
            else {
                return Ok(false);
            };
            // The owner's row and the site's counters first, as every writer takes them;
            // then the count rows the triggers move. The editor's row too (lock_counters
            // takes them in id order): the revision's key to it takes a lock on it, which
            // taken later would be out of order (an admin editing someone else's asset
            // deadlocked so).
            DB::lock_counters(&mut *tx, &[owner, actor.0]).await?;
            let now = Self::fields_now(&mut tx, id).await?;
            let old = OldFields::between(&now, edit);
            let changed = old.names();
            if changed.is_empty() {
                return Ok(true);
            }
            sqlx::query(
                "UPDATE assets SET title = $1, prompt = $2, negative_prompt = $3, model = $4,
                        visibility = $5
                  WHERE id = $6",
            )
            .bind(&edit.title)
            .bind(&edit.prompt)
            .bind(&edit.negative_prompt)
            .bind(&edit.model)
            .bind(edit.visibility.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
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
            // What changed, as it was; past the cap the oldest revision goes.
            let old_json = serde_json::to_string(&old)
                .map_err(|err| StoreError::Database(format!("a revision does not write: {err}")))?;
            let number: i32 = sqlx::query_scalar(
                "INSERT INTO asset_revisions (asset_id, number, editor_id, at, fields, old)
                 SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, $5
                   FROM asset_revisions WHERE asset_id = $1
                 RETURNING number",
            )
            .bind(id)
            .bind(actor.0)
            .bind(Ts(at))
            .bind(changed.join(","))
            .bind(Json(&old_json))
            .fetch_one(&mut *tx)
            .await?;
            let keep = i32::try_from(MAX_REVISIONS).unwrap_or(i32::MAX);
            if number > keep {
                sqlx::query("DELETE FROM asset_revisions WHERE asset_id = $1 AND number <= $2")
                    .bind(id)
                    .bind(number - keep)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        async fn history(
            &self,
            public_id: &str,
            actor: UserId,
            any_owner: bool,
        ) -> Result<Option<History>, StoreError> {
            // Read in one transaction, so the revisions match the fields now.
            let mut tx = self.reader().begin().await?;
            let Some((id, _)) =
                DB::owned_asset(&mut *tx, public_id, actor, any_owner, false).await?
            else {
                return Ok(None);
            };
            let current = Self::fields_now(&mut tx, id).await?;
            let rows: Vec<RevisionRow> = sqlx::query_as(
                "SELECT r.number, r.at, u.username AS editor, CAST(r.old AS TEXT) AS old
                   FROM asset_revisions r LEFT JOIN users u ON u.id = r.editor_id
                  WHERE r.asset_id = $1 ORDER BY r.number DESC",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(History {
                current,
                revisions: rows
                    .into_iter()
                    .map(RevisionRecord::try_from)
                    .collect::<Result<_, _>>()?,
            }))
        }
    }
}
