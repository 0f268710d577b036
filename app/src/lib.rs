//! atelier's application: routes, pages, components, server functions and the types the
//! server and the browser share. Server-only parts sit behind the `ssr` feature.

pub mod access;
pub mod account;
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod collection;
pub mod components;
pub mod diff;
pub mod error;
pub mod featured;
#[cfg(feature = "ssr")]
pub mod history;
pub mod ids;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod recent_views;
pub mod search;
pub mod settings;
pub mod share;
#[cfg(feature = "hydrate")]
pub mod shared_in;
#[cfg(feature = "ssr")]
pub mod shell;
pub mod stats;
#[cfg(feature = "ssr")]
pub mod store;
pub mod units;
pub mod upload;
#[cfg(feature = "hydrate")]
pub mod upload_client;
#[cfg(feature = "ssr")]
pub mod upload_engine;
#[cfg(feature = "ssr")]
pub mod usage;

#[cfg(feature = "ssr")]
pub use api::ssr::AppContext;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use components::pwa::{provide_app_worker, UpdatePrompt};
use components::{provide_auth, SiteHeader};
use pages::{
    AccountPage, AdminUsagePage, AssetPage, CollectionPage, GalleryPage, LoginPage, NotFound,
    ProfileCollectionsPage, ProfileLikedPage, ProfilePage, RegisterPage, SharePage, StatsPage,
    TagPage, TrashPage, UploadPage,
};

/// The root component, rendered on the server and hydrated in the browser.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_auth();
    provide_app_worker();
    // Effects run only in the browser: this marks the moment the page became interactive
    // (styles and tests can rely on it).
    Effect::new(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Title text="atelier"/>
        <Router>
            <SiteHeader/>
            <main id="main">
                // Async: the server sends each page whole, so it reads fine without JavaScript.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=GalleryPage ssr=SsrMode::Async/>
                    <Route path=path!("/u/:username") view=ProfilePage ssr=SsrMode::Async/>
                    <Route path=path!("/u/:username/liked") view=ProfileLikedPage ssr=SsrMode::Async/>
                    <Route path=path!("/t/:tag") view=TagPage ssr=SsrMode::Async/>
                    <Route path=path!("/a/:id") view=AssetPage ssr=SsrMode::Async/>
                    <Route path=path!("/c/:id") view=CollectionPage ssr=SsrMode::Async/>
                    <Route path=path!("/s/:token") view=SharePage ssr=SsrMode::Async/>
                    <Route path=path!("/u/:username/collections") view=ProfileCollectionsPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/upload") view=UploadPage ssr=SsrMode::Async/>
                    <Route path=path!("/trash") view=TrashPage ssr=SsrMode::Async/>
                    <Route path=path!("/stats") view=StatsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/usage") view=AdminUsagePage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <UpdatePrompt/>
        </Router>
    }
}
