//! `/upload`: without JavaScript, one plain multipart form that uploads one file. Hydrated,
//! the same page takes several files (chosen or dropped): each gets a card with a preview,
//! a progress bar, pause / resume / cancel, and its own form, pre-filled with what the
//! file's metadata says once every byte is in. Uploads go in chunks and resume where the
//! server says it is after a dropped connection, a pause, or a reload of the page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::notice::ErrorNotice;
use crate::api::upload_limits;
use crate::error::ApiError;
use crate::model::Visibility;
use crate::units::format_bytes;
use crate::upload::{UploadLimits, MAX_MODEL_LEN, MAX_PROMPT_LEN, MAX_TITLE_LEN};

/// What the file input accepts (the server checks the content, whatever this says).
const ACCEPT: &str = "image/png,image/jpeg,image/webp,image/gif,image/avif,video/mp4,\
                      video/quicktime,video/webm,.png,.jpg,.jpeg,.webp,.gif,.avif,.mp4,.mov,.webm";

#[component]
pub fn UploadPage() -> impl IntoView {
    let limits = Resource::new(|| (), |_| upload_limits());
    view! {
        <Title text="Upload · atelier"/>
        <section class="page upload">
            <h1>"Upload"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match limits.await {
                        Ok(limits) => view! { <Uploader limits/> }.into_any(),
                        Err(ApiError::Unauthorized(_)) => {
                            view! { <Redirect path="/login?next=/upload"/> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Uploader(limits: UploadLimits) -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query
            .read()
            .get("error")
            .filter(|e| !e.is_empty())
            .map(|message| view! { <ErrorNotice error=ApiError::BadRequest(message)/> })
    };
    // A share from another app that brought nothing this page can take.
    let shared = move || {
        let note = match query.read().get("shared").as_deref() {
            Some("lost") => "The files shared with atelier did not reach this device's copy of the app. Open atelier once, then share them again.",
            Some("0") => "That share held no image or video to upload.",
            Some("failed") => "The files shared with atelier could not be kept on this device (is it full?). Share them again, or choose them here.",
            _ => return None,
        };
        Some(view! { <div class="notice error" role="alert"><p>{note}</p></div> })
    };
    // Server-rendered and first client render agree (false); the effect then switches
    // the page to the multi-file uploader.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move || set_hydrated.set(true));
    let left = limits
        .quota_bytes
        .saturating_sub(limits.used_bytes)
        .saturating_sub(limits.open_upload_bytes);
    let held = (limits.open_uploads > 0).then(|| {
        format!(
            " ({} held by {} unfinished upload{}, until published or cancelled)",
            format_bytes(limits.open_upload_bytes),
            limits.open_uploads,
            if limits.open_uploads == 1 { "" } else { "s" }
        )
    });
    view! {
        <p class="hint">
            "Images up to " {format_bytes(limits.max_image_bytes)} ", videos up to "
            {format_bytes(limits.max_video_bytes)} " (5 minutes). You have "
            <strong>{format_bytes(left)}</strong> " left of your " {format_bytes(limits.quota_bytes)}
            " storage" {held} "."
        </p>
        {error}
        {shared}
        <Show when=move || hydrated.get() fallback=move || view! { <PlainForm/> }>
            <MultiUploader chunk_size=limits.chunk_size/>
        </Show>
    }
}

/// The form that works without JavaScript: fields first, the file last (the server reads
/// the fields before it streams the file).
#[component]
fn PlainForm() -> impl IntoView {
    view! {
        <form class="upload-form plain" method="post" action="/api/upload/form" enctype="multipart/form-data">
            <MetadataFields prefix="plain".to_string() card=None/>
            <div class="field">
                <label for="plain-file">"File"</label>
                <input id="plain-file" type="file" name="file" accept=ACCEPT required=true/>
                <p class="hint">
                    "Leave the prompt and model empty to use what the file says (ComfyUI, A1111, Forge, InvokeAI, NovelAI, Fooocus)."
                </p>
            </div>
            <button type="submit" class="button primary">"Upload"</button>
        </form>
    }
}

/// Title, prompt, negative prompt, tags, model and visibility. On a card the fields are
/// bound to its signals; in the plain form they are ordinary named inputs.
#[component]
fn MetadataFields(prefix: String, card: Option<Card>) -> impl IntoView {
    let id = move |name: &str| format!("{prefix}-{name}");
    let bind = move |get: fn(&Card) -> RwSignal<String>| card.as_ref().map(get);
    let title = bind(|c| c.title);
    let prompt = bind(|c| c.prompt);
    let negative = bind(|c| c.negative_prompt);
    let tags = bind(|c| c.tags);
    let model = bind(|c| c.model);
    let visibility = bind(|c| c.visibility);
    let list_id = id("tag-suggestions");
    let suggestions = RwSignal::new(Vec::<String>::new());
    let on_tags = move |value: String| {
        if let Some(tags) = tags {
            tags.set(value.clone());
        }
        suggest(value, suggestions);
    };
    view! {
        <div class="field">
            <label for=id("title")>"Title"</label>
            <input id=id("title") name="title" maxlength=MAX_TITLE_LEN placeholder="From the file name when empty"
                prop:value=move || title.map(|s| s.get()).unwrap_or_default()
                on:input=move |ev| { if let Some(s) = title { s.set(event_target_value(&ev)) } }/>
        </div>
        <div class="field">
            <label for=id("prompt")>"Prompt"</label>
            <textarea id=id("prompt") name="prompt" rows="3" maxlength=MAX_PROMPT_LEN
                prop:value=move || prompt.map(|s| s.get()).unwrap_or_default()
                on:input=move |ev| { if let Some(s) = prompt { s.set(event_target_value(&ev)) } }></textarea>
        </div>
        <div class="field">
            <label for=id("negative")>"Negative prompt"</label>
            <textarea id=id("negative") name="negative_prompt" rows="2" maxlength=MAX_PROMPT_LEN
                prop:value=move || negative.map(|s| s.get()).unwrap_or_default()
                on:input=move |ev| { if let Some(s) = negative { s.set(event_target_value(&ev)) } }></textarea>
        </div>
        <div class="field-row">
            <div class="field">
                <label for=id("tags")>"Tags"</label>
                <input id=id("tags") name="tags" list=list_id.clone() autocomplete="off" placeholder="portrait, neon, city"
                    prop:value=move || tags.map(|s| s.get()).unwrap_or_default()
                    on:input=move |ev| on_tags(event_target_value(&ev))/>
                <datalist id=list_id>
                    {move || suggestions.get().into_iter().map(|s| view! { <option value=s></option> }).collect_view()}
                </datalist>
            </div>
            <div class="field">
                <label for=id("model")>"Model"</label>
                <input id=id("model") name="model" maxlength=MAX_MODEL_LEN
                    prop:value=move || model.map(|s| s.get()).unwrap_or_default()
                    on:input=move |ev| { if let Some(s) = model { s.set(event_target_value(&ev)) } }/>
            </div>
            <div class="field">
                <label for=id("visibility")>"Visibility"</label>
                <select id=id("visibility") name="visibility"
                    prop:value=move || visibility.map(|s| s.get()).unwrap_or_else(|| "public".into())
                    on:change=move |ev| { if let Some(s) = visibility { s.set(event_target_value(&ev)) } }>
                    {Visibility::ALL
                        .map(|v| view! { <option value=v.as_str()>{v.label()}</option> })
                        .collect_view()}
                </select>
            </div>
        </div>
    }
    // Erased: the card's view type would otherwise nest too deep for release builds.
    .into_any()
}

/// Offers existing tags for the last, unfinished tag of a comma-separated list.
pub(super) fn suggest(value: String, suggestions: RwSignal<Vec<String>>) {
    let (done, last) = match value.rsplit_once(',') {
        Some((done, last)) => (format!("{done}, "), last.trim().to_string()),
        None => (String::new(), value.trim().to_string()),
    };
    if last.is_empty() {
        suggestions.set(Vec::new());
        return;
    }
    leptos::task::spawn_local(async move {
        if let Ok(tags) = crate::api::suggest_tags(Some(last)).await {
            suggestions.set(tags.into_iter().map(|t| format!("{done}{t}")).collect());
        }
    });
}

/// Where one file's upload is. (The server only ever renders `Waiting` cards: none.)
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Phase {
    Waiting,
    Sending,
    /// Lost the connection; trying again (the message says when).
    Retrying(String),
    Paused,
    /// All bytes are in; the server is reading the file.
    Checking,
    /// Recognised; waiting for the person to publish.
    Ready,
    Publishing,
    Done(String),
    Failed(String),
    Cancelled,
}

impl Phase {
    /// Nothing more happens to this file on this page.
    fn is_over(&self) -> bool {
        matches!(self, Phase::Done(_) | Phase::Failed(_) | Phase::Cancelled)
    }
}

/// One chosen file and its upload.
#[derive(Clone, Copy)]
struct Card {
    key: usize,
    name: StoredValue<String>,
    size: u64,
    is_video: bool,
    preview: StoredValue<Option<String>>,
    #[cfg(feature = "hydrate")]
    file: StoredValue<web_sys::File, LocalStorage>,
    #[cfg(feature = "hydrate")]
    request: StoredValue<Option<web_sys::XmlHttpRequest>, LocalStorage>,
    /// The key of the shared file this card uploads, forgotten once the upload is over.
    #[cfg(feature = "hydrate")]
    shared: StoredValue<Option<String>>,
    upload_id: RwSignal<Option<String>>,
    received: RwSignal<u64>,
    /// Bytes of the chunk in flight that have left the browser.
    in_flight: RwSignal<u64>,
    phase: RwSignal<Phase>,
    note: RwSignal<Option<String>>,
    title: RwSignal<String>,
    prompt: RwSignal<String>,
    negative_prompt: RwSignal<String>,
    tags: RwSignal<String>,
    model: RwSignal<String>,
    visibility: RwSignal<String>,
}

#[component]
fn MultiUploader(chunk_size: u64) -> impl IntoView {
    let cards = RwSignal::new(Vec::<Card>::new());
    let next_key = StoredValue::new(0usize);
    let dragging = RwSignal::new(false);
    // Files still on their way (or waiting to be published) are work a reload would lose:
    // the page does not offer to update to a new build meanwhile.
    let work = crate::components::pwa::use_unfinished_work();
    Effect::new(move || {
        let open = cards.with(|list| {
            list.iter()
                .filter(|card| !card.phase.with(Phase::is_over))
                .count()
        });
        work.set(open);
    });
    on_cleanup(move || work.set(0));
    let add_files = move |files: Vec<FileInfo>| {
        for info in files {
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            let card = Card::new(key, info);
            cards.update(|list| list.push(card));
            card.run(chunk_size);
        }
    };
    // Files shared from another app (kept by the service worker) wait for the person to
    // take them: any site can post to the share target, so nothing uploads unasked. Taken,
    // they go on as if chosen here.
    #[cfg(feature = "hydrate")]
    let shared = StoredValue::new_local(Vec::<(String, web_sys::File)>::new());
    let shared_count = RwSignal::new(0usize);
    Effect::new(move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let kept = crate::shared_in::kept().await;
            // (The page may have moved on meanwhile.)
            shared_count.try_set(kept.len());
            shared.try_set_value(kept);
        });
    });
    // The cards' signals belong to this uploader, not to the offer whose button adds them
    // (it goes away at once, and would take them along).
    let uploader = StoredValue::new_local(Owner::current());
    let take_shared = move |upload: bool| {
        #[cfg(feature = "hydrate")]
        {
            let files = shared.try_update_value(std::mem::take).unwrap_or_default();
            if upload {
                let add = |infos: Vec<FileInfo>| match uploader.get_value() {
                    Some(owner) => owner.with(|| add_files(infos)),
                    None => add_files(infos),
                };
                add(files
                    .into_iter()
                    .map(|(key, file)| FileInfo {
                        shared: Some(key),
                        ..file_info(file)
                    })
                    .collect());
            } else {
                for (key, _) in files {
                    leptos::task::spawn_local(crate::shared_in::forget(key));
                }
            }
            // Hiding the offer removes the button whose click runs this: after it returns.
            leptos::task::spawn_local(async move {
                shared_count.try_set(0);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (upload, uploader);
    };
    let shared_note = move || {
        let count = shared_count.get();
        (count > 0).then(|| {
            let what = if count == 1 {
                "1 file was shared with atelier from another app.".to_string()
            } else {
                format!("{count} files were shared with atelier from another app.")
            };
            view! {
                <div class="notice shared-files" role="status">
                    <p>
                        {what} " "
                        <button type="button" class="button small primary" on:click=move |_| take_shared(true)>"Upload them"</button>
                        " "
                        <button type="button" class="button small" on:click=move |_| take_shared(false)>"Discard"</button>
                    </p>
                </div>
            }
        })
    };
    let on_pick = move |ev: leptos::ev::Event| add_files(files_of_input(&ev));
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        add_files(files_of_drop(&ev));
    };
    view! {
        {shared_note}
        <div class="dropzone" class:dragging=move || dragging.get()
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <label for="upload-files" class="button primary">"Choose files"</label>
            <input id="upload-files" class="visually-hidden" type="file" multiple=true accept=ACCEPT on:change=on_pick/>
            <p>"or drop images and videos here. Several at once is fine."</p>
            <p class="hint">
                "An upload that stopped (a lost connection, a closed tab) goes on from where it was when you choose the same file again."
            </p>
        </div>
        <ul class="upload-cards">
            <For each=move || cards.get() key=|card| card.key let:card>
                <UploadCard card chunk_size/>
            </For>
        </ul>
    }
}

#[component]
fn UploadCard(card: Card, chunk_size: u64) -> impl IntoView {
    // A shared file is kept on the device until it is published or cancelled (a failed
    // upload can be tried again).
    Effect::new(move || {
        #[cfg(feature = "hydrate")]
        if card
            .phase
            .with(|phase| matches!(phase, Phase::Done(_) | Phase::Cancelled))
        {
            if let Some(key) = card.shared.try_update_value(Option::take).flatten() {
                leptos::task::spawn_local(crate::shared_in::forget(key));
            }
        }
    });
    let done = move || (card.received.get() + card.in_flight.get()).min(card.size);
    let percent = move || (done() * 100).checked_div(card.size).unwrap_or(100);
    let phase_text = move || match card.phase.get() {
        Phase::Waiting => "Waiting".to_string(),
        Phase::Sending => "Uploading".to_string(),
        Phase::Retrying(message) => message,
        Phase::Paused => "Paused".to_string(),
        Phase::Checking => "Checking the file…".to_string(),
        Phase::Ready => "Uploaded. Check the details, then publish.".to_string(),
        Phase::Publishing => "Publishing…".to_string(),
        Phase::Done(_) => "Published".to_string(),
        Phase::Failed(message) => message,
        Phase::Cancelled => "Cancelled".to_string(),
    };
    let moving = move || {
        matches!(
            card.phase.get(),
            Phase::Waiting | Phase::Sending | Phase::Retrying(_)
        )
    };
    let finished = move || matches!(card.phase.get(), Phase::Done(_) | Phase::Cancelled);
    let failed = move || matches!(card.phase.get(), Phase::Failed(_));
    let name = card.name.get_value();
    let preview = card.preview.get_value();
    let thumb = match (preview, card.is_video) {
        (Some(src), false) => view! { <img src=src alt=""/> }.into_any(),
        (Some(src), true) => {
            view! { <video src=src muted=true preload="metadata"></video> }.into_any()
        }
        (None, _) => view! { <span class="no-preview"></span> }.into_any(),
    };
    let publish = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        card.publish();
    };
    let controls = view! {
        <div class="upload-controls">
            <Show when=moving>
                <button type="button" class="button" on:click=move |_| card.pause()>"Pause"</button>
            </Show>
            <Show when=move || card.phase.get() == Phase::Paused || failed()>
                <button type="button" class="button" on:click=move |_| card.run(chunk_size)>
                    {move || if failed() { "Retry" } else { "Resume" }}
                </button>
            </Show>
            <Show when=move || !finished()>
                <button type="button" class="link-button" on:click=move |_| card.cancel()>"Cancel"</button>
            </Show>
        </div>
    }
    .into_any();
    view! {
        <li class="upload-card" data-phase=move || phase_class(&card.phase.get())>
            <div class="upload-preview">{thumb}</div>
            <form class="upload-body" on:submit=publish>
                <p class="upload-name">
                    <strong>{name}</strong>
                    " · " {format_bytes(card.size)}
                </p>
                <div class="upload-progress">
                    <progress max=card.size as f64 prop:value=move || done() as f64
                        aria-label="Upload progress"></progress>
                    <span class="upload-bytes">
                        {move || format!("{} of {} · {}%", format_bytes(done()), format_bytes(card.size), percent())}
                    </span>
                </div>
                <p class="upload-state" role="status">{phase_text}</p>
                {move || card.note.get().map(|note| view! { <p class="hint">{note}</p> })}
                {controls}
                <Show when=move || !finished()>
                    <MetadataFields prefix=format!("card{}", card.key) card=Some(card)/>
                    <button type="submit" class="button primary"
                        prop:disabled=move || card.phase.get() != Phase::Ready>
                        "Publish"
                    </button>
                </Show>
                {move || match card.phase.get() {
                    Phase::Done(url) => Some(view! { <p><a href=url>"View it"</a></p> }),
                    _ => None,
                }}
            </form>
        </li>
    }
    .into_any()
}

fn phase_class(phase: &Phase) -> &'static str {
    match phase {
        Phase::Waiting => "waiting",
        Phase::Sending => "sending",
        Phase::Retrying(_) => "retrying",
        Phase::Paused => "paused",
        Phase::Checking => "checking",
        Phase::Ready => "ready",
        Phase::Publishing => "publishing",
        Phase::Done(_) => "done",
        Phase::Failed(_) => "failed",
        Phase::Cancelled => "cancelled",
    }
}

