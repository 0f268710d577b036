//! `/account`: my sessions (revoke one, log out everywhere else), my password and my share
//! links (revoke one).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::notice::ErrorNotice;
use crate::account::{Role, SessionInfo, PASSWORD_MAX, PASSWORD_MIN};
use crate::api::{list_sessions, ChangePassword, RevokeOtherSessions, RevokeSession};
use crate::components::share::ShareLinkList;
use crate::components::use_auth;
use crate::error::ApiError;
use crate::model::short_datetime;

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_others = ServerAction::<RevokeOtherSessions>::new();
    let change = ServerAction::<ChangePassword>::new();
    let sessions = Resource::new(
        move || {
            (
                revoke.version().get(),
                revoke_others.version().get(),
                change.version().get(),
            )
        },
        |_| list_sessions(),
    );
    let revoke_link = ServerAction::<crate::api::RevokeShareLink>::new();
    let links = Resource::new(
        move || revoke_link.version().get(),
        |_| crate::api::list_share_links(),
    );
    let query = use_query_map();
    let changed = move || query.read().get("changed").as_deref() == Some("password");
    view! {
        <Title text="Your account · atelier"/>
        <section class="page narrow account">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => {
                            view! {
                                <h1>"Your account"</h1>
                                <Transition fallback=|| ()>
                                    {move || Suspend::new(async move {
                                        auth.me
                                            .await
                                            .map(|me| {
                                                view! {
                                                    <p class="hint whoami">
                                                        "Logged in as " <strong>{me.username}</strong>
                                                        {(me.role == Role::Admin).then_some(" · admin")}
                                                    </p>
                                                }
                                            })
                                    })}
                                </Transition>
                                {move || {
                                    changed()
                                        .then(|| {
                                            view! {
                                                <div class="notice success" role="status">
                                                    <p>"Password changed. Your other sessions have ended."</p>
                                                </div>
                                            }
                                        })
                                }}
                                <Sessions list revoke revoke_others/>
                                <PasswordForm change/>
                                <h2 id="share-links">"Share links"</h2>
                                <Transition fallback=|| ()>
                                    {move || Suspend::new(async move {
                                        match links.await {
                                            Ok(links) => view! { <ShareLinkList links revoke=revoke_link/> }.into_any(),
                                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                                        }
                                    })}
                                </Transition>
                            }
                                .into_any()
                        }
                        Err(ApiError::Unauthorized(_)) => {
                            // In the browser this means the session just ended (perhaps
                            // this very one was revoked): the header must learn it. On the
                            // server the header already knows, and changing a resource
                            // while the page renders would keep the render waiting.
                            #[cfg(not(feature = "ssr"))]
                            auth.refresh();
                            view! { <Redirect path="/login?next=/account"/> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Sessions(
    list: Vec<SessionInfo>,
    revoke: ServerAction<RevokeSession>,
    revoke_others: ServerAction<RevokeOtherSessions>,
) -> impl IntoView {
    let others = list.iter().filter(|s| !s.current).count();
    let error = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| revoke_others.value().get().and_then(Result::err))
    };
    view! {
        <h2>"Where you are logged in"</h2>
        <ul class="sessions">
            {list
                .into_iter()
                .map(|session| {
                    let label = if session.current { "Log out" } else { "Revoke" };
                    view! {
                        <li class="session" class:current=session.current>
                            <div class="session-facts">
                                <strong class="device">{session.device}</strong>
                                {session.current.then(|| view! { <span class="badge this-device">"this device"</span> })}
                                <span class="session-meta">
                                    {session.ip.unwrap_or_else(|| "address unknown".into())}
                                    " · last seen "
                                    <time datetime=session.last_seen_at.to_rfc3339()>{short_datetime(&session.last_seen_at)}</time>
                                    " · since "
                                    <time datetime=session.created_at.to_rfc3339()>{short_datetime(&session.created_at)}</time>
                                </span>
                            </div>
                            <ActionForm action=revoke>
                                <input type="hidden" name="id" value=session.id/>
                                <button type="submit" class="button small">{label}</button>
                            </ActionForm>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {move || error().map(|error| view! { <ErrorNotice error/> })}
        {(others > 0)
            .then(|| {
                view! {
                    <ActionForm action=revoke_others>
                        <button type="submit" class="button">"Log out everywhere else"</button>
                    </ActionForm>
                }
            })}
    }
}

#[component]
fn PasswordForm(change: ServerAction<ChangePassword>) -> impl IntoView {
    view! {
        <h2>"Change your password"</h2>
        <p class="hint">"Your other sessions end when you change it."</p>
        <ActionForm action=change>
            <div class="field">
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" name="current" autocomplete="current-password"
                    required=true maxlength=PASSWORD_MAX/>
            </div>
            <div class="field">
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" name="password" autocomplete="new-password"
                    required=true minlength=PASSWORD_MIN maxlength=PASSWORD_MAX/>
            </div>
            <div class="field">
                <label for="confirm-password">"Repeat the new password"</label>
                <input id="confirm-password" type="password" name="confirm" autocomplete="new-password"
                    required=true minlength=PASSWORD_MIN maxlength=PASSWORD_MAX/>
            </div>
            {move || change.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <button type="submit" class="button primary" aria-busy=move || change.pending().get().to_string()>
                "Change password"
            </button>
        </ActionForm>
    }
}
