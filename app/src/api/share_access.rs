//! What a share link's token opens, asked wherever a page or the API may be reached
//! through one (collections, assets, likes, listings), and the token carried on in media
//! addresses so that the media route lets its holder in.

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::ApiError;
    use crate::model::AssetSummary;
    use crate::store::SharedThing;

    /// What `token` opens now, with its hash; `None` when it is not a token, or no open
    /// link has it.
    pub async fn resolve(token: &str) -> Result<Option<([u8; 32], SharedThing)>, ApiError> {
        let token = token.trim();
        if !crate::share::is_token(token) {
            return Ok(None);
        }
        let Some(hash) = crate::auth::token_hash(token) else {
            return Ok(None);
        };
        let store = crate::api::ssr::store()?;
        Ok(store
            .shared(&hash, chrono::Utc::now())
            .await?
            .map(|thing| (hash, thing)))
    }

    /// Whether `token` opens the asset `asset` (a link to it, or to a collection that
    /// shows it to the link's holder).
    pub async fn covers(token: &str, asset: &str) -> Result<bool, ApiError> {
        let token = token.trim();
        let Some(hash) = crate::share::is_token(token)
            .then(|| crate::auth::token_hash(token))
            .flatten()
        else {
            return Ok(false);
        };
        Ok(crate::api::ssr::store()?
            .share_covers(&hash, asset, chrono::Utc::now())
            .await?)
    }

    /// `url` with the token added (`s=`), so that the media route lets its holder in.
    pub fn carry(url: &str, token: &str) -> String {
        let glue = if url.contains('?') { '&' } else { '?' };
        format!("{url}{glue}s={token}")
    }

    /// Adds the token to the media addresses of assets a link opened.
    pub fn carry_items<'a>(items: impl IntoIterator<Item = &'a mut AssetSummary>, token: &str) {
        for item in items {
            for url in [&mut item.thumb_url, &mut item.preview_url]
                .into_iter()
                .flatten()
            {
                *url = carry(url, token);
            }
        }
    }

    /// The `404` for a token that opens nothing.
    pub fn closed() -> ApiError {
        ApiError::NotFound(
            "this share link opens nothing: it expired, was revoked, or never existed".into(),
        )
    }
}
