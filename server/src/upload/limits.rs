//! The limits uploads run under (size caps per kind of media, the storage quota, how long
//! an unfinished upload is kept), read from the settings table, and the refusals that name
//! them.

use app::{
    error::ApiError,
    model::MediaType,
    store::Store,
    units::{format_bytes, parse_bytes},
};
use chrono::Duration;

/// Runtime limits, read from the settings table (defaults in migration 0003).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub quota: u64,
    pub max_image: u64,
    pub max_video: u64,
    pub expiry: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            quota: 2 << 30,
            max_image: 50 << 20,
            max_video: 512 << 20,
            expiry: Duration::hours(24),
        }
    }
}

impl Limits {
    /// The limits now in force (settings an admin changed, or the defaults).
    pub async fn load(store: &dyn Store) -> Result<Limits, ApiError> {
        let mut limits = Limits::default();
        for (key, value) in store.list_settings().await? {
            match key.as_str() {
                "upload_quota" => limits.quota = parse_bytes(&value).unwrap_or(limits.quota),
                "max_image_size" => {
                    limits.max_image = parse_bytes(&value).unwrap_or(limits.max_image)
                }
                "max_video_size" => {
                    limits.max_video = parse_bytes(&value).unwrap_or(limits.max_video)
                }
                "upload_expiry_hours" => {
                    if let Ok(hours) = value.trim().parse::<i64>() {
                        limits.expiry = Duration::hours(hours.clamp(1, 24 * 365));
                    }
                }
                _ => {}
            }
        }
        Ok(limits)
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
