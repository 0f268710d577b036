mod account;
mod asset;
mod gallery;
mod login;
mod not_found;
mod stats;
mod upload;

pub use account::AccountPage;
pub use asset::AssetPage;
pub use gallery::{GalleryPage, ProfilePage, TagPage};
pub use login::{LoginPage, RegisterPage};
pub use not_found::NotFound;
pub use stats::{AdminUsagePage, StatsPage};
pub use upload::UploadPage;

use leptos::prelude::*;

use crate::error::ApiError;

/// An error as a page shows it: what happened, in words a person can act on.
#[component]
pub fn ErrorNotice(error: ApiError) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <p>{error.to_string()}</p>
        </div>
    }
}
