//! `/c/{id}`: one collection — its title, description, owner and members, and its items
//! in the same grid, filters, paging and lightbox as the gallery (its own order first).
//! The owner and editors edit it and order its items, members invite and leave; every
//! control is a form that works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::collection_tools::{ItemActions, Tools};
use super::featured::FeatureButton;
use super::gallery::{Browse, Listing, Scope};
use super::notice::ErrorNotice;
use crate::access::{Action, MemberRole, Standing};
use crate::api::{
    get_collection, DeleteCollection, LeaveCollection, RemoveMember, SetMember, TransferCollection,
    UpdateCollection,
};
use crate::collection::{CollectionDetail, MAX_DESCRIPTION, MAX_TITLE};
use crate::components::share::ShareLinkForm;
use crate::components::use_auth;
use crate::featured::FeatureKind;
use crate::model::{percent_encode, title_text, Visibility};
use crate::share::SharedKind;

/// The forms of the page's header; the collection is read again after each.
#[derive(Clone, Copy)]
struct HeadActions {
    update: ServerAction<UpdateCollection>,
    set_member: ServerAction<SetMember>,
    remove_member: ServerAction<RemoveMember>,
    leave: ServerAction<LeaveCollection>,
    transfer: ServerAction<TransferCollection>,
    delete: ServerAction<DeleteCollection>,
}

impl HeadActions {
    fn new() -> HeadActions {
        HeadActions {
            update: ServerAction::new(),
            set_member: ServerAction::new(),
            remove_member: ServerAction::new(),
            leave: ServerAction::new(),
            transfer: ServerAction::new(),
            delete: ServerAction::new(),
        }
    }

    fn version(&self) -> usize {
        self.update.version().get()
            + self.set_member.version().get()
            + self.remove_member.version().get()
            + self.leave.version().get()
            + self.transfer.version().get()
    }

