//! Featured picks as the API and the pages show them: what an admin features, and the
//! shelf on `/`. Shared by the server and the browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::collection::CollectionSummary;
use crate::model::AssetSummary;

/// Featured assets the shelf on `/` shows (the rest are a link away: `sort=featured`).
pub const SHELF_ASSETS: u32 = 8;
/// Featured collections the shelf on `/` shows.
pub const SHELF_COLLECTIONS: u32 = 4;

/// What an admin features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    Asset,
    Collection,
}

impl FeatureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Asset => "asset",
            FeatureKind::Collection => "collection",
        }
    }

    /// `asset` or `collection`, as a form sends it.
    pub fn parse(text: &str) -> Result<FeatureKind, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "asset" => Ok(FeatureKind::Asset),
            "collection" => Ok(FeatureKind::Collection),
            other => Err(format!("kind is asset or collection, not “{other}”")),
        }
    }
}

/// What `POST /api/featured/set` answers: the thing, and since when it is featured
/// (`None`: it is not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeaturedDone {
    pub kind: FeatureKind,
    pub id: String,
    pub featured: Option<DateTime<Utc>>,
}

/// The shelf on `/`: the most recently featured assets and collections the person asking
/// may see.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeaturedShelf {
    /// At most [`SHELF_ASSETS`].
    pub assets: Vec<AssetSummary>,
    /// More featured assets follow (at `/?sort=featured`).
    pub more_assets: bool,
    /// At most [`SHELF_COLLECTIONS`].
    pub collections: Vec<CollectionSummary>,
}

impl FeaturedShelf {
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty() && self.collections.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_as_a_form_sends_them() {
        assert_eq!(FeatureKind::parse(" Asset "), Ok(FeatureKind::Asset));
        assert_eq!(
            FeatureKind::parse("collection"),
            Ok(FeatureKind::Collection)
        );
        assert_eq!(
            FeatureKind::parse("tag"),
            Err("kind is asset or collection, not “tag”".to_string())
        );
    }
}
