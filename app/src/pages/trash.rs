//! `/trash`: what I deleted, newest first, with when each goes for good; "Restore",
//! "Delete permanently" and "Empty trash". Plain forms that post without JavaScript (the
//! server sends the browser back here); hydrated, the list follows each action in place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::notice::ErrorNotice;
use crate::api::{get_trash, EmptyTrash, PurgeAsset, RestoreAsset};
use crate::error::ApiError;
use crate::model::{percent_encode, short_date, TrashItem, TrashPage};

#[component]
pub fn TrashPage() -> impl IntoView {
    let restore = ServerAction::<RestoreAsset>::new();
    let purge = ServerAction::<PurgeAsset>::new();
    let empty = ServerAction::<EmptyTrash>::new();
    let query = use_query_map();
    let cursor = move || query.read().get("cursor").unwrap_or_default();
    let page = Resource::new(
        move || {
            (
                cursor(),
                restore.version().get(),
                purge.version().get(),
                empty.version().get(),
            )
        },
        |(cursor, ..)| get_trash(cursor),
    );
    let error = move || {
        [
            restore.value().get().and_then(Result::err),
            purge.value().get().and_then(Result::err),
            empty.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|error| view! { <ErrorNotice error/> })
    };
    view! {
        <Title text="Trash · atelier"/>
        <section class="page trash">
            <h1>"Trash"</h1>
            {error}
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <TrashList page restore purge empty/> }.into_any(),
                        Err(ApiError::Unauthorized(_)) => {
                            view! { <Redirect path="/login?next=/trash"/> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TrashList(
    page: TrashPage,
    restore: ServerAction<RestoreAsset>,
    purge: ServerAction<PurgeAsset>,
    empty: ServerAction<EmptyTrash>,
) -> impl IntoView {
    let days = page.trash_days;
    let kept = format!(
        "Deleted assets stay here for {days} {} and then go for good, with their files. \
         Until then they count against your storage.",
        if days == 1 { "day" } else { "days" }
    );
    if page.items.is_empty() {
        return view! {
            <p class="hint">"Your trash is empty. " {kept}</p>
        }
        .into_any();
    }
    let emptied = move || {
        empty.value().get().and_then(Result::ok).filter(|e| e.remaining > 0).map(|e| {
            view! {
                <div class="notice" role="status">
                    <p>{format!("{} deleted; {} still to go: empty the trash again.", e.purged, e.remaining)}</p>
                </div>
            }
        })
    };
    let older = page.next_cursor.map(|cursor| {
        view! {
            <nav class="pager" aria-label="More">
                <a class="button" href=format!("/trash?cursor={}", percent_encode(&cursor, false))>"Older"</a>
            </nav>
        }
    });
    view! {
        <p class="hint">{kept}</p>
        {emptied}
        <details class="empty-trash">
            <summary>"Empty trash…"</summary>
            <ActionForm action=empty>
                <p>"Everything in your trash is deleted for good, with files no other asset holds."</p>
                <button type="submit" class="danger">"Delete all permanently"</button>
            </ActionForm>
        </details>
        <ul class="trash-list">
            {page.items.into_iter().map(|item| view! { <TrashRow item restore purge/> }).collect_view()}
        </ul>
        {older}
    }
    .into_any()
}

#[component]
fn TrashRow(
    item: TrashItem,
    restore: ServerAction<RestoreAsset>,
    purge: ServerAction<PurgeAsset>,
) -> impl IntoView {
    let a = item.asset;
    let picture = a
        .thumb_url
        .clone()
        .map(|src| view! { <img src=src alt="" loading="lazy" width="96" height="96"/> });
    let (restore_id, purge_id) = (a.id.clone(), a.id.clone());
    let restore_label = format!("Restore {}", a.title);
    let purge_label = format!("Delete {} permanently", a.title);
    view! {
        <li class="trash-item">
            <div class="thumb">{picture}</div>
            <div class="what">
                <p class="card-title">{a.title.clone()}</p>
                <p class="card-meta">
                    "Deleted " <time datetime=item.trashed_at.to_rfc3339()>{short_date(&item.trashed_at)}</time>
                    " · goes for good on "
                    <time class="purge-at" datetime=item.purge_at.to_rfc3339()>{short_date(&item.purge_at)}</time>
                </p>
            </div>
            <div class="actions">
                <ActionForm action=restore>
                    <input type="hidden" name="id" value=restore_id/>
                    <button type="submit" class="button" aria-label=restore_label>"Restore"</button>
                </ActionForm>
                <ActionForm action=purge>
                    <input type="hidden" name="id" value=purge_id/>
                    <button type="submit" class="button danger" aria-label=purge_label>
                        "Delete permanently"
                    </button>
                </ActionForm>
            </div>
        </li>
    }
}
