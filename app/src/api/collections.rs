//! Collections over HTTP: making them, their items and order, their members. Every
//! endpoint asks [`crate::access::allows`] through [`ssr::open`] before it does anything.

use leptos::prelude::*;
use server_fn::codec::{GetUrl, Json, PostUrl};

#[cfg(feature = "ssr")]
use crate::access::{Action, MemberRole};
use crate::collection::{CollectionDetail, CollectionSummary, ItemsChanged, Member};
use crate::error::ApiError;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::access::{allows, Action, Standing};
    use crate::api::selection::{quoted, refusal, Selection};
    use crate::collection::{CollectionSummary, ItemsChanged, Member};
    use crate::error::ApiError;
    use crate::model::{media_url, MediaVariant};
    use crate::store::{CollectionListing, CollectionRecord, MemberRecord, User};

    /// A collection someone asked for, and how they stand to it.
    pub struct Opened {
        pub record: CollectionRecord,
        pub standing: Standing,
        pub user: Option<User>,
    }

    /// The `404` for a collection that is missing or that the person may not see: alike.
    pub fn not_found(id: &str) -> ApiError {
        ApiError::NotFound(format!("no collection you can see has the id “{id}”"))
    }

    /// Opens the collection `id` for `action`: a `404` when it is missing or they may not
    /// see it, a `401` when they are not logged in and it takes an account, a `403`
    /// naming what they may not do otherwise.
    pub async fn open(id: &str, action: Action) -> Result<Opened, ApiError> {
        open_shared(id, action, "").await
    }

    /// [`open`], for someone who may hold `share`, a share link's token: when it opens
    /// this collection (and they have no other place in it), they stand as its holder.
    pub async fn open_shared(id: &str, action: Action, share: &str) -> Result<Opened, ApiError> {
        let id = id.trim();
        if !crate::ids::is_public_id(id) {
            return Err(not_found(id));
        }
        let user = crate::api::ssr::current_session().await?.map(|s| s.user);
        let Some((record, role)) = crate::api::ssr::store()?
            .collection(id, user.as_ref().map(|u| u.id))
            .await?
        else {
            return Err(not_found(id));
        };
        let standing = match (&user, role) {
            (Some(user), _) if user.id == record.owner => Standing::Owner,
            (_, Some(role)) => Standing::Member(role),
            _ if !share.trim().is_empty() => {
                let opens_this = matches!(
                    crate::api::share_access::ssr::resolve(share).await?,
                    Some((_, crate::store::SharedThing::Collection { id, .. })) if id == record.id
                );
                if opens_this {
                    Standing::LinkHolder
                } else {
                    Standing::Stranger
                }
            }
            _ => Standing::Stranger,
        };
        if !allows(standing, Action::View, record.visibility) {
            return Err(not_found(id));
        }
        if !allows(standing, action, record.visibility) {
            return Err(match (&user, action) {
                (None, _) => ApiError::Unauthorized("log in to do this".into()),
                (Some(_), Action::Leave) if standing == Standing::Owner => ApiError::BadRequest(
                    "you own this collection: hand it over to an editor before you leave".into(),
                ),
                (Some(_), Action::Share) if standing == Standing::Owner => ApiError::BadRequest(
                    "this collection is public: its address is its link; share links \
                         are for unlisted and private collections"
                        .into(),
                ),
                (Some(_), _) => ApiError::Forbidden(format!(
                    "as {} you may not {} this collection",
                    article(standing),
                    action.refusal()
                )),
            });
        }
        Ok(Opened {
            record,
            standing,
            user,
        })
    }

    /// The collection a search names (`collection=`), opened for viewing (through the
    /// share link `share`, when that is how the person sees it), and whether it was the
    /// link that opened it; `None` when it names none. Its own order needs one; a
    /// full-text rank is not kept inside one.
    pub async fn scope(
        id: &str,
        sort: crate::search::Sort,
        share: &str,
    ) -> Result<Option<(crate::store::CollectionScope, bool)>, ApiError> {
        use crate::search::Sort;
        let id = id.trim();
        if id.is_empty() {
            if sort == Sort::Curated {
                return Err(ApiError::BadRequest(
                    "sort=curated is a collection's own order; name the collection \
                     (collection=)"
                        .into(),
                ));
            }
            return Ok(None);
        }
        if sort == Sort::Relevant {
            return Err(ApiError::BadRequest(
                "sort=relevant is not available inside a collection; use newest, oldest, \
                 liked, viewed, featured or curated"
                    .into(),
            ));
        }
        let opened = open_shared(id, Action::View, share).await?;
        // Seeing a private collection at all means having a place in it.
        let private_items = opened.record.visibility == crate::model::Visibility::Private;
        Ok(Some((
            crate::store::CollectionScope {
                id: opened.record.id,
                private_items,
            },
            opened.standing == Standing::LinkHolder,
        )))
    }

    /// "its owner", "an editor", "a stranger"…
    fn article(standing: Standing) -> String {
        match standing {
            Standing::Owner => "its owner".into(),
            Standing::Member(role) => format!(
                "{} {}",
                if role == crate::access::MemberRole::Editor {
                    "an"
                } else {
                    "a"
                },
                role.as_str()
            ),
            Standing::LinkHolder => "the holder of a share link".into(),
            Standing::Stranger => "someone without a place in it".into(),
        }
    }

    pub fn summary(listing: CollectionListing) -> CollectionSummary {
        let CollectionListing {
            record,
            items,
            cover,
            role,
        } = listing;
        let (cover_id, cover_url) = match cover {
            Some((id, sha)) => {
                let url = sha.map(|sha| media_url(&id, MediaVariant::Thumb, &sha));
                (Some(id), url)
            }
            None => (None, None),
        };
        CollectionSummary {
            id: record.public_id,
            title: record.title,
            description: record.description,
            owner: record.owner_name,
            visibility: record.visibility,
            items,
            cover_url,
            cover_id,
            role,
            updated_at: record.updated_at,
            featured: record.featured,
        }
    }

    pub fn member(record: MemberRecord) -> Member {
        Member {
            username: record.username,
            role: record.role,
            added_at: record.added_at,
        }
    }

    /// The assets a collection form names (`assets[]`), as a selection.
    pub fn asset_ids(ids: Vec<String>) -> Result<Selection, ApiError> {
        Selection::parse(ids).map_err(|why| {
            refusal(why, "name", "assets[]", |ids| {
                format!("no asset has the id {ids}")
            })
        })
    }

    /// Adds `assets` to the collection `id` at its end, as the person asking may
    /// (contributors their own; the owner and editors also anyone's public ones), all or
    /// none: what the add endpoint and the bulk bar do.
    pub async fn add(
        id: &str,
        assets: &Selection,
    ) -> Result<(CollectionRecord, ItemsChanged), ApiError> {
        use crate::store::AddOutcome;
        let opened = open(id, Action::AddOwn).await?;
        let user = opened.user.ok_or(ApiError::Internal)?;
        let assets = assets.ids();
        let others = allows(opened.standing, Action::RemoveAny, opened.record.visibility);
        let outcome = crate::api::ssr::store()?
            .add_items(
                opened.record.id,
                assets,
                user.id,
                others,
                chrono::Utc::now(),
            )
            .await?;
        let (added, already) = match outcome {
            AddOutcome::Added { added, already } => (added, already),
            AddOutcome::Refused(refused) => {
                let whose = if others { "yours or public" } else { "yours" };
                return Err(ApiError::NotFound(format!(
                    "nothing was added: no asset {whose} out of the trash has the id {}",
                    quoted(&refused)
                )));
            }
            AddOutcome::Full { free } => {
                return Err(ApiError::Conflict(format!(
                    "nothing was added: a collection holds at most {} assets, and this one has \
                     room for {free} more",
                    crate::store::MAX_COLLECTION_ITEMS
                )))
            }
        };
        record(&user, &format!("add:{}", added.len()));
        let changed = ItemsChanged {
            collection: opened.record.public_id.clone(),
            changed: added,
            unchanged: already,
        };
        Ok((opened.record, changed))
    }

    /// Takes `assets` out of the collection `id`, as the person asking may (contributors
    /// their own; the owner and editors anyone's). The assets stay.
    pub async fn remove(
        id: &str,
        assets: &Selection,
    ) -> Result<(CollectionRecord, ItemsChanged), ApiError> {
        let opened = open(id, Action::RemoveOwn).await?;
        let user = opened.user.ok_or(ApiError::Internal)?;
        let assets = assets.ids();
        let any = allows(opened.standing, Action::RemoveAny, opened.record.visibility);
        let removed = crate::api::ssr::store()?
            .remove_items(opened.record.id, assets, user.id, any, chrono::Utc::now())
            .await?;
        let unchanged: Vec<String> = assets
            .iter()
            .filter(|a| !removed.contains(a))
            .cloned()
            .collect();
        record(&user, &format!("remove:{}", removed.len()));
        let changed = ItemsChanged {
            collection: opened.record.public_id.clone(),
            changed: removed,
            unchanged,
        };
        Ok((opened.record, changed))
    }

    /// Records one change to a collection (`what` and a count) as a usage event.
    pub fn record(user: &User, what: &str) {
        crate::api::ssr::record(
            crate::stats::Feature::CollectionChanged,
            Some(user.id),
            what,
        );
    }

    /// Without JavaScript, a form goes back to `back` (a path on this site), or to `to`.
    pub fn go_back(back: &str, to: &str) -> Result<(), ApiError> {
        if crate::api::ssr::posted_form()? {
            let target = if back.trim().is_empty() {
                to.to_string()
            } else {
                crate::account::safe_next(Some(back))
            };
            leptos_axum::redirect(&target);
        }
        Ok(())
    }
}

