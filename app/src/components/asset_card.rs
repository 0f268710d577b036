use leptos::prelude::*;

use crate::model::{format_duration, short_date, AssetSummary, MediaType};

/// Fallback aspect box for assets that carry no size.
const DEFAULT_BOX: (u32, u32) = (1, 1);

/// A gallery tile: a box of the media's aspect ratio (so nothing shifts as images load),
/// the title, the owner and the date.
#[component]
pub fn AssetCard(asset: AssetSummary) -> impl IntoView {
    let href = format!("/a/{}", asset.id);
    let (w, h) = match (asset.width, asset.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => DEFAULT_BOX,
    };
    let style = format!("aspect-ratio: {w} / {h}; --hue: {}", hue_of(&asset.id));
    let date = short_date(&asset.created_at);
    let datetime = asset.created_at.to_rfc3339();
    let badge = (asset.media_type == MediaType::Video).then(|| {
        let label = asset
            .duration_ms
            .map(format_duration)
            .unwrap_or_else(|| "video".into());
        view! { <span class="badge">"▶ " {label}</span> }
    });
    let picture = asset.thumb_url.clone().map(|src| {
        view! {
            <img src=src alt="" width=w height=h loading="lazy" decoding="async"/>
        }
    });
    view! {
        <article class="card" data-media-type=asset.media_type.as_str()>
            <a class="thumb" href=href.clone() style=style tabindex="-1" aria-hidden="true">
                {picture}
                {badge}
            </a>
            <h2 class="card-title">
                <a href=href>{asset.title}</a>
            </h2>
            <p class="card-meta">
                <span class="owner">{asset.owner}</span>
                " · "
                <time datetime=datetime>{date}</time>
            </p>
        </article>
    }
}

/// A stable colour per asset for the box shown before (or instead of) its thumbnail.
fn hue_of(id: &str) -> u32 {
    id.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % 360
}
