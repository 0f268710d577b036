//! Files shared into atelier from another app (the manifest's `share_target`): the service
//! worker receives the share's POST, keeps each file in the `atelier-shared` cache and
//! sends the person to `/upload`, which offers them (any site can post to the share
//! target, so the person says they want them) and then takes them as if chosen there. A
//! file stays kept until it is published, cancelled or discarded, so logging in first, or
//! closing the app halfway, loses nothing. Browser only.

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Cache, File, FilePropertyBag, Request, Response};

/// The service worker's cache of shared files (`SHARED` in `server/pwa/sw.js`).
const SHARED: &str = "atelier-shared";

async fn cache() -> Option<Cache> {
    let caches = web_sys::window()?.caches().ok()?;
    let there = JsFuture::from(caches.has(SHARED)).await.ok()?;
    if !there.as_bool().unwrap_or(false) {
        return None;
    }
    JsFuture::from(caches.open(SHARED))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// Every kept file, oldest share first, with the key that forgets it.
pub async fn kept() -> Vec<(String, File)> {
    let Some(cache) = cache().await else {
        return Vec::new();
    };
    let Some(keys) = JsFuture::from(cache.keys())
        .await
        .ok()
        .and_then(|keys| keys.dyn_into::<Array>().ok())
    else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for key in keys.iter() {
        let Ok(request) = key.dyn_into::<Request>() else {
            continue;
        };
        if let Some(file) = file_of(&cache, &request).await {
            files.push((request.url(), file));
        }
    }
    files
}

/// The file kept under `request`: its bytes, and its name, type and date from the
/// headers the worker stored with them.
async fn file_of(cache: &Cache, request: &Request) -> Option<File> {
    let response: Response = JsFuture::from(cache.match_with_request(request))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    let headers = response.headers();
    let header = |name: &str| headers.get(name).ok().flatten().unwrap_or_default();
    let name = js_sys::decode_uri_component(&header("x-file-name"))
        .ok()
        .map(String::from)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "shared file".to_string());
    let blob: Blob = JsFuture::from(response.blob().ok()?)
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    let options = FilePropertyBag::new();
    options.set_type(&header("content-type"));
    if let Ok(modified) = header("x-last-modified").parse::<f64>() {
        options.set_last_modified(modified);
    }
    File::new_with_blob_sequence_and_options(&Array::of1(&blob), &name, &options).ok()
}

/// Forgets the file kept under `key` (its upload is over).
pub async fn forget(key: String) {
    if let Some(cache) = cache().await {
        let _ = JsFuture::from(cache.delete_with_str(&key)).await;
    }
}
