//! `/stats`: the site's totals and charts of how it is used; `/admin/usage`: the same use
//! per feature and per user, sortable, with CSV export. Admins only. The range and sort
//! are links, so both pages work without JavaScript; hydrated, they change in place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::notice::ErrorNotice;
use crate::api::{get_admin_usage, get_stats_overview};
use crate::components::charts::{DailyChart, Draw, RankedBars, Series, ShareBar};
use crate::model::percent_encode;
use crate::stats::{AdminUsage, Feature, FeatureUsage, StatsOverview, StatsRange, UserSort};
use crate::units::{format_bytes, thousands};

/// The colour class of a feature's series.
fn feature_class(feature: Feature) -> String {
    let i = Feature::ALL.iter().position(|f| *f == feature).unwrap_or(0);
    format!("s{i}")
}

fn tag_link(tag: &str) -> String {
    format!("/t/{}", percent_encode(tag, false))
}

fn model_link(model: &str) -> String {
    format!("/?model={}", percent_encode(model, true))
}

/// `7 days · 30 days · 90 days · 1 year`, each a link keeping the page's other parameters.
#[component]
fn RangeNav(current: StatsRange, href: fn(StatsRange) -> String) -> impl IntoView {
    let links: Vec<_> = StatsRange::ALL
        .into_iter()
        .map(|range| {
            let current = (range == current).then_some("page");
            view! { <a href=href(range) aria-current=current>{range.label()}</a> }
        })
        .collect();
    view! { <nav class="range-nav" aria-label="Period">{links}</nav> }.into_any()
}

#[component]
pub fn StatsPage() -> impl IntoView {
    let query = use_query_map();
    let range = Memo::new(move |_| query.read().get("range").unwrap_or_default());
    let overview = Resource::new(move || range.get(), get_stats_overview);
    view! {
        <Title text="Statistics · atelier"/>
        <section class="page stats">
            <header class="browse-head">
                <h1>"Statistics"</h1>
                <p class="muted"><a href="/admin/usage">"Usage by feature and by person"</a></p>
            </header>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! { <Overview overview/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn Overview(overview: StatsOverview) -> impl IntoView {
    let StatsOverview {
        totals,
        usage,
        top_tags,
        top_models,
    } = overview;
    let range = usage.range;
    let figure = |label: &'static str, value: String| {
        view! { <div><dt>{label}</dt><dd>{value}</dd></div> }
    };
    let series_of = |feature: Feature| Series {
        label: feature.label().to_string(),
        class: feature_class(feature),
        values: usage
            .feature(feature)
            .map(|s| s.events.clone())
            .unwrap_or_default(),
    };
    let uploads = vec![series_of(Feature::UploadFinished)];
    let features: Vec<Series> = Feature::ALL.into_iter().map(series_of).collect();
    let active = vec![Series {
        label: "Active users".into(),
        class: "s0".into(),
        values: usage.active_users.clone(),
    }];
    let types = vec![
        Series {
            label: "Images".into(),
            class: "s0".into(),
            values: vec![totals.images],
        },
        Series {
            label: "Videos".into(),
            class: "s1".into(),
            values: vec![totals.videos],
        },
    ];
    view! {
        <dl class="totals">
            {figure("Users", thousands(totals.users))}
            {figure("Assets", thousands(totals.assets))}
            {figure("Images", thousands(totals.images))}
            {figure("Videos", thousands(totals.videos))}
            {figure("Creators", thousands(totals.creators))}
            {figure("Storage", format_bytes(totals.storage_bytes))}
        </dl>
        <RangeNav current=range href=|r| format!("/stats?range={}", r.as_str())/>
        <div class="charts">
            <DailyChart id="uploads" title="Uploads per day".into() what="uploads".into()
                days=usage.days.clone() series=uploads draw=Draw::Stacked/>
            <DailyChart id="active" title="Active users per day".into() what="active users".into()
                days=usage.days.clone() series=active draw=Draw::Line/>
            <DailyChart id="features" title="Feature use per day".into() what="uses".into()
                days=usage.days.clone() series=features draw=Draw::Stacked/>
            <ShareBar id="types" title="Images and videos".into() parts=types/>
            <RankedBars id="top-tags" title="Top tags".into() what="assets".into() items=top_tags
                link=tag_link/>
            <RankedBars id="top-models" title="Top models".into() what="assets".into() items=top_models
                link=model_link/>
        </div>
    }
    .into_any()
}

/// The admin's usage page's parameters, as read from its URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct UsageQuery {
    range: String,
    sort: String,
    dir: String,
    /// How the feature table is sorted (done here: it has one row per feature).
    fsort: String,
}

impl UsageQuery {
    /// `/admin/usage?…` with `change` applied to a copy of these parameters.
    fn href(&self, change: impl FnOnce(&mut UsageQuery)) -> String {
        let mut q = self.clone();
        change(&mut q);
        let pairs: Vec<String> = [
            ("range", &q.range),
            ("sort", &q.sort),
            ("dir", &q.dir),
            ("fsort", &q.fsort),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encode(v, true)))
        .collect();
        if pairs.is_empty() {
            "/admin/usage".into()
        } else {
            format!("/admin/usage?{}", pairs.join("&"))
        }
    }
}

