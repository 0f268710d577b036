//! The HTML document around the app. Only the server renders it.

use leptos::{nonce::use_nonce, prelude::*};
use leptos_meta::MetaTags;

use crate::App;

/// URLs of the built front-end files, with content hashes in their names. The server's
/// build script fills this in from what cargo-leptos produced; any of them may be missing
/// when the server was built without the front end (then pages still render, unhydrated).
#[derive(Clone, Copy, Debug, Default)]
pub struct SiteAssets {
    pub js: Option<&'static str>,
    pub wasm: Option<&'static str>,
    pub css: Option<&'static str>,
}

pub fn shell(site: SiteAssets) -> impl IntoView {
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark light"/>
                <meta name="theme-color" content="#15171c"/>
                <meta name="description" content="A gallery of AI-generated images and videos, with the prompts that made them."/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/icon-192.png"/>
                {site.css.map(|href| view! { <link rel="stylesheet" href=href/> })}
                {site.js.zip(site.wasm).map(|(js, wasm)| view! { <Hydrate js wasm/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Allows only our own files, plus inline scripts carrying this response's nonce (the
/// hydration script and the serialized resources Leptos writes).
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
         form-action 'self'"
    )
}

/// Every page gets a fresh nonce (leptos_axum provides it) and the policy naming it.
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&content_security_policy(&nonce.to_string())) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
    // Pages name who is logged in: never from a shared cache, always revalidated.
    response.insert_header(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("private, no-cache"),
    );
}

/// Loads the WASM and hydrates the page (what leptos' `HydrationScripts` does, but with
/// the hashed file names this binary carries).
#[component]
fn Hydrate(js: &'static str, wasm: &'static str) -> impl IntoView {
    let nonce = use_nonce();
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let script = format!(
        "import init, {{ hydrate }} from {js};\ninit({{ module_or_path: {wasm} }}).then(hydrate);",
        js = quote(js),
        wasm = quote(wasm),
    );
    view! {
        <link rel="modulepreload" href=js nonce=nonce.clone()/>
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="" nonce=nonce.clone()/>
        <script type="module" nonce=nonce>{script}</script>
    }
}