/// A chosen file, as the page needs it.
struct FileInfo {
    name: String,
    size: u64,
    is_video: bool,
    #[cfg(feature = "hydrate")]
    file: web_sys::File,
    /// Shared into atelier from another app: the key the service worker keeps it under.
    #[cfg(feature = "hydrate")]
    shared: Option<String>,
}

#[cfg(feature = "hydrate")]
fn file_info(file: web_sys::File) -> FileInfo {
    FileInfo {
        name: file.name(),
        size: file.size() as u64,
        is_video: file.type_().starts_with("video/"),
        file,
        shared: None,
    }
}

#[cfg(feature = "hydrate")]
fn files_of_input(ev: &leptos::ev::Event) -> Vec<FileInfo> {
    use wasm_bindgen::JsCast;
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let files = input.files().map(list_files).unwrap_or_default();
    // Choosing the same file again must fire `change` again.
    input.set_value("");
    files
}

#[cfg(feature = "hydrate")]
fn files_of_drop(ev: &leptos::ev::DragEvent) -> Vec<FileInfo> {
    ev.data_transfer()
        .and_then(|dt| dt.files())
        .map(list_files)
        .unwrap_or_default()
}

#[cfg(feature = "hydrate")]
fn list_files(list: web_sys::FileList) -> Vec<FileInfo> {
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(file_info)
        .collect()
}

