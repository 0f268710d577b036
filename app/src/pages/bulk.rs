//! Bulk actions on a grid of assets (your own profile; the gallery for admins): a checkbox
//! on each card and a bar that adds or removes tags, sets visibility, trashes the
//! selection, or adds it to (or takes it out of) one of your collections, in one request.
//!
//! Without JavaScript the bar is a form (`POST /api/assets/bulk`) and the checkboxes are
//! its fields, which comes back to the page. Hydrated, shift-click selects a range, `x`
//! toggles the focused asset, `Delete` trashes the selection, and the grid changes in
//! place.

use std::collections::HashSet;

use leptos::{ev, prelude::*};

use super::notice::ErrorNotice;
use crate::api::BulkEdit;
use crate::collection::CollectionSummary;
use crate::model::{AssetSummary, BulkAction, BulkDone, Visibility};

/// The `id` of the bar's form, which every card's checkbox names (`form=`).
const FORM_ID: &str = "bulk-form";

/// Bumped after a bulk action changed the assets listed, so that what counts them (a
/// profile's summary, which provides it) is read again.
#[derive(Clone, Copy, Default)]
pub struct AssetsChanged(pub RwSignal<u32>);

/// Which assets are selected, and where the last click was (a shift-click selects from
/// there).
#[derive(Clone, Copy)]
pub struct Selection {
    ids: RwSignal<HashSet<String>>,
    anchor: StoredValue<Option<String>>,
}

impl Default for Selection {
    fn default() -> Selection {
        Selection {
            ids: RwSignal::new(HashSet::new()),
            anchor: StoredValue::new(None),
        }
    }
}

impl Selection {
    pub fn new() -> Selection {
        Selection::default()
    }

    fn has(&self, id: &str) -> bool {
        self.ids.with(|ids| ids.contains(id))
    }

    /// Sets `id` selected or not (`on`); with `range`, everything from the last asset
    /// clicked to it too, in the grid's `order`.
    fn pick(&self, order: &[String], id: &str, on: bool, range: bool) {
        let anchor = self.anchor.get_value();
        self.ids
            .update(|ids| pick(ids, order, anchor.as_deref(), id, on, range));
        self.anchor.set_value(Some(id.to_string()));
    }
}

/// What a click does to the selection `ids`: `id` set to `on`, and with `range` the ids
/// between `anchor` and it in `order` as well (just `id` when the anchor is not there).
fn pick(
    ids: &mut HashSet<String>,
    order: &[String],
    anchor: Option<&str>,
    id: &str,
    on: bool,
    range: bool,
) {
    let mut set = |x: &str| {
        if on {
            ids.insert(x.to_string());
        } else {
            ids.remove(x);
        }
    };
    let at = |wanted: &str| order.iter().position(|x| x == wanted);
    match (range, anchor.and_then(at), at(id)) {
        (true, Some(a), Some(b)) => order[a.min(b)..=a.max(b)].iter().for_each(|x| set(x)),
        _ => set(id),
    }
}

/// The checkbox on a card.
#[component]
pub fn PickBox(
    selection: Selection,
    items: RwSignal<Vec<AssetSummary>>,
    id: String,
    title: String,
) -> impl IntoView {
    let checked = {
        let id = id.clone();
        move || selection.has(&id)
    };
    let click = {
        let id = id.clone();
        move |ev: ev::MouseEvent| {
            let on = event_target_checked(&ev);
            let order: Vec<String> =
                items.with_untracked(|items| items.iter().map(|a| a.id.clone()).collect());
            selection.pick(&order, &id, on, ev.shift_key());
        }
    };
    view! {
        <label class="pick">
            <input type="checkbox" name="ids[]" value=id form=FORM_ID prop:checked=checked on:click=click/>
            <span class="visually-hidden">{format!("Select “{title}”")}</span>
        </label>
    }
}

