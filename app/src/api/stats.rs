//! Usage statistics: the site's totals, daily usage, and the admin's per-feature and
//! per-user tables. Every figure comes from counters and rollups, never from counting
//! assets. Admins only.

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json};

use crate::error::ApiError;
use crate::stats::{AdminUsage, SiteTotals, StatsOverview, UsageSeries};

/// `GET /api/stats`: the site's totals, exact, read from one row.
#[server(name = GetStats, prefix = "/api", endpoint = "stats", input = GetUrl, output = Json)]
pub async fn get_stats() -> Result<SiteTotals, ApiError> {
    super::ssr::respond(async move {
        ssr::require_admin().await?;
        Ok(super::ssr::store()?.site_totals().await?)
    })
    .await
}

/// `GET /api/stats/usage?range=7d|30d|90d|1y`: each feature's use per day over the range
/// (zeros included), and the users active each day.
#[server(name = GetUsage, prefix = "/api", endpoint = "stats/usage", input = GetUrl, output = Json)]
pub async fn get_usage(#[server(default)] range: String) -> Result<UsageSeries, ApiError> {
    super::ssr::respond(async move {
        ssr::require_admin().await?;
        let range = ssr::parse_range(&range)?;
        ssr::usage_series(super::ssr::store()?.as_ref(), range).await
    })
    .await
}

/// `GET /api/stats/overview?range=`: everything `/stats` shows, in one answer.
#[server(name = GetStatsOverview, prefix = "/api", endpoint = "stats/overview", input = GetUrl, output = Json)]
pub async fn get_stats_overview(
    #[server(default)] range: String,
) -> Result<StatsOverview, ApiError> {
    super::ssr::respond(async move {
        ssr::require_admin().await?;
        let range = ssr::parse_range(&range)?;
        let store = super::ssr::store()?;
        Ok(StatsOverview {
            totals: store.site_totals().await?,
            usage: ssr::usage_series(store.as_ref(), range).await?,
            top_tags: store.top_tags(crate::stats::TOP_LIMIT).await?,
            top_models: store.top_models(crate::stats::TOP_LIMIT).await?,
        })
    })
    .await
}