#[cfg(not(feature = "hydrate"))]
fn files_of_input(_: &leptos::ev::Event) -> Vec<FileInfo> {
    Vec::new()
}

#[cfg(not(feature = "hydrate"))]
fn files_of_drop(_: &leptos::ev::DragEvent) -> Vec<FileInfo> {
    Vec::new()
}

impl Card {
    fn new(key: usize, info: FileInfo) -> Card {
        #[cfg(feature = "hydrate")]
        let preview = crate::upload_client::preview_url(&info.file);
        #[cfg(not(feature = "hydrate"))]
        let preview = None;
        Card {
            key,
            name: StoredValue::new(info.name),
            size: info.size,
            is_video: info.is_video,
            preview: StoredValue::new(preview),
            #[cfg(feature = "hydrate")]
            file: StoredValue::new_local(info.file),
            #[cfg(feature = "hydrate")]
            request: StoredValue::new_local(None),
            #[cfg(feature = "hydrate")]
            shared: StoredValue::new(info.shared),
            upload_id: RwSignal::new(None),
            received: RwSignal::new(0),
            in_flight: RwSignal::new(0),
            phase: RwSignal::new(Phase::Waiting),
            note: RwSignal::new(None),
            title: RwSignal::new(String::new()),
            prompt: RwSignal::new(String::new()),
            negative_prompt: RwSignal::new(String::new()),
            tags: RwSignal::new(String::new()),
            model: RwSignal::new(String::new()),
            visibility: RwSignal::new("public".into()),
        }
    }

