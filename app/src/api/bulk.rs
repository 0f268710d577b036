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
    use crate::model::{BulkAction, Visibility};
    use crate::store::{BulkChange, BulkOutcome, MAX_BULK};
    super::ssr::respond(async move {
        let user = super::ssr::require_session().await?.user;
        let action = BulkAction::parse(&action).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "action is add_tags, remove_tags, set_visibility, trash, add_to_collection or \
                 remove_from_collection, not “{action}”"
            ))
        })?;
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<String> = ids
            .into_iter()
            .map(|id| id.trim().to_string())
            .filter(|id| seen.insert(id.clone()))
            .collect();
        if ids.is_empty() {
            return Err(ApiError::BadRequest(
                "select at least one asset (ids[])".into(),
            ));
        }
        if ids.len() > MAX_BULK {
            return Err(ApiError::BadRequest(format!(
                "select at most {MAX_BULK} assets at once ({} were)",
                ids.len()
            )));
        }
        let not_found = |ids: &[String]| {
            let shown: Vec<String> = ids.iter().take(5).map(|id| format!("“{id}”")).collect();
            let more = ids.len().saturating_sub(shown.len());
            ApiError::NotFound(format!(
                "nothing was changed: no asset of yours out of the trash has the id {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                }
            ))
        };
        let malformed: Vec<String> = ids
            .iter()
            .filter(|id| !crate::ids::is_public_id(id))
            .cloned()
            .collect();
        if !malformed.is_empty() {
            return Err(not_found(&malformed));
        }
        if matches!(
            action,
            BulkAction::AddToCollection | BulkAction::RemoveFromCollection
        ) {
            let done = into_collection(action, &collection, ids).await?;
            record(&user, &done);
            if super::ssr::posted_form()? {
                leptos_axum::redirect(&crate::account::safe_next(Some(&back)));
            }
            return Ok(done);
        }
        let tag_list = match action {
            BulkAction::AddTags | BulkAction::RemoveTags => {
                let list = crate::upload::checked_tags(&tags)?;
                if list.is_empty() {
                    return Err(ApiError::BadRequest(format!(
                        "name the tags to {} (comma-separated)",
                        if action == BulkAction::AddTags {
                            "add"
                        } else {
                            "remove"
                        }
                    )));
                }
                list
            }
            _ => Vec::new(),
        };
        let change = match action {
            BulkAction::AddTags => BulkChange::AddTags(tag_list.clone()),
            BulkAction::RemoveTags => BulkChange::RemoveTags(tag_list.clone()),
            BulkAction::Trash => BulkChange::Trash,
            BulkAction::AddToCollection | BulkAction::RemoveFromCollection => {
                return Err(ApiError::Internal)
            }
            BulkAction::SetVisibility => BulkChange::SetVisibility(
                Visibility::parse(&visibility)
                    .filter(|_| !visibility.trim().is_empty())
                    .ok_or_else(|| ApiError::BadRequest(Visibility::refusal(&visibility)))?,
            ),
        };
        let chosen = match change {
            BulkChange::SetVisibility(visibility) => Some(visibility),
            _ => None,
        };
        let admin = user.role == crate::account::Role::Admin;
        let outcome = super::ssr::store()?
            .bulk_change(
                &ids,
                user.id,
                admin,
                &change,
                crate::upload::MAX_TAGS,
                chrono::Utc::now(),
            )
            .await?;
        let changed = match outcome {
            BulkOutcome::Done { changed } => changed,
            BulkOutcome::Missing(missing) => return Err(not_found(&missing)),
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
        let done = BulkDone {
            action,
            tags: tag_list,
            visibility: chosen,
            selected: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            changed,
            collection: None,
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
    ids: Vec<String>,
) -> Result<BulkDone, ApiError> {
    use crate::model::{BulkAction, CollectionRef};
    if collection.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "choose the collection (collection=)".into(),
        ));
    }
    let selected = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    let (record, changed) = if action == BulkAction::AddToCollection {
        super::collections::ssr::add(collection, ids).await?
    } else {
        super::collections::ssr::remove(collection, ids).await?
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
