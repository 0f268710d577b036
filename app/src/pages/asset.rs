//! `/a/{id}`: one asset — its media (a video plays and seeks), title, prompt with a copy
//! button, negative prompt, generation parameters, tags, model, owner and date, and the
//! state of its processing job (which its owner can retry when it failed).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::asset_collections::{CollectionForms, CollectionLists, InCollections};
use super::asset_edit::EditForm;
use super::asset_history::HistoryPanel;
use super::featured::FeatureButton;
use super::notice::ErrorNotice;
use crate::api::{get_asset, get_asset_revisions, RetryJob, RevertAsset, TrashAsset, UpdateAsset};
use crate::components::pwa::{remember_viewed, OfflineRecord};
use crate::components::share::{page_share_token, with_share, ShareLinkForm};
use crate::components::ShareButton;
use crate::components::{use_auth, LikeButton};
use crate::featured::FeatureKind;
use crate::model::{
    format_duration, percent_encode, short_datetime, title_text, AssetDetail, AssetHistory,
    Generation, MediaType,
};
use crate::model::{JobInfo, JobState, Visibility};
use crate::units::format_bytes;

#[component]
pub fn AssetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let retry = ServerAction::<RetryJob>::new();
    let update = ServerAction::<UpdateAsset>::new();
    let revert = ServerAction::<RevertAsset>::new();
    let auth = use_auth();
    let collections = CollectionForms::new();
    let share = crate::components::share::page_share_token();
    let asset = Resource::new(
        move || {
            (
                id(),
                share.clone(),
                retry.version().get(),
                update.version().get(),
                revert.version().get(),
                collections.version(),
                auth.version(),
            )
        },
        |(id, share, ..)| async move {
            let asset = get_asset(id.clone(), share).await?;
            // Its history with it, for whoever may edit it; the page does without when
            // that cannot be read.
            let history = if asset.can_delete {
                get_asset_revisions(id.clone()).await.ok()
            } else {
                None
            };
            // Its collections with it, in the same resource: a page of a missing asset
            // and of one the person may not see must be alike, byte for byte.
            let lists = CollectionLists::read(id).await;
            Ok::<_, crate::error::ApiError>((asset, history, lists))
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match asset.await {
                    Ok((asset, history, lists)) => {
                        let me = auth.me.await;
                        let admin = me.as_ref().is_some_and(|me| me.role == crate::account::Role::Admin);
                        let me = me.map(|me| me.username);
                        view! { <AssetView asset history retry update revert me admin collections lists/> }.into_any()
                    }
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
fn AssetView(
    asset: AssetDetail,
    history: Option<AssetHistory>,
    retry: ServerAction<RetryJob>,
    update: ServerAction<UpdateAsset>,
    revert: ServerAction<RevertAsset>,
    /// Who is looking (their username).
    me: Option<String>,
    /// They are an admin (who features assets).
    admin: bool,
    collections: CollectionForms,
    lists: CollectionLists,
) -> impl IntoView {
    let logged_in = me.is_some();
    let edit = asset
        .can_delete
        .then(|| view! { <EditForm asset=asset.clone() update/> });
    let history = history.map(|history| {
        view! { <HistoryPanel asset_id=asset.summary.id.clone() history revert/> }
    });
    let s = asset.summary;
    let (w, h) = (s.width.unwrap_or(1), s.height.unwrap_or(1));
    let style = format!("aspect-ratio: {w} / {h}");
    let media = match (s.media_type, asset.media_url.clone()) {
        (MediaType::Video, Some(src)) => view! {
            <video src=src poster=s.preview_url.clone() controls=true preload="metadata" width=w height=h></video>
        }
        .into_any(),
        (MediaType::Image, Some(src)) => {
            // The 1024 px still when there is one; the original is a click away.
            let shown = s.preview_url.clone().unwrap_or_else(|| src.clone());
            view! {
                <a href=src class="original-link">
                    <img src=shown alt=s.title.clone() width=w height=h/>
                </a>
            }
            .into_any()
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
    let file = asset.mime_type.clone().map(|mime| match asset.byte_size {
        Some(bytes) => format!("{mime}, {}", format_bytes(bytes)),
        None => mime,
    });
    let created = short_datetime(&s.created_at);
    let prompt = s.prompt.clone();
    let negative = (!asset.negative_prompt.is_empty()).then_some(asset.negative_prompt.clone());
    let metadata_note = match (&asset.generation, asset.raw_metadata_present) {
        (None, true) => {
            Some("Raw metadata present, not understood: atelier keeps it with the file.")
        }
        _ => None,
    };
    let dropped_note = asset.metadata_dropped.clone().map(|what| {
        format!("Some of this file's metadata was too large and was not kept: {what}.")
    });
    // Its owner may take the raw text away (a download, not a page: the router must not
    // take the link).
    let raw_link = (asset.is_mine && asset.raw_metadata_present)
        .then(|| format!("/api/asset/metadata?id={}", percent_encode(&s.id, false)));
    let asset_id = s.id.clone();
    // Its owner shares an unlisted or private asset by a link.
    let share = (asset.is_mine && s.visibility != Visibility::Public).then(|| {
        view! {
            <ShareLinkForm kind=crate::share::SharedKind::Asset target=s.id.clone()/>
        }
    });
    // Admins feature public assets (and may take back a pick whatever it has become).
    let featured = s.featured.is_some();
    let feature = if admin && (featured || s.visibility == Visibility::Public) {
        Some(view! { <FeatureButton kind=FeatureKind::Asset id=s.id.clone() featured/> })
    } else {
        None
    };
    let badge = (featured && feature.is_none())
        .then(|| view! { <span class="featured-badge">"★ Featured"</span> });
    // Kept on this device for the offline page (in the browser, once drawn).
    let record = OfflineRecord {
        id: s.id.clone(),
        title: s.title.clone(),
        owner: s.owner.clone(),
        prompt: s.prompt.clone(),
        model: s.model.clone().unwrap_or_default(),
        video: s.media_type == MediaType::Video,
        width: s.width.unwrap_or(0),
        height: s.height.unwrap_or(0),
        tags: s.tags.clone(),
        thumb: s.thumb_url.clone().unwrap_or_default(),
        preview: s.preview_url.clone().unwrap_or_default(),
        public: s.visibility != Visibility::Private,
    };
    Effect::new(move || remember_viewed(record.clone()));
    let shared_path = with_share(&format!("/a/{}", s.id), &page_share_token());
    let views = if s.views == 1 {
        "1 view".to_string()
    } else {
        format!("{} views", crate::units::thousands(s.views))
    };
    view! {
        <Title text=title_text(&format!("{} · atelier", s.title))/>
        <article class="page asset-detail">
            <div class="media" style=style>{media}</div>
            <div class="facts">
                <h1>{s.title.clone()}</h1>
                <p class="card-meta">
                    "by " <a class="owner" href=format!("/u/{}", percent_encode(&s.owner, false))>{s.owner.clone()}</a> " · "
                    <time datetime=s.created_at.to_rfc3339()>{created}</time>
                    {match s.visibility {
                        Visibility::Public => None,
                        Visibility::Unlisted => Some(" · unlisted: only people with its link can see this"),
                        Visibility::Private if asset.is_mine => Some(" · only you can see this"),
                        Visibility::Private => Some(" · private: shown to you through a collection or a link"),
                    }}
                </p>
                <div class="appreciation">
                    <LikeButton id=s.id.clone() title=s.title.clone() liked=s.liked likes=s.likes logged_in/>
                    <ShareButton title=s.title.clone() path=shared_path/>
                    <span class="views">{views}</span>
                    {badge}
                    {feature}
                </div>
                <div class="prompt-head">
                    <h2>"Prompt"</h2>
                    {(!prompt.is_empty()).then(|| view! { <CopyButton text=prompt.clone()/> })}
                </div>
                <p class="prompt">{prompt.clone()}</p>
                {negative.map(|text| view! {
                    <h2>"Negative prompt"</h2>
                    <p class="prompt negative">{text}</p>
                })}
                <dl>
                    <dt>"Type"</dt>
                    <dd>{kind}</dd>
                    {s.model.map(|m| view! { <dt>"Model"</dt> <dd>{m}</dd> })}
                    {size.map(|size| view! { <dt>"Size"</dt> <dd>{size}</dd> })}
                    {file.map(|file| view! { <dt>"File"</dt> <dd>{file}</dd> })}
                    {asset.original_filename.map(|name| view! { <dt>"Uploaded as"</dt> <dd>{name}</dd> })}
                </dl>
                {asset.generation.map(|g| view! { <Parameters generation=g/> })}
                {metadata_note.map(|note| view! { <p class="hint metadata-note">{note}</p> })}
                {dropped_note.map(|note| view! { <p class="hint metadata-dropped">{note}</p> })}
                {raw_link.map(|href| view! {
                    <p class="hint"><a href=href download="" rel="external">"Download the raw metadata (JSON)"</a></p>
                })}
                <ul class="tags">
                    {s
                        .tags
                        .into_iter()
                        .map(|t| {
                            let href = format!("/t/{}", percent_encode(&t, false));
                            view! { <li><a href=href rel="tag">{t}</a></li> }
                        })
                        .collect_view()}
                </ul>
                {view! {
                    <InCollections forms=collections lists asset_id=asset_id.clone() asset_owner=s.owner.clone() me/>
                }
                .into_any()}
                {asset.job.map(|job| view! { <JobStatus job is_mine=asset.is_mine asset_id=asset_id.clone() retry/> })}
                {edit}
                {history}
                {share.map(IntoAny::into_any)}
                {asset.can_delete.then(|| view! { <TrashForm asset_id=asset_id.clone() is_mine=asset.is_mine/> })}
            </div>
        </article>
    }
}

/// Deleting the asset: one click moves it to its owner's trash, where it can be restored
/// until it is purged. Without JavaScript the form posts and the server sends the browser
/// to `/trash`.
#[component]
fn TrashForm(asset_id: String, is_mine: bool) -> impl IntoView {
    let trash = ServerAction::<TrashAsset>::new();
    let error = move || {
        trash
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    };
    let whose = if is_mine { "your" } else { "its owner's" };
    view! {
        <ActionForm action=trash attr:class="trash-asset">
            <input type="hidden" name="id" value=asset_id/>
            <button type="submit" class="button danger">"Delete"</button>
            <span class="hint">{format!(" Moves it to {whose} trash, where it can be restored.")}</span>
        </ActionForm>
        {error}
    }
    .into_any()
}

/// The generation settings the file carried.
#[component]
fn Parameters(generation: Generation) -> impl IntoView {
    let g = generation;
    let size = g.width.zip(g.height).map(|(w, h)| format!("{w} × {h}"));
    let loras = (!g.loras.is_empty()).then(|| {
        g.loras
            .iter()
            .map(|l| match l.weight {
                Some(w) => format!("{} ({w})", l.name),
                None => l.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let row = |name: &'static str, value: Option<String>| {
        value.map(|value| view! { <dt>{name}</dt> <dd>{value}</dd> })
    };
    view! {
        <h2>"Parameters"</h2>
        <dl class="parameters">
            {row("Made with", g.tool.map(|t| tool_name(&t)))}
            {row("Sampler", g.sampler)}
            {row("Steps", g.steps.map(|v| v.to_string()))}
            {row("CFG scale", g.cfg.map(|v| v.to_string()))}
            {row("Seed", g.seed.map(|v| v.to_string()))}
            {row("Generated at", size)}
            {row("LoRAs", loras)}
        </dl>
    }
}

fn tool_name(tool: &str) -> String {
    match tool {
        "a1111" => "A1111 / Forge",
        "comfyui" => "ComfyUI",
        "invokeai" => "InvokeAI",
        "novelai" => "NovelAI",
        "fooocus" => "Fooocus",
        other => other,
    }
    .to_string()
}

/// Copies the prompt (hydrated; without JavaScript the text is there to select).
#[component]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = StoredValue::new(text);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let ok = crate::upload_client::copy_text(&text.get_value()).await;
            copied.set(ok);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    };
    view! {
        <button type="button" class="button small copy" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

#[component]
fn JobStatus(
    job: JobInfo,
    is_mine: bool,
    asset_id: String,
    retry: ServerAction<RetryJob>,
) -> impl IntoView {
    let text = match job.state {
        JobState::Pending => "Thumbnails are queued.".to_string(),
        JobState::Processing => format!("Making thumbnails… {}%", job.progress),
        JobState::Done => match &job.error {
            Some(note) => format!("Processed; {note}."),
            None => return ().into_any(),
        },
        JobState::Failed => format!(
            "Making thumbnails failed: {}",
            job.error.clone().unwrap_or_default()
        ),
    };
    let can_retry = is_mine && job.state == JobState::Failed;
    view! {
        <div class="job" data-state=job.state.as_str()>
            <p class="hint">{text}</p>
            {can_retry.then(|| view! {
                <ActionForm action=retry>
                    <input type="hidden" name="asset_id" value=asset_id.clone()/>
                    <button type="submit" class="button">"Try again"</button>
                </ActionForm>
            })}
        </div>
    }
    .into_any()
}
