//! Collections: their rows, items in order, members in roles. Every change that touches a
//! collection's items or members first updates the collection's own row (its
//! `updated_at`), which on Postgres locks it, so two people adding at once take turns and
//! never compute the same place at the end.

use std::collections::{HashMap, HashSet};

use app::access::MemberRole;
use app::model::Visibility;
use app::store::{
    AddOutcome, CollectionEdit, CollectionId, CollectionList, CollectionListing, CollectionRecord,
    CollectionStore, MemberOutcome, MemberRecord, MoveTo, NewCollection, StoreError, UserId,
    MAX_COLLECTIONS, MAX_COLLECTION_ITEMS, MAX_MEMBERS,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, QueryBuilder};

use super::backend::Backend;
use super::types::{count, Ts};
use super::visibility::{in_private_collection_of, item_shows, item_shows_to_holder};
use super::{for_each_backend, Db};

/// The space between neighbouring items' positions when they are (re)numbered: a move
/// goes halfway between two neighbours, so ten moves into one gap fit before the
/// collection is numbered again.
const POSITION_GAP: i64 = 1024;

/// The columns of [`CollectionRow`], with [`COLLECTION_FROM`].
const COLLECTION_COLUMNS: &str = "c.id, c.public_id, c.owner_id, u.username AS owner_name, \
     c.title, c.description, c.visibility, cv.public_id AS cover, c.created_at, c.updated_at, \
     c.featured_at";

const COLLECTION_FROM: &str = " FROM collections c
     JOIN users u ON u.id = c.owner_id
     LEFT JOIN assets cv ON cv.id = c.cover_asset_id";

#[derive(sqlx::FromRow)]
struct CollectionRow {
    id: i64,
    public_id: String,
    owner_id: i64,
    owner_name: String,
    title: String,
    description: String,
    visibility: String,
    cover: Option<String>,
    created_at: Ts,
    updated_at: Ts,
    featured_at: Option<i64>,
}

impl CollectionRow {
    fn into_record(self) -> Result<CollectionRecord, StoreError> {
        let visibility = Visibility::parse(&self.visibility).ok_or_else(|| {
            StoreError::Database(format!(
                "collection {} has unknown visibility {}",
                self.public_id, self.visibility
            ))
        })?;
        Ok(CollectionRecord {
            id: CollectionId(self.id),
            public_id: self.public_id,
            owner: UserId(self.owner_id),
            owner_name: self.owner_name,
            title: self.title,
            description: self.description,
            visibility,
            cover: self.cover,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            featured: self
                .featured_at
                .and_then(chrono::DateTime::from_timestamp_micros),
        })
    }
}

/// A row of a list of collections: the collection, and what its viewer sees of it.
#[derive(sqlx::FromRow)]
struct ListingRow {
    #[sqlx(flatten)]
    collection: CollectionRow,
    items: i64,
    cover_shown: Option<String>,
    role: Option<String>,
}

fn role_of(text: &str) -> Result<MemberRole, StoreError> {
    MemberRole::parse(text)
        .ok_or_else(|| StoreError::Database(format!("unknown collection role {text}")))
}

