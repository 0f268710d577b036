//! The like button: a form that posts `POST /api/assets/like` and comes back (without
//! JavaScript), or, hydrated, likes in place and shows the count at once. Visitors get a
//! link to log in instead.

use std::collections::HashMap;

use leptos::{ev, prelude::*, task::spawn_local};

use crate::api::like_asset;
use crate::model::{percent_encode, LikeDone};

/// Likes changed on this page, by asset id: a card and the lightbox showing the same
/// asset read them, so a like in one shows in the other. A page provides it once.
#[derive(Clone, Copy, Default)]
pub struct PageLikes(RwSignal<HashMap<String, (bool, u64)>>);

impl PageLikes {
    pub fn provide() -> PageLikes {
        let likes = PageLikes(RwSignal::new(HashMap::new()));
        provide_context(likes);
        likes
    }
}

fn hearts(liked: bool) -> &'static str {
    if liked {
        "♥"
    } else {
        "♡"
    }
}

/// A like button for one asset: `liked` and `likes` as the page was rendered with them.
/// With `logged_in` false it is a link to the login page that comes back here.
#[component]
pub fn LikeButton(
    id: String,
    title: String,
    liked: bool,
    likes: u64,
    logged_in: bool,
) -> impl IntoView {
    let back = super::here::page_url();
    let share = super::share::page_share_token();
    if !logged_in {
        let href = format!("/login?next={}", percent_encode(&back, false));
        return view! {
            <a class="like" href=href title="Log in to like this">
                <span aria-hidden="true">"♡"</span>
                " "
                <span class="like-count">{likes.to_string()}</span>
                <span class="visually-hidden">" likes; log in to like it"</span>
            </a>
        }
        .into_any();
    }
    let shared = use_context::<PageLikes>();
    let local = RwSignal::new((liked, likes));
    let state = {
        let id = id.clone();
        Signal::derive(move || {
            shared
                .and_then(|page| page.0.with(|m| m.get(&id).copied()))
                .unwrap_or_else(|| local.get())
        })
    };
    let set = {
        let id = id.clone();
        move |now: (bool, u64)| {
            local.set(now);
            if let Some(page) = shared {
                page.0.update(|m| {
                    m.insert(id.clone(), now);
                });
            }
        }
    };
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    let share_field = (!share.is_empty()).then(|| {
        let share = share.clone();
        view! { <input type="hidden" name="s" value=share/> }
    });
    let submit = {
        let (id, set) = (id.clone(), set.clone());
        move |ev: ev::SubmitEvent| {
            ev.prevent_default();
            if busy.get_untracked() {
                return;
            }
            let before = state.get_untracked();
            let want = !before.0;
            // Shown at once; the server's answer has the exact count.
            let guess = if want {
                before.1 + 1
            } else {
                before.1.saturating_sub(1)
            };
            set((want, guess));
            busy.set(true);
            let (id, set, share) = (id.clone(), set.clone(), share.clone());
            spawn_local(async move {
                match like_asset(id, want.to_string(), String::new(), share).await {
                    Ok(LikeDone { liked, likes, .. }) => {
                        set((liked, likes));
                        failed.set(None);
                    }
                    Err(error) => {
                        set(before);
                        failed.set(Some(error.to_string()));
                    }
                }
                busy.set(false);
            });
        }
    };
    let liked_now = Signal::derive(move || state.get().0);
    let label = Signal::derive(move || {
        if liked_now.get() {
            format!("Unlike “{title}”")
        } else {
            format!("Like “{title}”")
        }
    });
    view! {
        <form class="like" method="post" action="/api/assets/like" on:submit=submit>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="back" value=back/>
            {share_field}
            <button
                type="submit"
                name="like"
                class="like-button"
                value=move || (!liked_now.get()).to_string()
                aria-pressed=move || liked_now.get().to_string()
                aria-label=label
                title=label
            >
                <span aria-hidden="true">{move || hearts(liked_now.get())}</span>
                " "
                <span class="like-count">{move || state.get().1.to_string()}</span>
            </button>
            <span class="like-error" role="alert">{move || failed.get()}</span>
        </form>
    }
    .into_any()
}
