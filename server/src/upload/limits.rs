//! The limits uploads run under (size caps per kind of media, the storage quota, how long
//! an unfinished upload is kept), from the runtime settings, and the refusals that name
//! them.

use app::{
    error::ApiError, model::MediaType, settings::Settings, store::Store, units::format_bytes,
};
use chrono::Duration;

/// The upload limits in force: the runtime settings of [`app::settings`], typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub quota: u64,
    pub max_image: u64,
    pub max_video: u64,
    pub expiry: Duration,
}

impl Default for Limits {
    /// The settings' defaults.
    fn default() -> Self {
        Limits::from(&Settings::default())
    }
}

impl From<&Settings> for Limits {
    fn from(settings: &Settings) -> Limits {
        Limits {
            quota: settings.upload_quota,
            max_image: settings.max_image_size,
            max_video: settings.max_video_size,
            expiry: Duration::hours(i64::from(settings.upload_expiry_hours)),
        }
    }
}

impl Limits {
    /// The limits now in force (settings an admin changed, or the defaults).
    pub async fn load(store: &dyn Store) -> Result<Limits, ApiError> {
        Ok(Limits::from(&Settings::load(store).await?))
    }

    /// The cap for a kind of media.
    pub fn cap(&self, media_type: MediaType) -> u64 {
        match media_type {
            MediaType::Image => self.max_image,
            MediaType::Video => self.max_video,
        }
    }

    /// The largest file of any kind.
    pub fn largest(&self) -> u64 {
        self.max_image.max(self.max_video)
    }
}

/// A file over its kind's cap.
pub(super) fn too_large(media_type: MediaType, size: u64, cap: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "this {} is {}; {}s may be up to {}",
        media_type.as_str(),
        format_bytes(size),
        media_type.as_str(),
        format_bytes(cap)
    ))
}

/// Whether `size` more bytes fit the quota with `used` taken; the refusal says what is left.
pub(super) fn check_quota(used: u64, size: u64, quota: u64) -> Result<(), ApiError> {
    if used.saturating_add(size) > quota {
        return Err(ApiError::TooLarge(format!(
            "this upload needs {}, but only {} of your {} storage quota is left",
            format_bytes(size),
            format_bytes(quota.saturating_sub(used)),
            format_bytes(quota)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_messages_say_what_is_left() {
        assert!(check_quota(0, 10, 10).is_ok());
        let err = check_quota(1 << 30, 2 << 30, 2 << 30).expect_err("over");
        assert_eq!(err.status(), 413);
        assert!(err.to_string().contains("1.0 GiB of your 2.0 GiB"), "{err}");
    }
}