/// `GET /api/collection?id=&s=`: one collection you may see (`s`: a share link's token that
/// opens it), its members (if you are one of them) and what you may do to it. Its items are
/// `GET /api/assets?collection=`.
#[server(name = GetCollection, prefix = "/api", endpoint = "collection", input = GetUrl, output = Json)]
pub async fn get_collection(
    id: String,
    #[server(default)] s: String,
) -> Result<CollectionDetail, ApiError> {
    use crate::access::{allows, Standing};
    crate::api::ssr::respond(async move {
        let opened = ssr::open_shared(&id, Action::View, &s).await?;
        let store = crate::api::ssr::store()?;
        let viewer = opened.user.as_ref().map(|u| u.id);
        let members = match opened.standing {
            Standing::Owner | Standing::Member(_) => store
                .members(opened.record.id)
                .await?
                .into_iter()
                .map(ssr::member)
                .collect(),
            Standing::LinkHolder | Standing::Stranger => Vec::new(),
        };
        let this = &opened.record.public_id;
        let list = if opened.standing == Standing::LinkHolder {
            crate::store::CollectionList::Shared(this)
        } else {
            crate::store::CollectionList::One(this)
        };
        let one = store
            .list_collections(list, viewer, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ssr::not_found(&id))?;
        let visibility = opened.record.visibility;
        let may = Action::ALL
            .into_iter()
            .filter(|action| allows(opened.standing, *action, visibility))
            .collect();
        if opened.user.is_some() || visibility != crate::model::Visibility::Public {
            crate::api::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        let mut summary = ssr::summary(one);
        if opened.standing == Standing::LinkHolder {
            summary.cover_url = summary
                .cover_url
                .map(|url| crate::api::share_access::ssr::carry(&url, s.trim()));
        }
        Ok(CollectionDetail {
            // Which item is the cover is for those who choose it (it may be one others do
            // not see).
            chosen_cover: allows(opened.standing, Action::Edit, visibility)
                .then(|| opened.record.cover.clone())
                .flatten(),
            created_at: opened.record.created_at,
            summary,
            members,
            standing: opened.standing,
            may,
        })
    })
    .await
}

/// `GET /api/collections?owner=` (a person's, as their profile lists them), `?asset=`
/// (the collections holding an asset you may see) or `?mine=true` (the ones you may add
/// to; none for a visitor): the collections you may see listed, most recently changed
/// first.
#[server(name = ListCollections, prefix = "/api", endpoint = "collections", input = GetUrl, output = Json)]
pub async fn list_collections(
    #[server(default)] owner: String,
    #[server(default)] asset: String,
    #[server(default)] mine: String,
) -> Result<Vec<CollectionSummary>, ApiError> {
    use crate::store::CollectionList;
    crate::api::ssr::respond(async move {
        let user = crate::api::ssr::current_session().await?.map(|s| s.user);
        let (owner, asset) = (owner.trim(), asset.trim());
        let mine = matches!(mine.trim(), "true" | "1" | "yes");
        let list = match (owner.is_empty(), asset.is_empty(), mine) {
            (false, true, false) => CollectionList::OwnedBy(owner),
            (true, false, false) => CollectionList::Holding(asset),
            // A visitor may add to none (the asset page asks while it renders: never a 401).
            (true, true, true) if user.is_none() => return Ok(Vec::new()),
            (true, true, true) => CollectionList::Mine,
            _ => {
                return Err(ApiError::BadRequest(
                    "name exactly one of owner=, asset= or mine=true".into(),
                ))
            }
        };
        if owner.len() > 64 || asset.len() > 64 {
            return Ok(Vec::new());
        }
        // All the ones one may add to, however many one has.
        let limit = if mine {
            crate::store::MAX_COLLECTIONS
        } else {
            crate::collection::LIST_LIMIT
        };
        let listings = crate::api::ssr::store()?
            .list_collections(list, user.as_ref().map(|u| u.id), limit)
            .await?;
        if user.is_some() {
            crate::api::ssr::add_response_header(http::header::CACHE_CONTROL, "private, no-store");
        }
        Ok(listings.into_iter().map(ssr::summary).collect())
    })
    .await
}

/// `POST /api/collections/create` (`title`, `description`, `visibility`): a new
/// collection of yours. Without JavaScript the form goes on to its page.
#[server(name = CreateCollection, prefix = "/api", endpoint = "collections/create", input = PostUrl, output = Json)]
pub async fn create_collection(
    #[server(default)] title: String,
    #[server(default)] description: String,
    #[server(default)] visibility: String,
) -> Result<CollectionSummary, ApiError> {
    use crate::model::Visibility;
    crate::api::ssr::respond(async move {
        let user = crate::api::ssr::require_session().await?.user;
        let title = crate::collection::checked_title(&title).map_err(ApiError::BadRequest)?;
        let description =
            crate::collection::checked_description(&description).map_err(ApiError::BadRequest)?;
        let visibility = if visibility.trim().is_empty() {
            Visibility::Public
        } else {
            Visibility::parse(&visibility)
                .ok_or_else(|| ApiError::BadRequest(Visibility::refusal(&visibility)))?
        };
        let record = crate::api::ssr::store()?
            .create_collection(&crate::store::NewCollection {
                public_id: crate::ids::new_public_id(),
                owner: user.id,
                title,
                description,
                visibility,
                created_at: chrono::Utc::now(),
            })
            .await?
            .ok_or_else(|| {
                ApiError::Conflict(format!(
                    "you have {} collections, the most one person may have; delete one first",
                    crate::store::MAX_COLLECTIONS
                ))
            })?;
        ssr::record(&user, "create");
        let page = format!("/c/{}", record.public_id);
        ssr::go_back("", &page)?;
        Ok(ssr::summary(crate::store::CollectionListing {
            record,
            items: 0,
            cover: None,
            role: None,
        }))
    })
    .await
}

/// `POST /api/collections/update` (`id`, `title`, `description`, `visibility`): the owner's
/// or an editor's edit (the cover is `POST /api/collections/cover`'s).
#[server(name = UpdateCollection, prefix = "/api", endpoint = "collections/update", input = PostUrl, output = Json)]
pub async fn update_collection(
    id: String,
    #[server(default)] title: String,
    #[server(default)] description: String,
    #[server(default)] visibility: String,
) -> Result<(), ApiError> {
    use crate::model::Visibility;
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::Edit).await?;
        let edit = crate::store::CollectionEdit {
            title: crate::collection::checked_title(&title).map_err(ApiError::BadRequest)?,
            description: crate::collection::checked_description(&description)
                .map_err(ApiError::BadRequest)?,
            visibility: Visibility::parse(&visibility)
                .filter(|_| !visibility.trim().is_empty())
                .ok_or_else(|| ApiError::BadRequest(Visibility::refusal(&visibility)))?,
        };
        crate::api::ssr::store()?
            .edit_collection(opened.record.id, &edit, chrono::Utc::now())
            .await?;
        if let Some(user) = &opened.user {
            ssr::record(user, "edit");
        }
        ssr::go_back("", &format!("/c/{}", opened.record.public_id))
    })
    .await
}

