//! The gallery `/`, profiles `/u/{username}` and tag pages `/t/{tag}`: one filtered grid
//! of assets, its filters all in the URL.
//!
//! Without JavaScript the filters are a GET form and "Next page" is a link. Hydrated, the
//! form navigates in place (so back and forward restore earlier results), the grid loads
//! the next page as it comes into view, and a picture opens in a lightbox (← → Esc).

use leptos::{ev, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_params_map, use_query_map},
    params::ParamsMap,
    NavigateOptions,
};

use super::asset_collections::QuickAdd;
use super::bulk::{AssetsChanged, BulkBar, PickBox, Selection};
use super::collection_list::ProfileCollections;
use super::collection_tools::{ItemTools, Tools};
use super::notice::ErrorNotice;
use crate::account::{Me, Role};
use crate::api::{get_facets, get_profile, list_assets, list_collections};
use crate::collection::CollectionSummary;
use crate::components::{use_auth, AssetCard, LikeButton, PageLikes};
use crate::error::ApiError;
use crate::model::{
    percent_encode, short_date, AssetPage, AssetSummary, FacetCount, Facets, MediaType, Profile,
    FACET_SAMPLE,
};
use crate::search::{Filters, FILTER_KEYS};

/// What a page fixes about its results.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) enum Scope {
    #[default]
    Everything,
    Owner(String),
    /// What one person likes (their profile's "Liked" tab).
    LikedBy(String),
    Tag(String),
    /// One collection's items (public id), in its own order unless another is chosen.
    Collection(String),
}

impl Scope {
    /// Whether `me` may change the assets listed in bulk: admins anywhere, everyone on
    /// their own profile.
    fn may_curate(&self, me: Option<&Me>) -> bool {
        match (self, me) {
            (_, Some(me)) if me.role == Role::Admin => true,
            (Scope::Owner(owner), Some(me)) => *owner == me.username,
            _ => false,
        }
    }

    /// The filters the server gets: the URL's, with the page's own restriction added.
    fn apply(&self, mut filters: Filters) -> Filters {
        match self {
            Scope::Everything => {}
            Scope::Owner(owner) => filters.owner = owner.clone(),
            Scope::LikedBy(user) => filters.liked = user.clone(),
            Scope::Collection(id) => filters.collection = id.clone(),
            Scope::Tag(tag) => {
                filters.tags = if filters.tags.trim().is_empty() {
                    tag.clone()
                } else {
                    format!("{tag},{}", filters.tags)
                }
            }
        }
        filters
    }
}

/// The filters and cursor in a page's query string.
fn read_query(query: &ParamsMap) -> (Filters, Option<String>) {
    let mut filters = Filters::default();
    for key in FILTER_KEYS {
        if let Some(value) = query.get(key) {
            filters.set(key, &value);
        }
    }
    (filters, query.get("cursor").filter(|c| !c.is_empty()))
}

/// `path?filters` (and `&cursor=` when given).
fn href(base: &str, filters: &Filters, cursor: Option<&str>) -> String {
    let mut query = filters.query_string();
    if let Some(cursor) = cursor {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("cursor=");
        query.push_str(&percent_encode(cursor, false));
    }
    if query.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{query}")
    }
}

/// `/`: everything public, newest first.
#[component]
pub fn GalleryPage() -> impl IntoView {
    view! {
        <Title text="atelier · gallery"/>
        <section class="page">
            <h1 class="visually-hidden">"Gallery"</h1>
            <super::featured::Shelf/>
            <Browse base="/".to_string() scope=Scope::Everything/>
        </section>
    }
    .into_any()
}

/// `/t/{tag}`: everything carrying one tag.
#[component]
pub fn TagPage() -> impl IntoView {
    let params = use_params_map();
    let tag = move || {
        params
            .read()
            .get("tag")
            .unwrap_or_default()
            .trim()
            .to_lowercase()
    };
    view! {
        <Title text=move || crate::model::title_text(&format!("#{} · atelier", tag()))/>
        <section class="page">
            {move || {
                let tag = tag();
                let base = format!("/t/{}", percent_encode(&tag, false));
                view! {
                    <header class="browse-head">
                        <h1>"#" {tag.clone()}</h1>
                        <p class="muted"><a href="/">"All assets"</a></p>
                    </header>
                    <Browse base scope=Scope::Tag(tag)/>
                }
            }}
        </section>
    }
}

