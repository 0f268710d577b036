//! Charts drawn as SVG by the components themselves (no chart library, no script): the
//! same markup on the server and after hydration. Each chart is a `<figure>` with a
//! heading, a sentence that says what it shows, the picture, and the numbers as a table.

use leptos::prelude::*;

use crate::stats::NamedCount;
use crate::units::thousands;

/// The drawing area of a daily chart, in SVG user units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
/// Room on the left for the axis labels and at the bottom for the dates.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// The top of the value axis: the maximum rounded up to 1, 2 or 5 times a power of ten.
pub fn axis_max(max: u64) -> u64 {
    if max == 0 {
        return 1;
    }
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// One line a person can read instead of the chart: the total, the daily average and the
/// busiest day.
pub fn daily_summary(what: &str, days: &[String], values: &[u64]) -> String {
    let total: u64 = values.iter().sum();
    if total == 0 {
        return format!("No {what} in these {} days.", days.len());
    }
    let (best, most) = values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
        .map(|(i, v)| (i, *v))
        .unwrap_or((0, 0));
    let average = total as f64 / values.len().max(1) as f64;
    format!(
        "{} {what} in {} days, {average:.1} a day on average; the busiest day was {} with {}.",
        thousands(total),
        days.len(),
        days.get(best).map(|d| pretty_day(d)).unwrap_or_default(),
        thousands(most)
    )
}

/// `2026-12-01` → `1 Dec 2026`.
fn pretty_day(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_else(|_| iso.to_string())
}

/// `2026-12-01` → `1 Dec`.
fn short_day(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%-d %b").to_string())
        .unwrap_or_else(|_| iso.to_string())
}

/// Which days get a date under the axis: the first, the last and a few between.
fn label_days(n: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let marks = 4.min(n - 1).max(1);
    let mut picks: Vec<usize> = (0..=marks).map(|k| k * (n - 1) / marks).collect();
    picks.dedup();
    picks
}

/// One series of a daily chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    /// A CSS class giving its colour (`s0` … `s8`).
    pub class: String,
    pub values: Vec<u64>,
}

/// How a daily chart draws its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// Columns, one series stacked on the next.
    Stacked,
    /// A line per series.
    Line,
}

