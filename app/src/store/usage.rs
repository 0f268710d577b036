//! Usage statistics: the events people's actions leave, their daily rollups, and the
//! site's counters (kept by triggers) read back for the statistics pages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::UserId;
use crate::stats::{ActiveDay, Day, Feature, FeatureDay, FeatureUsage, NamedCount, SiteTotals};

/// One use of a feature, as the usage recorder hands it to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    pub at: DateTime<Utc>,
    pub feature: Feature,
    /// `None` for a visitor who is not logged in.
    pub user: Option<UserId>,
    /// A few words on what was used: which filters a search set, the asset viewed.
    pub detail: String,
}

/// The usage rollups of a range of days, as stored (days without use are absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageRollup {
    pub features: Vec<FeatureDay>,
    pub active: Vec<ActiveDay>,
}

/// One user's use of one feature over a range of days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFeatureCount {
    pub user: UserId,
    pub feature: Feature,
    pub events: u64,
}

/// A user's standing figures, for the admin's usage table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFigures {
    pub user: UserId,
    pub username: String,
    pub assets: u64,
    pub views_received: u64,
    pub storage_bytes: u64,
    /// Days in the range asked for with any event.
    pub active_days: u64,
}

#[async_trait]
pub trait UsageStore: Send + Sync {
    /// The site's totals, read from the counters the triggers keep (one row).
    async fn site_totals(&self) -> Result<SiteTotals, StoreError>;

    /// The same figures counted from the tables (the seed's `site_stats` view and the
    /// files' sizes): for tests, benchmarks and the CLI, never for a request path.
    async fn count_site_totals(&self) -> Result<SiteTotals, StoreError>;

    /// The tags most assets carry, most first (ties by name), from the kept counts.
    async fn top_tags(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError>;

    /// The models most assets name (ignoring case), most first (ties by name).
    async fn top_models(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError>;

    /// Stores a batch of usage events and folds them into the daily rollups, in one
    /// transaction. (Views are counted apart: [`super::LikeStore::record_views`].)
    async fn record_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError>;

    /// The daily rollups from `first` to `last`, inclusive.
    async fn usage_rollup(&self, first: Day, last: Day) -> Result<UsageRollup, StoreError>;

    /// Per feature over `first..=last`: events, distinct logged-in users, anonymous events.
    async fn feature_usage(&self, first: Day, last: Day) -> Result<Vec<FeatureUsage>, StoreError>;

    /// Per user and feature over `first..=last`, for users with any event then.
    async fn user_feature_counts(
        &self,
        first: Day,
        last: Day,
    ) -> Result<Vec<UserFeatureCount>, StoreError>;

    /// The standing figures of users active in `first..=last`, most active first, at most
    /// `limit`.
    async fn active_user_figures(
        &self,
        first: Day,
        last: Day,
        limit: u32,
    ) -> Result<Vec<UserFigures>, StoreError>;

    /// Deletes raw usage events from before `before` (the rollups stay); returns how many.
    async fn prune_usage_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
