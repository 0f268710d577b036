//! `/s/{token}`: a share link. It counts as opened and goes on to what it opens, the token
//! carried along (`/c/{id}?s=…`, `/a/{id}?s=…`); one that expired, was revoked or never
//! existed says so.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_params_map};

use super::notice::ErrorNotice;
use crate::api::open_share;

#[component]
pub fn SharePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let opened = Resource::new(token, open_share);
    view! {
        <Title text="Shared with you · atelier"/>
        <Suspense fallback=|| view! { <p class="loading">"Opening…"</p> }>
            {move || Suspend::new(async move {
                match opened.await {
                    Ok(opened) => view! { <Redirect path=opened.path/> }.into_any(),
                    Err(error) => view! {
                        <section class="page narrow">
                            <ErrorNotice error/>
                            <p><a href="/">"Go to the gallery"</a></p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
