mod asset_card;
pub mod auth;
pub mod charts;
mod header;
pub mod here;
mod install;
mod like_button;
pub mod pwa;
pub mod share;
mod share_out;

pub use asset_card::AssetCard;
pub use auth::{provide_auth, use_auth};
pub use header::SiteHeader;
pub use like_button::{LikeButton, PageLikes};
pub use share_out::ShareButton;
