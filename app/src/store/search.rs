//! Search: pages of assets a search finds, their facets, and tag suggestions.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use super::collections::CollectionId;
use super::error::StoreError;
use super::ids::UserId;
use crate::model::{AssetPage, Facets};
use crate::search::{Search, Sort};

/// Where a page ends: the key of its last asset, in the order it was read (and its score,
/// for a relevance sort, its like or view count, or when it was featured, for those
/// sorts).
///
/// An asset's key is its creation time in Unix microseconds, unique per asset (a clash
/// moves the later one on by a microsecond), so one integer orders every result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cursor {
    pub sort: Sort,
    pub key: i64,
    /// The last asset's score (lower is better); only for [`Sort::Relevant`].
    pub score: Option<f64>,
    /// The last asset's like or view count, its position in a collection, or when it was
    /// featured (Unix microseconds); only for [`Sort::Liked`], [`Sort::Viewed`],
    /// [`Sort::Curated`] and [`Sort::Featured`].
    pub count: Option<i64>,
}

impl Cursor {
    /// Opaque to clients: base64url of `n:micros`, `o:micros`, `r:score-bits:micros`,
    /// `l:likes:micros`, `v:views:micros`, `c:position:micros` or `f:featured:micros`.
    pub fn encode(&self) -> String {
        let count = self.count.unwrap_or(0);
        let text = match (self.sort, self.score) {
            (Sort::Newest, _) => format!("n:{}", self.key),
            (Sort::Oldest, _) => format!("o:{}", self.key),
            (Sort::Relevant, score) => format!(
                "r:{:x}:{}",
                score.unwrap_or(f64::INFINITY).to_bits(),
                self.key
            ),
            (Sort::Liked, _) => format!("l:{count}:{}", self.key),
            (Sort::Viewed, _) => format!("v:{count}:{}", self.key),
            (Sort::Curated, _) => format!("c:{count}:{}", self.key),
            (Sort::Featured, _) => format!("f:{count}:{}", self.key),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (order, rest) = raw.split_once(':')?;
        let counted = |sort: Sort| -> Option<(Sort, Option<f64>, Option<i64>, &str)> {
            let (count, key) = rest.split_once(':')?;
            let count: i64 = count.parse().ok()?;
            (count >= 0).then_some((sort, None, Some(count), key))
        };
        let (sort, score, count, key) = match order {
            "n" => (Sort::Newest, None, None, rest),
            "o" => (Sort::Oldest, None, None, rest),
            "r" => {
                let (bits, key) = rest.split_once(':')?;
                let score = f64::from_bits(u64::from_str_radix(bits, 16).ok()?);
                if score.is_nan() {
                    return None;
                }
                (Sort::Relevant, Some(score), None, key)
            }
            "l" => counted(Sort::Liked)?,
            "v" => counted(Sort::Viewed)?,
            "c" => counted(Sort::Curated)?,
            "f" => counted(Sort::Featured)?,
            _ => return None,
        };
        Some(Cursor {
            sort,
            key: key.parse().ok()?,
            score,
            count,
        })
    }
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct AssetQuery {
    pub search: Search,
    pub sort: Sort,
    pub limit: u32,
    /// Continue after this position; `None` starts at the beginning.
    pub after: Option<Cursor>,
    /// Who is asking. Private assets are listed only when the search is restricted to the
    /// viewer's own (`by:` naming them).
    pub viewer: Option<UserId>,
    /// Who is logged in: the assets they like are marked so ([`crate::model::AssetSummary::liked`]).
    pub me: Option<UserId>,
    /// Only the items of this collection (whose access was checked).
    pub collection: Option<CollectionScope>,
}

/// A collection a search is restricted to, after the caller checked that the person may
/// see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectionScope {
    pub id: CollectionId,
    /// Other people's private items show too (those whose owner has a place in it): the
    /// collection is private and the person has a place in it (owner, member, share
    /// link). Either way public items show, the person's own, and unlisted ones whose
    /// owner has a place in it.
    pub private_items: bool,
}

impl AssetQuery {
    /// The newest matches whose [`SearchStore::facets`] are counted.
    pub fn facets(search: &Search, viewer: Option<UserId>) -> AssetQuery {
        AssetQuery {
            search: search.clone(),
            sort: Sort::Newest,
            limit: crate::model::FACET_SAMPLE,
            after: None,
            viewer,
            me: None,
            collection: None,
        }
    }

    /// The first page of everything public, newest first.
    pub fn newest(limit: u32) -> AssetQuery {
        AssetQuery {
            search: Search::default(),
            sort: Sort::Newest,
            limit,
            after: None,
            viewer: None,
            me: None,
            collection: None,
        }
    }
}

#[async_trait]
pub trait SearchStore: Send + Sync {
    /// One page of the assets a search finds, keyset-paginated over the asset key.
    async fn search_assets(&self, query: &AssetQuery) -> Result<AssetPage, StoreError>;

    /// How the newest [`crate::model::FACET_SAMPLE`] matches of a query divide up by type,
    /// tag and model, with the same visibility rules as [`SearchStore::search_assets`] (its
    /// order, limit and cursor make no difference).
    async fn facets_of(&self, query: &AssetQuery) -> Result<Facets, StoreError>;

    /// [`SearchStore::facets_of`] a search everywhere, as `viewer` (see [`AssetQuery`]).
    async fn facets(&self, search: &Search, viewer: Option<UserId>) -> Result<Facets, StoreError> {
        self.facets_of(&AssetQuery::facets(search, viewer)).await
    }

    /// Tags starting with `prefix`, in name order, at most `limit` (for autocompletion):
    /// only tags that a public asset, or one of the viewer's own, carries.
    async fn suggest_tags(
        &self,
        prefix: &str,
        limit: u32,
        viewer: Option<UserId>,
    ) -> Result<Vec<String>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for (sort, score, count) in [
            (Sort::Newest, None, None),
            (Sort::Oldest, None, None),
            (Sort::Relevant, Some(-3.25), None),
            (Sort::Liked, None, Some(12)),
            (Sort::Viewed, None, Some(0)),
            (Sort::Curated, None, Some(2048)),
            (Sort::Featured, None, Some(1_767_225_600_000_001)),
        ] {
            let cursor = Cursor {
                sort,
                key: 1_767_225_600_123_456,
                score,
                count,
            };
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        assert_eq!(Cursor::decode("not a cursor"), None);
        for bad in [
            "x:12",
            "n:../../etc",
            "n: 12",
            "n:",
            "r:12",
            "r:7ff8000000000000:1",
            "l:12",
            "l:-1:5",
            "v:x:5",
            "f:5",
        ] {
            assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bad)), None, "{bad}");
        }
    }
}
