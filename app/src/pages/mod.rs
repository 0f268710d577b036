mod account;
mod asset;
mod asset_edit;
mod gallery;
mod login;
mod not_found;
mod notice;
mod stats;
mod trash;
mod upload;

pub use account::AccountPage;
pub use asset::AssetPage;
pub use gallery::{GalleryPage, ProfilePage, TagPage};
pub use login::{LoginPage, RegisterPage};
pub use not_found::NotFound;
pub use stats::{AdminUsagePage, StatsPage};
pub use trash::TrashPage;
pub use upload::UploadPage;
