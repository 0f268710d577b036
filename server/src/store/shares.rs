//! Share links: rows keyed by the SHA-256 of their token, each opening one asset or one
//! collection until it expires or is revoked.

use app::store::AssetId;
use app::store::{
    CollectionId, NewShareLink, ShareLinkRecord, ShareStore, ShareTarget, SharedThing, StoreError,
    UserId, MAX_SHARE_LINKS,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::backend::Backend;
use super::types::{count, Ts};
use super::visibility::has_place;
use super::{for_each_backend, Db};

/// The columns of [`LinkRow`], with [`LINK_FROM`].
const LINK_COLUMNS: &str = "l.public_id, l.owner_id, a.public_id AS asset, \
     c.public_id AS collection, COALESCE(a.title, c.title) AS title, l.created_at, \
     l.expires_at, l.revoked_at, l.opens, l.last_opened_at";

const LINK_FROM: &str = " FROM share_links l
     LEFT JOIN assets a ON a.id = l.asset_id
     LEFT JOIN collections c ON c.id = l.collection_id";

/// A link is open while it is not revoked, not expired and its asset (if it is one) is
/// out of the trash; `$2` is now.
const OPEN: &str = "l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > $2) \
     AND (l.asset_id IS NULL OR a.trashed_at IS NULL)";

#[derive(sqlx::FromRow)]
struct LinkRow {
    public_id: String,
    owner_id: i64,
    asset: Option<String>,
    collection: Option<String>,
    title: Option<String>,
    created_at: Ts,
    expires_at: Option<Ts>,
    revoked_at: Option<Ts>,
    opens: i64,
    last_opened_at: Option<Ts>,
}

impl LinkRow {
    fn into_record(self) -> Result<ShareLinkRecord, StoreError> {
        let target = match (self.asset, self.collection) {
            (Some(asset), None) => ShareTarget::Asset(asset),
            (None, Some(collection)) => ShareTarget::Collection(collection),
            _ => {
                return Err(StoreError::Database(format!(
                    "share link {} opens neither one asset nor one collection",
                    self.public_id
                )))
            }
        };
        Ok(ShareLinkRecord {
            public_id: self.public_id,
            owner: UserId(self.owner_id),
            target,
            title: self.title.unwrap_or_default(),
            created_at: self.created_at.0,
            expires_at: self.expires_at.map(|t| t.0),
            revoked_at: self.revoked_at.map(|t| t.0),
            opens: count(self.opens),
            last_opened_at: self.last_opened_at.map(|t| t.0),
        })
    }
}

for_each_backend! {
    #[async_trait]
    impl ShareStore for Db<DB> {
        async fn create_share_link(
            &self,
            new: &NewShareLink,
        ) -> Result<Option<ShareLinkRecord>, StoreError> {
            let mut tx = self.writer().begin().await?;
            DB::lock_counters(&mut tx, &[new.owner.0]).await?;
            let kept: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM share_links WHERE owner_id = $1")
                    .bind(new.owner.0)
                    .fetch_one(&mut *tx)
                    .await?;
            if kept >= i64::from(MAX_SHARE_LINKS) {
                return Ok(None);
            }
            let (asset, collection) = match &new.target {
                ShareTarget::Asset(id) => (Some(id.as_str()), None),
                ShareTarget::Collection(id) => (None, Some(id.as_str())),
            };
            sqlx::query(
                "INSERT INTO share_links
                   (public_id, token_hash, owner_id, asset_id, collection_id, created_at, expires_at)
                 VALUES ($1, $2, $3,
                         (SELECT id FROM assets WHERE public_id = $4),
                         (SELECT id FROM collections WHERE public_id = $5),
                         $6, $7)",
            )
            .bind(&new.public_id)
            .bind(&new.token_hash[..])
            .bind(new.owner.0)
            .bind(asset)
            .bind(collection)
            .bind(Ts(new.created_at))
            .bind(new.expires_at.map(Ts))
            .execute(&mut *tx)
            .await?;
            let row: LinkRow = sqlx::query_as(&format!(
                "SELECT {LINK_COLUMNS} {LINK_FROM} WHERE l.public_id = $1"
            ))
            .bind(&new.public_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row.into_record().map(Some)
        }

        async fn shared(
            &self,
            token_hash: &[u8; 32],
            now: DateTime<Utc>,
        ) -> Result<Option<SharedThing>, StoreError> {
            let row: Option<(Option<i64>, Option<String>, Option<i64>, Option<String>)> =
                sqlx::query_as(&format!(
                    "SELECT l.asset_id, a.public_id, l.collection_id, c.public_id {LINK_FROM}
                      WHERE l.token_hash = $1 AND {OPEN}"
                ))
                .bind(&token_hash[..])
                .bind(Ts(now))
                .fetch_optional(self.reader())
                .await?;
            Ok(match row {
                Some((Some(id), Some(public_id), _, _)) => Some(SharedThing::Asset {
                    id: AssetId(id),
                    public_id,
                }),
                Some((_, _, Some(id), Some(public_id))) => Some(SharedThing::Collection {
                    id: CollectionId(id),
                    public_id,
                }),
                _ => None,
            })
        }

        async fn share_covers(
            &self,
            token_hash: &[u8; 32],
            asset: &str,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            // A link to the asset itself, or to a collection holding it where its holder
            // sees it: public; or, when its owner has a place in the collection, unlisted,
            // or private in a private collection (as `collections::item_shows` has it).
            let owner_in = has_place("c.id", "x.owner_id");
            let found: Option<i32> = sqlx::query_scalar(&format!(
                "SELECT 1 {LINK_FROM}
                  WHERE l.token_hash = $1 AND {OPEN}
                    AND (a.public_id = $3
                         OR EXISTS (SELECT 1 FROM collection_items ci
                                      JOIN assets x ON x.id = ci.asset_id
                                     WHERE ci.collection_id = l.collection_id
                                       AND x.public_id = $3 AND x.trashed_at IS NULL
                                       AND (x.visibility = 'public'
                                            OR ({owner_in} AND (x.visibility = 'unlisted'
                                                OR c.visibility = 'private')))))"
            ))
            .bind(&token_hash[..])
            .bind(Ts(now))
            .bind(asset)
            .fetch_optional(self.reader())
            .await?;
            Ok(found.is_some())
        }

        async fn count_share_open(
            &self,
            token_hash: &[u8; 32],
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "UPDATE share_links SET opens = opens + 1, last_opened_at = $2
                  WHERE token_hash = $1",
            )
            .bind(&token_hash[..])
            .bind(Ts(now))
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn share_links(
            &self,
            owner: UserId,
            limit: u32,
        ) -> Result<Vec<ShareLinkRecord>, StoreError> {
            let rows: Vec<LinkRow> = sqlx::query_as(&format!(
                "SELECT {LINK_COLUMNS} {LINK_FROM}
                  WHERE l.owner_id = $1 ORDER BY l.created_at DESC, l.id DESC LIMIT $2"
            ))
            .bind(owner.0)
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await?;
            rows.into_iter().map(LinkRow::into_record).collect()
        }

        async fn revoke_share_link(
            &self,
            public_id: &str,
            owner: UserId,
            now: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE share_links SET revoked_at = COALESCE(revoked_at, $3)
                  WHERE public_id = $1 AND owner_id = $2",
            )
            .bind(public_id)
            .bind(owner.0)
            .bind(Ts(now))
            .execute(self.writer())
            .await?
            .rows_affected();
            Ok(done > 0)
        }
    }
}
