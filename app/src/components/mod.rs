mod asset_card;
mod header;

pub use asset_card::AssetCard;
pub use header::SiteHeader;