/// `POST /api/collections/delete` (`id`): the owner deletes the collection; its assets
/// stay where they are.
#[server(name = DeleteCollection, prefix = "/api", endpoint = "collections/delete", input = PostUrl, output = Json)]
pub async fn delete_collection(id: String) -> Result<(), ApiError> {
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::Delete).await?;
        crate::api::ssr::store()?
            .delete_collection(opened.record.id)
            .await?;
        let user = opened.user.ok_or(ApiError::Internal)?;
        ssr::record(&user, "delete");
        ssr::go_back(
            "",
            &format!("/u/{}", crate::model::percent_encode(&user.username, false)),
        )
    })
    .await
}

/// `POST /api/collections/items/add` (`id`, `assets[]` repeated, `back`): adds assets at
/// the end, all or none. Contributors add their own; the owner and editors also anyone's
/// public ones.
#[server(name = AddToCollection, prefix = "/api", endpoint = "collections/items/add", input = PostUrl, output = Json)]
pub async fn add_to_collection(
    id: String,
    #[server(default)] assets: Vec<String>,
    #[server(default)] back: String,
) -> Result<ItemsChanged, ApiError> {
    crate::api::ssr::respond(async move {
        let (_, changed) = ssr::add(&id, &ssr::asset_ids(assets)?).await?;
        ssr::go_back(&back, &format!("/c/{}", changed.collection))?;
        Ok(changed)
    })
    .await
}

