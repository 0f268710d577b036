//! "Share" on an asset: the system's share sheet where the browser has one (Web Share),
//! else the page's address copied. It needs JavaScript, so it shows once the page is
//! hydrated (without it, the address bar is the link).

use leptos::prelude::*;

/// What the button last did, for its label.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Shared {
    Not,
    Copied,
    CouldNot,
}

/// Shares `path` (this site's, e.g. `/a/{id}`, with a share link's token when the page was
/// opened through one) under `title`.
#[component]
pub fn ShareButton(title: String, path: String) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    let state = RwSignal::new(Shared::Not);
    Effect::new(move || hydrated.set(true));
    let what = StoredValue::new((title, path));
    let share = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let (title, path) = what.get_value();
            state.set(client::share(&title, &path).await);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = what;
    };
    let label = move || match state.get() {
        Shared::Not => "Share",
        Shared::Copied => "Link copied",
        Shared::CouldNot => "Could not share",
    };
    move || {
        hydrated.get().then(|| {
            view! {
                <button type="button" class="button small share-out" on:click=share aria-live="polite">
                    {label}
                </button>
            }
        })
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use js_sys::{Function, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::Shared;

    pub async fn share(title: &str, path: &str) -> Shared {
        let Some(window) = web_sys::window() else {
            return Shared::CouldNot;
        };
        let url = match window.location().origin() {
            Ok(origin) => format!("{origin}{path}"),
            Err(_) => return Shared::CouldNot,
        };
        let navigator = window.navigator();
        // `navigator.share` where there is one (phones; not every desktop browser).
        let system = Reflect::get(&navigator, &"share".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(share) = system {
            let data = Object::new();
            let _ = Reflect::set(&data, &"title".into(), &JsValue::from_str(title));
            let _ = Reflect::set(&data, &"url".into(), &JsValue::from_str(&url));
            if let Ok(promise) = share.call1(&navigator, &data) {
                match JsFuture::from(js_sys::Promise::from(promise)).await {
                    Ok(_) => return Shared::Not,
                    // The person closed the sheet: nothing to do.
                    Err(error) if error_name(&error) == "AbortError" => return Shared::Not,
                    // Not allowed here (or no target): copying still works.
                    Err(_) => {}
                }
            }
        }
        if crate::upload_client::copy_text(&url).await {
            Shared::Copied
        } else {
            Shared::CouldNot
        }
    }

    fn error_name(error: &JsValue) -> String {
        Reflect::get(error, &"name".into())
            .ok()
            .and_then(|name| name.as_string())
            .unwrap_or_default()
    }
}