/// `/u/{username}`: one person's assets (their private ones too, when it is their own
/// profile) and a short summary.
#[component]
pub fn ProfilePage() -> impl IntoView {
    view! { <Profile tab=ProfileTab::Assets/> }
}

/// `/u/{username}/liked`: what one person likes, under their summary.
#[component]
pub fn ProfileLikedPage() -> impl IntoView {
    view! { <Profile tab=ProfileTab::Liked/> }
}

/// `/u/{username}/collections`: one person's collections that the viewer may see.
#[component]
pub fn ProfileCollectionsPage() -> impl IntoView {
    view! { <Profile tab=ProfileTab::Collections/> }
}

/// The tabs of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProfileTab {
    Assets,
    Liked,
    Collections,
}

/// Links to a profile's tabs, the one shown marked as the current page.
#[component]
fn ProfileTabs(username: String, tab: ProfileTab) -> impl IntoView {
    let base = format!("/u/{}", percent_encode(&username, false));
    let current = |this: ProfileTab| (this == tab).then_some("page");
    view! {
        <nav class="tabs" aria-label="Profile">
            <a href=base.clone() aria-current=current(ProfileTab::Assets)>"Assets"</a>
            <a href=format!("{base}/liked") aria-current=current(ProfileTab::Liked)>"Liked"</a>
            <a href=format!("{base}/collections") aria-current=current(ProfileTab::Collections)>"Collections"</a>
        </nav>
    }
}

