use leptos::{ev::MouseEvent, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::ErrorNotice;
use crate::api::list_assets;
use crate::components::AssetCard;
use crate::model::{AssetPage, AssetSummary};

/// `/`: the newest assets. `?cursor=` shows a later page (what "Load more" links to
/// without JavaScript); hydrated, "Load more" appends the next page in place.
#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let cursor = move || query.read().get("cursor").filter(|c| !c.is_empty());
    let first_page = Resource::new(cursor, |cursor| list_assets(None, cursor));
    view! {
        <Title text="atelier · gallery"/>
        <section class="page">
            <h1 class="visually-hidden">"Gallery"</h1>
            {move || cursor().map(|_| view! { <p class="back"><a href="/">"← Newest"</a></p> })}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(page) => view! { <Gallery page/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Gallery(page: AssetPage) -> impl IntoView {
    if page.items.is_empty() {
        return view! {
            <div class="empty">
                <p>"No assets yet."</p>
                <p>"Fill the gallery with demo content: " <code>"atelier seed-demo --count 200"</code></p>
            </div>
        }
        .into_any();
    }
    let items: RwSignal<Vec<AssetSummary>> = RwSignal::new(page.items);
    let next = RwSignal::new(page.next_cursor);
    let loading = RwSignal::new(false);
    let failure = RwSignal::new(None);

    let load_more = move |ev: MouseEvent| {
        // Let modified clicks open the next page in a new tab, as a link would.
        if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        spawn_local(async move {
            match list_assets(None, Some(cursor)).await {
                Ok(page) => {
                    items.update(|items| items.extend(page.items));
                    next.set(page.next_cursor);
                    failure.set(None);
                }
                Err(error) => failure.set(Some(error)),
            }
            loading.set(false);
        });
    };

    view! {
        <ul class="grid" aria-live="polite">
            <For each=move || items.get() key=|asset| asset.id.clone() let:asset>
                <li>
                    <AssetCard asset/>
                </li>
            </For>
        </ul>
        {move || failure.get().map(|error| view! { <ErrorNotice error/> })}
        <div class="more">
            {move || {
                next.get()
                    .map(|cursor| {
                        view! {
                            <a
                                class="button load-more"
                                href=format!("/?cursor={cursor}")
                                rel="next"
                                aria-busy=move || loading.get().to_string()
                                on:click=load_more
                            >
                                {move || if loading.get() { "Loading…" } else { "Load more" }}
                            </a>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}