#[component]
pub fn AdminUsagePage() -> impl IntoView {
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        let q = query.read();
        UsageQuery {
            range: q.get("range").unwrap_or_default(),
            sort: q.get("sort").unwrap_or_default(),
            dir: q.get("dir").unwrap_or_default(),
            fsort: q.get("fsort").unwrap_or_default(),
        }
    });
    let usage = Resource::new(
        move || asked.get(),
        |q| get_admin_usage(q.range, q.sort, q.dir),
    );
    view! {
        <Title text="Usage · atelier"/>
        <section class="page stats admin-usage">
            <header class="browse-head">
                <h1>"Usage"</h1>
                <p class="muted"><a href="/stats">"Statistics and charts"</a></p>
            </header>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let q = asked.get_untracked();
                    match usage.await {
                        Ok(usage) => view! { <UsageTables usage q/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// A column heading that sorts by itself: a second click turns the order round.
fn sort_link(
    q: &UsageQuery,
    label: String,
    key: &str,
    current: &str,
    descending: bool,
    feature_table: bool,
) -> impl IntoView {
    let is_current = key == current;
    let next_dir = match (is_current, descending) {
        (true, true) => "asc",
        (true, false) => "desc",
        (false, _) if key == "username" || key == "feature" => "asc",
        (false, _) => "desc",
    };
    let href = q.href(|q| {
        if feature_table {
            q.fsort = format!("{key}:{next_dir}");
        } else {
            q.sort = key.to_string();
            q.dir = next_dir.to_string();
        }
    });
    let aria = is_current.then_some(if descending {
        "descending"
    } else {
        "ascending"
    });
    let arrow = match (is_current, descending) {
        (true, true) => " ↓",
        (true, false) => " ↑",
        _ => "",
    };
    view! {
        <th scope="col" aria-sort=aria><a href=href>{label}{arrow}</a></th>
    }
}

/// The feature table's order from `fsort` (`events:desc`, `feature:asc`, …).
fn sort_features(rows: &mut [FeatureUsage], fsort: &str) -> (String, bool) {
    let (key, dir) = fsort.split_once(':').unwrap_or((fsort, ""));
    let key = match key {
        "events" | "users" | "anonymous" => key,
        _ => "feature",
    };
    let descending = match dir {
        "asc" => false,
        "desc" => true,
        _ => key != "feature",
    };
    match key {
        "events" => rows.sort_by_key(|r| r.events),
        "users" => rows.sort_by_key(|r| r.users),
        "anonymous" => rows.sort_by_key(|r| r.anonymous),
        _ => rows.sort_by_key(|r| Feature::ALL.iter().position(|f| *f == r.feature)),
    }
    if descending {
        rows.reverse();
    }
    (key.to_string(), descending)
}

#[component]
fn UsageTables(usage: AdminUsage, q: UsageQuery) -> impl IntoView {
    let AdminUsage {
        range,
        mut features,
        users,
        dropped_events,
        tracking,
        retention_days,
    } = usage;
    let (fkey, fdesc) = sort_features(&mut features, &q.fsort);
    let (sort, descending) = {
        let sort = UserSort::parse(&q.sort).unwrap_or_default();
        let descending = match q.dir.as_str() {
            "asc" => false,
            "desc" => true,
            _ => sort != UserSort::Username,
        };
        (sort, descending)
    };
    let status = format!(
        "Recording is {}. Raw events are kept {retention_days} days; daily totals are kept \
         for good.{}",
        if tracking { "on" } else { "off" },
        if dropped_events > 0 {
            format!(
                " {} events could not be recorded since the server started.",
                thousands(dropped_events)
            )
        } else {
            String::new()
        }
    );
    let range_q = q.clone();
    let ranges: Vec<_> = StatsRange::ALL
        .into_iter()
        .map(|r| {
            let current = (r == range).then_some("page");
            let href = range_q.href(|q| q.range = r.as_str().to_string());
            view! { <a href=href aria-current=current>{r.label()}</a> }
        })
        .collect();
    let fhead = [
        ("Feature", "feature"),
        ("Uses", "events"),
        ("People", "users"),
        ("Not logged in", "anonymous"),
    ]
    .map(|(label, key)| sort_link(&q, label.to_string(), key, &fkey, fdesc, true));
    let frows: Vec<_> = features
        .iter()
        .map(|f| {
            view! {
                <tr>
                    <th scope="row">{f.feature.label()}</th>
                    <td class="num">{thousands(f.events)}</td>
                    <td class="num">{thousands(f.users)}</td>
                    <td class="num">{thousands(f.anonymous)}</td>
                </tr>
            }
        })
        .collect();
    let current = sort.as_str();
    let mut uhead =
        vec![sort_link(&q, "Person".into(), "username", current, descending, false).into_any()];
    uhead.extend(Feature::ALL.into_iter().map(|f| {
        sort_link(&q, f.label().into(), f.as_str(), current, descending, false).into_any()
    }));
    for (label, key) in [
        ("All uses", "events"),
        ("Active days", "active_days"),
        ("Assets", "assets"),
        ("Views received", "views"),
        ("Storage", "storage"),
    ] {
        uhead.push(sort_link(&q, label.into(), key, current, descending, false).into_any());
    }
    let empty = users.is_empty().then(|| {
        view! { <p class="muted">"Nobody who was logged in used anything in this period."</p> }
    });
    let urows: Vec<_> = users
        .iter()
        .map(|u| {
            let cells: Vec<_> = u
                .events
                .iter()
                .map(|n| view! { <td class="num">{thousands(*n)}</td> })
                .collect();
            view! {
                <tr>
                    <th scope="row">
                        <a href=format!("/u/{}", percent_encode(&u.username, false))>{u.username.clone()}</a>
                    </th>
                    {cells}
                    <td class="num">{thousands(u.total())}</td>
                    <td class="num">{thousands(u.active_days)}</td>
                    <td class="num">{thousands(u.assets)}</td>
                    <td class="num">{thousands(u.views_received)}</td>
                    <td class="num">{format_bytes(u.storage_bytes)}</td>
                </tr>
            }
        })
        .collect();
    let csv = |table: &str| {
        format!(
            "/admin/usage.csv?range={}&table={table}&sort={}&dir={}",
            range.as_str(),
            sort.as_str(),
            if descending { "desc" } else { "asc" }
        )
    };
    view! {
        <p class="muted usage-status">{status}</p>
        <nav class="range-nav" aria-label="Period">{ranges}</nav>
        <section aria-labelledby="by-feature">
            <div class="table-head">
                <h2 id="by-feature">"By feature"</h2>
                <a class="button-link" href=csv("features") download="">"Download CSV"</a>
            </div>
            <div class="table-scroll">
                <table class="usage">
                    <thead><tr>{fhead}</tr></thead>
                    <tbody>{frows}</tbody>
                </table>
            </div>
        </section>
        <section aria-labelledby="by-person">
            <div class="table-head">
                <h2 id="by-person">"By person"</h2>
                <a class="button-link" href=csv("users") download="">"Download CSV"</a>
            </div>
            {empty}
            <div class="table-scroll">
                <table class="usage wide">
                    <thead><tr>{uhead}</tr></thead>
                    <tbody>{urows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_other_parameters() {
        let q = UsageQuery {
            range: "7d".into(),
            sort: "assets".into(),
            dir: "asc".into(),
            fsort: String::new(),
        };
        assert_eq!(
            q.href(|q| q.range = "1y".into()),
            "/admin/usage?range=1y&sort=assets&dir=asc"
        );
        assert_eq!(UsageQuery::default().href(|_| {}), "/admin/usage");
    }

    #[test]
    fn the_feature_table_sorts_by_any_column() {
        let row = |feature, events, users| FeatureUsage {
            feature,
            events,
            users,
            anonymous: events - users,
        };
        let mut rows = vec![
            row(Feature::Login, 5, 5),
            row(Feature::Register, 2, 2),
            row(Feature::Search, 9, 1),
        ];
        assert_eq!(sort_features(&mut rows, "events"), ("events".into(), true));
        assert_eq!(rows[0].feature, Feature::Search);
        assert_eq!(sort_features(&mut rows, ""), ("feature".into(), false));
        assert_eq!(rows[0].feature, Feature::Register);
        assert_eq!(
            sort_features(&mut rows, "users:asc"),
            ("users".into(), false)
        );
        assert_eq!(rows[0].feature, Feature::Search);
    }
}