#[component]
fn Profile(tab: ProfileTab) -> impl IntoView {
    let params = use_params_map();
    let username = move || params.read().get("username").unwrap_or_default();
    let profile = Resource::new(username, get_profile);
    // What the tab lists, made out here (see `Listing`).
    let listing = (tab != ProfileTab::Collections).then(|| {
        Listing::new(move || match tab {
            ProfileTab::Liked => Scope::LikedBy(username()),
            ProfileTab::Assets | ProfileTab::Collections => Scope::Owner(username()),
        })
    });
    let collections = (tab == ProfileTab::Collections).then(|| {
        Resource::new(username, |name| {
            crate::api::list_collections(name, String::new(), String::new())
        })
    });
    let heading = move || match tab {
        ProfileTab::Assets => format!("{} · atelier", username()),
        ProfileTab::Liked => format!("Liked by {} · atelier", username()),
        ProfileTab::Collections => format!("Collections of {} · atelier", username()),
    };
    view! {
        <Title text=move || crate::model::title_text(&heading())/>
        <section class="page">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match profile.await {
                        Ok(profile) => {
                            let mut base = format!("/u/{}", percent_encode(&profile.username, false));
                            let scope = match tab {
                                ProfileTab::Assets | ProfileTab::Collections => {
                                    Scope::Owner(profile.username.clone())
                                }
                                ProfileTab::Liked => {
                                    base.push_str("/liked");
                                    Scope::LikedBy(profile.username.clone())
                                }
                            };
                            let tabs = view! { <ProfileTabs username=profile.username.clone() tab/> };
                            if let Some(collections) = collections {
                                let list = collections.await;
                                let (username, mine) = (profile.username.clone(), profile.is_me);
                                return view! {
                                    <ProfileSummary profile changed=AssetsChanged::default()/>
                                    {tabs}
                                    <ProfileCollections username list mine/>
                                }
                                .into_any();
                            }
                            // A bulk action below changes the counts: they are read again.
                            let changed = AssetsChanged::default();
                            provide_context(changed);
                            view! {
                                <ProfileSummary profile changed/>
                                {tabs}
                                <Browse base scope listing=listing/>
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

fn plural(n: u64, one: &'static str, many: &'static str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "2 images, 1 video (1 unlisted)": the kinds of a profile's assets, and the hidden ones
/// only its owner sees.
fn kinds(profile: &Profile) -> String {
    let hidden: Vec<String> = [
        profile
            .unlisted
            .filter(|n| *n > 0)
            .map(|n| format!("{n} unlisted")),
        profile
            .private
            .filter(|n| *n > 0)
            .map(|n| format!("{n} only you can see")),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "{}, {}{}",
        plural(profile.images, "image", "images"),
        plural(profile.videos, "video", "videos"),
        if hidden.is_empty() {
            String::new()
        } else {
            format!(" ({})", hidden.join(", "))
        }
    )
}

#[component]
fn ProfileSummary(profile: Profile, changed: AssetsChanged) -> impl IntoView {
    let live = RwSignal::new(profile.clone());
    let username = profile.username.clone();
    Effect::new(move |seen: Option<u32>| {
        let now = changed.0.get();
        if seen.is_some_and(|seen| seen != now) {
            let username = username.clone();
            spawn_local(async move {
                if let Ok(fresh) = get_profile(username).await {
                    live.set(fresh);
                }
            });
        }
        now
    });
    let total = move || live.with(|p| plural(p.images + p.videos, "asset", "assets"));
    let storage = profile.storage.map(|s| {
        let percent = if s.quota == 0 {
            0.0
        } else {
            (s.used as f64 / s.quota as f64 * 100.0).min(100.0)
        };
        let text = format!(
            "{} of {} used ({percent:.0} %)",
            crate::units::format_bytes(s.used),
            crate::units::format_bytes(s.quota)
        );
        view! {
            <p class="storage-use">
                <label for="storage-meter">"Storage: "</label>
                <meter id="storage-meter" min="0" max=s.quota.to_string() value=s.used.to_string()
                       high=(s.quota / 10 * 9).to_string()>{text.clone()}</meter>
                " "<span>{text}</span>
            </p>
        }
    });
    view! {
        <header class="browse-head profile">
            <h1>{profile.username.clone()}</h1>
            <p class="muted">
                <span class="asset-count">{total}</span>
                ": "
                <span class="kinds">{move || live.with(kinds)}</span>
                " · "
                <span class="views">{plural(profile.views_received, "view", "views")}</span>
                " · member since "
                <time datetime=profile.member_since.to_rfc3339()>
                    {short_date(&profile.member_since)}
                </time>
            </p>
            {storage}
        </header>
    }
}

/// The filters and cursor of the URL, and the page of results they ask for.
///
/// A page whose [`Browse`] sits inside a `Suspend` (a profile's, under its summary) makes
/// this outside it: a resource made inside a `Suspend` is made again each time that runs,
/// which on the server happened a varying number of times, so the numbers of the resources
/// serialized into the page stopped matching the browser's and hydration failed.
#[derive(Clone, Copy)]
pub(super) struct Listing {
    state: Memo<(Filters, Option<String>)>,
    pub(super) page: Resource<Result<AssetPage, ApiError>>,
    /// The collections the person may add to (none for a visitor, or when they cannot be
    /// read: the grid does without).
    mine: Resource<Vec<CollectionSummary>>,
}

impl Listing {
    pub(super) fn new(scope: impl Fn() -> Scope + Send + Sync + 'static) -> Listing {
        let query = use_query_map();
        let state = Memo::new(move |_| read_query(&query.read()));
        let page = Resource::new(
            move || {
                let (filters, cursor) = state.get();
                (scope().apply(filters), cursor)
            },
            |(filters, cursor)| list_assets(filters, cursor, None),
        );
        let mine = Resource::new(
            || (),
            |()| async {
                list_collections(String::new(), String::new(), "true".into())
                    .await
                    .unwrap_or_default()
            },
        );
        Listing { state, page, mine }
    }
}

/// The filter form and the results for the current URL.
#[component]
pub(super) fn Browse(
    base: String,
    scope: Scope,
    /// The results, when the page made them itself (see [`Listing`]).
    #[prop(optional_no_strip)]
    listing: Option<Listing>,
) -> impl IntoView {
    let Listing { state, page, mine } = listing.unwrap_or_else(|| {
        let scope = scope.clone();
        Listing::new(move || scope.clone())
    });
    let filters = Signal::derive(move || state.get().0);
    let restart = {
        let base = base.clone();
        move || {
            let (filters, cursor) = state.get();
            cursor.map(|_| {
                view! { <p class="back"><a href=href(&base, &filters, None)>"← Back to the start"</a></p> }
            })
        }
    };
    let show_owner = !matches!(scope, Scope::Owner(_));
    let show_liked = !matches!(scope, Scope::LikedBy(_));
    let in_collection = matches!(scope, Scope::Collection(_));
    let auth = use_auth();
    // Facets follow the filters only: scrolling on (a cursor) does not count them again.
    // They are counted once the page is in the browser, so the page never waits for them.
    let counted = {
        let scope = scope.clone();
        Memo::new(move |_| scope.apply(filters.get()))
    };
    let facets = RwSignal::new(None::<(Facets, Filters, Filters)>);
    Effect::new(move |_| {
        let searched = counted.get();
        let shown = filters.get_untracked();
        // Counts of other filters must not stand next to these results.
        facets.set(None);
        spawn_local(async move {
            let answer = get_facets(searched.clone()).await;
            // An answer for filters that have changed since is dropped.
            if counted.try_get_untracked().as_ref() == Some(&searched) {
                facets.set(answer.ok().map(|f| (f, shown, searched)));
            }
        });
    });
    let facet_base = base.clone();
    let facet_bar = move || {
        facets.get().map(|(facets, filters, searched)| {
            view! { <FacetBar facets base=facet_base.clone() filters searched/> }.into_any()
        })
    };
    view! {
        {view! { <FilterForm base=base.clone() filters show_owner show_liked in_collection/> }.into_any()}
        {facet_bar}
        {restart}
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {
                let base = base.clone();
                let scope = scope.clone();
                move || {
                    let base = base.clone();
                    let scope = scope.clone();
                    Suspend::new(async move {
                        let me = auth.me.await;
                        let collections = mine.await;
                        match page.await {
                            Ok(page) => {
                                let filters = state.get_untracked().0;
                                let may_curate = scope.may_curate(me.as_ref());
                                let logged_in = me.is_some();
                                view! { <Grid page base filters scope may_curate logged_in collections/> }.into_any()
                            }
                            Err(error) => view! { <ErrorNotice error/> }.into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
    .into_any()
}

/// How the results divide up, each value a link that narrows the search to it. `filters`
/// are the URL's (the links add to them); `searched` what the server searched (the URL's
/// with the page's own restriction), so that a facet the search already fixes is left out.
#[component]
fn FacetBar(facets: Facets, base: String, filters: Filters, searched: Filters) -> impl IntoView {
    if facets.counted == 0 {
        return ().into_any();
    }
    let fixed = searched.resolve().ok().map(|(search, _)| search);
    let total = if facets.more {
        format!(
            "More than {} matches; the counts are of the newest {}.",
            thousands(FACET_SAMPLE),
            thousands(FACET_SAMPLE)
        )
    } else if facets.counted == 1 {
        "1 match".to_string()
    } else {
        format!("{} matches", thousands(facets.counted))
    };
    let link = |filters: Filters, label: String, count: u32| {
        view! {
            <li>
                <a href=href(&base, &filters, None)>
                    {label} " " <span class="count">{thousands(count)}</span>
                </a>
            </li>
        }
    };
    let group = |name: &'static str, items: Vec<AnyView>| {
        (!items.is_empty()).then(|| {
            view! {
                <div class="facet">
                    <span class="facet-name">{name}</span>
                    <ul>{items}</ul>
                </div>
            }
        })
    };
    // The URL's filters with one more set.
    let narrowed = |key: &str, value: &str| {
        let mut narrowed = filters.clone();
        narrowed.set(key, value);
        narrowed
    };
    // A type or model the search already fixes has one value: nothing to choose.
    let types_fixed = fixed.as_ref().is_some_and(|s| s.media_type.is_some());
    let types = if types_fixed || facets.types.len() < 2 {
        Vec::new()
    } else {
        facets
            .types
            .iter()
            .map(|FacetCount { value, count }| {
                let label = if value == "video" { "Videos" } else { "Images" };
                link(narrowed("type", value), label.to_string(), *count).into_any()
            })
            .collect()
    };
    let tags = facets
        .tags
        .iter()
        .map(|FacetCount { value, count }| {
            let tags = if filters.tags.trim().is_empty() {
                value.clone()
            } else {
                format!("{}, {value}", filters.tags.trim())
            };
            link(narrowed("tags", &tags), format!("#{value}"), *count).into_any()
        })
        .collect();
    let models_fixed = fixed.as_ref().is_some_and(|s| s.model.is_some());
    let models = if models_fixed {
        Vec::new()
    } else {
        facets
            .models
            .iter()
            .map(|FacetCount { value, count }| {
                link(narrowed("model", value), value.clone(), *count).into_any()
            })
            .collect()
    };
    view! {
        <nav class="facets" aria-label="Narrow the results">
            <p class="facet-total muted">{total}</p>
            {group("Type", types)}
            {group("Tags", tags)}
            {group("Models", models)}
        </nav>
    }
    .into_any()
}

/// `1234567` → `1,234,567`, for the `u32` counts facets have.
fn thousands(n: u32) -> String {
    crate::units::thousands(u64::from(n))
}

/// The filters as a GET form (it works without JavaScript). Hydrated, it navigates in
/// place with only the filled-in fields in the URL, and the selects apply at once.
#[component]
fn FilterForm(
    base: String,
    filters: Signal<Filters>,
    show_owner: bool,
    show_liked: bool,
    /// In a collection the first order is its own, and there is no best match.
    in_collection: bool,
) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    let navigate = use_navigate();
    let apply = {
        let base = base.clone();
        move || {
            if let Some(chosen) = form.get_untracked().and_then(|form| form_filters(&form)) {
                navigate(&href(&base, &chosen, None), NavigateOptions::default());
            }
        }
    };
    let submit = {
        let apply = apply.clone();
        move |ev: ev::SubmitEvent| {
            ev.prevent_default();
            apply();
        }
    };
    let change = move |_: ev::Event| apply();
    let value = move |key: &'static str| move || filters.read().get(key).to_string();
    let selected = move |key: &'static str, option: &'static str| {
        move || filters.read().get(key).trim().eq_ignore_ascii_case(option)
    };
    let has_more = move || {
        let f = filters.read();
        [
            "tags",
            "exclude_tags",
            "model",
            "owner",
            "liked",
            "from",
            "to",
        ]
        .iter()
        .any(|key| !f.get(key).trim().is_empty())
    };
    let owner = show_owner.then(|| {
        view! {
            <label>
                "By"
                <input type="text" name="owner" value=value("owner") prop:value=value("owner") placeholder="username" autocomplete="off"/>
            </label>
        }
    });
    let liked = show_liked.then(|| {
        view! {
            <label>
                "Liked by"
                <input type="text" name="liked" value=value("liked") prop:value=value("liked") placeholder="username" autocomplete="off"/>
            </label>
        }
    });
    view! {
        <form class="filters" method="get" action=base node_ref=form role="search" on:submit=submit>
            <div class="filters-main">
                <label class="search-box">
                    <span class="visually-hidden">"Search"</span>
                    <input
                        type="search"
                        name="q"
                        value=value("q") prop:value=value("q")
                        placeholder="cat astronaut tag:portrait type:video after:2026-01-01"
                        maxlength="500"
                        autocomplete="off"
                    />
                </label>
                <label>
                    <span class="visually-hidden">"Type"</span>
                    <select name="type" on:change=change.clone()>
                        <option value="" selected=selected("type", "")>"Images and videos"</option>
                        <option value="image" selected=selected("type", "image")>"Images"</option>
                        <option value="video" selected=selected("type", "video")>"Videos"</option>
                    </select>
                </label>
                <label>
                    <span class="visually-hidden">"Order"</span>
                    <select name="sort" on:change=change.clone()>
                        {if in_collection {
                            view! {
                                <option value="" selected=selected("sort", "")>"Collection order"</option>
                                <option value="newest" selected=selected("sort", "newest")>"Newest first"</option>
                            }
                            .into_any()
                        } else {
                            view! {
                                <option value="" selected=selected("sort", "")>"Newest first"</option>
                            }
                            .into_any()
                        }}
                        <option value="oldest" selected=selected("sort", "oldest")>"Oldest first"</option>
                        {(!in_collection).then(|| view! {
                            <option value="relevant" selected=selected("sort", "relevant")>"Best match"</option>
                        })}
                        <option value="liked" selected=selected("sort", "liked")>"Most liked"</option>
                        <option value="viewed" selected=selected("sort", "viewed")>"Most viewed"</option>
                        <option value="featured" selected=selected("sort", "featured")>"Featured"</option>
                    </select>
                </label>
                <label>
                    <span class="visually-hidden">"Published"</span>
                    <select name="period" on:change=change>
                        <option value="" selected=selected("period", "")>"Any time"</option>
                        <option value="week" selected=selected("period", "week")>"This week"</option>
                        <option value="month" selected=selected("period", "month")>"This month"</option>
                    </select>
                </label>
                <button type="submit" class="button">"Search"</button>
            </div>
            <details class="filters-more" open=has_more>
                <summary>"More filters"</summary>
                <div class="filters-grid">
                    <label>
                        "With tags"
                        <input type="text" name="tags" value=value("tags") prop:value=value("tags") placeholder="portrait, neon" autocomplete="off"/>
                    </label>
                    <label>
                        "Without tags"
                        <input type="text" name="exclude_tags" value=value("exclude_tags") prop:value=value("exclude_tags") placeholder="nsfw" autocomplete="off"/>
                    </label>
                    <label>
                        "Model"
                        <input type="text" name="model" value=value("model") prop:value=value("model") placeholder="sdxl" autocomplete="off"/>
                    </label>
                    {owner}
                    {liked}
                    <label>
                        "From"
                        <input type="date" name="from" value=value("from") prop:value=value("from")/>
                    </label>
                    <label>
                        "To"
                        <input type="date" name="to" value=value("to") prop:value=value("to")/>
                    </label>
                </div>
                <p class="hint">
                    "In the search box: " <code>"tag:"</code> ", " <code>"-tag:"</code> ", "
                    <code>"type:"</code> ", " <code>"model:"</code> ", " <code>"by:"</code> ", "
                    <code>"liked:"</code> ", " <code>"after:"</code> ", " <code>"before:"</code> ", "
                    <code>"within:week"</code> " and "
                    <code>"\"exact phrases\""</code> "."
                </p>
            </details>
        </form>
    }
    .into_any()
}

/// The filters a form holds now.
#[cfg(feature = "hydrate")]
fn form_filters(form: &web_sys::HtmlFormElement) -> Option<Filters> {
    let data = web_sys::FormData::new_with_form(form).ok()?;
    let mut chosen = Filters::default();
    for key in FILTER_KEYS {
        if let Some(value) = data.get(key).as_string() {
            chosen.set(key, value.trim());
        }
    }
    Some(chosen)
}

/// Forms are only read in the browser.
#[cfg(not(feature = "hydrate"))]
fn form_filters<T>(_form: &T) -> Option<Filters> {
    None
}

/// The results: a grid that grows as it is scrolled, with a lightbox; with `may_curate`,
/// a checkbox on each card and the bar of bulk actions above.
#[component]
fn Grid(
    page: AssetPage,
    base: String,
    filters: Filters,
    scope: Scope,
    may_curate: bool,
    /// Whether a like button likes (else it is a link to log in).
    logged_in: bool,
    /// The collections the person may add to (for the bulk bar and the lightbox).
    collections: Vec<CollectionSummary>,
) -> impl IntoView {
    if page.items.is_empty() {
        let message = if let (true, Scope::LikedBy(user)) = (filters.is_empty(), &scope) {
            view! { <p>{format!("{user} has not liked anything yet.")}</p> }.into_any()
        } else if let (true, Scope::Collection(_)) = (filters.is_empty(), &scope) {
            view! { <p>"Nothing in this collection yet."</p> }.into_any()
        } else if filters.is_empty() && scope == Scope::Everything {
            view! {
                <p>"No assets yet."</p>
                <p>"Fill the gallery with demo content: " <code>"atelier seed-demo --count 200"</code></p>
            }
            .into_any()
        } else {
            view! { <p>"Nothing matches these filters."</p> }.into_any()
        };
        return view! { <div class="empty">{message}</div> }.into_any();
    }
    let items: RwSignal<Vec<AssetSummary>> = RwSignal::new(page.items);
    PageLikes::provide();
    // In a collection: the controls its curators have on each item.
    // Moving items means something only in the collection's own order, unfiltered.
    let own_order = filters.sort.trim().is_empty() || filters.sort.trim() == "curated";
    let unfiltered = !filters.narrows();
    let item_tools = use_context::<Tools>().map(|mut tools| {
        tools.may_reorder &= own_order && unfiltered;
        tools
    });
    let here = href(&base, &filters, None);
    // Its curators drag items into place: dropped on another item, one goes before it.
    let drag = item_tools
        .as_ref()
        .and_then(|t| t.may_reorder.then(|| t.drag(items)));
    let next = RwSignal::new(page.next_cursor);
    let loading = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiError>);
    let open = RwSignal::new(None::<usize>);
    let asked = scope.apply(filters.clone());

    let load_more = Callback::new(move |()| {
        let Some(cursor) = next.get_untracked() else {
            return;
        };
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        let asked = asked.clone();
        spawn_local(async move {
            match list_assets(asked, Some(cursor), None).await {
                Ok(page) => {
                    // An asset whose likes or views changed since the last page may come
                    // again (its count moved past the cursor): it is shown once.
                    items.update(|items| {
                        let shown: std::collections::HashSet<String> =
                            items.iter().map(|a| a.id.clone()).collect();
                        items.extend(page.items.into_iter().filter(|a| !shown.contains(&a.id)));
                    });
                    next.set(page.next_cursor);
                    failure.set(None);
                }
                Err(error) => failure.set(Some(error)),
            }
            loading.set(false);
        });
    });
    let click_more = move |ev: ev::MouseEvent| {
        if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        load_more.run(());
    };
    let sentinel = NodeRef::<leptos::html::Div>::new();
    infinite_scroll(sentinel, load_more, loading, next);

    let selection = may_curate.then(Selection::new);
    let bar = selection.map(|selection| {
        let back = href(&base, &filters, None);
        let lightbox_open = Signal::derive(move || open.with(Option::is_some));
        let collections = collections.clone();
        view! { <BulkBar selection items back lightbox_open collections/> }.into_any()
    });
    // A card opens the lightbox where it is in the list now (bulk actions take some out).
    let open_at = move |id: &str| {
        let at = items.with_untracked(|items| items.iter().position(|a| a.id == id));
        open.set(at);
    };
    view! {
        {bar}
        <ul class="grid" aria-live="polite">
            // Keyed by what a bulk action may change too, so that a changed card is redrawn.
            <For each=move || items.get() key=|asset| (asset.id.clone(), asset.visibility) let:asset>
                {
                    let id = asset.id.clone();
                    let data_pick = may_curate.then(|| asset.id.clone());
                    let pick = selection.map(|selection| {
                        view! { <PickBox selection items id=asset.id.clone() title=asset.title.clone()/> }
                    });
                    let tools = item_tools.clone().map(|tools| {
                        view! { <ItemTools tools asset=asset.clone() back=here.clone()/> }
                    });
                    let draggable = drag.as_ref().map(|_| "true");
                    let [d1, d2, d3, d4, d5] = [(); 5].map(|()| (drag.clone(), asset.id.clone()));
                    view! {
                        <li
                            data-pick=data_pick
                            draggable=draggable
                            class:drop-target=move || d1.0.as_ref().is_some_and(|d| d.is_over(&d1.1))
                            on:dragstart=move |ev| if let Some(d) = &d2.0 { d.start(&d2.1, &ev) }
                            on:dragover=move |ev| if let Some(d) = &d3.0 { d.enter(&d3.1, &ev) }
                            on:drop=move |ev| if let Some(d) = &d4.0 { d.drop(&d4.1, &ev) }
                            on:dragend=move |_| if let Some(d) = &d5.0 { d.end() }
                        >
                            {pick}
                            <AssetCard asset logged_in on_open=Callback::new(move |()| open_at(&id))/>
                            {tools}
                        </li>
                    }
                }
            </For>
        </ul>
        {move || failure.get().map(|error| view! { <ErrorNotice error/> })}
        <div class="more" node_ref=sentinel>
            {move || {
                next.get()
                    .map(|cursor| {
                        view! {
                            <a
                                class="button load-more"
                                href=href(&base, &filters, Some(&cursor))
                                rel="next"
                                aria-busy=move || loading.get().to_string()
                                on:click=click_more
                            >
                                {move || if loading.get() { "Loading…" } else { "Next page" }}
                            </a>
                        }
                    })
            }}
        </div>
        <Lightbox items open next load_more logged_in collections=collections.clone()/>
    }
    .into_any()
}

/// Loads the next page whenever the element below the grid comes within a screen of view
/// (browser only; without JavaScript the "Next page" link is there instead).
#[allow(unused_variables)]
fn infinite_scroll(
    sentinel: NodeRef<leptos::html::Div>,
    load_more: Callback<()>,
    loading: RwSignal<bool>,
    next: RwSignal<Option<String>>,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsCast};

        // Near the end of the page (a short page may need several loads to fill it).
        let near_end = move || {
            sentinel.get_untracked().is_some_and(|el| {
                let height = window()
                    .inner_height()
                    .ok()
                    .and_then(|h| h.as_f64())
                    .unwrap_or(800.0);
                el.get_bounding_client_rect().top() < height * 2.0
            })
        };
        Effect::new(move |_| {
            let Some(el) = sentinel.get() else {
                return;
            };
            let callback = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
                let seen = entries.iter().any(|entry| {
                    entry
                        .dyn_into::<web_sys::IntersectionObserverEntry>()
                        .is_ok_and(|e| e.is_intersecting())
                });
                if seen {
                    load_more.run(());
                }
            });
            let options = web_sys::IntersectionObserverInit::new();
            options.set_root_margin("0px 0px 100% 0px");
            let Ok(observer) = web_sys::IntersectionObserver::new_with_options(
                callback.as_ref().unchecked_ref(),
                &options,
            ) else {
                return;
            };
            observer.observe(&el);
            let observer = send_wrapper::SendWrapper::new((observer, callback));
            on_cleanup(move || observer.0.disconnect());
        });
        // After each load: if the end is still in view, load again.
        Effect::new(move |_| {
            if !loading.get() && next.with(Option::is_some) && near_end() {
                load_more.run(());
            }
        });
    }
}

/// A larger view of one asset over the page: ← and → step through the loaded results
/// (loading more at the end), Esc closes it, and a link leads to the asset's page.
#[component]
fn Lightbox(
    items: RwSignal<Vec<AssetSummary>>,
    open: RwSignal<Option<usize>>,
    next: RwSignal<Option<String>>,
    load_more: Callback<()>,
    logged_in: bool,
    /// The collections the person may add to (the lightbox offers them).
    collections: Vec<CollectionSummary>,
) -> impl IntoView {
    let share = StoredValue::new(crate::components::share::page_share_token());
    let collections = StoredValue::new(collections);
    let step = move |by: isize| {
        let Some(at) = open.get_untracked() else {
            return;
        };
        let len = items.with_untracked(Vec::len);
        let to = at.saturating_add_signed(by);
        if to < len {
            open.set(Some(to));
        } else if by > 0 && next.with_untracked(Option::is_some) {
            load_more.run(());
        }
    };
    let keys = window_event_listener(ev::keydown, move |ev| {
        if open.get_untracked().is_none() || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        match ev.key().as_str() {
            "ArrowLeft" => step(-1),
            "ArrowRight" => step(1),
            "Escape" => open.set(None),
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());
    let dialog = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if open.get().is_some() {
            if let Some(dialog) = dialog.get() {
                let _ = dialog.focus();
            }
        }
    });
    let current = move || {
        open.get()
            .and_then(|at| items.with(|items| items.get(at).cloned()))
    };
    view! {
        <Show when=move || current().is_some()>
            <div class="lightbox" role="dialog" aria-modal="true" aria-label="Larger view" tabindex="-1" node_ref=dialog
                on:click=move |ev: ev::MouseEvent| {
                    // A click on the backdrop (not on the picture or a control) closes it.
                    if ev.target() == ev.current_target() {
                        open.set(None);
                    }
                }
            >
                {move || current().map(|asset| {
                    let (w, h) = (asset.width.unwrap_or(1), asset.height.unwrap_or(1));
                    let src = asset.preview_url.clone().or(asset.thumb_url.clone());
                    let href = share.with_value(|share| {
                        crate::components::share::with_share(&format!("/a/{}", asset.id), share)
                    });
                    let kind = match asset.media_type {
                        MediaType::Image => "image",
                        MediaType::Video => "video (open it to play)",
                    };
                    view! {
                        <figure class="lightbox-figure" data-id=asset.id.clone()>
                            {src.map(|src| view! { <img src=src alt=asset.title.clone() width=w height=h/> })}
                            <figcaption>
                                <a href=href.clone() class="lightbox-title">{asset.title.clone()}</a>
                                <span class="muted">{format!(" · {} · {kind}", asset.owner)}</span>
                                <LikeButton
                                    id=asset.id.clone()
                                    title=asset.title.clone()
                                    liked=asset.liked
                                    likes=asset.likes
                                    logged_in
                                />
                                {collections.with_value(|list| (!list.is_empty()).then(|| {
                                    view! { <QuickAdd asset_id=asset.id.clone() collections=list.clone()/> }
                                }))}
                                <p class="lightbox-prompt">{asset.prompt.clone()}</p>
                            </figcaption>
                        </figure>
                    }
                })}
                <button type="button" class="lightbox-prev" aria-label="Previous" on:click=move |_| step(-1)>"←"</button>
                <button type="button" class="lightbox-next" aria-label="Next" on:click=move |_| step(1)>"→"</button>
                <button type="button" class="lightbox-close" aria-label="Close" on:click=move |_| open.set(None)>"✕"</button>
            </div>
        </Show>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn links_carry_the_filters_and_the_cursor() {
        let filters = Filters {
            q: "neon city".into(),
            media_type: "video".into(),
            ..Filters::default()
        };
        assert_eq!(href("/", &Filters::default(), None), "/");
        assert_eq!(
            href("/", &Filters::default(), Some("bjox")),
            "/?cursor=bjox"
        );
        assert_eq!(
            href("/u/alice", &filters, Some("bjox")),
            "/u/alice?q=neon%20city&type=video&cursor=bjox"
        );
        let scoped = Scope::Tag("portrait".into()).apply(Filters {
            tags: "neon".into(),
            ..Filters::default()
        });
        assert_eq!(scoped.tags, "portrait,neon");
        assert_eq!(
            Scope::Owner("bob".into()).apply(Filters::default()).owner,
            "bob"
        );
    }
}