/// A chart of values per day: columns (stacked when there are several series) or lines.
#[component]
pub fn DailyChart(
    /// Unique on the page (ids of the heading and summary derive from it).
    id: &'static str,
    title: String,
    /// What one unit is, in the plural ("uploads"), for the summary.
    what: String,
    days: Vec<String>,
    series: Vec<Series>,
    draw: Draw,
) -> impl IntoView {
    let n = days.len().max(1);
    let totals: Vec<u64> = (0..days.len())
        .map(|i| match draw {
            Draw::Stacked => series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum(),
            Draw::Line => series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .max()
                .unwrap_or(0),
        })
        .collect();
    let top = axis_max(totals.iter().copied().max().unwrap_or(0));
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let x = move |i: usize| LEFT + plot_w * i as f64 / n as f64;
    let y = move |v: u64| TOP + plot_h - plot_h * v as f64 / top as f64;
    let slot = plot_w / n as f64;

    let marks: Vec<_> = [0, top / 2, top]
        .into_iter()
        .map(|v| {
            let at = y(v);
            view! {
                <line class="grid" x1=LEFT x2=WIDTH y1=at y2=at></line>
                <text class="axis" x=LEFT - 6.0 y=at + 4.0 text-anchor="end">{thousands(v)}</text>
            }
        })
        .collect();
    let dates: Vec<_> = label_days(days.len())
        .into_iter()
        .map(|i| {
            let anchor = if i == 0 {
                "start"
            } else if i + 1 == days.len() {
                "end"
            } else {
                "middle"
            };
            let at = if anchor == "end" { x(i) + slot } else { x(i) + slot / 2.0 };
            let at = if anchor == "start" { x(i) } else { at };
            view! {
                <text class="axis" x=at y=HEIGHT - 6.0 text-anchor=anchor>{short_day(&days[i])}</text>
            }
        })
        .collect();

    let marks_view = match draw {
        Draw::Stacked => {
            let gap = if slot > 4.0 { slot * 0.15 } else { 0.0 };
            let mut base = vec![0u64; days.len()];
            let mut rects = Vec::new();
            for s in &series {
                for (i, day) in days.iter().enumerate() {
                    let v = s.values.get(i).copied().unwrap_or(0);
                    if v == 0 {
                        continue;
                    }
                    let (y0, y1) = (y(base[i] + v), y(base[i]));
                    base[i] += v;
                    let label = format!("{}: {} {}", short_day(day), thousands(v), s.label);
                    rects.push(view! {
                        <rect class=format!("mark {}", s.class) x=x(i) + gap / 2.0 y=y0
                              width=(slot - gap).max(0.5) height=(y1 - y0).max(0.5)>
                            <title>{label}</title>
                        </rect>
                    });
                }
            }
            rects.into_any()
        }
        Draw::Line => series
            .iter()
            .map(|s| {
                let points: Vec<String> = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("{:.1},{:.1}", x(i) + slot / 2.0, y(*v)))
                    .collect();
                view! {
                    <polyline class=format!("line {}", s.class) points=points.join(" ")>
                        <title>{s.label.clone()}</title>
                    </polyline>
                }
            })
            .collect_view()
            .into_any(),
    };

    let summary = if series.len() == 1 {
        daily_summary(&what, &days, &series[0].values)
    } else {
        let mut text = daily_summary(&what, &days, &totals);
        let mut parts: Vec<(u64, &str)> = series
            .iter()
            .map(|s| (s.values.iter().sum::<u64>(), s.label.as_str()))
            .filter(|(t, _)| *t > 0)
            .collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        if !parts.is_empty() {
            let list: Vec<String> = parts
                .iter()
                .map(|(t, label)| format!("{label} {}", thousands(*t)))
                .collect();
            text.push_str(&format!(" By feature: {}.", list.join(", ")));
        }
        text
    };
    let legend = (series.len() > 1).then(|| {
        let items: Vec<_> = series
            .iter()
            .map(|s| {
                view! {
                    <li><span class=format!("swatch {}", s.class)></span>{s.label.clone()}</li>
                }
            })
            .collect();
        view! { <ul class="legend">{items}</ul> }
    });
    let head: Vec<_> = series
        .iter()
        .map(|s| view! { <th scope="col">{s.label.clone()}</th> })
        .collect();
    let rows: Vec<_> = days
        .iter()
        .enumerate()
        .rev()
        .map(|(i, day)| {
            let cells: Vec<_> = series
                .iter()
                .map(|s| view! { <td>{thousands(s.values.get(i).copied().unwrap_or(0))}</td> })
                .collect();
            view! { <tr><th scope="row"><time datetime=day.clone()>{pretty_day(day)}</time></th>{cells}</tr> }
        })
        .collect();
    let title_id = format!("{id}-title");
    let summary_id = format!("{id}-summary");
    view! {
        <figure class="chart" id=id>
            <figcaption>
                <h2 id=title_id.clone()>{title.clone()}</h2>
                <p class="summary" id=summary_id.clone()>{summary}</p>
            </figcaption>
            <svg class="daily" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
                 aria-labelledby=format!("{title_id} {summary_id}") preserveAspectRatio="none">
                {marks}
                {marks_view}
                {dates}
            </svg>
            {legend}
            <details class="chart-table">
                <summary>"Show as a table"</summary>
                <table>
                    <caption>{title}</caption>
                    <thead><tr><th scope="col">"Day"</th>{head}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
    .into_any()
}

