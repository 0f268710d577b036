use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::ErrorNotice;
use crate::api::get_asset;
use crate::model::{format_duration, title_text, AssetDetail, MediaType};

/// `/a/{id}`: one asset, its media and everything known about how it was made.
#[component]
pub fn AssetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let asset = Resource::new(id, get_asset);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match asset.await {
                    Ok(asset) => view! { <AssetView asset/> }.into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Not found · atelier"/>
                            <section class="page narrow">
                                <ErrorNotice error/>
                                <p><a href="/">"Back to the gallery"</a></p>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn AssetView(asset: AssetDetail) -> impl IntoView {
    let s = asset.summary;
    let (w, h) = (s.width.unwrap_or(1), s.height.unwrap_or(1));
    let style = format!("aspect-ratio: {w} / {h}");
    let media = match (s.media_type, asset.media_url) {
        (MediaType::Video, Some(src)) => view! {
            <video src=src poster=s.thumb_url.clone() controls=true preload="metadata" width=w height=h></video>
        }
        .into_any(),
        (MediaType::Image, Some(src)) => {
            view! { <img src=src alt=s.title.clone() width=w height=h/> }.into_any()
        }
        (_, None) => view! { <div class="no-file">"No file stored for this asset."</div> }.into_any(),
    };
    let kind = match s.media_type {
        MediaType::Image => "Image".to_string(),
        MediaType::Video => match s.duration_ms {
            Some(ms) => format!("Video, {}", format_duration(ms)),
            None => "Video".to_string(),
        },
    };
    let size = s.width.zip(s.height).map(|(w, h)| format!("{w} × {h}"));
    let created = s.created_at.format("%Y-%m-%d %H:%M UTC").to_string();
    view! {
        <Title text=title_text(&format!("{} · atelier", s.title))/>
        <article class="page asset-detail">
            <div class="media" style=style>{media}</div>
            <div class="facts">
                <h1>{s.title.clone()}</h1>
                <p class="card-meta">
                    "by " <span class="owner">{s.owner}</span> " · "
                    <time datetime=s.created_at.to_rfc3339()>{created}</time>
                </p>
                <h2>"Prompt"</h2>
                <p class="prompt">{s.prompt}</p>
                <dl>
                    <dt>"Type"</dt>
                    <dd>{kind}</dd>
                    {s.model.map(|m| view! { <dt>"Model"</dt> <dd>{m}</dd> })}
                    {size.map(|size| view! { <dt>"Size"</dt> <dd>{size}</dd> })}
                </dl>
                <ul class="tags">
                    {s.tags.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
                </ul>
            </div>
        </article>
    }
}