/// `POST /api/collections/items/remove` (`id`, `assets[]` repeated, `back`): takes assets
/// out (contributors their own; the owner and editors anyone's). The assets stay.
#[server(name = RemoveFromCollection, prefix = "/api", endpoint = "collections/items/remove", input = PostUrl, output = Json)]
pub async fn remove_from_collection(
    id: String,
    #[server(default)] assets: Vec<String>,
    #[server(default)] back: String,
) -> Result<ItemsChanged, ApiError> {
    crate::api::ssr::respond(async move {
        let (_, changed) = ssr::remove(&id, &ssr::asset_ids(assets)?).await?;
        ssr::go_back(&back, &format!("/c/{}", changed.collection))?;
        Ok(changed)
    })
    .await
}

/// `POST /api/collections/items/move` (`id`, `asset`, `to`: `up`, `down`, `end` or the id
/// of the item to go before, `back`): the owner or an editor reorders.
#[server(name = MoveInCollection, prefix = "/api", endpoint = "collections/items/move", input = PostUrl, output = Json)]
pub async fn move_in_collection(
    id: String,
    #[server(default)] asset: String,
    #[server(default)] to: String,
    #[server(default)] back: String,
) -> Result<(), ApiError> {
    use crate::store::MoveTo;
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::Reorder).await?;
        let to = match to.trim() {
            "up" | "down" => {
                let mover = opened.user.as_ref().ok_or(ApiError::Internal)?.id;
                if to.trim() == "up" {
                    MoveTo::Up(mover)
                } else {
                    MoveTo::Down(mover)
                }
            }
            "end" => MoveTo::End,
            other if crate::ids::is_public_id(other) => MoveTo::Before(other.to_string()),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "to is up, down, end or the id of an item, not “{other}”"
                )))
            }
        };
        let moved = crate::api::ssr::store()?
            .move_item(opened.record.id, asset.trim(), &to, chrono::Utc::now())
            .await?;
        if !moved {
            return Err(ApiError::NotFound(format!(
                "“{}” (or the item to go before) is not in this collection",
                asset.trim()
            )));
        }
        if let Some(user) = &opened.user {
            ssr::record(user, "move");
        }
        ssr::go_back(&back, &format!("/c/{}", opened.record.public_id))
    })
    .await
}

