//! Usage statistics: what the server counts and what `/stats`, `/admin/usage` and the
//! `/api/stats` endpoints return. Shared by the server and the browser.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A feature whose every use is one usage event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Register,
    Login,
    Logout,
    UploadStarted,
    UploadFinished,
    UploadFailed,
    AssetViewed,
    Search,
    Download,
    AssetEdited,
    AssetTrashed,
    AssetRestored,
    AssetPurged,
    BulkEdit,
    AssetLiked,
    CollectionChanged,
    ShareOpened,
}

impl Feature {
    pub const ALL: [Feature; 17] = [
        Feature::Register,
        Feature::Login,
        Feature::Logout,
        Feature::UploadStarted,
        Feature::UploadFinished,
        Feature::UploadFailed,
        Feature::AssetViewed,
        Feature::Search,
        Feature::Download,
        Feature::AssetEdited,
        Feature::AssetTrashed,
        Feature::AssetRestored,
        Feature::AssetPurged,
        Feature::BulkEdit,
        Feature::AssetLiked,
        Feature::CollectionChanged,
        Feature::ShareOpened,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Register => "register",
            Feature::Login => "login",
            Feature::Logout => "logout",
            Feature::UploadStarted => "upload_started",
            Feature::UploadFinished => "upload_finished",
            Feature::UploadFailed => "upload_failed",
            Feature::AssetViewed => "asset_viewed",
            Feature::Search => "search",
            Feature::Download => "download",
            Feature::AssetEdited => "asset_edited",
            Feature::AssetTrashed => "asset_trashed",
            Feature::AssetRestored => "asset_restored",
            Feature::AssetPurged => "asset_purged",
            Feature::BulkEdit => "bulk_edit",
            Feature::AssetLiked => "asset_liked",
            Feature::CollectionChanged => "collection_changed",
            Feature::ShareOpened => "share_opened",
        }
    }

    pub fn parse(text: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            Feature::Register => "Sign-ups",
            Feature::Login => "Logins",
            Feature::Logout => "Logouts",
            Feature::UploadStarted => "Uploads started",
            Feature::UploadFinished => "Uploads finished",
            Feature::UploadFailed => "Uploads failed",
            Feature::AssetViewed => "Asset views",
            Feature::Search => "Searches",
            Feature::Download => "Downloads",
            Feature::AssetEdited => "Edits",
            Feature::AssetTrashed => "Moved to trash",
            Feature::AssetRestored => "Restored",
            Feature::AssetPurged => "Deleted for good",
            Feature::BulkEdit => "Bulk actions",
            Feature::AssetLiked => "Likes",
            Feature::CollectionChanged => "Collections",
            Feature::ShareOpened => "Share links opened",
        }
    }
}

/// The site's totals, exact and read in constant time (`GET /api/stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteTotals {
    pub users: u64,
    pub assets: u64,
    pub images: u64,
    pub videos: u64,
    /// Users with at least one asset.
    pub creators: u64,
    /// What the stored files take on disk (originals and stills; identical bytes once).
    pub storage_bytes: u64,
}

/// The period a chart or table covers, ending today (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatsRange {
    #[serde(rename = "7d")]
    Week,
    #[default]
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
    #[serde(rename = "1y")]
    Year,
}

impl StatsRange {
    pub const ALL: [StatsRange; 4] = [
        StatsRange::Week,
        StatsRange::Month,
        StatsRange::Quarter,
        StatsRange::Year,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatsRange::Week => "7d",
            StatsRange::Month => "30d",
            StatsRange::Quarter => "90d",
            StatsRange::Year => "1y",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatsRange::Week => "7 days",
            StatsRange::Month => "30 days",
            StatsRange::Quarter => "90 days",
            StatsRange::Year => "1 year",
        }
    }

    /// `""` (or nothing) is the default, 30 days.
    pub fn parse(text: &str) -> Result<StatsRange, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(StatsRange::default());
        }
        StatsRange::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| format!("range is one of 7d, 30d, 90d or 1y, not “{text}”"))
    }

    pub fn days(self) -> i32 {
        match self {
            StatsRange::Week => 7,
            StatsRange::Month => 30,
            StatsRange::Quarter => 90,
            StatsRange::Year => 365,
        }
    }

    /// The first and last day (inclusive) of the range ending on `today`.
    pub fn span(self, today: Day) -> (Day, Day) {
        (Day(today.0 - (self.days() - 1)), today)
    }
}

/// A calendar day in UTC, as days since 1970-01-01 (how the rollups are keyed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Day(pub i32);

impl Day {
    pub fn of(at: DateTime<Utc>) -> Day {
        Day(i32::try_from(at.timestamp().div_euclid(86_400)).unwrap_or(i32::MAX))
    }

    pub fn today() -> Day {
        Day::of(Utc::now())
    }

    pub fn date(self) -> NaiveDate {
        NaiveDate::default() + Duration::days(i64::from(self.0))
    }

    /// `2026-12-01`.
    pub fn iso(self) -> String {
        self.date().format("%Y-%m-%d").to_string()
    }

