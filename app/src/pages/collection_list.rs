//! Lists of collections: a profile's "Collections" tab (with the form that makes a new
//! one, on one's own profile) and the cards they show.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::notice::ErrorNotice;
use crate::api::CreateCollection;
use crate::collection::{CollectionSummary, MAX_DESCRIPTION, MAX_TITLE};
use crate::error::ApiError;
use crate::model::Visibility;

/// One collection as a card: its cover, title, size and visibility.
#[component]
pub fn CollectionCard(collection: CollectionSummary) -> impl IntoView {
    let c = collection;
    let href = format!("/c/{}", c.id);
    let cover = c.cover_url.clone().map(|src| {
        view! { <img src=src alt="" width="512" height="512" loading="lazy" decoding="async"/> }
    });
    let mut facts = vec![if c.items == 1 {
        "1 item".to_string()
    } else {
        format!("{} items", crate::units::thousands(c.items))
    }];
    match c.visibility {
        Visibility::Public => {}
        Visibility::Unlisted => facts.push("unlisted".into()),
        Visibility::Private => facts.push("private".into()),
    }
    if let Some(role) = c.role {
        facts.push(format!("you: {}", role.as_str()));
    }
    view! {
        <article class="card collection-card" data-id=c.id.clone()>
            <a class="thumb" href=href.clone() style="aspect-ratio: 1 / 1" aria-label=format!("Open the collection “{}”", c.title)>
                {cover}
            </a>
            <h2 class="card-title"><a href=href>{c.title.clone()}</a></h2>
            <p class="card-meta">
                <span>{facts.join(" · ")}</span>
                " · by " <span class="owner">{c.owner.clone()}</span>
            </p>
        </article>
    }
}

/// A profile's collections (`list`, read by the page), with the form for a new one when
/// the profile is `mine`.
#[component]
pub fn ProfileCollections(
    username: String,
    list: Result<Vec<CollectionSummary>, ApiError>,
    mine: bool,
) -> impl IntoView {
    let create = mine.then(|| view! { <NewCollection/> });
    let cards = match list {
        Ok(list) if list.is_empty() => {
            let text = if mine {
                "You have no collections yet.".to_string()
            } else {
                format!("{username} has no collections you can see.")
            };
            view! { <div class="empty"><p>{text}</p></div> }.into_any()
        }
        Ok(list) => view! {
            <ul class="grid collections">
                {list
                    .into_iter()
                    .map(|collection| view! { <li><CollectionCard collection/></li> })
                    .collect_view()}
            </ul>
        }
        .into_any(),
        Err(error) => view! { <ErrorNotice error/> }.into_any(),
    };
    view! {
        {create}
        {cards}
    }
}

/// A new collection: title, description, who sees it. Without JavaScript the server goes
/// on to its page; hydrated, the page does.
#[component]
fn NewCollection() -> impl IntoView {
    let action = ServerAction::<CreateCollection>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(made)) = action.value().get() {
            navigate(&format!("/c/{}", made.id), Default::default());
        }
    });
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    };
    view! {
        <details class="new-collection">
            <summary class="button">"New collection"</summary>
            <ActionForm action attr:class="stacked">
                <label>
                    "Title"
                    <input type="text" name="title" required maxlength=MAX_TITLE.to_string()/>
                </label>
                <label>
                    "Description"
                    <textarea name="description" rows="2" maxlength=MAX_DESCRIPTION.to_string()></textarea>
                </label>
                <label>
                    "Who sees it"
                    <select name="visibility">
                        {Visibility::ALL.map(|v| view! { <option value=v.as_str()>{v.label()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button">"Create"</button>
            </ActionForm>
            {error}
        </details>
    }
}
