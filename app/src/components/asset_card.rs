use leptos::{ev::MouseEvent, prelude::*};

use super::like_button::LikeButton;
use crate::model::Visibility;
use crate::model::{format_duration, percent_encode, short_date, AssetSummary, MediaType};

/// Fallback aspect box for assets that carry no size.
const DEFAULT_BOX: (u32, u32) = (1, 1);

/// How wide a grid column is drawn, for `sizes` (the grid's minimum is 220 px).
const SIZES: &str = "(max-width: 480px) 100vw, (max-width: 960px) 50vw, 320px";

/// A gallery tile: a box of the media's aspect ratio (so nothing shifts as images load),
/// the title, the owner and the date. `on_open`, when given, is called instead of following
/// the picture's link on a plain click (the gallery opens its lightbox). `logged_in`, when
/// given, adds the like button (a link to log in for visitors).
#[component]
pub fn AssetCard(
    asset: AssetSummary,
    #[prop(optional)] on_open: Option<Callback<()>>,
    #[prop(optional)] logged_in: Option<bool>,
) -> impl IntoView {
    let href = super::share::with_share(
        &format!("/a/{}", asset.id),
        &super::share::page_share_token(),
    );
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
    let private = match asset.visibility {
        Visibility::Public => None,
        Visibility::Unlisted => Some(view! { <span class="badge private">"Unlisted"</span> }),
        Visibility::Private => Some(view! { <span class="badge private">"Only me"</span> }),
    };
    let srcset = match (&asset.thumb_url, &asset.preview_url) {
        (Some(thumb), Some(preview)) if thumb != preview => {
            Some(format!("{thumb} 512w, {preview} 1024w"))
        }
        _ => None,
    };
    let picture = asset.thumb_url.clone().map(|src| {
        view! {
            <img
                src=src
                srcset=srcset
                sizes=SIZES
                alt=""
                width=w
                height=h
                loading="lazy"
                decoding="async"
            />
        }
    });
    let open = move |ev: MouseEvent| {
        if let Some(on_open) = on_open {
            // Modified clicks open the asset page in a new tab, as a link would.
            if !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0) {
                ev.prevent_default();
                on_open.run(());
            }
        }
    };
    let owner_href = format!("/u/{}", percent_encode(&asset.owner, false));
    let views = (asset.views > 0).then(|| {
        let text = if asset.views == 1 {
            " · 1 view".to_string()
        } else {
            format!(" · {} views", crate::units::thousands(asset.views))
        };
        view! { <span class="views">{text}</span> }
    });
    let like = logged_in.map(|logged_in| {
        view! {
            <LikeButton
                id=asset.id.clone()
                title=asset.title.clone()
                liked=asset.liked
                likes=asset.likes
                logged_in
            />
        }
    });
    view! {
        <article class="card" data-media-type=asset.media_type.as_str() data-id=asset.id.clone()>
            <a
                class="thumb"
                href=href.clone()
                style=style
                aria-label=format!("Look at “{}”", asset.title)
                on:click=open
            >
                {picture}
                {badge}
                {private}
            </a>
            <h2 class="card-title">
                <a href=href>{asset.title}</a>
            </h2>
            <div class="card-foot">
                <p class="card-meta">
                    <a class="owner" href=owner_href>{asset.owner}</a>
                    " · "
                    <time datetime=datetime>{date}</time>
                    {views}
                </p>
                {like}
            </div>
        </article>
    }
}

/// A stable colour per asset for the box shown before (or instead of) its thumbnail.
fn hue_of(id: &str) -> u32 {
    id.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % 360
}