    /// `1 Dec`.
    pub fn short(self) -> String {
        self.date().format("%-d %b").to_string()
    }
}

/// One feature's use per day over a range (`GET /api/stats/usage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSeries {
    pub feature: Feature,
    /// Uses per day, one entry per day of the range.
    pub events: Vec<u64>,
    /// Distinct logged-in users who used it, per day.
    pub users: Vec<u64>,
}

impl FeatureSeries {
    pub fn total(&self) -> u64 {
        self.events.iter().sum()
    }
}

/// Daily usage over a range: every feature (all of them, zeros included, in
/// [`Feature::ALL`] order), and the users active at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSeries {
    pub range: StatsRange,
    /// The days, oldest first, as `YYYY-MM-DD`.
    pub days: Vec<String>,
    pub features: Vec<FeatureSeries>,
    /// Distinct logged-in users with any event, per day.
    pub active_users: Vec<u64>,
}

impl UsageSeries {
    pub fn feature(&self, feature: Feature) -> Option<&FeatureSeries> {
        self.features.iter().find(|s| s.feature == feature)
    }

    /// Every day of `range` ending `last`, filled from the stored rollup rows (absent days
    /// are zeros).
    pub fn from_rollup(
        range: StatsRange,
        last: Day,
        features: &[FeatureDay],
        active: &[ActiveDay],
    ) -> UsageSeries {
        let (first, last) = range.span(last);
        let len = usize::try_from(last.0 - first.0 + 1).unwrap_or(0);
        let slot = |day: Day| usize::try_from(day.0 - first.0).ok().filter(|i| *i < len);
        let mut series: Vec<FeatureSeries> = Feature::ALL
            .into_iter()
            .map(|feature| FeatureSeries {
                feature,
                events: vec![0; len],
                users: vec![0; len],
            })
            .collect();
        for row in features {
            let (Some(i), Some(serie)) = (
                slot(row.day),
                series.iter_mut().find(|s| s.feature == row.feature),
            ) else {
                continue;
            };
            serie.events[i] += row.events;
            serie.users[i] += row.users;
        }
        let mut active_users = vec![0; len];
        for row in active {
            if let Some(i) = slot(row.day) {
                active_users[i] += row.users;
            }
        }
        UsageSeries {
            range,
            days: (first.0..=last.0).map(|d| Day(d).iso()).collect(),
            features: series,
            active_users,
        }
    }
}

/// One day's use of one feature, as the daily rollup keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureDay {
    pub day: Day,
    pub feature: Feature,
    pub events: u64,
    /// Distinct logged-in users.
    pub users: u64,
}

/// One day's distinct logged-in users with any event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveDay {
    pub day: Day,
    pub users: u64,
}

/// A name and how many assets have it (top tags, top models).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

/// How many top tags and models `/stats` shows.
pub const TOP_LIMIT: u32 = 10;

/// Everything `/stats` shows (`GET /api/stats/overview`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsOverview {
    pub totals: SiteTotals,
    pub usage: UsageSeries,
    pub top_tags: Vec<NamedCount>,
    pub top_models: Vec<NamedCount>,
}

/// One feature's use over a range, for the admin table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureUsage {
    pub feature: Feature,
    pub events: u64,
    /// Distinct logged-in users who used it in the range.
    pub users: u64,
    /// Events from visitors who were not logged in.
    pub anonymous: u64,
}

/// One user's activity over a range and their standing totals, for the admin table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUsage {
    pub username: String,
    /// Uses of each feature in the range, in [`Feature::ALL`] order.
    pub events: Vec<u64>,
    /// Days in the range with any event.
    pub active_days: u64,
    pub assets: u64,
    pub views_received: u64,
    pub storage_bytes: u64,
}

impl UserUsage {
    pub fn of(&self, feature: Feature) -> u64 {
        Feature::ALL
            .iter()
            .position(|f| *f == feature)
            .and_then(|i| self.events.get(i).copied())
            .unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.events.iter().sum()
    }
}

/// A column the admin's user table sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserSort {
    Username,
    #[default]
    Events,
    ActiveDays,
    Assets,
    Views,
    Storage,
    Feature(Feature),
}

impl UserSort {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::Username => "username",
            UserSort::Events => "events",
            UserSort::ActiveDays => "active_days",
            UserSort::Assets => "assets",
            UserSort::Views => "views",
            UserSort::Storage => "storage",
            UserSort::Feature(f) => f.as_str(),
        }
    }

    pub fn parse(text: &str) -> Result<UserSort, String> {
        let text = text.trim();
        Ok(match text {
            "" | "events" => UserSort::Events,
            "username" => UserSort::Username,
            "active_days" => UserSort::ActiveDays,
            "assets" => UserSort::Assets,
            "views" => UserSort::Views,
            "storage" => UserSort::Storage,
            other => UserSort::Feature(Feature::parse(other).ok_or_else(|| {
                format!(
                    "sort is username, events, active_days, assets, views, storage or a \
                     feature name, not “{other}”"
                )
            })?),
        })
    }

    /// Orders `rows` by this column (`descending` or not), ties by username.
    pub fn apply(self, rows: &mut [UserUsage], descending: bool) {
        let key = |u: &UserUsage| -> u64 {
            match self {
                UserSort::Username => 0,
                UserSort::Events => u.total(),
                UserSort::ActiveDays => u.active_days,
                UserSort::Assets => u.assets,
                UserSort::Views => u.views_received,
                UserSort::Storage => u.storage_bytes,
                UserSort::Feature(f) => u.of(f),
            }
        };
        rows.sort_by(|a, b| {
            let by_key = key(a).cmp(&key(b));
            let by_key = if descending { by_key.reverse() } else { by_key };
            let by_name = a.username.to_lowercase().cmp(&b.username.to_lowercase());
            let by_name = if descending && self == UserSort::Username {
                by_name.reverse()
            } else {
                by_name
            };
            by_key.then(by_name)
        });
    }
}

