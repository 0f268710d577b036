//! "In collections: …" on an asset's page: the collections holding it that the person may
//! see, each with a way out for those who may take it out, and a form to add it to one of
//! their own collections.

use leptos::prelude::*;

use super::notice::ErrorNotice;
use crate::access::MemberRole;
use crate::api::{list_collections, AddToCollection, RemoveFromCollection};
use crate::collection::CollectionSummary;
use crate::error::ApiError;

/// The section's forms, made by the asset's page outside its `Suspend`; the page reads
/// the lists again (with the asset, in the same resource) after each.
#[derive(Clone, Copy)]
pub struct CollectionForms {
    add: ServerAction<AddToCollection>,
    remove: ServerAction<RemoveFromCollection>,
}

impl CollectionForms {
    pub fn new() -> CollectionForms {
        CollectionForms {
            add: ServerAction::new(),
            remove: ServerAction::new(),
        }
    }

    /// Changes whenever one of them finishes.
    pub fn version(&self) -> usize {
        self.add.version().get() + self.remove.version().get()
    }
}

impl Default for CollectionForms {
    fn default() -> Self {
        CollectionForms::new()
    }
}

/// What the section lists: the collections holding the asset, and those the person may
/// add to (none for a visitor).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CollectionLists {
    pub holding: Vec<CollectionSummary>,
    pub mine: Vec<CollectionSummary>,
}

impl CollectionLists {
    /// Both lists for `asset`; a list that cannot be read is left empty (the page does
    /// without it).
    pub async fn read(asset: String) -> CollectionLists {
        let holding = list_collections(String::new(), asset, String::new())
            .await
            .unwrap_or_default();
        let mine = list_collections(String::new(), String::new(), "true".into())
            .await
            .unwrap_or_default();
        CollectionLists { holding, mine }
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
    forms: CollectionForms,
    lists: CollectionLists,
    asset_id: String,
    asset_owner: String,
    me: Option<String>,
) -> impl IntoView {
    let back = format!("/a/{asset_id}");
    let error = move || {
        forms
            .add
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| forms.remove.value().get().and_then(Result::err))
            .map(|error: ApiError| view! { <ErrorNotice error/> })
    };
    let listed = if lists.holding.is_empty() {
        view! { <p class="muted">"In no collection you can see."</p> }.into_any()
    } else {
        let items = lists
            .holding
            .into_iter()
            .map(|c| {
                let out = may_take_out(&c, me.as_deref(), &asset_owner).then(|| {
                    let (id, asset, back) = (c.id.clone(), asset_id.clone(), back.clone());
                    let label = format!("Take it out of “{}”", c.title);
                    view! {
                        <ActionForm action=forms.remove attr:class="inline">
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
    };
    let add_form = (!lists.mine.is_empty()).then(|| {
        view! {
            <AddToForm action=forms.add asset_id=asset_id.clone() back=back.clone() collections=lists.mine/>
        }
    });
    view! {
        <section class="in-collections">
            <h2>"In collections"</h2>
            {listed}
            {add_form}
            {error}
        </section>
    }
    .into_any()
}

/// "Add to [collection] Add": the asset `asset_id` into one of `collections` (those the
/// person may add to), through `action`; without JavaScript it comes back to `back`.
#[component]
pub fn AddToForm(
    action: ServerAction<AddToCollection>,
    asset_id: String,
    back: String,
    collections: Vec<CollectionSummary>,
) -> impl IntoView {
    let options = collections
        .into_iter()
        .map(|c| view! { <option value=c.id>{c.title}</option> })
        .collect_view();
    view! {
        <ActionForm action attr:class="inline add-to-collection">
            <input type="hidden" name="assets[]" value=asset_id/>
            <input type="hidden" name="back" value=back/>
            <label>
                "Add to"
                <select name="id">{options}</select>
            </label>
            <button type="submit" class="button">"Add"</button>
        </ActionForm>
    }
    .into_any()
}

/// The lightbox's way into and out of a collection (hydrated only, as the lightbox is):
/// one of `collections` (those the person may add to) chosen, "Add" or "Take out", and
/// what that did.
#[component]
pub fn QuickAdd(asset_id: String, collections: Vec<CollectionSummary>) -> impl IntoView {
    let titles: Vec<(String, String)> = collections
        .iter()
        .map(|c| (c.id.clone(), c.title.clone()))
        .collect();
    let chosen = RwSignal::new(
        collections
            .first()
            .map(|c| c.id.clone())
            .unwrap_or_default(),
    );
    let add = ServerAction::<AddToCollection>::new();
    let remove = ServerAction::<RemoveFromCollection>::new();
    // Which button was pressed last: its answer is the one shown.
    let adding = RwSignal::new(true);
    let title = move |id: &str| {
        titles
            .iter()
            .find(|(c, _)| c == id)
            .map_or(String::new(), |(_, title)| title.clone())
    };
    let outcome = move || {
        let adding = adding.get();
        let answer = if adding {
            add.value().get()
        } else {
            remove.value().get()
        };
        answer.map(|answer| match answer {
            Ok(done) => {
                let title = title(&done.collection);
                let text = match (adding, done.changed.is_empty()) {
                    (true, false) => format!("Added to “{title}”."),
                    (true, true) => format!("Already in “{title}”."),
                    (false, false) => format!("Taken out of “{title}”."),
                    (false, true) => format!("Not in “{title}”, or not yours to take out."),
                };
                view! { <p class="notice success" role="status">{text}</p> }.into_any()
            }
            Err(error) => view! { <ErrorNotice error/> }.into_any(),
        })
    };
    let pending = move || (add.pending().get() || remove.pending().get()).to_string();
    let ask = move |adding_now: bool| {
        adding.set(adding_now);
        let (id, assets) = (chosen.get_untracked(), vec![asset_id.clone()]);
        if adding_now {
            add.dispatch(AddToCollection {
                id,
                assets,
                back: String::new(),
            });
        } else {
            remove.dispatch(RemoveFromCollection {
                id,
                assets,
                back: String::new(),
            });
        }
    };
    let options = collections
        .into_iter()
        .map(|c| view! { <option value=c.id>{c.title}</option> })
        .collect_view();
    view! {
        <div class="inline add-to-collection">
            <label>
                "Collection"
                <select on:change=move |ev| chosen.set(event_target_value(&ev))>{options}</select>
            </label>
            <button type="button" class="button" on:click={
                let ask = ask.clone();
                move |_| ask(true)
            } aria-busy=pending>"Add"</button>
            <button type="button" class="button" on:click=move |_| ask(false) aria-busy=pending>
                "Take out"
            </button>
        </div>
        {outcome}
    }
    .into_any()
}
