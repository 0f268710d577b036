//! The app on the device: registers the service worker (`/sw.js`, written in
//! `server/pwa/`), tells it who is logged in (what only they may see is dropped when that
//! changes) and which assets the person opens (kept for the offline page), and offers
//! "Reload to update" when a newer build's worker is waiting — never while the page holds
//! work a reload would lose, such as an upload.

use leptos::prelude::*;
use serde::Serialize;

use super::auth::use_auth;

/// How many things on this page a reload would lose (uploads not yet finished); while
/// there are any, the page does not offer to update.
#[derive(Clone, Copy)]
pub struct UnfinishedWork(RwSignal<usize>);

impl UnfinishedWork {
    pub fn set(&self, count: usize) {
        self.0.set(count);
    }
}

pub fn use_unfinished_work() -> UnfinishedWork {
    expect_context::<UnfinishedWork>()
}

/// A newer build's worker is installed and waiting for this page to let it take over.
#[derive(Clone, Copy)]
struct UpdateWaiting(RwSignal<bool>);

/// Longest prompt sent to the worker (it keeps no more either; the page shows all of it).
pub const MAX_RECORD_TEXT: usize = 4000;

/// What the offline page shows of an asset the person opened. The worker checks each
/// field again (`cleanRecord` in `sw.js`).
#[derive(Clone, Debug, Serialize)]
pub struct OfflineRecord {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub prompt: String,
    pub model: String,
    pub video: bool,
    pub width: u32,
    pub height: u32,
    pub tags: Vec<String>,
    /// `/media/…` addresses of its stills, as the page shows them.
    pub thumb: String,
    pub preview: String,
    /// Anyone with its address may see it (kept until evicted), or else only the person
    /// logged in (dropped when they log out).
    pub public: bool,
}

/// Provides the page's work counter and starts the worker (in the browser only).
pub fn provide_app_worker() {
    let work = UnfinishedWork(RwSignal::new(0));
    let waiting = UpdateWaiting(RwSignal::new(false));
    provide_context(work);
    provide_context(waiting);
    let auth = use_auth();
    // Effects run only in the browser.
    Effect::new(move || {
        #[cfg(feature = "hydrate")]
        client::register(waiting.0);
    });
    Effect::new(move || {
        // `None` while the question is still out.
        if let Some(me) = auth.me.get() {
            let user = me.map(|me| me.username);
            tell(&serde_json::json!({ "type": "who", "user": user }));
        }
    });
}

/// Keeps `record` for the offline page (in the browser; nothing on the server).
pub fn remember_viewed(mut record: OfflineRecord) {
    if let Some((cut, _)) = record.prompt.char_indices().nth(MAX_RECORD_TEXT) {
        record.prompt.truncate(cut);
    }
    tell(&serde_json::json!({ "type": "viewed", "asset": record }));
}

fn tell(message: &serde_json::Value) {
    #[cfg(feature = "hydrate")]
    client::tell(message.to_string());
    #[cfg(not(feature = "hydrate"))]
    let _ = message;
}