    /// Stops sending; the bytes the server has stay there.
    fn pause(self) {
        self.phase.set(Phase::Paused);
        #[cfg(feature = "hydrate")]
        if let Some(request) = self.request.get_value() {
            let _ = request.abort();
        }
    }

    /// Stops and forgets the upload, on this device and on the server.
    fn cancel(self) {
        self.phase.set(Phase::Cancelled);
        #[cfg(feature = "hydrate")]
        {
            if let Some(request) = self.request.get_value() {
                let _ = request.abort();
            }
            crate::upload_client::forget(&crate::upload_client::file_key(&self.file.get_value()));
            if let Some(url) = self.preview.get_value() {
                crate::upload_client::revoke(&url);
            }
        }
        if let Some(id) = self.upload_id.get_untracked() {
            leptos::task::spawn_local(async move {
                let _ = crate::api::cancel_upload(id).await;
            });
        }
    }

    fn publish(self) {
        let Some(upload_id) = self.upload_id.get_untracked() else {
            return;
        };
        self.phase.set(Phase::Publishing);
        leptos::task::spawn_local(async move {
            let result = crate::api::finish_upload(
                upload_id,
                Some(self.title.get_untracked()),
                Some(self.prompt.get_untracked()),
                Some(self.negative_prompt.get_untracked()),
                Some(self.tags.get_untracked()),
                Some(self.model.get_untracked()),
                Some(self.visibility.get_untracked()),
            )
            .await;
            match result {
                Ok(done) => {
                    #[cfg(feature = "hydrate")]
                    crate::upload_client::forget(&crate::upload_client::file_key(
                        &self.file.get_value(),
                    ));
                    self.note.set(None);
                    self.phase.set(Phase::Done(done.url));
                }
                #[cfg(feature = "hydrate")]
                Err(error) if crate::upload_client::later(&error) => {
                    // Still uploaded, and the server will have room again: published then.
                    let wait = crate::upload_client::LATER_FIRST_MS;
                    self.phase
                        .set(Phase::Retrying(crate::upload_client::waiting_note(
                            &error.to_string(),
                            wait,
                        )));
                    crate::upload_client::sleep(wait).await;
                    if matches!(self.phase.get_untracked(), Phase::Retrying(_)) {
                        self.publish();
                    }
                }
                Err(error) => {
                    // Still uploaded: fix the form and publish again.
                    self.note.set(Some(error.to_string()));
                    self.phase.set(Phase::Ready);
                }
            }
        });
    }

