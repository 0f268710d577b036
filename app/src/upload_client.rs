//! The browser side of resumable uploads: sending one chunk with progress (XHR, which
//! reports upload progress where `fetch` does not), remembering unfinished uploads across
//! reloads, and waiting between retries.

use wasm_bindgen::{closure::Closure, JsCast};
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
    /// The request never got an answer (offline, reset, aborted by pause).
    Network,
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

/// Sends `data` as the chunk at `offset` of `upload_id`. `progress` hears the bytes of this
/// chunk sent so far; `on_start` gets the request, so a pause can abort it.
pub async fn send_chunk(
    upload_id: &str,
    offset: u64,
    data: &Blob,
    progress: impl Fn(f64) + 'static,
    on_start: impl FnOnce(XmlHttpRequest),
) -> ChunkOutcome {
    let Ok(xhr) = XmlHttpRequest::new() else {
        return ChunkOutcome::Network;
    };
    let Ok(form) = FormData::new() else {
        return ChunkOutcome::Network;
    };
    // The fields before the data: the server reads them first.
    let _ = form.append_with_str("upload_id", upload_id);
    let _ = form.append_with_str("offset", &offset.to_string());
    let _ = form.append_with_blob_and_filename("data", data, "chunk");
    if xhr.open("POST", "/api/upload/chunk").is_err() {
        return ChunkOutcome::Network;
    }
    let _ = xhr.set_request_header("Accept", "application/json");

    let (done_tx, done_rx) = futures_channel();
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        progress(event.loaded());
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let done = {
        let done_tx = done_tx.clone();
        Closure::<dyn FnMut()>::new(move || done_tx.fire())
    };
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    on_start(xhr.clone());
    if xhr.send_with_opt_form_data(Some(&form)).is_err() {
        return ChunkOutcome::Network;
    }
    done_rx.await;
    drop(on_progress);
    drop(done);

    let status = xhr.status().unwrap_or(0);
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let received = json.get("received").and_then(serde_json::Value::as_u64);
    match (status, received) {
        (0, _) => ChunkOutcome::Network,
        (200, Some(received)) => ChunkOutcome::Sent { received },
        (409, Some(received)) => ChunkOutcome::Resume { received },
        // A chunk cut short: what arrived was kept.
        (400, Some(received)) if body.contains("cut short") => ChunkOutcome::Resume { received },
        (502..=504, _) => ChunkOutcome::Network,
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