/// "A new version is ready · Reload to update", at the foot of the window; hidden while
/// the page has unfinished work.
#[component]
pub fn UpdatePrompt() -> impl IntoView {
    let work = use_unfinished_work();
    let waiting = expect_context::<UpdateWaiting>();
    let shown = move || waiting.0.get() && work.0.get() == 0;
    let update = move |_| {
        #[cfg(feature = "hydrate")]
        client::update_now();
    };
    move || {
        shown().then(|| {
            view! {
                <div class="update-prompt" role="status">
                    <span>"A new version of atelier is ready."</span>
                    <button type="button" class="button small primary" on:click=update>"Reload to update"</button>
                </div>
            }
        })
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use leptos::prelude::*;
    use wasm_bindgen::{prelude::Closure, JsCast};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration};

    /// Looks for a newer build at most this often while a page stays open (a page that
    /// navigates in place never loads `/sw.js` again by itself).
    const UPDATE_CHECK_EVERY_MS: f64 = 30.0 * 60.0 * 1000.0;

    /// The browser's service workers, where it has them (not on an insecure origin).
    fn container() -> Option<ServiceWorkerContainer> {
        let navigator = web_sys::window()?.navigator();
        js_sys::Reflect::has(&navigator, &"serviceWorker".into())
            .unwrap_or(false)
            .then(|| navigator.service_worker())
    }

    fn controlled() -> bool {
        container().and_then(|c| c.controller()).is_some()
    }

    pub fn register(waiting: RwSignal<bool>) {
        let Some(container) = container() else {
            return;
        };
        let promise = container.register("/sw.js");
        leptos::task::spawn_local(async move {
            let Ok(registration) = JsFuture::from(promise).await else {
                return;
            };
            let registration: ServiceWorkerRegistration = registration.unchecked_into();
            watch(&registration, waiting);
            check_now_and_then(registration);
        });
    }

    /// Notes a newer build's worker: one already waiting since an earlier visit, or one
    /// that finishes installing while this page runs under the current one.
    fn watch(registration: &ServiceWorkerRegistration, waiting: RwSignal<bool>) {
        if registration.waiting().is_some() && controlled() {
            waiting.set(true);
        }
        let watched = registration.clone();
        let on_found = Closure::<dyn FnMut()>::new(move || {
            let Some(worker) = watched.installing() else {
                return;
            };
            let seen = worker.clone();
            let on_state = Closure::<dyn FnMut()>::new(move || {
                if seen.state() == web_sys::ServiceWorkerState::Installed && controlled() {
                    waiting.set(true);
                }
            });
            worker.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        registration.set_onupdatefound(Some(on_found.as_ref().unchecked_ref()));
        on_found.forget();
    }

    /// Asks for `/sw.js` again whenever the page comes back into view, at most every
    /// [`UPDATE_CHECK_EVERY_MS`].
    fn check_now_and_then(registration: ServiceWorkerRegistration) {
        let last = std::cell::Cell::new(js_sys::Date::now());
        let handle = window_event_listener_untyped("visibilitychange", move |_| {
            let visible = document().visibility_state() == web_sys::VisibilityState::Visible;
            let now = js_sys::Date::now();
            if visible && now - last.get() >= UPDATE_CHECK_EVERY_MS {
                last.set(now);
                // Offline, the check fails; the next one will do.
                if let Ok(check) = registration.update() {
                    leptos::task::spawn_local(async move {
                        let _ = JsFuture::from(check).await;
                    });
                }
            }
        });
        // The listener lives as long as the page.
        std::mem::forget(handle);
    }

    /// Lets the waiting worker take over, then reloads once it has.
    pub fn update_now() {
        let Some(container) = container() else {
            return;
        };
        let reload = Closure::once_into_js(|| {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        });
        container.set_oncontrollerchange(Some(reload.unchecked_ref()));
        leptos::task::spawn_local(async move {
            let registration = JsFuture::from(container.get_registration())
                .await
                .ok()
                .and_then(|r| r.dyn_into::<ServiceWorkerRegistration>().ok());
            match registration.and_then(|r| r.waiting()) {
                Some(worker) => post(&worker, r#"{"type":"skip-waiting"}"#),
                // Already taken over (another tab let it): the page only needs reloading.
                None => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
            }
        });
    }

    /// Sends `json` to the worker that runs this site, once there is one (on a first
    /// visit it is still installing).
    pub fn tell(json: String) {
        let Some(ready) = container().and_then(|c| c.ready().ok()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let Ok(registration) = JsFuture::from(ready).await else {
                return;
            };
            let registration: ServiceWorkerRegistration = registration.unchecked_into();
            if let Some(worker) = registration.active() {
                post(&worker, &json);
            }
        });
    }

    fn post(worker: &ServiceWorker, json: &str) {
        if let Ok(message) = js_sys::JSON::parse(json) {
            let _ = worker.post_message(&message);
        }
    }
}