/// Names with counts as horizontal bars, most first; each name may link somewhere.
#[component]
pub fn RankedBars(
    id: &'static str,
    title: String,
    /// What is counted, in the plural ("assets").
    what: String,
    items: Vec<NamedCount>,
    /// The link for a name, if names link.
    #[prop(optional)]
    link: Option<fn(&str) -> String>,
) -> impl IntoView {
    let max = items.iter().map(|i| i.count).max().unwrap_or(0).max(1);
    let summary = match items.first() {
        None => format!("Nothing to rank yet: no {what} have one."),
        Some(first) => format!(
            "{} listed; the first is {} with {} {what}.",
            items.len(),
            first.name,
            thousands(first.count)
        ),
    };
    let rows: Vec<_> = items
        .iter()
        .map(|item| {
            let share = (item.count as f64 / max as f64 * 100.0).max(0.5);
            let name = match link {
                Some(link) => view! { <a href=link(&item.name)>{item.name.clone()}</a> }.into_any(),
                None => view! { <span>{item.name.clone()}</span> }.into_any(),
            };
            view! {
                <tr>
                    <th scope="row">{name}</th>
                    <td class="bar-cell">
                        <span class="hbar" style=format!("width: {share:.1}%") aria-hidden="true"></span>
                    </td>
                    <td class="num">{thousands(item.count)}</td>
                </tr>
            }
        })
        .collect();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    view! {
        <figure class="chart ranked" id=id aria-labelledby=labelled_by>
            <figcaption>
                <h2 id=title_id>{title.clone()}</h2>
                <p class="summary">{summary}</p>
            </figcaption>
            // The bars are part of the table: a screen reader reads names and numbers.
            <table>
                <caption class="visually-hidden">{title}</caption>
                <thead class="visually-hidden">
                    <tr><th scope="col">"Name"</th><th scope="col">"Share"</th><th scope="col">{what}</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
    .into_any()
}

/// Parts of a whole as one bar (images against videos).
#[component]
pub fn ShareBar(id: &'static str, title: String, parts: Vec<Series>) -> impl IntoView {
    let total: u64 = parts.iter().map(|p| p.values.iter().sum::<u64>()).sum();
    let percent = |v: u64| {
        if total == 0 {
            0.0
        } else {
            v as f64 / total as f64 * 100.0
        }
    };
    let summary = if total == 0 {
        "Nothing yet.".to_string()
    } else {
        let list: Vec<String> = parts
            .iter()
            .map(|p| {
                let v: u64 = p.values.iter().sum();
                format!(
                    "{} {} ({:.0} %)",
                    thousands(v),
                    p.label.to_lowercase(),
                    percent(v)
                )
            })
            .collect();
        format!("{}.", list.join(" and "))
    };
    let mut offset = 0.0;
    let segments: Vec<_> = parts
        .iter()
        .map(|p| {
            let v: u64 = p.values.iter().sum();
            let width = percent(v);
            let at = offset;
            offset += width;
            view! {
                <rect class=format!("mark {}", p.class) x=format!("{at:.2}") y="0"
                      width=format!("{width:.2}") height="10">
                    <title>{format!("{}: {}", p.label, thousands(v))}</title>
                </rect>
            }
        })
        .collect();
    let legend: Vec<_> = parts
        .iter()
        .map(|p| {
            let v: u64 = p.values.iter().sum();
            view! {
                <li><span class=format!("swatch {}", p.class)></span>
                    {format!("{} {} ({:.0} %)", p.label, thousands(v), percent(v))}</li>
            }
        })
        .collect();
    let rows: Vec<_> = parts
        .iter()
        .map(|p| {
            let v: u64 = p.values.iter().sum();
            view! {
                <tr>
                    <th scope="row">{p.label.clone()}</th>
                    <td>{thousands(v)}</td>
                    <td>{format!("{:.0} %", percent(v))}</td>
                </tr>
            }
        })
        .collect();
    let title_id = format!("{id}-title");
    let summary_id = format!("{id}-summary");
    view! {
        <figure class="chart share" id=id>
            <figcaption>
                <h2 id=title_id.clone()>{title.clone()}</h2>
                <p class="summary" id=summary_id.clone()>{summary}</p>
            </figcaption>
            <svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
                 aria-labelledby=format!("{title_id} {summary_id}")>
                <rect class="track" x="0" y="0" width="100" height="10"></rect>
                {segments}
            </svg>
            <ul class="legend">{legend}</ul>
            <details class="chart-table">
                <summary>"Show as a table"</summary>
                <table>
                    <caption>{title}</caption>
                    <thead><tr><th scope="col">"Kind"</th><th scope="col">"Count"</th><th scope="col">"Share"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(1), 1);
        assert_eq!(axis_max(3), 5);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(11), 20);
        assert_eq!(axis_max(999), 1_000);
        assert_eq!(axis_max(1_001), 2_000);
    }

    #[test]
    fn summaries_give_total_average_and_busiest_day() {
        let days: Vec<String> = ["2026-11-29", "2026-11-30", "2026-12-01"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            daily_summary("uploads", &days, &[2, 7, 0]),
            "9 uploads in 3 days, 3.0 a day on average; the busiest day was 30 Nov 2026 with 7."
        );
        assert_eq!(
            daily_summary("uploads", &days, &[0, 0, 0]),
            "No uploads in these 3 days."
        );
        // A tie goes to the earlier day.
        assert!(daily_summary("x", &days, &[4, 4, 1]).contains("29 Nov 2026 with 4"));
    }

    #[test]
    fn date_labels_cover_both_ends() {
        assert_eq!(label_days(0), Vec::<usize>::new());
        assert_eq!(label_days(1), [0]);
        assert_eq!(label_days(2), [0, 1]);
        assert_eq!(label_days(7), [0, 1, 3, 4, 6]);
        assert_eq!(label_days(365), [0, 91, 182, 273, 364]);
    }
}
