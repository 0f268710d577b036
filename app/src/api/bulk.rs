//! Bulk actions over selected assets: add or remove tags, set visibility, trash, add to
//! or take out of a collection.

use leptos::prelude::*;
use server_fn::codec::{Json, PostUrl};

use crate::error::ApiError;
use crate::model::BulkDone;

/// `POST /api/assets/bulk` (`ids[]` repeated, `action`: `add_tags`, `remove_tags`,
/// `set_visibility`, `trash`, `add_to_collection` or `remove_from_collection`; `tags` for
/// the tag actions, `visibility` for `set_visibility`, `collection` (an id) for the
/// collection actions): one change to up to [`crate::store::MAX_BULK`] of your assets (an
/// admin: anyone's), all or none, in one transaction. Each asset whose tags or visibility
/// change keeps a revision. An id that is not yours, is in the trash or does not exist
/// refuses the whole action with a `404` naming it. The collection actions are
/// `POST /api/collections/items/add` and `…/remove`'s, with their rules and answers. A
/// plain form (no JavaScript) goes back to `back` (a path on this site).
#[server(name = BulkEdit, prefix = "/api", endpoint = "assets/bulk", input = PostUrl, output = Json)]
pub async fn bulk_edit(
    #[server(default)] ids: Vec<String>,
    #[server(default)] action: String,
    #[server(default)] tags: String,
    #[server(default)] visibility: String,
    #[server(default)] collection: String,
    #[server(default)] back: String,
) -> Result<BulkDone, ApiError> {
    use super::selection::{refusal, Selection};
    use crate::model::{BulkAction, Visibility};
    use crate::store::BulkChange;
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        let action = BulkAction::parse(&action).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "action is add_tags, remove_tags, set_visibility, trash, add_to_collection or \
                 remove_from_collection, not “{action}”"
            ))
        })?;
        let selection =
            Selection::parse(ids).map_err(|why| refusal(why, "select", "ids[]", none_of_yours))?;
        let done = match action {
            BulkAction::AddToCollection | BulkAction::RemoveFromCollection => {
                into_collection(action, &collection, selection).await?
            }
            BulkAction::AddTags => {
                let list = named_tags(&tags, "add")?;
                change(&user, action, selection, BulkChange::AddTags(list)).await?
            }
            BulkAction::RemoveTags => {
                let list = named_tags(&tags, "remove")?;
                change(&user, action, selection, BulkChange::RemoveTags(list)).await?
            }
            BulkAction::SetVisibility => {
                let chosen = Visibility::parse(&visibility)
                    .filter(|_| !visibility.trim().is_empty())
                    .ok_or_else(|| ApiError::BadRequest(Visibility::refusal(&visibility)))?;
                change(&user, action, selection, BulkChange::SetVisibility(chosen)).await?
            }
            BulkAction::Trash => change(&user, action, selection, BulkChange::Trash).await?,
        };
        record(&user, &done);
        // A plain form goes back to the page it was on; a script gets the answer.
        if super::ssr::posted_form()? {
            leptos_axum::redirect(&crate::account::safe_next(Some(&back)));
        }
        Ok(done)
    })
    .await
}

/// The refusal when some of the named assets are not the person's, or are in the trash.
#[cfg(feature = "ssr")]
fn none_of_yours(ids: &str) -> String {
    format!("nothing was changed: no asset of yours out of the trash has the id {ids}")
}

/// The tags a tag action names (`verb`: "add" or "remove"), at least one.
#[cfg(feature = "ssr")]
fn named_tags(tags: &str, verb: &str) -> Result<Vec<String>, ApiError> {
    let list = crate::upload::checked_tags(tags)?;
    if list.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "name the tags to {verb} (comma-separated)"
        )));
    }
    Ok(list)
}

/// One change to the fields of the selected assets (tags, visibility, the trash), all or
/// none.
#[cfg(feature = "ssr")]
async fn change(
    user: &crate::store::User,
    action: crate::model::BulkAction,
    selection: super::selection::Selection,
    change: crate::store::BulkChange,
) -> Result<BulkDone, ApiError> {
    use super::selection::quoted;
    use crate::store::{BulkChange, BulkOutcome};
    let (tags, visibility) = match &change {
        BulkChange::AddTags(list) | BulkChange::RemoveTags(list) => (list.clone(), None),
        BulkChange::SetVisibility(chosen) => (Vec::new(), Some(*chosen)),
        BulkChange::Trash => (Vec::new(), None),
    };
    let admin = user.role == crate::account::Role::Admin;
    let outcome = super::ssr::store()?
        .bulk_change(
            selection.ids(),
            user.id,
            admin,
            &change,
            crate::upload::MAX_TAGS,
            chrono::Utc::now(),
        )
        .await?;
    let changed = match outcome {
        BulkOutcome::Done { changed } => changed,
        BulkOutcome::Missing(missing) => {
            return Err(ApiError::NotFound(none_of_yours(&quoted(&missing))))
        }
        BulkOutcome::TooManyTags {
            id,
            would_have,
            max,
        } => {
            return Err(ApiError::BadRequest(format!(
                "nothing was changed: “{id}” would have {would_have} tags, and an asset may \
                 have at most {max}"
            )))
        }
    };
    Ok(BulkDone {
        action,
        tags,
        visibility,
        selected: u32::try_from(selection.len()).unwrap_or(u32::MAX),
        changed,
        collection: None,
    })
}

/// Records a bulk action as a usage event: its action and how many assets changed.
#[cfg(feature = "ssr")]
fn record(user: &crate::store::User, done: &BulkDone) {
    super::ssr::record(
        crate::stats::Feature::BulkEdit,
        Some(user.id),
        &format!("{}:{}", done.action.as_str(), done.changed.len()),
    );
}

/// The selection `ids` added to or taken out of the collection `collection` (the bulk
/// bar's collection actions), as the collection's own endpoints do it.
#[cfg(feature = "ssr")]
async fn into_collection(
    action: crate::model::BulkAction,
    collection: &str,
    selection: super::selection::Selection,
) -> Result<BulkDone, ApiError> {
    use crate::model::{BulkAction, CollectionRef};
    if collection.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "choose the collection (collection=)".into(),
        ));
    }
    let selected = u32::try_from(selection.len()).unwrap_or(u32::MAX);
    let (record, changed) = if action == BulkAction::AddToCollection {
        super::collections::ssr::add(collection, &selection).await?
    } else {
        super::collections::ssr::remove(collection, &selection).await?
    };
    Ok(BulkDone {
        action,
        tags: Vec::new(),
        visibility: None,
        selected,
        changed: changed.changed,
        collection: Some(CollectionRef {
            id: record.public_id,
            title: record.title,
        }),
    })
}
