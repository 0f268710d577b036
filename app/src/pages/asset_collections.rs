//! "In collections: …" on an asset's page: the collections holding it that the person may
//! see, each with a way out for those who may take it out, and a form to add it to one of
//! their own collections.

use leptos::prelude::*;

use super::notice::ErrorNotice;
use crate::access::MemberRole;
use crate::api::{list_collections, AddToCollection, RemoveFromCollection};
use crate::collection::CollectionSummary;
use crate::error::ApiError;

/// The lists the section shows, made by the asset's page outside its `Suspend` and read
/// again after each change.
#[derive(Clone, Copy)]
pub struct AssetCollections {
    /// The collections holding the asset.
    holding: Resource<Result<Vec<CollectionSummary>, ApiError>>,
    /// The collections the person may add to (empty for a visitor).
    mine: Resource<Result<Vec<CollectionSummary>, ApiError>>,
    add: ServerAction<AddToCollection>,
    remove: ServerAction<RemoveFromCollection>,
}

impl AssetCollections {
    pub fn new(asset: impl Fn() -> String + Send + Sync + Copy + 'static) -> AssetCollections {
        let add = ServerAction::<AddToCollection>::new();
        let remove = ServerAction::<RemoveFromCollection>::new();
        let changed = move || add.version().get() + remove.version().get();
        let holding = Resource::new(
            move || (asset(), changed()),
            |(asset, _)| list_collections(String::new(), asset, String::new()),
        );
        let mine = Resource::new(changed, |_| async {
            // A visitor has none (the server says 401).
            match list_collections(String::new(), String::new(), "true".into()).await {
                Err(ApiError::Unauthorized(_)) => Ok(Vec::new()),
                other => other,
            }
        });
        AssetCollections {
            holding,
            mine,
            add,
            remove,
        }
    }
}

/// Whether the person (`me`) may take `asset_owner`'s asset out of `collection`.
fn may_take_out(collection: &CollectionSummary, me: Option<&str>, asset_owner: &str) -> bool {
    let owner = me.is_some_and(|me| me == collection.owner);
    match collection.role {
        _ if owner => true,
        Some(MemberRole::Editor) => true,
        Some(MemberRole::Contributor) => me == Some(asset_owner),
        Some(MemberRole::Viewer) | None => false,
    }
}

/// The section itself.
#[component]
pub fn InCollections(
    lists: AssetCollections,
    asset_id: String,
    asset_owner: String,
    me: Option<String>,
) -> impl IntoView {
    let back = format!("/a/{asset_id}");
    let error = move || {
        lists
            .add
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| lists.remove.value().get().and_then(Result::err))
            .map(|error| view! { <ErrorNotice error/> })
    };
    let (id_list, back_list) = (asset_id.clone(), back.clone());
    let listed = move || {
        let (asset_id, back, me, asset_owner) = (
            id_list.clone(),
            back_list.clone(),
            me.clone(),
            asset_owner.clone(),
        );
        Suspend::new(async move {
            let holding = lists.holding.await.unwrap_or_default();
            if holding.is_empty() {
                return view! { <p class="muted">"In no collection you can see."</p> }.into_any();
            }
            let items = holding
                .into_iter()
                .map(|c| {
                    let out = may_take_out(&c, me.as_deref(), &asset_owner).then(|| {
                        let (id, asset, back) = (c.id.clone(), asset_id.clone(), back.clone());
                        let label = format!("Take it out of “{}”", c.title);
                        view! {
                            <ActionForm action=lists.remove attr:class="inline">
                                <input type="hidden" name="id" value=id/>
                                <input type="hidden" name="assets[]" value=asset/>
                                <input type="hidden" name="back" value=back/>
                                <button type="submit" class="linkish" aria-label=label>"Take out"</button>
                            </ActionForm>
                        }
                    });
                    view! {
                        <li>
                            <a href=format!("/c/{}", c.id)>{c.title.clone()}</a>
                            <span class="muted">{format!(" · by {}", c.owner)}</span>
                            {out}
                        </li>
                    }
                })
                .collect_view();
            view! { <ul class="collection-links">{items}</ul> }.into_any()
        })
    };
    let (id_add, back_add) = (asset_id, back);
    let add_form = move || {
        let (asset_id, back) = (id_add.clone(), back_add.clone());
        Suspend::new(async move {
            let mine = lists.mine.await.unwrap_or_default();
            if mine.is_empty() {
                return ().into_any();
            }
            view! {
                <ActionForm action=lists.add attr:class="inline add-to-collection">
                    <input type="hidden" name="assets[]" value=asset_id/>
                    <input type="hidden" name="back" value=back/>
                    <label>
                        "Add to"
                        <select name="id">
                            {mine
                                .into_iter()
                                .map(|c| view! { <option value=c.id>{c.title}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="button">"Add"</button>
                </ActionForm>
            }
            .into_any()
        })
    };
    view! {
        <section class="in-collections">
            <h2>"In collections"</h2>
            <Suspense fallback=|| ()>
                {listed}
                {add_form}
            </Suspense>
            {error}
        </section>
    }
}
