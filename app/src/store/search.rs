//! Search: pages of assets a search finds, their facets, and tag suggestions.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use super::error::StoreError;
use super::ids::UserId;
use crate::model::{AssetPage, Facets};
use crate::search::{Search, Sort};

/// Where a page ends: the key of its last asset, in the order it was read (and its score,
/// for a relevance sort).
///
/// An asset's key is its creation time in Unix microseconds, unique per asset (a clash
/// moves the later one on by a microsecond), so one integer orders every result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cursor {
    pub sort: Sort,
    pub key: i64,
    /// The last asset's score (lower is better); only for [`Sort::Relevant`].
    pub score: Option<f64>,
}

impl Cursor {
    /// Opaque to clients: base64url of `n:micros`, `o:micros` or `r:score-bits:micros`.
    pub fn encode(&self) -> String {
        let text = match (self.sort, self.score) {
            (Sort::Newest, _) => format!("n:{}", self.key),
            (Sort::Oldest, _) => format!("o:{}", self.key),
            (Sort::Relevant, score) => format!(
                "r:{:x}:{}",
                score.unwrap_or(f64::INFINITY).to_bits(),
                self.key
            ),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (order, rest) = raw.split_once(':')?;
        let (sort, score, key) = match order {
            "n" => (Sort::Newest, None, rest),
            "o" => (Sort::Oldest, None, rest),
            "r" => {
                let (bits, key) = rest.split_once(':')?;
                let score = f64::from_bits(u64::from_str_radix(bits, 16).ok()?);
                if score.is_nan() {
                    return None;
                }
                (Sort::Relevant, Some(score), key)
            }
            _ => return None,
        };
        Some(Cursor {
            sort,
            key: key.parse().ok()?,
            score,
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
        }
    }
}

#[async_trait]
pub trait SearchStore: Send + Sync {
    /// One page of the assets a search finds, keyset-paginated over the asset key.
    async fn search_assets(&self, query: &AssetQuery) -> Result<AssetPage, StoreError>;

    /// How the newest [`crate::model::FACET_SAMPLE`] matches of a search divide up by type,
    /// tag and model, with the same visibility rules as [`SearchStore::search_assets`].
    async fn facets(&self, search: &Search, viewer: Option<UserId>) -> Result<Facets, StoreError>;

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
        for (sort, score) in [
            (Sort::Newest, None),
            (Sort::Oldest, None),
            (Sort::Relevant, Some(-3.25)),
        ] {
            let cursor = Cursor {
                sort,
                key: 1_767_225_600_123_456,
                score,
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
        ] {
            assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bad)), None, "{bad}");
        }
    }
}