for_each_backend! {
    impl Db<DB> {
        /// Locks the collection's row (Postgres) and marks it changed at `at`.
        async fn touch(
            conn: &mut <DB as Database>::Connection,
            id: CollectionId,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query("UPDATE collections SET updated_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(Ts(at))
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// The row id of the item `asset` (public id) of the collection, if it is one.
        async fn item(
            conn: &mut <DB as Database>::Connection,
            id: CollectionId,
            asset: &str,
        ) -> Result<Option<i64>, StoreError> {
            Ok(sqlx::query_scalar(
                "SELECT ci.asset_id FROM collection_items ci
                   JOIN assets a ON a.id = ci.asset_id
                  WHERE ci.collection_id = $1 AND a.public_id = $2",
            )
            .bind(id.0)
            .bind(asset)
            .fetch_optional(&mut *conn)
            .await?)
        }

        /// The user called `username`, if anyone is.
        async fn user_named(
            conn: &mut <DB as Database>::Connection,
            username: &str,
        ) -> Result<Option<i64>, StoreError> {
            Ok(sqlx::query_scalar("SELECT id FROM users WHERE lower(username) = lower($1)")
                .bind(username.trim())
                .fetch_optional(&mut *conn)
                .await?)
        }

        /// Every item's asset id, in order.
        async fn order_of(
            conn: &mut <DB as Database>::Connection,
            id: CollectionId,
        ) -> Result<Vec<(i64, i64)>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT asset_id, position FROM collection_items
                  WHERE collection_id = $1 ORDER BY position",
            )
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?)
        }

        /// The items (asset keys) of the collection that `viewer` sees ([`item_shows`]).
        async fn seen_items(
            conn: &mut <DB as Database>::Connection,
            id: CollectionId,
            viewer: UserId,
        ) -> Result<HashSet<i64>, StoreError> {
            let rows: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT ci.asset_id FROM collection_items ci
                   JOIN collections c ON c.id = ci.collection_id
                   JOIN assets a ON a.id = ci.asset_id
                  WHERE ci.collection_id = $2 AND {}",
                item_shows()
            ))
            .bind(viewer.0)
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows.into_iter().collect())
        }

        /// Numbers the items again, [`POSITION_GAP`] apart, in the order they are in: first
        /// every position is made negative (still distinct), then each is set from its
        /// place, so the unique index never sees two alike.
        async fn renumber(
            conn: &mut <DB as Database>::Connection,
            id: CollectionId,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE collection_items SET position = -position - 1 WHERE collection_id = $1",
            )
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE collection_items SET position = r.place * $2
                   FROM (SELECT asset_id,
                                ROW_NUMBER() OVER (ORDER BY position DESC) AS place
                           FROM collection_items WHERE collection_id = $1) r
                  WHERE collection_items.collection_id = $1
                    AND collection_items.asset_id = r.asset_id",
            )
            .bind(id.0)
            .bind(POSITION_GAP)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    }

    #[async_trait]
    impl CollectionStore for Db<DB> {
        async fn create_collection(
            &self,
            new: &NewCollection,
        ) -> Result<Option<CollectionRecord>, StoreError> {
            let mut tx = self.writer().begin().await?;
            // The owner's row first, as every writer takes it: two creations at once
            // count each other.
            DB::lock_counters(&mut tx, &[new.owner.0]).await?;
            let owned: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM collections WHERE owner_id = $1")
                    .bind(new.owner.0)
                    .fetch_one(&mut *tx)
                    .await?;
            if owned >= i64::from(MAX_COLLECTIONS) {
                return Ok(None);
            }
            sqlx::query(
                "INSERT INTO collections
                   (public_id, owner_id, title, description, visibility, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&new.public_id)
            .bind(new.owner.0)
            .bind(&new.title)
            .bind(&new.description)
            .bind(new.visibility.as_str())
            .bind(Ts(new.created_at))
            .execute(&mut *tx)
            .await?;
            let row: CollectionRow = sqlx::query_as(&format!(
                "SELECT {COLLECTION_COLUMNS} {COLLECTION_FROM} WHERE c.public_id = $1"
            ))
            .bind(&new.public_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row.into_record().map(Some)
        }

        async fn collection(
            &self,
            public_id: &str,
            user: Option<UserId>,
        ) -> Result<Option<(CollectionRecord, Option<MemberRole>)>, StoreError> {
            let row: Option<CollectionRow> = sqlx::query_as(&format!(
                "SELECT {COLLECTION_COLUMNS} {COLLECTION_FROM} WHERE c.public_id = $1"
            ))
            .bind(public_id)
            .fetch_optional(self.reader())
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let role: Option<String> = match user {
                Some(user) => {
                    sqlx::query_scalar(
                        "SELECT role FROM collection_members
                          WHERE collection_id = $1 AND user_id = $2",
                    )
                    .bind(row.id)
                    .bind(user.0)
                    .fetch_optional(self.reader())
                    .await?
                }
                None => None,
            };
            let role = role.as_deref().map(role_of).transpose()?;
            Ok(Some((row.into_record()?, role)))
        }

        async fn edit_collection(
            &self,
            id: CollectionId,
            edit: &CollectionEdit,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE collections SET title = $2, description = $3, visibility = $4,
                        updated_at = $5
                  WHERE id = $1",
            )
            .bind(id.0)
            .bind(&edit.title)
            .bind(&edit.description)
            .bind(edit.visibility.as_str())
            .bind(Ts(at))
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn set_cover(
            &self,
            id: CollectionId,
            asset: Option<&str>,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.writer().begin().await?;
            Self::touch(&mut tx, id, at).await?;
            let cover: Option<i64> = match asset {
                None => None,
                Some(asset) => match Self::item(&mut tx, id, asset).await? {
                    Some(found) => Some(found),
                    None => return Ok(false),
                },
            };
            sqlx::query("UPDATE collections SET cover_asset_id = $2 WHERE id = $1")
                .bind(id.0)
                .bind(cover)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn delete_collection(&self, id: CollectionId) -> Result<(), StoreError> {
            sqlx::query("DELETE FROM collections WHERE id = $1")
                .bind(id.0)
                .execute(self.writer())
                .await?;
            Ok(())
        }

        async fn add_items(
            &self,
            id: CollectionId,
            assets: &[String],
            actor: UserId,
            others_public: bool,
            at: DateTime<Utc>,
        ) -> Result<AddOutcome, StoreError> {
            let mut tx = self.writer().begin().await?;
            Self::touch(&mut tx, id, at).await?;
            let mut query = QueryBuilder::<DB>::new(
                "SELECT public_id, id, owner_id, visibility FROM assets
                  WHERE trashed_at IS NULL AND public_id IN (",
            );
            let mut list = query.separated(", ");
            for asset in assets {
                list.push_bind(asset.as_str());
            }
            query.push(")");
            let rows: Vec<(String, i64, i64, String)> =
                query.build_query_as().fetch_all(&mut *tx).await?;
            let allowed: HashMap<String, i64> = rows
                .into_iter()
                .filter(|(_, _, owner, visibility)| {
                    *owner == actor.0 || (others_public && visibility == "public")
                })
                .map(|(public_id, id, _, _)| (public_id, id))
                .collect();
            let refused: Vec<String> = assets
                .iter()
                .filter(|a| !allowed.contains_key(*a))
                .cloned()
                .collect();
            if !refused.is_empty() {
                return Ok(AddOutcome::Refused(refused));
            }
            let (held, last): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MAX(position) FROM collection_items WHERE collection_id = $1",
            )
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
            let mut query = QueryBuilder::<DB>::new(
                "SELECT asset_id FROM collection_items WHERE collection_id = ",
            );
            query.push_bind(id.0).push(" AND asset_id IN (");
            let mut list = query.separated(", ");
            for asset in allowed.values() {
                list.push_bind(*asset);
            }
            query.push(")");
            let inside: HashSet<i64> = query
                .build_query_scalar::<i64>()
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
            let mut seen = HashSet::new();
            let (mut added, mut already) = (Vec::new(), Vec::new());
            for (asset, row) in assets
                .iter()
                .filter_map(|asset| allowed.get(asset).map(|row| (asset, *row)))
            {
                if inside.contains(&row) {
                    already.push(asset.clone());
                } else if seen.insert(row) {
                    added.push((asset.clone(), row));
                }
            }
            let free = i64::from(MAX_COLLECTION_ITEMS) - held;
            if added.len() as i64 > free {
                return Ok(AddOutcome::Full {
                    free: u32::try_from(free.max(0)).unwrap_or(0),
                });
            }
            let start = last.unwrap_or(0);
            for chunk in added.chunks(200).enumerate() {
                let (n, chunk) = chunk;
                let mut insert = QueryBuilder::<DB>::new(
                    "INSERT INTO collection_items
                       (collection_id, asset_id, position, added_by, added_at) ",
                );
                insert.push_values(chunk.iter().enumerate(), |mut row, (k, (_, asset))| {
                    let place = (n * 200 + k + 1) as i64;
                    row.push_bind(id.0)
                        .push_bind(*asset)
                        .push_bind(start + place * POSITION_GAP)
                        .push_bind(actor.0)
                        .push_bind(Ts(at));
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(AddOutcome::Added {
                added: added.into_iter().map(|(public_id, _)| public_id).collect(),
                already,
            })
        }

        async fn remove_items(
            &self,
            id: CollectionId,
            assets: &[String],
            actor: UserId,
            any: bool,
            at: DateTime<Utc>,
        ) -> Result<Vec<String>, StoreError> {
            let mut tx = self.writer().begin().await?;
            Self::touch(&mut tx, id, at).await?;
            let mut query = QueryBuilder::<DB>::new(
                "SELECT a.id, a.public_id FROM collection_items ci
                   JOIN assets a ON a.id = ci.asset_id
                  WHERE ci.collection_id = ",
            );
            query.push_bind(id.0);
            if !any {
                query.push(" AND a.owner_id = ").push_bind(actor.0);
            }
            query.push(" AND a.public_id IN (");
            let mut list = query.separated(", ");
            for asset in assets {
                list.push_bind(asset.as_str());
            }
            query.push(")");
            let found: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *tx).await?;
            if found.is_empty() {
                return Ok(Vec::new());
            }
            for statement in [
                "DELETE FROM collection_items WHERE collection_id = ",
                "UPDATE collections SET cover_asset_id = NULL WHERE id = ",
            ] {
                let mut query = QueryBuilder::<DB>::new(statement);
                query.push_bind(id.0).push(if statement.starts_with("DELETE") {
                    " AND asset_id IN ("
                } else {
                    " AND cover_asset_id IN ("
                });
                let mut list = query.separated(", ");
                for (asset, _) in &found {
                    list.push_bind(*asset);
                }
                query.push(")");
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            let taken: HashSet<&String> = found.iter().map(|(_, public_id)| public_id).collect();
            Ok(assets.iter().filter(|a| taken.contains(a)).cloned().collect())
        }

        async fn move_item(
            &self,
            id: CollectionId,
            asset: &str,
            to: &MoveTo,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut tx = self.writer().begin().await?;
            Self::touch(&mut tx, id, at).await?;
            let Some(moving) = Self::item(&mut tx, id, asset).await? else {
                return Ok(false);
            };
            let before = match to {
                // Before itself: where it is.
                MoveTo::Before(other) if other == asset => {
                    tx.commit().await?;
                    return Ok(true);
                }
                MoveTo::Before(other) => match Self::item(&mut tx, id, other).await? {
                    Some(other) => Some(other),
                    None => return Ok(false),
                },
                MoveTo::End | MoveTo::Up(_) | MoveTo::Down(_) => None,
            };
            let mut order = Self::order_of(&mut tx, id).await?;
            let at_now = order.iter().position(|(a, _)| *a == moving).unwrap_or(0);
            // Where it goes, as the index of the item it will stand before (`None`: the end),
            // counted in the order without it.
            let without: Vec<i64> = order
                .iter()
                .map(|(a, _)| *a)
                .filter(|a| *a != moving)
                .collect();
            let target: Option<usize> = match to {
                MoveTo::Before(_) => before.and_then(|b| without.iter().position(|a| *a == b)),
                MoveTo::End => None,
                // Before the nearest item the mover sees before it (where it is, if none).
                MoveTo::Up(mover) => {
                    let seen = Self::seen_items(&mut tx, id, *mover).await?;
                    Some(
                        without[..at_now]
                            .iter()
                            .rposition(|a| seen.contains(a))
                            .unwrap_or(at_now),
                    )
                }
                // After the nearest item the mover sees after it (where it is, if none).
                MoveTo::Down(mover) => {
                    let seen = Self::seen_items(&mut tx, id, *mover).await?;
                    match without[at_now..].iter().position(|a| seen.contains(a)) {
                        None => Some(at_now),
                        Some(k) => {
                            let after = at_now + k + 1;
                            (after < without.len()).then_some(after)
                        }
                    }
                }
            };
            if target == Some(at_now) || (target.is_none() && at_now == without.len()) {
                // Already there.
                tx.commit().await?;
                return Ok(true);
            }
            let position_between = |order: &[(i64, i64)]| -> Option<i64> {
                let pos = |asset: i64| {
                    order
                        .iter()
                        .find(|(a, _)| *a == asset)
                        .map(|(_, p)| *p)
                };
                match target {
                    None => order.last().map(|(_, p)| p + POSITION_GAP),
                    Some(k) => {
                        let next = pos(without[k])?;
                        // Positions stay positive (renumbering relies on it): the first
                        // place is between 0 and the first item.
                        let prev = match k {
                            0 => 0,
                            _ => pos(without[k - 1])?,
                        };
                        (next - prev >= 2).then_some(prev + (next - prev) / 2)
                    }
                }
            };
            let place = match position_between(&order) {
                Some(place) => place,
                None => {
                    Self::renumber(&mut tx, id).await?;
                    order = Self::order_of(&mut tx, id).await?;
                    position_between(&order).ok_or_else(|| {
                        StoreError::Database("no room between two items after renumbering".into())
                    })?
                }
            };
            sqlx::query(
                "UPDATE collection_items SET position = $3
                  WHERE collection_id = $1 AND asset_id = $2",
            )
            .bind(id.0)
            .bind(moving)
            .bind(place)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn members(&self, id: CollectionId) -> Result<Vec<MemberRecord>, StoreError> {
            let rows: Vec<(i64, String, String, Ts)> = sqlx::query_as(
                "SELECT m.user_id, u.username, m.role, m.added_at
                   FROM collection_members m JOIN users u ON u.id = m.user_id
                  WHERE m.collection_id = $1
                  ORDER BY CASE m.role WHEN 'editor' THEN 0 WHEN 'contributor' THEN 1 ELSE 2 END,
                           lower(u.username)",
            )
            .bind(id.0)
            .fetch_all(self.reader())
            .await?;
            rows.into_iter()
                .map(|(user, username, role, added_at)| {
                    Ok(MemberRecord {
                        user: UserId(user),
                        username,
                        role: role_of(&role)?,
                        added_at: added_at.0,
                    })
                })
                .collect()
        }

        async fn set_member(
            &self,
            id: CollectionId,
            username: &str,
            role: MemberRole,
            may_change: bool,
            at: DateTime<Utc>,
        ) -> Result<MemberOutcome, StoreError> {
            let mut tx = self.writer().begin().await?;
            Self::touch(&mut tx, id, at).await?;
            let Some(user) = Self::user_named(&mut tx, username).await? else {
                return Ok(MemberOutcome::NoSuchUser);
            };
            let (owner, members, already): (i64, i64, i64) = sqlx::query_as(
                "SELECT c.owner_id,
                        (SELECT COUNT(*) FROM collection_members m WHERE m.collection_id = c.id),
                        (SELECT COUNT(*) FROM collection_members m
                          WHERE m.collection_id = c.id AND m.user_id = $2)
                   FROM collections c WHERE c.id = $1",
            )
            .bind(id.0)
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
            if owner == user {
                return Ok(MemberOutcome::IsOwner);
            }
            if already > 0 && !may_change {
                return Ok(MemberOutcome::AlreadyMember);
            }
            if already == 0 && members >= i64::from(MAX_MEMBERS) {
                return Ok(MemberOutcome::Full);
            }
            sqlx::query(
                "INSERT INTO collection_members (collection_id, user_id, role, added_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (collection_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(id.0)
            .bind(user)
            .bind(role.as_str())
            .bind(Ts(at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(MemberOutcome::Done)
        }

        async fn remove_member(
            &self,
            id: CollectionId,
            username: &str,
        ) -> Result<MemberOutcome, StoreError> {
            let mut tx = self.writer().begin().await?;
            let Some(user) = Self::user_named(&mut tx, username).await? else {
                return Ok(MemberOutcome::NoSuchUser);
            };
            let gone = sqlx::query(
                "DELETE FROM collection_members WHERE collection_id = $1 AND user_id = $2",
            )
            .bind(id.0)
            .bind(user)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(if gone == 0 {
                MemberOutcome::NotMember
            } else {
                MemberOutcome::Done
            })
        }

        async fn transfer_collection(
            &self,
            id: CollectionId,
            username: &str,
            at: DateTime<Utc>,
        ) -> Result<MemberOutcome, StoreError> {
            let mut tx = self.writer().begin().await?;
            Self::touch(&mut tx, id, at).await?;
            let Some(user) = Self::user_named(&mut tx, username).await? else {
                return Ok(MemberOutcome::NoSuchUser);
            };
            // The new owner's row, as every writer takes it: their count of collections
            // is checked against the limit while it cannot change.
            DB::lock_counters(&mut tx, &[user]).await?;
            let role: Option<String> = sqlx::query_scalar(
                "SELECT role FROM collection_members WHERE collection_id = $1 AND user_id = $2",
            )
            .bind(id.0)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
            match role.as_deref() {
                None => return Ok(MemberOutcome::NotMember),
                Some("editor") => {}
                Some(_) => return Ok(MemberOutcome::NotEditor),
            }
            let owned: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM collections WHERE owner_id = $1")
                    .bind(user)
                    .fetch_one(&mut *tx)
                    .await?;
            if owned >= i64::from(MAX_COLLECTIONS) {
                return Ok(MemberOutcome::TooMany);
            }
            sqlx::query("DELETE FROM collection_members WHERE collection_id = $1 AND user_id = $2")
                .bind(id.0)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            // The owner before stays on as an editor.
            sqlx::query(
                "INSERT INTO collection_members (collection_id, user_id, role, added_at)
                 SELECT id, owner_id, 'editor', $2 FROM collections WHERE id = $1",
            )
            .bind(id.0)
            .bind(Ts(at))
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE collections SET owner_id = $2 WHERE id = $1")
                .bind(id.0)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(MemberOutcome::Done)
        }

        async fn shown_by_collection(
            &self,
            asset: &str,
            viewer: UserId,
        ) -> Result<bool, StoreError> {
            let found: Option<i32> = sqlx::query_scalar(&format!(
                "SELECT 1 FROM assets a WHERE a.public_id = $1 AND a.trashed_at IS NULL AND {}",
                in_private_collection_of("$2")
            ))
            .bind(asset)
            .bind(viewer.0)
            .fetch_optional(self.reader())
            .await?;
            Ok(found.is_some())
        }

        async fn list_collections(
            &self,
            list: CollectionList<'_>,
            viewer: Option<UserId>,
            limit: u32,
        ) -> Result<Vec<CollectionListing>, StoreError> {
            // `$1` is the viewer throughout (NULL for a visitor, which matches nobody). The
            // cover shown is the chosen one if it shows to them, else the newest added that
            // does (two subqueries: SQLite's ORDER BY in a subquery cannot see the outer row).
            let listed = "(c.visibility = 'public' OR c.owner_id = $1 OR EXISTS \
                (SELECT 1 FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = $1))";
            let (which, arg) = match list {
                CollectionList::OwnedBy(name) => (
                    format!("lower(u.username) = lower($2) AND {listed}"),
                    Some(name),
                ),
                CollectionList::Holding(asset) => (
                    // Only for an asset the viewer sees (as its page does).
                    format!(
                        "c.id IN (SELECT ci.collection_id FROM collection_items ci
                                   JOIN assets a ON a.id = ci.asset_id
                                  WHERE a.public_id = $2 AND a.trashed_at IS NULL
                                    AND (a.visibility <> 'private' OR a.owner_id = $1 OR {}))
                         AND {listed}",
                        in_private_collection_of("$1")
                    ),
                    Some(asset),
                ),
                CollectionList::One(id) | CollectionList::Shared(id) => {
                    ("c.public_id = $2".to_string(), Some(id))
                }
                CollectionList::Mine => (
                    "(c.owner_id = $1 OR EXISTS (SELECT 1 FROM collection_members m
                        WHERE m.collection_id = c.id AND m.user_id = $1
                          AND m.role IN ('contributor', 'editor')))"
                        .to_string(),
                    None,
                ),
                // Public ones only, whoever asks (the term the partial index is defined
                // by first).
                CollectionList::Featured => (
                    "c.featured_at IS NOT NULL AND c.visibility = 'public'".to_string(),
                    None,
                ),
            };
            let order = match list {
                CollectionList::Featured => "c.featured_at DESC, c.id DESC",
                _ => "c.updated_at DESC, c.id DESC",
            };
            let limit_at = if arg.is_some() { "$3" } else { "$2" };
            let shows = match list {
                CollectionList::Shared(_) => item_shows_to_holder(),
                _ => item_shows(),
            };
            let sql = format!(
                "SELECT {COLLECTION_COLUMNS},
                        (SELECT COUNT(*) FROM collection_items ci JOIN assets a ON a.id = ci.asset_id
                          WHERE ci.collection_id = c.id AND {shows}) AS items,
                        COALESCE(
                          (SELECT a.public_id FROM collection_items ci JOIN assets a ON a.id = ci.asset_id
                            WHERE ci.collection_id = c.id AND a.id = c.cover_asset_id AND {shows}),
                          (SELECT a.public_id FROM collection_items ci JOIN assets a ON a.id = ci.asset_id
                            WHERE ci.collection_id = c.id AND {shows}
                            ORDER BY ci.added_at DESC, ci.asset_id DESC LIMIT 1)) AS cover_shown,
                        (SELECT m.role FROM collection_members m
                          WHERE m.collection_id = c.id AND m.user_id = $1) AS role
                 {COLLECTION_FROM}
                 WHERE {which}
                 ORDER BY {order}
                 LIMIT {limit_at}"
            );
            let mut query = sqlx::query_as::<_, ListingRow>(&sql).bind(viewer.map(|v| v.0));
            if let Some(arg) = arg {
                query = query.bind(arg);
            }
            let rows = query
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await?;
            // The covers' thumbnails, in one lookup.
            let covers: Vec<&str> = rows.iter().filter_map(|r| r.cover_shown.as_deref()).collect();
            let mut thumbs: HashMap<String, Option<String>> = HashMap::new();
            if !covers.is_empty() {
                let mut query = QueryBuilder::<DB>::new(
                    "SELECT a.public_id, th.sha256 FROM assets a
                       LEFT JOIN files th ON th.id = a.thumb_file_id WHERE a.public_id IN (",
                );
                let mut list = query.separated(", ");
                for cover in &covers {
                    list.push_bind(*cover);
                }
                query.push(")");
                thumbs.extend(
                    query
                        .build_query_as::<(String, Option<String>)>()
                        .fetch_all(self.reader())
                        .await?,
                );
            }
            rows.into_iter()
                .map(|row| {
                    Ok(CollectionListing {
                        items: count(row.items),
                        cover: row.cover_shown.map(|id| {
                            let sha = thumbs.get(&id).cloned().flatten();
                            (id, sha)
                        }),
                        role: row.role.as_deref().map(role_of).transpose()?,
                        record: row.collection.into_record()?,
                    })
                })
                .collect()
        }
    }
}