/// `POST /api/collections/members/set` (`id`, `username`, `role`: `viewer`,
/// `contributor` or `editor`): invites someone or changes their role. Editors invite
/// viewers and contributors; the owner anyone, and changes roles.
#[server(name = SetMember, prefix = "/api", endpoint = "collections/members/set", input = PostUrl, output = Json)]
pub async fn set_member(
    id: String,
    #[server(default)] username: String,
    #[server(default)] role: String,
) -> Result<Vec<Member>, ApiError> {
    crate::api::ssr::respond(async move {
        let role = MemberRole::parse(&role).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "role is viewer, contributor or editor, not “{}”",
                role.trim()
            ))
        })?;
        let opened = ssr::open(&id, Action::InviteViewerOrContributor).await?;
        // Inviting an editor is the owner's; so is changing a member's role, which the
        // store refuses in its own transaction to anyone else.
        if role == MemberRole::Editor {
            ssr::open(&id, Action::ManageMembers).await?;
        }
        let may_change = crate::access::allows(
            opened.standing,
            Action::ManageMembers,
            opened.record.visibility,
        );
        let store = crate::api::ssr::store()?;
        let username = username.trim().to_string();
        members_outcome(
            store
                .set_member(
                    opened.record.id,
                    &username,
                    role,
                    may_change,
                    chrono::Utc::now(),
                )
                .await?,
            &username,
        )?;
        if let Some(user) = &opened.user {
            ssr::record(user, &format!("member:{}", role.as_str()));
        }
        ssr::go_back("", &format!("/c/{}", opened.record.public_id))?;
        Ok(store
            .members(opened.record.id)
            .await?
            .into_iter()
            .map(ssr::member)
            .collect())
    })
    .await
}