/// The bar of actions for the selection. `back` is the page to come back to without
/// JavaScript.
#[component]
pub fn BulkBar(
    selection: Selection,
    items: RwSignal<Vec<AssetSummary>>,
    back: String,
    /// Whether the lightbox is open (its keys are its own then).
    lightbox_open: Signal<bool>,
    /// The collections the person may add to (none: no collection actions).
    collections: Vec<CollectionSummary>,
) -> impl IntoView {
    let action = ServerAction::<BulkEdit>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let done = RwSignal::new(None::<String>);
    let changed = use_context::<AssetsChanged>();
    // A finished action changes the grid in place and clears the selection.
    Effect::new(move |_| {
        if let Some(Ok(result)) = action.value().get() {
            apply(items, &result);
            if let Some(changed) = changed {
                changed.0.update(|n| *n += 1);
            }
            selection.ids.set(HashSet::new());
            done.set(Some(result.summary()));
        } else {
            done.set(None);
        }
    });
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    };
    let count = move || match selection.ids.with(HashSet::len) {
        0 => "None selected".to_string(),
        1 => "1 selected".to_string(),
        n => format!("{n} selected"),
    };
    let trash_selection = move || {
        let ids: Vec<String> = selection.ids.with_untracked(|ids| {
            items.with_untracked(|items| {
                items
                    .iter()
                    .filter(|a| ids.contains(&a.id))
                    .map(|a| a.id.clone())
                    .collect()
            })
        });
        if !ids.is_empty() && !action.pending().get_untracked() {
            action.dispatch(BulkEdit {
                ids,
                action: BulkAction::Trash.as_str().into(),
                tags: String::new(),
                visibility: String::new(),
                collection: String::new(),
                back: String::new(),
            });
        }
    };
    let keys = window_event_listener(ev::keydown, move |ev| {
        if lightbox_open.get_untracked() || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        let Some(focused) = focused_card(&ev) else {
            return;
        };
        match ev.key().as_str() {
            "x" | "X" => {
                let Some(id) = focused else { return };
                let on = !selection.has(&id);
                let order: Vec<String> =
                    items.with_untracked(|items| items.iter().map(|a| a.id.clone()).collect());
                selection.pick(&order, &id, on, ev.shift_key());
            }
            "Delete" => trash_selection(),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());
    let select_all = move |_| {
        let all: HashSet<String> = items.with(|items| items.iter().map(|a| a.id.clone()).collect());
        selection.ids.set(all);
    };
    let clear = move |_| selection.ids.set(HashSet::new());
    view! {
        <ActionForm action attr:id=FORM_ID attr:class="bulk-bar" attr:aria-label="Change the selected assets">
            <input type="hidden" name="back" value=back/>
            <p class="bulk-count" aria-live="polite">
                <strong>{count}</strong>
                <Show when=move || hydrated.get()>
                    " · " <button type="button" class="linkish" on:click=select_all>"Select all"</button>
                    " · " <button type="button" class="linkish" on:click=clear>"Clear"</button>
                </Show>
            </p>
            <div class="bulk-actions">
                <label>
                    <span class="visually-hidden">"Tags to add or remove"</span>
                    <input type="text" name="tags" placeholder="tags, comma-separated" autocomplete="off"/>
                </label>
                <button type="submit" class="button" name="action" value=BulkAction::AddTags.as_str()>"Add tags"</button>
                <button type="submit" class="button" name="action" value=BulkAction::RemoveTags.as_str()>"Remove tags"</button>
                <label>
                    <span class="visually-hidden">"New visibility"</span>
                    <select name="visibility">
                        {Visibility::ALL.map(|v| view! { <option value=v.as_str()>{v.label()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button" name="action" value=BulkAction::SetVisibility.as_str()>"Set visibility"</button>
                <button type="submit" class="button danger" name="action" value=BulkAction::Trash.as_str()>"Move to trash"</button>
            </div>
            {(!collections.is_empty()).then(|| view! {
                <div class="bulk-actions bulk-collections">
                    <label>
                        "Collection"
                        <select name="collection">
                            {collections
                                .into_iter()
                                .map(|c| view! { <option value=c.id>{c.title}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="button" name="action" value=BulkAction::AddToCollection.as_str()>"Add to collection"</button>
                    <button type="submit" class="button" name="action" value=BulkAction::RemoveFromCollection.as_str()>"Take out of collection"</button>
                </div>
            })}
            <Show when=move || hydrated.get()>
                <p class="hint">"Shift-click selects a range; " <kbd>"x"</kbd> " selects the asset in focus; " <kbd>"Delete"</kbd> " moves the selection to the trash."</p>
            </Show>
            {move || done.get().map(|text| view! { <p class="notice success" role="status">{text}</p> })}
            {error}
        </ActionForm>
    }
    .into_any()
}

/// The grid after an action: trashed assets leave it, the others show their new tags and
/// visibility.
fn apply(items: RwSignal<Vec<AssetSummary>>, done: &BulkDone) {
    let changed: HashSet<&str> = done.changed.iter().map(String::as_str).collect();
    items.update(|items| {
        if done.action == BulkAction::Trash {
            items.retain(|a| !changed.contains(a.id.as_str()));
            return;
        }
        for asset in items.iter_mut().filter(|a| changed.contains(a.id.as_str())) {
            match done.action {
                BulkAction::AddTags => {
                    for tag in &done.tags {
                        if !asset.tags.contains(tag) {
                            asset.tags.push(tag.clone());
                        }
                    }
                }
                BulkAction::RemoveTags => asset.tags.retain(|t| !done.tags.contains(t)),
                BulkAction::SetVisibility => {
                    if let Some(v) = done.visibility {
                        asset.visibility = v;
                    }
                }
                // The grid shows no collections.
                BulkAction::Trash
                | BulkAction::AddToCollection
                | BulkAction::RemoveFromCollection => {}
            }
        }
    });
}

/// For a key pressed on the grid: `Some(card id)` when the focus is in a card, `Some(None)`
/// elsewhere on the page, `None` when it is in a field (typing is not a command).
#[cfg(feature = "hydrate")]
fn focused_card(ev: &ev::KeyboardEvent) -> Option<Option<String>> {
    use wasm_bindgen::JsCast;
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let tag = target.tag_name().to_ascii_lowercase();
    let typing = matches!(tag.as_str(), "textarea" | "select")
        || (tag == "input"
            && target
                .get_attribute("type")
                .is_none_or(|t| !matches!(t.as_str(), "checkbox" | "button" | "submit")))
        || target
            .dyn_ref::<web_sys::HtmlElement>()
            .is_some_and(|el| el.is_content_editable());
    if typing {
        return None;
    }
    Some(
        target
            .closest("[data-pick]")
            .ok()
            .flatten()
            .and_then(|card| card.get_attribute("data-pick")),
    )
}

/// Keys are only read in the browser.
#[cfg(not(feature = "hydrate"))]
fn focused_card(_ev: &ev::KeyboardEvent) -> Option<Option<String>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> HashSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_shift_click_selects_everything_between_it_and_the_last_click() {
        let order: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let mut selected = HashSet::new();
        pick(&mut selected, &order, None, "b", true, false);
        assert_eq!(selected, ids(&["b"]));
        // Downwards and upwards alike.
        pick(&mut selected, &order, Some("b"), "d", true, true);
        assert_eq!(selected, ids(&["b", "c", "d"]));
        pick(&mut selected, &order, Some("e"), "c", false, true);
        assert_eq!(selected, ids(&["b"]));
        // A plain click touches one; a range from an anchor no longer listed touches one.
        pick(&mut selected, &order, Some("b"), "e", true, false);
        assert_eq!(selected, ids(&["b", "e"]));
        pick(&mut selected, &order, Some("gone"), "a", true, true);
        assert_eq!(selected, ids(&["a", "b", "e"]));
    }
}