    /// Starts (or resumes) sending this file.
    fn run(self, chunk_size: u64) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move { self.send_all(chunk_size).await });
        #[cfg(not(feature = "hydrate"))]
        let _ = chunk_size;
    }

    #[cfg(feature = "hydrate")]
    fn stopped(self) -> bool {
        matches!(self.phase.get_untracked(), Phase::Paused | Phase::Cancelled)
    }

    #[cfg(feature = "hydrate")]
    fn fail(self, message: String) {
        self.phase.set(Phase::Failed(message));
    }

    #[cfg(feature = "hydrate")]
    async fn send_all(self, chunk_size: u64) {
        use crate::upload_client::{self as client, ChunkOutcome};
        let file = self.file.get_value();
        let key = client::file_key(&file);
        self.phase.set(Phase::Sending);
        self.note.set(None);

        // Resume an upload this device started before (a reload, a retry), if the server
        // still has it; otherwise start one.
        let known = self
            .upload_id
            .get_untracked()
            .or_else(|| client::recall(&key));
        let mut resumed = None;
        if let Some(id) = known {
            if let Ok(status) = crate::api::upload_status(id.clone()).await {
                if status.size == self.size && status.error.is_none() {
                    resumed = Some((id, status.received));
                }
            }
        }
        let (upload_id, mut received) = match resumed {
            Some(found) => found,
            None => {
                // A full disk or too many unfinished uploads is "not now": asked again.
                let mut wait = client::LATER_FIRST_MS;
                loop {
                    let started =
                        crate::api::start_upload(self.name.get_value(), self.size, None).await;
                    match started {
                        Ok(ticket) => break (ticket.upload_id, ticket.received),
                        Err(error) if client::later(&error) => {
                            self.phase.set(Phase::Retrying(client::waiting_note(
                                &error.to_string(),
                                wait,
                            )));
                            client::sleep(wait).await;
                            wait = (wait * 2).min(client::LATER_MAX_MS);
                            if self.stopped() {
                                return;
                            }
                        }
                        Err(error) => return self.fail(error.to_string()),
                    }
                }
            }
        };
        client::remember(&key, &upload_id);
        self.upload_id.set(Some(upload_id.clone()));

        self.received.set(received);
        let mut backoff = 1_000;
        let mut later = client::LATER_FIRST_MS;

        while received < self.size {
            if self.stopped() {
                return;
            }
            let end = (received + chunk_size).min(self.size);
            let Ok(blob) = file.slice_with_f64_and_f64(received as f64, end as f64) else {
                return self.fail("the browser cannot read this file".into());
            };
            self.phase.set(Phase::Sending);
            let in_flight = self.in_flight;
            let request = self.request;
            let outcome = client::send_chunk(
                &upload_id,
                received,
                &blob,
                move |sent| in_flight.set(sent as u64),
                move |xhr| request.set_value(Some(xhr)),
            )
            .await;
            self.request.set_value(None);
            self.in_flight.set(0);
            match outcome {
                ChunkOutcome::Sent { received: now } | ChunkOutcome::Resume { received: now } => {
                    received = now;
                    backoff = 1_000;
                    later = client::LATER_FIRST_MS;
                }
                ChunkOutcome::Later { message } => {
                    if self.stopped() {
                        return;
                    }
                    self.phase
                        .set(Phase::Retrying(client::waiting_note(&message, later)));
                    client::sleep(later).await;
                    later = (later * 2).min(client::LATER_MAX_MS);
                    if let Ok(status) = crate::api::upload_status(upload_id.clone()).await {
                        received = status.received;
                    }
                }
                ChunkOutcome::Refused { message, .. } => {
                    client::forget(&key);
                    return self.fail(message);
                }
                ChunkOutcome::Network => {
                    if self.stopped() {
                        return;
                    }
                    self.phase.set(Phase::Retrying(format!(
                        "Connection lost; trying again in {} s",
                        backoff / 1000
                    )));
                    client::sleep(backoff).await;
                    backoff = (backoff * 2).min(30_000);
                    if let Ok(status) = crate::api::upload_status(upload_id.clone()).await {
                        received = status.received;
                    }
                }
            }
            self.received.set(received);
        }

        self.phase.set(Phase::Checking);
        if self.is_video {
            // A poster frame drawn by this browser, so the video has a still even where the
            // server has no ffmpeg.
            if let Some(poster) = client::capture_poster(&file).await {
                client::send_poster(&upload_id, &poster).await;
            }
        }
        match crate::api::upload_status(upload_id).await {
            Ok(status) if status.complete => {
                let fill = |field: RwSignal<String>, value: Option<String>| {
                    if field.get_untracked().is_empty() {
                        if let Some(value) = value {
                            field.set(value);
                        }
                    }
                };
                let meta = status.metadata.clone().unwrap_or_default();
                fill(self.prompt, meta.prompt);
                fill(self.negative_prompt, meta.negative_prompt);
                fill(self.model, meta.model);
                if status.metadata.is_none() && status.raw_metadata_present {
                    self.note.set(Some(
                        "This file carries generation metadata atelier does not understand; it is kept with the upload."
                            .into(),
                    ));
                }
                self.phase.set(Phase::Ready);
            }
            Ok(status) => self.fail(
                status
                    .error
                    .unwrap_or_else(|| "the server could not read this file".into()),
            ),
            Err(error) => self.fail(error.to_string()),
        }
    }
}
