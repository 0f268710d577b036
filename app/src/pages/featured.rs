//! Featured picks on the pages: the shelf on `/` (above the gallery while it is
//! unfiltered) and the admin's "Feature" button on asset and collection pages.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use super::collection_list::CollectionCard;
use super::notice::ErrorNotice;
use crate::api::{get_featured, SetFeatured};
use crate::components::{use_auth, AssetCard};
use crate::featured::{FeatureKind, FeaturedShelf};
use crate::search::FILTER_KEYS;

/// The shelf on `/`: the latest featured assets and collections, with a link to all the
/// featured assets. Nothing while the gallery is filtered or paged on, or nothing is
/// featured.
#[component]
pub fn Shelf() -> impl IntoView {
    let query = use_query_map();
    let plain = move || {
        let query = query.read();
        FILTER_KEYS
            .iter()
            .chain(&["cursor"])
            .all(|key| query.get(key).is_none_or(|v| v.trim().is_empty()))
    };
    let shelf = Resource::new(|| (), |()| get_featured());
    let auth = use_auth();
    // Nothing is read outside the `Suspend` (as in the grid's): what it reads, it reads
    // inside, so it alone runs again when the filters change.
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let logged_in = auth.me.await.is_some();
                let shelf = shelf.await;
                if !plain() {
                    return ().into_any();
                }
                match shelf {
                    Ok(shelf) if shelf.is_empty() => ().into_any(),
                    Ok(shelf) => view! { <ShelfRows shelf logged_in/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn ShelfRows(shelf: FeaturedShelf, logged_in: bool) -> impl IntoView {
    let FeaturedShelf {
        assets,
        more_assets,
        collections,
    } = shelf;
    let all = more_assets.then(|| {
        view! { <a class="shelf-all" href="/?sort=featured">"All featured →"</a> }
    });
    let assets = (!assets.is_empty()).then(|| {
        view! {
            <ul class="shelf">
                {assets
                    .into_iter()
                    .map(|asset| view! { <li><AssetCard asset logged_in/></li> })
                    .collect_view()}
            </ul>
        }
    });
    let collections = (!collections.is_empty()).then(|| {
        view! {
            <ul class="shelf collections">
                {collections
                    .into_iter()
                    .map(|collection| view! { <li><CollectionCard collection/></li> })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        <section class="featured-shelf" aria-labelledby="featured-heading">
            <header class="shelf-head">
                <h2 id="featured-heading">"Featured"</h2>
                {all}
            </header>
            {assets}
            {collections}
        </section>
    }
    .into_any()
}

/// An admin's button that features `id` (an asset or collection) or takes the pick back
/// (the page shows it to admins only). `featured` is its state as the page was rendered. A
/// plain form comes back to the page; hydrated, it changes in place.
#[component]
pub fn FeatureButton(kind: FeatureKind, id: String, featured: bool) -> impl IntoView {
    let action = ServerAction::<SetFeatured>::new();
    let location = use_location();
    let back = move || {
        crate::components::here::with_query(location.pathname.get(), &location.search.get())
    };
    let now = move || match action.value().get() {
        Some(Ok(done)) => done.featured.is_some(),
        _ => featured,
    };
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    };
    let label = format!("Feature this {} on the gallery", kind.as_str());
    view! {
        <ActionForm action attr:class="feature">
            <input type="hidden" name="kind" value=kind.as_str()/>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="featured" value=move || (!now()).to_string()/>
            <input type="hidden" name="back" value=back/>
            <button
                type="submit"
                class="button"
                title=label.clone()
                aria-label=label
                aria-pressed=move || now().to_string()
                aria-busy=move || action.pending().get().to_string()
            >
                {move || if now() { "★ Featured" } else { "☆ Feature" }}
            </button>
        </ActionForm>
        {error}
    }
    .into_any()
}