/// `GET /api/admin/usage?range=&sort=&dir=asc|desc`: per-feature and per-user use over
/// the range; `/admin/usage.csv` gives the same tables as CSV.
#[server(name = GetAdminUsage, prefix = "/api", endpoint = "admin/usage", input = GetUrl, output = Json)]
pub async fn get_admin_usage(
    #[server(default)] range: String,
    #[server(default)] sort: String,
    #[server(default)] dir: String,
) -> Result<AdminUsage, ApiError> {
    super::ssr::respond(async move {
        ssr::require_admin().await?;
        let range = ssr::parse_range(&range)?;
        let (sort, descending) = ssr::parse_sort(&sort, &dir)?;
        let ctx =
            leptos::prelude::use_context::<super::ssr::AppContext>().ok_or(ApiError::Internal)?;
        ssr::admin_usage(ctx.store.as_ref(), &ctx.usage, range, sort, descending).await
    })
    .await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::HashMap;

    use crate::account::Role;
    use crate::error::ApiError;
    use crate::stats::{
        AdminUsage, Day, Feature, FeatureUsage, StatsRange, UsageSeries, UserSort, UserUsage,
    };
    use crate::store::Store;
    use crate::usage::Usage;

    /// The most users the admin's table lists (the most active first).
    pub const MAX_USER_ROWS: u32 = 1_000;

    /// `403` unless `user` is an admin (the statistics are theirs alone).
    pub fn admin_only(user: &crate::store::User) -> Result<(), ApiError> {
        if user.role != Role::Admin {
            return Err(ApiError::Forbidden(
                "only an admin can see this instance's usage statistics".into(),
            ));
        }
        Ok(())
    }

    /// The logged-in admin; `401` for nobody, `403` for anyone else.
    pub async fn require_admin() -> Result<crate::store::User, ApiError> {
        let session = crate::api::ssr::require_session().await?;
        admin_only(&session.user)?;
        crate::api::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        Ok(session.user)
    }

    pub fn parse_range(text: &str) -> Result<StatsRange, ApiError> {
        StatsRange::parse(text).map_err(ApiError::BadRequest)
    }

    pub fn parse_sort(sort: &str, dir: &str) -> Result<(UserSort, bool), ApiError> {
        let sort = UserSort::parse(sort).map_err(ApiError::BadRequest)?;
        let descending = match dir.trim() {
            "" => sort != UserSort::Username,
            "desc" => true,
            "asc" => false,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "dir is asc or desc, not “{other}”"
                )))
            }
        };
        Ok((sort, descending))
    }

    pub async fn usage_series(
        store: &dyn Store,
        range: StatsRange,
    ) -> Result<UsageSeries, ApiError> {
        let today = Day::today();
        let (first, last) = range.span(today);
        let rollup = store.usage_rollup(first, last).await?;
        Ok(UsageSeries::from_rollup(
            range,
            today,
            &rollup.features,
            &rollup.active,
        ))
    }

    /// The admin's tables over `range`, the users sorted as asked.
    pub async fn admin_usage(
        store: &dyn Store,
        usage: &Usage,
        range: StatsRange,
        sort: UserSort,
        descending: bool,
    ) -> Result<AdminUsage, ApiError> {
        let (first, last) = range.span(Day::today());
        let features = store.feature_usage(first, last).await?;
        let figures = store
            .active_user_figures(first, last, MAX_USER_ROWS)
            .await?;
        let mut counts: HashMap<(i64, Feature), u64> = HashMap::new();
        for count in store.user_feature_counts(first, last).await? {
            *counts.entry((count.user.0, count.feature)).or_default() += count.events;
        }
        let mut users: Vec<UserUsage> = figures
            .into_iter()
            .map(|f| UserUsage {
                events: Feature::ALL
                    .iter()
                    .map(|feature| counts.get(&(f.user.0, *feature)).copied().unwrap_or(0))
                    .collect(),
                username: f.username,
                active_days: f.active_days,
                assets: f.assets,
                views_received: f.views_received,
                storage_bytes: f.storage_bytes,
            })
            .collect();
        sort.apply(&mut users, descending);
        let settings = crate::settings::Settings::load(store).await?;
        Ok(AdminUsage {
            range,
            features,
            users,
            dropped_events: usage.dropped(),
            tracking: settings.usage_tracking,
            retention_days: settings.usage_retention_days,
        })
    }

    /// One of the admin's tables as CSV (RFC 4180: quoted where needed, CRLF lines).
    pub fn csv(usage: &AdminUsage, table: CsvTable) -> String {
        let mut out = String::new();
        let mut line = |cells: Vec<String>| {
            let cells: Vec<String> = cells.into_iter().map(|c| csv_cell(&c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        };
        match table {
            CsvTable::Features => {
                line(
                    ["feature", "events", "users", "anonymous_events"]
                        .map(String::from)
                        .to_vec(),
                );
                for FeatureUsage {
                    feature,
                    events,
                    users,
                    anonymous,
                } in &usage.features
                {
                    line(vec![
                        feature.as_str().to_string(),
                        events.to_string(),
                        users.to_string(),
                        anonymous.to_string(),
                    ]);
                }
            }
            CsvTable::Users => {
                let mut head = vec!["username".to_string()];
                head.extend(Feature::ALL.iter().map(|f| f.as_str().to_string()));
                head.extend(
                    [
                        "events",
                        "active_days",
                        "assets",
                        "views_received",
                        "storage_bytes",
                    ]
                    .map(String::from),
                );
                line(head);
                for user in &usage.users {
                    let mut row = vec![user.username.clone()];
                    row.extend(user.events.iter().map(u64::to_string));
                    row.extend([
                        user.total().to_string(),
                        user.active_days.to_string(),
                        user.assets.to_string(),
                        user.views_received.to_string(),
                        user.storage_bytes.to_string(),
                    ]);
                    line(row);
                }
            }
        }
        out
    }

    /// Which table a CSV export holds.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CsvTable {
        Features,
        Users,
    }

    impl CsvTable {
        pub fn parse(text: &str) -> Result<CsvTable, ApiError> {
            match text.trim() {
                "" | "users" => Ok(CsvTable::Users),
                "features" => Ok(CsvTable::Features),
                other => Err(ApiError::BadRequest(format!(
                    "table is users or features, not “{other}”"
                ))),
            }
        }

        pub fn as_str(self) -> &'static str {
            match self {
                CsvTable::Features => "features",
                CsvTable::Users => "users",
            }
        }
    }

    /// A cell quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-`
    /// or `@` is defused with a quote mark so a spreadsheet never runs it as a formula.
    fn csv_cell(text: &str) -> String {
        let text = if text.starts_with(['=', '+', '-', '@']) {
            format!("'{text}")
        } else {
            text.to_string()
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn csv_cells_are_quoted_and_formulas_defused() {
            assert_eq!(csv_cell("alice"), "alice");
            assert_eq!(csv_cell("a,b"), "\"a,b\"");
            assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
            assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
            assert_eq!(csv_cell("-1,2"), "\"'-1,2\"");
        }

        #[test]
        fn sort_direction_defaults_to_most_first_and_names_a_to_z() {
            assert_eq!(parse_sort("", ""), Ok((UserSort::Events, true)));
            assert_eq!(parse_sort("username", ""), Ok((UserSort::Username, false)));
            assert_eq!(parse_sort("assets", "asc"), Ok((UserSort::Assets, false)));
            assert!(parse_sort("assets", "sideways").is_err());
        }
    }
}
