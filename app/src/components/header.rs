use leptos::prelude::*;

use super::auth::use_auth;
use super::install::InstallButton;
use crate::api::Logout;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let auth = use_auth();
    let logout = ServerAction::<Logout>::new();
    Effect::new(move || {
        if matches!(logout.value().get(), Some(Ok(()))) {
            auth.refresh();
        }
    });
    view! {
        <header class="site-header">
            <a class="brand" href="/">"atelier"</a>
            <nav aria-label="Main">
                <a href="/">"Gallery"</a>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.me.await {
                            Some(me) => {
                                let stats = (me.role == crate::account::Role::Admin)
                                    .then(|| view! { <a href="/stats">"Stats"</a> });
                                view! {
                                    <a href="/upload">"Upload"</a>
                                    {stats}
                                    <a href="/trash">"Trash"</a>
                                    <a href="/account" class="me" title="Your account">{me.username}</a>
                                    <ActionForm action=logout>
                                        <button type="submit" class="link-button">"Log out"</button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                            None => {
                                view! {
                                    <a href="/login">"Log in"</a>
                                    <a href="/register">"Register"</a>
                                }
                                    .into_any()
                            }
                        }
                    })}
                </Transition>
                <InstallButton/>
            </nav>
        </header>
    }
}