/// The answer to a change of members that did not happen.
#[cfg(feature = "ssr")]
fn members_outcome(outcome: crate::store::MemberOutcome, username: &str) -> Result<(), ApiError> {
    use crate::store::MemberOutcome;
    match outcome {
        MemberOutcome::Done => Ok(()),
        MemberOutcome::NoSuchUser => Err(ApiError::NotFound(format!(
            "nobody here is called “{username}”"
        ))),
        MemberOutcome::IsOwner => Err(ApiError::BadRequest(format!(
            "“{username}” owns this collection"
        ))),
        MemberOutcome::NotMember => Err(ApiError::NotFound(format!(
            "“{username}” is not a member of this collection"
        ))),
        MemberOutcome::Full => Err(ApiError::Conflict(format!(
            "a collection has at most {} members",
            crate::store::MAX_MEMBERS
        ))),
        MemberOutcome::AlreadyMember => Err(ApiError::Forbidden(format!(
            "“{username}” is a member already; only the owner changes a member's role"
        ))),
        MemberOutcome::NotEditor => Err(ApiError::BadRequest(format!(
            "“{username}” is not an editor: a collection is handed over to one of its editors"
        ))),
        MemberOutcome::TooMany => Err(ApiError::Conflict(format!(
            "“{username}” owns {} collections already, the most one person may",
            crate::store::MAX_COLLECTIONS
        ))),
    }
}

