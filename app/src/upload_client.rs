//! The browser side of resumable uploads: sending one chunk with progress (XHR, which
//! reports upload progress where `fetch` does not), remembering unfinished uploads across
//! reloads, and waiting between retries.

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{Blob, File, FormData, ProgressEvent, XmlHttpRequest};

/// How a chunk went.
#[derive(Clone, Debug, PartialEq)]
pub enum ChunkOutcome {
    /// Taken: the server now has `received` bytes.
    Sent { received: u64 },
    /// The server has a different offset (another tab, a cut connection): continue there.
    Resume { received: u64 },
    /// Refused for good (not media, too large, quota): the message says why.
    Refused { status: u16, message: String },
    /// Not now (the server's disk is full): the chunk was not kept; send it again later.
    Later { message: String },
    /// The request never got an answer (offline, reset, aborted by pause).
    Network,
}

/// The first wait after the server said "not now" (a full disk, too many unfinished
/// uploads); each further wait doubles, up to [`LATER_MAX_MS`].
pub const LATER_FIRST_MS: i32 = 15_000;
pub const LATER_MAX_MS: i32 = 120_000;

/// Whether the server said "not now" rather than "no": asked again later, the same request
/// may succeed.
pub fn later(error: &crate::error::ApiError) -> bool {
    matches!(
        error,
        crate::error::ApiError::InsufficientStorage(_) | crate::error::ApiError::TooManyRequests(_)
    )
}

/// What a card says while it waits to ask again.
pub fn waiting_note(message: &str, wait_ms: i32) -> String {
    format!("{message} (trying again in {} s)", wait_ms / 1000)
}

/// A key that names one file on this device across reloads.
pub fn file_key(file: &File) -> String {
    format!(
        "atelier-upload:{}:{}:{}",
        file.name(),
        file.size() as u64,
        file.last_modified() as u64
    )
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The upload id this device started for `key`, if it is still unfinished.
pub fn recall(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn remember(key: &str, upload_id: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, upload_id);
    }
}

