//! Share links on the pages: the token a shared page carries in its URL (`s=`), the form
//! that makes a link (showing its address once, with a copy button), and the list of
//! one's links with a way to revoke each.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{CreateShareLink, RevokeShareLink};
use crate::share::{ShareLinkInfo, SharedKind, MAX_EXPIRY_DAYS};

/// The share token of the page's URL (`s=`), or empty: a page opened through a link passes
/// it on to what it asks the server and to the links it shows.
pub fn page_share_token() -> String {
    use_query_map().get_untracked().get("s").unwrap_or_default()
}

/// `path` with the page's share token added, when there is one.
pub fn with_share(path: &str, token: &str) -> String {
    if token.is_empty() {
        return path.to_string();
    }
    let glue = if path.contains('?') { '&' } else { '?' };
    format!(
        "{path}{glue}s={}",
        crate::model::percent_encode(token, false)
    )
}

/// The form that makes a share link to `target` (an asset or a collection): how long it
/// lasts, then its address, shown once. Without JavaScript the server comes back to this
/// page with the new link in the URL (`shared=`), which is shown the same way.
#[component]
pub fn ShareLinkForm(kind: SharedKind, target: String) -> impl IntoView {
    let action = ServerAction::<CreateShareLink>::new();
    let query = use_query_map();
    let back = super::here::page_path();
    // Made by a plain form (no JavaScript): the server came back with its token.
    let made_plain = query
        .get_untracked()
        .get("shared")
        .filter(|t| crate::share::is_token(t))
        .map(|token| format!("/s/{token}"));
    let open = made_plain.is_some();
    let made = move || {
        action
            .value()
            .get()
            .and_then(Result::ok)
            .map(|made| made.path)
            .or_else(|| made_plain.clone())
    };
    let error = move || {
        action.value().get().and_then(Result::err).map(|error| {
            view! { <div class="notice error" role="alert"><p>{error.to_string()}</p></div> }
        })
    };
    let field = match kind {
        SharedKind::Asset => "asset",
        SharedKind::Collection => "collection",
    };
    view! {
        <details class="share-link" open=open>
            <summary>"Share link…"</summary>
            <ActionForm action attr:class="inline">
                <input type="hidden" name=field value=target/>
                <input type="hidden" name="back" value=back/>
                <label>
                    "Lasts"
                    <select name="expires_in_days">
                        <option value="1">"1 day"</option>
                        <option value="7" selected>"7 days"</option>
                        <option value="30">"30 days"</option>
                        <option value=MAX_EXPIRY_DAYS.to_string()>"a year"</option>
                        <option value="never">"until revoked"</option>
                    </select>
                </label>
                <button type="submit" class="button">"Make a share link"</button>
            </ActionForm>
            <p class="hint">"Anyone with the link sees this, and only this, without an account. Revoke it on your account page."</p>
            {move || made().map(|path| view! { <ShownLink path/> })}
            {error}
        </details>
    }
    .into_any()
}

/// A new link's address, for copying: shown once.
#[component]
fn ShownLink(path: String) -> impl IntoView {
    // The full address needs the site's origin, known in the browser only; the path works
    // pasted after it, and the hydrated page fills the box in whole.
    let shown = RwSignal::new(path.clone());
    #[cfg(feature = "hydrate")]
    {
        let path = path.clone();
        Effect::new(move |_| {
            if let Ok(origin) = window().location().origin() {
                shown.set(format!("{origin}{path}"));
            }
        });
    }
    view! {
        <p class="notice success share-made" role="status">
            "Share link made (it is shown only now): "
            <input type="text" class="share-url" readonly value=path prop:value=move || shown.get() aria-label="Share link"/>
        </p>
    }
}

/// One's share links, each with its target, its state and a button to revoke it (`revoke`:
/// the page reads the list again after each).
#[component]
pub fn ShareLinkList(
    links: Vec<ShareLinkInfo>,
    revoke: ServerAction<RevokeShareLink>,
) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="muted">"You have made no share links."</p> }.into_any();
    }
    let rows = links
        .into_iter()
        .map(|link| {
            let href = match link.kind {
                SharedKind::Asset => format!("/a/{}", link.target),
                SharedKind::Collection => format!("/c/{}", link.target),
            };
            let kind = match link.kind {
                SharedKind::Asset => "asset",
                SharedKind::Collection => "collection",
            };
            let expires = link
                .expires_at
                .map(|at| format!("until {}", crate::model::short_date(&at)))
                .unwrap_or_else(|| "until revoked".into());
            let id = link.id.clone();
            let state = if link.open { "open" } else { "closed" };
            let label = format!("Revoke the link to “{}”", link.title);
            view! {
                <tr>
                    <td><a href=href>{link.title.clone()}</a> <span class="muted">{format!(" ({kind})")}</span></td>
                    <td>{expires}</td>
                    <td class="num">{link.opens.to_string()}</td>
                    <td>{state}</td>
                    <td>
                        {link.open.then(|| view! {
                            <ActionForm action=revoke attr:class="inline">
                                <input type="hidden" name="id" value=id/>
                                <input type="hidden" name="back" value="/account"/>
                                <button type="submit" class="linkish" aria-label=label>"Revoke"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="share-links">
            <thead>
                <tr><th>"Opens"</th><th>"Lasts"</th><th class="num">"Opened"</th><th>"State"</th><th></th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