/// `POST /api/collections/members/remove` (`id`, `username`): the owner removes a member.
#[server(name = RemoveMember, prefix = "/api", endpoint = "collections/members/remove", input = PostUrl, output = Json)]
pub async fn remove_member(
    id: String,
    #[server(default)] username: String,
) -> Result<Vec<Member>, ApiError> {
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::ManageMembers).await?;
        let store = crate::api::ssr::store()?;
        let username = username.trim().to_string();
        members_outcome(
            store.remove_member(opened.record.id, &username).await?,
            &username,
        )?;
        if let Some(user) = &opened.user {
            ssr::record(user, "member:remove");
        }
        ssr::go_back("", &format!("/c/{}", opened.record.public_id))?;
        Ok(store
            .members(opened.record.id)
            .await?
            .into_iter()
            .map(ssr::member)
            .collect())
    })
    .await
}

/// `POST /api/collections/leave` (`id`): a member stops being one.
#[server(name = LeaveCollection, prefix = "/api", endpoint = "collections/leave", input = PostUrl, output = Json)]
pub async fn leave_collection(id: String) -> Result<(), ApiError> {
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::Leave).await?;
        let user = opened.user.ok_or(ApiError::Internal)?;
        members_outcome(
            crate::api::ssr::store()?
                .remove_member(opened.record.id, &user.username)
                .await?,
            &user.username,
        )?;
        ssr::record(&user, "leave");
        ssr::go_back("", &format!("/c/{}", opened.record.public_id))
    })
    .await
}

/// `POST /api/collections/transfer` (`id`, `username`): the owner hands the collection to
/// a member, and stays on as an editor.
#[server(name = TransferCollection, prefix = "/api", endpoint = "collections/transfer", input = PostUrl, output = Json)]
pub async fn transfer_collection(
    id: String,
    #[server(default)] username: String,
) -> Result<(), ApiError> {
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::TransferOwnership).await?;
        let username = username.trim().to_string();
        members_outcome(
            crate::api::ssr::store()?
                .transfer_collection(opened.record.id, &username, chrono::Utc::now())
                .await?,
            &username,
        )?;
        if let Some(user) = &opened.user {
            ssr::record(user, "transfer");
        }
        ssr::go_back("", &format!("/c/{}", opened.record.public_id))
    })
    .await
}

/// `POST /api/collections/cover` (`id`, `asset`: an item, or empty for the newest added;
/// `back`): the owner or an editor chooses the cover.
#[server(name = SetCollectionCover, prefix = "/api", endpoint = "collections/cover", input = PostUrl, output = Json)]
pub async fn set_collection_cover(
    id: String,
    #[server(default)] asset: String,
    #[server(default)] back: String,
) -> Result<(), ApiError> {
    crate::api::ssr::respond(async move {
        let opened = ssr::open(&id, Action::Edit).await?;
        let record = &opened.record;
        let cover = Some(asset.trim()).filter(|a| !a.is_empty());
        let done = crate::api::ssr::store()?
            .set_cover(record.id, cover, chrono::Utc::now())
            .await?;
        if !done {
            return Err(ApiError::BadRequest(format!(
                "the cover must be an asset in the collection, and “{}” is not",
                asset.trim()
            )));
        }
        if let Some(user) = &opened.user {
            ssr::record(user, "cover");
        }
        ssr::go_back(&back, &format!("/c/{}", record.public_id))
    })
    .await
}