pub fn forget(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

/// An object URL for previewing a chosen file (revoke it when the card goes).
pub fn preview_url(file: &File) -> Option<String> {
    web_sys::Url::create_object_url_with_blob(file).ok()
}

pub fn revoke(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Copies text to the clipboard (the prompt's copy button).
pub async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// Posts `form` to `url`; answers the status (0: no answer) and the body. `progress`
/// hears the bytes sent so far; `on_start` gets the request, so a pause can abort it.
async fn post_form(
    url: &str,
    form: &FormData,
    progress: impl Fn(f64) + 'static,
    on_start: impl FnOnce(XmlHttpRequest),
) -> (u16, String) {
    let Ok(xhr) = XmlHttpRequest::new() else {
        return (0, String::new());
    };
    if xhr.open("POST", url).is_err() {
        return (0, String::new());
    }
    let _ = xhr.set_request_header("Accept", "application/json");
    let (done_tx, done_rx) = futures_channel();
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        progress(event.loaded());
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let done = Closure::<dyn FnMut()>::new(move || done_tx.fire());
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    on_start(xhr.clone());
    if xhr.send_with_opt_form_data(Some(form)).is_err() {
        return (0, String::new());
    }
    done_rx.await;
    drop(on_progress);
    drop(done);
    (
        xhr.status().unwrap_or(0),
        xhr.response_text().ok().flatten().unwrap_or_default(),
    )
}

/// Sends `data` as the chunk at `offset` of `upload_id`. `progress` hears the bytes of this
/// chunk sent so far; `on_start` gets the request, so a pause can abort it.
pub async fn send_chunk(
    upload_id: &str,
    offset: u64,
    data: &Blob,
    progress: impl Fn(f64) + 'static,
    on_start: impl FnOnce(XmlHttpRequest),
) -> ChunkOutcome {
    let Ok(form) = FormData::new() else {
        return ChunkOutcome::Network;
    };
    // The fields before the data: the server reads them first.
    let _ = form.append_with_str("upload_id", upload_id);
    let _ = form.append_with_str("offset", &offset.to_string());
    let _ = form.append_with_blob_and_filename("data", data, "chunk");
    let (status, body) = post_form("/api/upload/chunk", &form, progress, on_start).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let received = json.get("received").and_then(serde_json::Value::as_u64);
    match (status, received) {
        (0, _) => ChunkOutcome::Network,
        (200, Some(received)) => ChunkOutcome::Sent { received },
        (409, Some(received)) => ChunkOutcome::Resume { received },
        // A chunk cut short: what arrived was kept.
        (400, Some(received)) if body.contains("cut short") => ChunkOutcome::Resume { received },
        (502..=504, _) => ChunkOutcome::Network,
        (507, _) => ChunkOutcome::Later {
            message: json
                .get("message")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("the server is out of disk space")
                .to_string(),
        },
        (status, _) => ChunkOutcome::Refused {
            status,
            message: json
                .get("message")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("the server answered {status}")),
        },
    }
}

/// Resolves when `target` fires `event`; fails on `error` or after `timeout_ms`.
async fn next_event(target: &web_sys::EventTarget, event: &str, timeout_ms: i32) -> bool {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let _ = target.add_event_listener_with_callback(event, &resolve);
        let _ = target.add_event_listener_with_callback("error", &reject);
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&reject, timeout_ms);
        }
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// A JPEG frame from about a second into a video file (its middle when shorter), at most
/// 1024 px on its long side, drawn by the browser: the server has a poster even without
/// ffmpeg. `None` when this browser cannot decode the video.
pub async fn capture_poster(file: &File) -> Option<Blob> {
    let url = web_sys::Url::create_object_url_with_blob(file).ok()?;
    let frame = draw_frame(&url).await;
    revoke(&url);
    frame
}

async fn draw_frame(url: &str) -> Option<Blob> {
    let document = web_sys::window()?.document()?;
    let video: web_sys::HtmlVideoElement =
        document.create_element("video").ok()?.dyn_into().ok()?;
    video.set_muted(true);
    video.set_preload("auto");
    video.set_src(url);
    if !next_event(&video, "loadeddata", 15_000).await {
        return None;
    }
    let duration = video.duration();
    let at = if duration.is_finite() && duration > 0.0 {
        (duration / 2.0).min(1.0)
    } else {
        0.0
    };
    if at > 0.0 {
        video.set_current_time(at);
        if !next_event(&video, "seeked", 15_000).await {
            return None;
        }
    }
    let (width, height) = (video.video_width(), video.video_height());
    if width == 0 || height == 0 {
        return None;
    }
    let scale = (1024.0 / f64::from(width.max(height))).min(1.0);
    let (w, h) = (
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    );
    let canvas: web_sys::HtmlCanvasElement =
        document.create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(w);
    canvas.set_height(h);
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").ok()??.dyn_into().ok()?;
    context
        .draw_image_with_html_video_element_and_dw_and_dh(
            &video,
            0.0,
            0.0,
            f64::from(w),
            f64::from(h),
        )
        .ok()?;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = canvas.to_blob_with_type_and_encoder_options(
            &resolve,
            "image/jpeg",
            &JsValue::from_f64(0.85),
        );
    });
    let blob = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    blob.dyn_into::<Blob>().ok()
}

/// Sends a captured poster frame for `upload_id`. True when the server kept it.
pub async fn send_poster(upload_id: &str, poster: &Blob) -> bool {
    let Ok(form) = FormData::new() else {
        return false;
    };
    let _ = form.append_with_str("upload_id", upload_id);
    let _ = form.append_with_blob_and_filename("data", poster, "poster.jpg");
    let (status, _) = post_form("/api/upload/poster", &form, |_| {}, |_| {}).await;
    status == 200
}

/// A one-shot signal from a JS callback to an async task, without another dependency.
fn futures_channel() -> (Fire, Fired) {
    let promise_resolve = std::rc::Rc::new(std::cell::RefCell::new(None::<js_sys::Function>));
    let slot = promise_resolve.clone();
    let promise = js_sys::Promise::new(&mut move |resolve, _| {
        *slot.borrow_mut() = Some(resolve);
    });
    (
        Fire(promise_resolve),
        Fired(wasm_bindgen_futures::JsFuture::from(promise)),
    )
}

#[derive(Clone)]
struct Fire(std::rc::Rc<std::cell::RefCell<Option<js_sys::Function>>>);

impl Fire {
    fn fire(&self) {
        if let Some(resolve) = self.0.borrow_mut().take() {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    }
}

struct Fired(wasm_bindgen_futures::JsFuture);

impl std::future::Future for Fired {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
