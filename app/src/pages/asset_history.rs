//! The history on an asset's page (its owner's, or an admin's): each edit with who made it
//! and when, and what it changed (a word diff of the prompts, tags added and removed, the
//! title, model and visibility before and after), and "Restore" for the version before it.
//! Rendered on the server, so it reads and restores without JavaScript too.

use leptos::prelude::*;

use super::notice::ErrorNotice;
use crate::api::RevertAsset;
use crate::diff::{Change, DiffPart};
use crate::model::{short_datetime, AssetHistory, RevisionView};

/// The history, read with the asset (one resource for the page: a second one inside its
/// suspense would not hydrate).
#[component]
pub fn HistoryPanel(
    asset_id: String,
    history: AssetHistory,
    revert: ServerAction<RevertAsset>,
) -> impl IntoView {
    let error = move || {
        revert
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| view! { <ErrorNotice error/> })
    };
    view! {
        <details class="history">
            <summary>"History"</summary>
            {error}
            <Revisions asset_id history revert/>
        </details>
    }
    .into_any()
}

#[component]
fn Revisions(
    asset_id: String,
    history: AssetHistory,
    revert: ServerAction<RevertAsset>,
) -> impl IntoView {
    if history.revisions.is_empty() {
        return view! { <p class="hint">"No edits yet: this is how it was published."</p> }
            .into_any();
    }
    view! {
        <ol class="revisions">
            {history
                .revisions
                .into_iter()
                .map(|revision| view! { <Revision asset_id=asset_id.clone() revision revert/> })
                .collect_view()}
        </ol>
    }
    .into_any()
}

/// A word diff: kept words as they are, removed ones struck through, added ones marked.
fn diff_view(parts: Vec<DiffPart>) -> impl IntoView {
    parts
        .into_iter()
        .map(|part| match part.change {
            Change::Same => view! { <span>{part.text}" "</span> }.into_any(),
            Change::Removed => view! { <del>{part.text}</del>" " }.into_any(),
            Change::Added => view! { <ins>{part.text}</ins>" " }.into_any(),
        })
        .collect_view()
}

#[component]
fn Revision(
    asset_id: String,
    revision: RevisionView,
    revert: ServerAction<RevertAsset>,
) -> impl IntoView {
    let r = revision;
    let who = r
        .editor
        .clone()
        .unwrap_or_else(|| "someone no longer here".into());
    let changes = r
        .changes
        .into_iter()
        .map(|c| {
            let field = c.field.replace('_', " ");
            view! {
                <p class="change">
                    <span class="field">{field}": "</span>
                    <del>{c.from}</del>" → "<ins>{c.to}</ins>
                </p>
            }
        })
        .collect_view();
    let prompt = r.prompt_diff.map(|parts| {
        view! { <p class="change diff"><span class="field">"prompt: "</span>{diff_view(parts)}</p> }
    });
    let negative = r.negative_diff.map(|parts| {
        view! { <p class="change diff"><span class="field">"negative prompt: "</span>{diff_view(parts)}</p> }
    });
    let tags = (!r.tags_added.is_empty() || !r.tags_removed.is_empty()).then(|| {
        let added = r
            .tags_added
            .into_iter()
            .map(|t| view! { <ins>{format!("+{t}")}</ins>" " })
            .collect_view();
        let removed = r
            .tags_removed
            .into_iter()
            .map(|t| view! { <del>{format!("−{t}")}</del>" " })
            .collect_view();
        view! { <p class="change tags"><span class="field">"tags: "</span>{added}{removed}</p> }
    });
    let label = format!("Restore the version before edit {}", r.number);
    view! {
        <li class="revision">
            <p class="card-meta">
                {format!("Edit {} · ", r.number)}
                <time datetime=r.at.to_rfc3339()>{short_datetime(&r.at)}</time>
                {format!(" · by {who}")}
            </p>
            {changes}
            {prompt}
            {negative}
            {tags}
            <ActionForm action=revert>
                <input type="hidden" name="id" value=asset_id/>
                <input type="hidden" name="revision" value=r.number.to_string()/>
                <button type="submit" class="button small" aria-label=label>"Restore this version"</button>
            </ActionForm>
        </li>
    }
}
