//! Bulk actions: one change to many assets in one transaction, written as a handful of
//! set-wide statements (whatever the count) so that a thousand assets take milliseconds;
//! the row triggers move every count and the full-text index as an edit's do.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use app::model::Visibility;
use app::store::{
    BulkChange, BulkOutcome, BulkStore, OldFields, StoreError, UserId, MAX_BULK, MAX_REVISIONS,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::backend::Backend;
use super::types::{Json, Ts};
use super::{for_each_backend, Db};

/// Revisions per insert statement: six values each, well inside SQLite's 32,766 and
/// Postgres's 65,535 bound values.
const REVISIONS_PER_INSERT: usize = 500;

/// An asset a bulk action names, as read under the locks.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
struct Named {
    id: i64,
    public_id: String,
    owner_id: i64,
    visibility: String,
}

/// The revision an asset's change keeps.
struct Revision {
    asset: i64,
    fields: String,
    old: String,
}

impl Revision {
    fn of(asset: i64, old: &OldFields) -> Result<Revision, StoreError> {
        Ok(Revision {
            asset,
            fields: old.names().join(","),
            old: serde_json::to_string(old)
                .map_err(|err| StoreError::Database(format!("a revision does not write: {err}")))?,
        })
    }
}

for_each_backend! {
    /// `(v1, v2, …)` of the values bound one by one (at most [`MAX_BULK`] of them).
    fn push_list<'a, T>(query: &mut QueryBuilder<'a, DB>, values: impl IntoIterator<Item = T>)
    where
        T: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        query.push("(");
        let mut list = query.separated(", ");
        for value in values {
            list.push_bind(value);
        }
        list.push_unseparated(")");
    }

    impl Db<DB> {
        /// The named assets out of the trash, whoever owns them.
        async fn named(
            conn: &mut <DB as sqlx::Database>::Connection,
            ids: &[String],
        ) -> Result<Vec<Named>, StoreError> {
            let mut query = QueryBuilder::<DB>::new(
                "SELECT id, public_id, owner_id, visibility FROM assets
                  WHERE trashed_at IS NULL AND public_id IN ",
            );
            push_list(&mut query, ids.iter().map(String::as_str));
            query.push(" ORDER BY id");
            Ok(query.build_query_as().fetch_all(&mut *conn).await?)
        }

        /// Each asset's tags, `asset id → (tag name → tag id)`.
        async fn tags_of(
            conn: &mut <DB as sqlx::Database>::Connection,
            assets: &[i64],
        ) -> Result<HashMap<i64, BTreeMap<String, i64>>, StoreError> {
            let mut query = QueryBuilder::<DB>::new(
                "SELECT x.asset_id, t.name, t.id FROM asset_tags x JOIN tags t ON t.id = x.tag_id
                  WHERE x.asset_id IN ",
            );
            push_list(&mut query, assets.iter().copied());
            let rows: Vec<(i64, String, i64)> =
                query.build_query_as().fetch_all(&mut *conn).await?;
            let mut tags: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
            for (asset, name, tag) in rows {
                tags.entry(asset).or_default().insert(name, tag);
            }
            Ok(tags)
        }

        /// Keeps one revision per changed asset, numbered after its last, by `actor` at
        /// `at`; past [`MAX_REVISIONS`] an asset's oldest go.
        async fn keep_revisions(
            conn: &mut <DB as sqlx::Database>::Connection,
            revisions: &[Revision],
            actor: UserId,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            if revisions.is_empty() {
                return Ok(());
            }
            let assets: Vec<i64> = revisions.iter().map(|r| r.asset).collect();
            let mut query = QueryBuilder::<DB>::new(
                "SELECT asset_id, MAX(number) FROM asset_revisions WHERE asset_id IN ",
            );
            push_list(&mut query, assets.iter().copied());
            query.push(" GROUP BY asset_id");
            let last: HashMap<i64, i32> = query
                .build_query_as::<(i64, i32)>()
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
            let numbered: Vec<(i32, &Revision)> = revisions
                .iter()
                .map(|r| (last.get(&r.asset).copied().unwrap_or(0) + 1, r))
                .collect();
            for chunk in numbered.chunks(REVISIONS_PER_INSERT) {
                let mut insert = QueryBuilder::<DB>::new(
                    "INSERT INTO asset_revisions (asset_id, number, editor_id, at, fields, old) ",
                );
                insert.push_values(chunk, |mut row, (number, revision)| {
                    row.push_bind(revision.asset)
                        .push_bind(*number)
                        .push_bind(actor.0)
                        .push_bind(Ts(at))
                        .push_bind(revision.fields.as_str())
                        .push_bind(Json(&revision.old));
                });
                insert.build().execute(&mut *conn).await?;
            }
            let keep = i32::try_from(MAX_REVISIONS).unwrap_or(i32::MAX);
            let full: Vec<i64> = numbered
                .iter()
                .filter(|(number, _)| *number > keep)
                .map(|(_, r)| r.asset)
                .collect();
            if !full.is_empty() {
                let mut trim = QueryBuilder::<DB>::new(
                    "DELETE FROM asset_revisions
                      WHERE number <= (SELECT MAX(r.number) FROM asset_revisions r
                                        WHERE r.asset_id = asset_revisions.asset_id) - ",
                );
                trim.push_bind(keep).push(" AND asset_id IN ");
                push_list(&mut trim, full);
                trim.build().execute(&mut *conn).await?;
            }
            Ok(())
        }
    }

    #[async_trait]
    impl BulkStore for Db<DB> {
        async fn bulk_change(
            &self,
            ids: &[String],
            actor: UserId,
            any_owner: bool,
            change: &BulkChange,
            max_tags: usize,
            at: DateTime<Utc>,
        ) -> Result<BulkOutcome, StoreError> {
            if ids.len() > MAX_BULK {
                return Err(StoreError::Database(format!(
                    "a bulk action names at most {MAX_BULK} assets, not {}",
                    ids.len()
                )));
            }
            if ids.is_empty() {
                return Ok(BulkOutcome::Done { changed: Vec::new() });
            }
            let mut tx = self.writer().begin().await?;
            let seen = Self::named(&mut tx, ids).await?;
            // Every owner's row and the site's counters, as every writer takes them, and
            // the actor's (the revisions' key to it locks it); then the same read again
            // under the locks (on Postgres another writer may have trashed one between).
            let mut owners: Vec<i64> = seen.iter().map(|a| a.owner_id).collect();
            owners.push(actor.0);
            owners.sort_unstable();
            owners.dedup();
            DB::lock_counters(&mut *tx, &owners).await?;
            let named = Self::named(&mut tx, ids).await?;
            let mine: HashMap<&str, &Named> = named
                .iter()
                .filter(|a| any_owner || a.owner_id == actor.0)
                .map(|a| (a.public_id.as_str(), a))
                .collect();
            let mut listed = HashSet::new();
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| !mine.contains_key(id.as_str()) && listed.insert(id.as_str()))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Ok(BulkOutcome::Missing(missing));
            }
            let assets: Vec<i64> = named.iter().map(|a| a.id).collect();
            let changed: BTreeSet<i64> = match change {
                BulkChange::Trash => {
                    let mut update = QueryBuilder::<DB>::new("UPDATE assets SET trashed_at = ");
                    update
                        .push_bind(Ts(at))
                        .push(" WHERE trashed_at IS NULL AND id IN ");
                    push_list(&mut update, assets.iter().copied());
                    update.build().execute(&mut *tx).await?;
                    assets.iter().copied().collect()
                }
                BulkChange::SetVisibility(visibility) => {
                    let mut revisions = Vec::new();
                    for asset in &named {
                        let was = Visibility::parse(&asset.visibility).ok_or_else(|| {
                            StoreError::Database(format!(
                                "asset {} has unknown visibility {}",
                                asset.id, asset.visibility
                            ))
                        })?;
                        if was != *visibility {
                            let old = OldFields {
                                visibility: Some(was),
                                ..OldFields::default()
                            };
                            revisions.push(Revision::of(asset.id, &old)?);
                        }
                    }
                    if !revisions.is_empty() {
                        let mut update = QueryBuilder::<DB>::new("UPDATE assets SET visibility = ");
                        update.push_bind(visibility.as_str()).push(" WHERE id IN ");
                        push_list(&mut update, revisions.iter().map(|r| r.asset));
                        update.build().execute(&mut *tx).await?;
                    }
                    Self::keep_revisions(&mut tx, &revisions, actor, at).await?;
                    revisions.iter().map(|r| r.asset).collect()
                }
                BulkChange::AddTags(names) => {
                    let tags = Self::tags_of(&mut tx, &assets).await?;
                    let mut adds: Vec<(i64, Vec<&str>)> = Vec::new();
                    let mut revisions = Vec::new();
                    for asset in &named {
                        let has = tags.get(&asset.id);
                        let new: Vec<&str> = names
                            .iter()
                            .map(String::as_str)
                            .filter(|name| !has.is_some_and(|has| has.contains_key(*name)))
                            .collect();
                        if new.is_empty() {
                            continue;
                        }
                        let would_have = has.map_or(0, BTreeMap::len) + new.len();
                        if would_have > max_tags {
                            return Ok(BulkOutcome::TooManyTags {
                                id: asset.public_id.clone(),
                                would_have,
                                max: max_tags,
                            });
                        }
                        let old = OldFields {
                            tags: Some(has.map(|h| h.keys().cloned().collect()).unwrap_or_default()),
                            ..OldFields::default()
                        };
                        revisions.push(Revision::of(asset.id, &old)?);
                        adds.push((asset.id, new));
                    }
                    if !adds.is_empty() {
                        let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
                        let tag_ids: HashMap<String, i64> = DB::upsert_tags(&mut *tx, &wanted)
                            .await?
                            .into_iter()
                            .map(|(id, name)| (name, id))
                            .collect();
                        let mut links = Vec::new();
                        for (asset, new) in &adds {
                            for name in new {
                                let tag = tag_ids.get(*name).ok_or_else(|| {
                                    StoreError::Database(format!("tag {name} was not stored"))
                                })?;
                                links.push((*asset, *tag));
                            }
                        }
                        DB::link_tags(&mut *tx, &links).await?;
                    }
                    Self::keep_revisions(&mut tx, &revisions, actor, at).await?;
                    revisions.iter().map(|r| r.asset).collect()
                }
                BulkChange::RemoveTags(names) => {
                    let tags = Self::tags_of(&mut tx, &assets).await?;
                    let mut revisions = Vec::new();
                    let mut gone: BTreeSet<i64> = BTreeSet::new();
                    for asset in &named {
                        let Some(has) = tags.get(&asset.id) else {
                            continue;
                        };
                        let dropped: Vec<i64> = names.iter().filter_map(|n| has.get(n)).copied().collect();
                        if dropped.is_empty() {
                            continue;
                        }
                        gone.extend(dropped);
                        let old = OldFields {
                            tags: Some(has.keys().cloned().collect()),
                            ..OldFields::default()
                        };
                        revisions.push(Revision::of(asset.id, &old)?);
                    }
                    if !revisions.is_empty() {
                        let mut delete =
                            QueryBuilder::<DB>::new("DELETE FROM asset_tags WHERE asset_id IN ");
                        push_list(&mut delete, revisions.iter().map(|r| r.asset));
                        delete.push(" AND tag_id IN ");
                        push_list(&mut delete, gone);
                        delete.build().execute(&mut *tx).await?;
                    }
                    Self::keep_revisions(&mut tx, &revisions, actor, at).await?;
                    revisions.iter().map(|r| r.asset).collect()
                }
            };
            tx.commit().await?;
            let by_id: HashMap<&str, i64> = named.iter().map(|a| (a.public_id.as_str(), a.id)).collect();
            let mut listed = HashSet::new();
            let changed = ids
                .iter()
                .filter(|id| {
                    by_id.get(id.as_str()).is_some_and(|key| changed.contains(key))
                        && listed.insert(id.as_str())
                })
                .cloned()
                .collect();
            Ok(BulkOutcome::Done { changed })
        }
    }
}
