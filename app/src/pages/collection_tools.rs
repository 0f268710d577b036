//! The controls a collection's curators have on each of its items: move it earlier or
//! later (or drag it, hydrated), make it the cover, take it out. Each is a small form that
//! posts without JavaScript and comes back; hydrated, it changes the collection in place
//! and the page reads its items again.

use leptos::prelude::*;

use crate::api::{MoveInCollection, RemoveFromCollection, SetCollectionCover};
use crate::model::AssetSummary;

/// The actions of a collection's page; the page reads the collection again after each.
#[derive(Clone, Copy)]
pub struct ItemActions {
    pub moved: ServerAction<MoveInCollection>,
    pub removed: ServerAction<RemoveFromCollection>,
    pub cover: ServerAction<SetCollectionCover>,
}

impl ItemActions {
    pub fn new() -> ItemActions {
        ItemActions {
            moved: ServerAction::new(),
            removed: ServerAction::new(),
            cover: ServerAction::new(),
        }
    }

    /// Changes whenever one of them finishes.
    pub fn version(&self) -> usize {
        self.moved.version().get() + self.removed.version().get() + self.cover.version().get()
    }

    /// The error of the last of them, if it failed.
    pub fn error(&self) -> Option<crate::error::ApiError> {
        [
            self.moved.value().get().and_then(Result::err),
            self.removed.value().get().and_then(Result::err),
            self.cover.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    }
}

impl Default for ItemActions {
    fn default() -> Self {
        ItemActions::new()
    }
}

/// What the person looking may do to the items of the collection shown (provided by its
/// page; the grid draws [`ItemTools`] under each card when it is there).
#[derive(Clone)]
pub struct Tools {
    /// The collection (public id).
    pub collection: String,
    pub may_reorder: bool,
    pub may_edit: bool,
    /// Take out anyone's items.
    pub may_remove_any: bool,
    /// Take out their own.
    pub may_remove_own: bool,
    /// Who is looking (their username).
    pub me: Option<String>,
    pub actions: ItemActions,
}

impl Tools {
    /// Dragging items of `items` (the grid's) into place.
    pub fn drag(&self, items: RwSignal<Vec<AssetSummary>>) -> Drag {
        Drag {
            collection: self.collection.clone(),
            moved: self.actions.moved,
            items,
            dragging: RwSignal::new(None),
            over: RwSignal::new(None),
        }
    }
}

/// Items dragged into place (hydrated): dropped on another item, the dragged one goes
/// just before it, at once on the page and then for good on the server.
#[derive(Clone)]
pub struct Drag {
    collection: String,
    moved: ServerAction<MoveInCollection>,
    items: RwSignal<Vec<AssetSummary>>,
    dragging: RwSignal<Option<String>>,
    over: RwSignal<Option<String>>,
}

impl Drag {
    /// Whether `id` is where the dragged item would go.
    pub fn is_over(&self, id: &str) -> bool {
        self.over.with(|over| over.as_deref() == Some(id))
    }

    pub fn start(&self, id: &str, ev: &leptos::ev::DragEvent) {
        self.dragging.set(Some(id.to_string()));
        #[cfg(feature = "hydrate")]
        if let Some(data) = ev.data_transfer() {
            data.set_effect_allowed("move");
            // Some browsers start a drag only with data.
            let _ = data.set_data("text/plain", id);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    }

    pub fn enter(&self, id: &str, ev: &leptos::ev::DragEvent) {
        if self
            .dragging
            .with_untracked(|d| d.as_deref().is_some_and(|d| d != id))
        {
            // Allows the drop here.
            ev.prevent_default();
            if !self.is_over(id) {
                self.over.set(Some(id.to_string()));
            }
        }
    }

    pub fn drop(&self, id: &str, ev: &leptos::ev::DragEvent) {
        ev.prevent_default();
        let Some(moving) = self.dragging.get_untracked() else {
            return;
        };
        self.end();
        if moving == id {
            return;
        }
        self.items.update(|items| {
            if let Some(from) = items.iter().position(|a| a.id == moving) {
                let item = items.remove(from);
                let to = items.iter().position(|a| a.id == id).unwrap_or(items.len());
                items.insert(to, item);
            }
        });
        self.moved.dispatch(MoveInCollection {
            id: self.collection.clone(),
            asset: moving,
            to: id.to_string(),
            back: String::new(),
        });
    }

    pub fn end(&self) {
        self.dragging.set(None);
        self.over.set(None);
    }
}

/// The controls under one item's card (nothing when the person may do nothing to it).
#[component]
pub fn ItemTools(tools: Tools, asset: AssetSummary, back: String) -> impl IntoView {
    let own = tools.me.as_deref() == Some(asset.owner.as_str());
    let may_remove = tools.may_remove_any || (tools.may_remove_own && own);
    if !(tools.may_reorder || tools.may_edit || may_remove) {
        return ().into_any();
    }
    let (collection, id, title) = (tools.collection, asset.id, asset.title);
    // The fields every one of the forms sends.
    let hidden = move |asset_field: &'static str| {
        view! {
            <input type="hidden" name="id" value=collection.clone()/>
            <input type="hidden" name="back" value=back.clone()/>
            <input type="hidden" name=asset_field value=id.clone()/>
        }
    };
    let reorder = tools.may_reorder.then(|| {
        let fields = hidden("asset");
        let (up, down) = (
            format!("Move “{title}” earlier"),
            format!("Move “{title}” later"),
        );
        view! {
            <ActionForm action=tools.actions.moved attr:class="item-move">
                {fields}
                <button type="submit" class="icon-button" name="to" value="up" aria-label=up>"↑"</button>
                <button type="submit" class="icon-button" name="to" value="down" aria-label=down>"↓"</button>
            </ActionForm>
        }
    });
    let cover = tools.may_edit.then(|| {
        let fields = hidden("asset");
        let label = format!("Make “{title}” the cover");
        view! {
            <ActionForm action=tools.actions.cover attr:class="item-cover">
                {fields}
                <button type="submit" class="linkish" aria-label=label>"Cover"</button>
            </ActionForm>
        }
    });
    let remove = may_remove.then(|| {
        let fields = hidden("assets[]");
        let label = format!("Take “{title}” out of the collection");
        view! {
            <ActionForm action=tools.actions.removed attr:class="item-remove">
                {fields}
                <button type="submit" class="linkish" aria-label=label>"Take out"</button>
            </ActionForm>
        }
    });
    view! { <div class="item-tools">{reorder}{cover}{remove}</div> }.into_any()
}