/// What `/admin/usage` shows (`GET /api/admin/usage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUsage {
    pub range: StatsRange,
    pub features: Vec<FeatureUsage>,
    pub users: Vec<UserUsage>,
    /// Events the server could not record (its queue was full) since it started.
    pub dropped_events: u64,
    /// Whether usage is being recorded (the `usage_tracking` setting).
    pub tracking: bool,
    pub retention_days: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn features_round_trip_by_name() {
        for feature in Feature::ALL {
            assert_eq!(Feature::parse(feature.as_str()), Some(feature));
        }
        assert_eq!(Feature::parse("dance"), None);
    }

    #[test]
    fn ranges_parse_and_end_today() {
        assert_eq!(StatsRange::parse(""), Ok(StatsRange::Month));
        assert_eq!(StatsRange::parse("1y"), Ok(StatsRange::Year));
        let err = StatsRange::parse("2w").expect_err("unknown");
        assert!(
            err.contains("7d, 30d, 90d or 1y") && err.contains("2w"),
            "{err}"
        );
        assert_eq!(StatsRange::Week.span(Day(100)), (Day(94), Day(100)));
    }

    #[test]
    fn days_are_utc_calendar_days() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 1, 23, 59, 59)
            .single()
            .expect("date");
        let day = Day::of(at);
        assert_eq!(day.iso(), "2026-12-01");
        assert_eq!(Day(day.0 + 1).iso(), "2026-12-02");
        assert_eq!(day.short(), "1 Dec");
        assert_eq!(Day(0).iso(), "1970-01-01");
        let before_epoch = Utc
            .with_ymd_and_hms(1969, 12, 31, 12, 0, 0)
            .single()
            .expect("date");
        assert_eq!(Day::of(before_epoch), Day(-1));
    }

    #[test]
    fn a_series_has_every_day_of_its_range_and_every_feature() {
        let used = |day: i32, feature: Feature, events: u64, users: u64| FeatureDay {
            day: Day(day),
            feature,
            events,
            users,
        };
        let last = Day(20_000);
        let series = UsageSeries::from_rollup(
            StatsRange::Week,
            last,
            &[
                used(19_994, Feature::Login, 3, 2),
                used(20_000, Feature::Login, 1, 1),
                used(20_000, Feature::Search, 7, 0),
                // Outside the range: ignored.
                used(19_993, Feature::Login, 100, 100),
                used(20_001, Feature::Login, 100, 100),
            ],
            &[
                ActiveDay {
                    day: Day(19_994),
                    users: 2,
                },
                ActiveDay {
                    day: Day(20_000),
                    users: 1,
                },
            ],
        );
        assert_eq!(series.days.len(), 7);
        assert_eq!(series.days[6], last.iso());
        assert_eq!(series.features.len(), Feature::ALL.len());
        let login = series.feature(Feature::Login).expect("login");
        assert_eq!(login.events, [3, 0, 0, 0, 0, 0, 1]);
        assert_eq!(login.users, [2, 0, 0, 0, 0, 0, 1]);
        assert_eq!(series.feature(Feature::Search).expect("search").total(), 7);
        assert_eq!(series.feature(Feature::Download).expect("dl").total(), 0);
        assert_eq!(series.active_users, [2, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn users_sort_by_any_column_with_ties_by_name() {
        let user = |name: &str, logins: u64, assets: u64| UserUsage {
            username: name.into(),
            events: Feature::ALL
                .iter()
                .map(|f| if *f == Feature::Login { logins } else { 0 })
                .collect(),
            active_days: 1,
            assets,
            views_received: 0,
            storage_bytes: 0,
        };
        let mut rows = vec![user("carol", 1, 9), user("Alice", 5, 1), user("bob", 5, 3)];
        UserSort::Feature(Feature::Login).apply(&mut rows, true);
        let names: Vec<&str> = rows.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["Alice", "bob", "carol"]);
        UserSort::Assets.apply(&mut rows, false);
        let names: Vec<&str> = rows.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["Alice", "bob", "carol"]);
        UserSort::Username.apply(&mut rows, true);
        let names: Vec<&str> = rows.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["carol", "bob", "Alice"]);
        assert!(UserSort::parse("nonsense").is_err());
        assert_eq!(
            UserSort::parse("download"),
            Ok(UserSort::Feature(Feature::Download))
        );
    }
}