    /// The error of the latest of them that failed.
    fn error(&self) -> Option<crate::error::ApiError> {
        [
            self.update.value().get().and_then(Result::err),
            self.set_member.value().get().and_then(Result::err),
            self.remove_member.value().get().and_then(Result::err),
            self.leave.value().get().and_then(Result::err),
            self.transfer.value().get().and_then(Result::err),
            self.delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    }
}

#[component]
pub fn CollectionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let head = HeadActions::new();
    let items = ItemActions::new();
    let auth = use_auth();
    let share = crate::components::share::page_share_token();
    let detail = Resource::new(
        move || (id(), share.clone(), head.version(), items.version()),
        |(id, share, ..)| get_collection(id, share),
    );
    // Made here, outside the Suspend below (see `Listing`), and read again after changes.
    let listing = Listing::new(move || Scope::Collection(id()));
    Effect::new(move |seen: Option<usize>| {
        let now = items.version() + head.version();
        if seen.is_some_and(|seen| seen != now) {
            listing.page.refetch();
        }
        now
    });
    // Once deleted, the page goes to the collections of whoever deleted it.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = head.delete.value().get() {
            if let Some(me) = auth.me.get().flatten() {
                let to = format!("/u/{}/collections", percent_encode(&me.username, false));
                navigate(&to, Default::default());
            }
        }
    });
    view! {
        <Title text="Collection · atelier"/>
        <section class="page">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let me = auth.me.await;
                    let admin = me.as_ref().is_some_and(|me| me.role == crate::account::Role::Admin);
                    match detail.await {
                        Ok(detail) => {
                            let base = format!("/c/{}", detail.summary.id);
                            provide_context(Tools {
                                collection: detail.summary.id.clone(),
                                may_reorder: detail.may(Action::Reorder),
                                may_edit: detail.may(Action::Edit),
                                may_remove_any: detail.may(Action::RemoveAny),
                                may_remove_own: detail.may(Action::RemoveOwn),
                                me: me.map(|m| m.username),
                                actions: items,
                            });
                            let scope = Scope::Collection(detail.summary.id.clone());
                            view! {
                                <Title text=title_text(&format!("{} · atelier", detail.summary.title))/>
                                <CollectionHead detail head items admin/>
                                <Browse base scope listing=Some(listing)/>
                            }
                            .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The header: what the collection is, and the forms of those who may change it.
#[component]
fn CollectionHead(
    detail: CollectionDetail,
    head: HeadActions,
    items: ItemActions,
    /// The person looking is an admin (who features public collections).
    admin: bool,
) -> impl IntoView {
    let s = &detail.summary;
    let featured = s.featured.is_some();
    let feature = if admin && (featured || s.visibility == Visibility::Public) {
        Some(view! { <FeatureButton kind=FeatureKind::Collection id=s.id.clone() featured/> })
    } else {
        None
    };
    let featured_badge = (featured && feature.is_none())
        .then(|| view! { <span class="featured-badge">"★ Featured"</span> });
    let owner_href = format!("/u/{}", percent_encode(&s.owner, false));
    let badge = match s.visibility {
        Visibility::Public => None,
        Visibility::Unlisted => Some(view! { <span class="badge private">"Unlisted"</span> }),
        Visibility::Private => Some(view! { <span class="badge private">"Private"</span> }),
    };
    let count = if s.items == 1 {
        "1 item".to_string()
    } else {
        format!("{} items", crate::units::thousands(s.items))
    };
    let standing = match detail.standing {
        Standing::Owner => Some("You own it.".to_string()),
        Standing::Member(role) => Some(format!(
            "You are {} {} here.",
            if role == MemberRole::Editor {
                "an"
            } else {
                "a"
            },
            role.as_str()
        )),
        Standing::LinkHolder | Standing::Stranger => None,
    };
    let description = (!s.description.is_empty()).then(|| {
        view! { <p class="collection-description">{s.description.clone()}</p> }
    });
    let edit = detail
        .may(Action::Edit)
        .then(|| view! { <EditCollection detail=detail.clone() action=head.update/> });
    let members = (!matches!(detail.standing, Standing::LinkHolder | Standing::Stranger))
        .then(|| view! { <Members detail=detail.clone() head/> });
    let share = detail.may(Action::Share).then(|| {
        view! { <ShareLinkForm kind=SharedKind::Collection target=s.id.clone()/> }
    });
    let delete_id = s.id.clone();
    let delete = detail.may(Action::Delete).then(|| {
        view! {
            <details class="collection-delete">
                <summary>"Delete collection…"</summary>
                <ActionForm action=head.delete>
                    <input type="hidden" name="id" value=delete_id/>
                    <p class="hint">"The collection goes; its assets stay where they are."</p>
                    <button type="submit" class="button danger">"Delete collection"</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        <header class="browse-head collection-head">
            <h1>{s.title.clone()} " " {badge}</h1>
            <p class="muted">
                <span>{count}</span>
                " · by "
                <a class="owner" href=owner_href>{s.owner.clone()}</a>
                {standing.map(|text| view! { <span>{format!(" · {text}")}</span> })}
                {featured_badge.map(|badge| view! { " · " {badge} })}
            </p>
            {description}
            {move || head.error().map(|error| view! { <ErrorNotice error/> })}
            {move || items.error().map(|error| view! { <ErrorNotice error/> })}
            <div class="collection-forms">
                {feature}
                {edit}
                {members}
                {share}
                {delete}
            </div>
        </header>
    }
    .into_any()
}

/// Title, description and visibility (the owner and editors).
#[component]
fn EditCollection(
    detail: CollectionDetail,
    action: ServerAction<UpdateCollection>,
) -> impl IntoView {
    let s = detail.summary;
    let chosen = s.visibility;
    view! {
        <details class="collection-edit">
            <summary>"Edit…"</summary>
            <ActionForm action attr:class="stacked">
                <input type="hidden" name="id" value=s.id.clone()/>

                <label>
                    "Title"
                    <input type="text" name="title" value=s.title.clone() required maxlength=MAX_TITLE.to_string()/>
                </label>
                <label>
                    "Description"
                    <textarea name="description" rows="3" maxlength=MAX_DESCRIPTION.to_string()>{s.description.clone()}</textarea>
                </label>
                <label>
                    "Who sees it"
                    <select name="visibility">
                        {Visibility::ALL
                            .map(|v| view! { <option value=v.as_str() selected=v == chosen>{v.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <button type="submit" class="button">"Save"</button>
            </ActionForm>
        </details>
    }
}

/// The members and the forms to change them: invite (the owner and editors), change a
/// role, remove, hand over (the owner), leave (a member).
#[component]
fn Members(detail: CollectionDetail, head: HeadActions) -> impl IntoView {
    let id = detail.summary.id.clone();
    let manage = detail.may(Action::ManageMembers);
    let names: Vec<String> = detail.members.iter().map(|m| m.username.clone()).collect();
    let rows = detail
        .members
        .into_iter()
        .map(|m| {
            let change = manage.then(|| {
                let current = m.role;
                let (id_a, id_b) = (id.clone(), id.clone());
                let (name_a, name_b) = (m.username.clone(), m.username.clone());
                view! {
                    <ActionForm action=head.set_member attr:class="inline">
                        <input type="hidden" name="id" value=id_a/>
                        <input type="hidden" name="username" value=name_a.clone()/>
                        <label>
                            <span class="visually-hidden">{format!("Role of {name_a}")}</span>
                            <select name="role">
                                {MemberRole::ALL
                                    .map(|r| view! { <option value=r.as_str() selected=r == current>{r.label()}</option> })
                                    .collect_view()}
                            </select>
                        </label>
                        <button type="submit" class="linkish">"Change"</button>
                    </ActionForm>
                    <ActionForm action=head.remove_member attr:class="inline">
                        <input type="hidden" name="id" value=id_b/>
                        <input type="hidden" name="username" value=name_b.clone()/>
                        <button type="submit" class="linkish" aria-label=format!("Remove {name_b}")>"Remove"</button>
                    </ActionForm>
                }
            });
            let href = format!("/u/{}", percent_encode(&m.username, false));
            view! {
                <li>
                    <a href=href>{m.username}</a>
                    " · " <span class="role">{m.role.label()}</span>
                    {change}
                </li>
            }
        })
        .collect_view();
    let invite = detail.may.contains(&Action::InviteViewerOrContributor).then(|| {
        let roles: Vec<MemberRole> = if manage {
            MemberRole::ALL.to_vec()
        } else {
            vec![MemberRole::Viewer, MemberRole::Contributor]
        };
        let id = id.clone();
        view! {
            <ActionForm action=head.set_member attr:class="inline invite">
                <input type="hidden" name="id" value=id/>
                <label>
                    "Invite"
                    <input type="text" name="username" placeholder="username" required autocomplete="off"/>
                </label>
                <label>
                    <span class="visually-hidden">"as"</span>
                    <select name="role">
                        {roles.into_iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button">"Invite"</button>
            </ActionForm>
        }
    });
    let transfer =
        (detail.may.contains(&Action::TransferOwnership) && !names.is_empty()).then(|| {
            let id = id.clone();
            let options = names
                .iter()
                .map(|name| view! { <option value=name.clone()>{name.clone()}</option> })
                .collect_view();
            view! {
                <ActionForm action=head.transfer attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <label>
                        "Hand over to"
                        <select name="username">{options}</select>
                    </label>
                    <button type="submit" class="button">"Hand over"</button>
                    <span class="hint">" You stay on as an editor."</span>
                </ActionForm>
            }
        });
    let leave = detail.may.contains(&Action::Leave).then(|| {
        let id = id.clone();
        view! {
            <ActionForm action=head.leave attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="button">"Leave this collection"</button>
            </ActionForm>
        }
    });
    view! {
        <details class="collection-members" open=names.is_empty()>
            <summary>{format!("Members ({})", names.len())}</summary>
            <ul class="members">{rows}</ul>
            {invite}
            {transfer}
            {leave}
        </details>
    }
}
