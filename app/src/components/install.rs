//! "Install" in the header, where the browser offers to install atelier as an app (it
//! says so with `beforeinstallprompt`); gone once installed or declined.

use leptos::prelude::*;

#[component]
pub fn InstallButton() -> impl IntoView {
    let offered = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let offer = StoredValue::new_local(None::<web_sys::Event>);
    // Effects run only in the browser.
    Effect::new(move || {
        #[cfg(feature = "hydrate")]
        {
            let kept = window_event_listener_untyped("beforeinstallprompt", move |event| {
                // Ours to show, not the browser's own bar.
                event.prevent_default();
                offer.set_value(Some(event));
                offered.set(true);
            });
            let installed = window_event_listener_untyped("appinstalled", move |_| {
                offer.set_value(None);
                offered.set(false);
            });
            // The header lives as long as the page.
            std::mem::forget((kept, installed));
        }
    });
    let install = move |_| {
        offered.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(event) = offer.try_update_value(Option::take).flatten() {
            // `BeforeInstallPromptEvent.prompt()` (not in web-sys): the browser's dialog.
            let prompt = js_sys::Reflect::get(&event, &"prompt".into())
                .ok()
                .and_then(|f| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f).ok());
            if let Some(prompt) = prompt {
                let _ = prompt.call0(&event);
            }
        }
    };
    move || {
        offered.get().then(|| {
            view! {
                <button type="button" class="link-button install" on:click=install title="Install atelier as an app on this device">
                    "Install"
                </button>
            }
        })
    }
}
