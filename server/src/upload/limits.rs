//! The limits uploads run under (size caps per kind of media, the storage quota, how many
//! unfinished uploads a person may have and how long one is kept, the free space kept on
//! the data disk), from the runtime settings, and the refusals that name them.

use app::{
    error::ApiError,
    model::MediaType,
    settings::Settings,
    store::{OpenUploads, Store, UploadRoom},
    units::format_bytes,
};
use chrono::Duration;

/// The upload limits in force: the runtime settings of [`app::settings`], typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub quota: u64,
    pub max_image: u64,
    pub max_video: u64,
    pub expiry: Duration,
    pub max_open: u32,
    /// Free bytes kept on the data disk: an upload that would leave less is refused.
    pub min_free_disk: u64,
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
            max_open: settings.max_open_uploads,
            min_free_disk: settings.min_free_disk,
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

    /// What an upload may start within.
    pub fn room(&self) -> UploadRoom {
        UploadRoom {
            quota: self.quota,
            max_open: self.max_open,
        }
    }

    /// Whether `incoming` more bytes fit on a data disk with `free` bytes left, keeping
    /// [`Limits::min_free_disk`]; the refusal (507) says how much is free.
    pub fn check_disk(&self, free: u64, incoming: u64) -> Result<(), ApiError> {
        if free.saturating_sub(incoming) < self.min_free_disk || free < incoming {
            return Err(ApiError::InsufficientStorage(format!(
                "the server is running out of disk space ({} free, and it keeps {} free), \
                 so it takes no more uploads for now; try again later",
                format_bytes(free),
                format_bytes(self.min_free_disk)
            )));
        }
        Ok(())
    }
}

/// An upload that would take its owner past their quota, counting what their unfinished
/// uploads hold.
pub(super) fn over_quota(used: u64, open: OpenUploads, size: u64, quota: u64) -> ApiError {
    let left = quota.saturating_sub(used).saturating_sub(open.bytes);
    let mut message = format!(
        "this upload needs {}, but only {} of your {} storage quota is left",
        format_bytes(size),
        format_bytes(left),
        format_bytes(quota)
    );
    if open.count > 0 {
        message.push_str(&format!(
            " ({} held by {} unfinished upload{}: publish or cancel {} to free it)",
            format_bytes(open.bytes),
            open.count,
            if open.count == 1 { "" } else { "s" },
            if open.count == 1 { "it" } else { "them" }
        ));
    }
    ApiError::TooLarge(message)
}

/// A person who already has as many unfinished uploads as they may.
pub(super) fn too_many_open(open: OpenUploads, expiry: Duration) -> ApiError {
    ApiError::TooManyRequests(format!(
        "you have {} unfinished uploads, as many as one person may have at once; publish or \
         cancel some (or wait: an unfinished upload expires within {} hours of its last \
         bytes) and this one starts",
        open.count,
        expiry.num_hours()
    ))
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
    fn the_disk_floor_refuses_with_507_and_says_what_is_free() {
        let limits = Limits {
            min_free_disk: 100,
            ..Limits::default()
        };
        assert!(limits.check_disk(1000, 900).is_ok());
        let err = limits.check_disk(1000, 901).expect_err("below the floor");
        assert_eq!(err.status(), 507);
        assert!(err.to_string().contains("keeps 100 B free"), "{err}");
        assert!(
            limits.check_disk(10, 20).is_err(),
            "more than is free at all"
        );
    }

    #[test]
    fn open_uploads_are_named_in_the_quota_refusal() {
        let open = OpenUploads {
            count: 2,
            bytes: 1 << 30,
        };
        let err = over_quota(512 << 20, open, 1 << 30, 2 << 30);
        assert_eq!(err.status(), 413);
        let text = err.to_string();
        assert!(text.contains("only 512 MiB of your 2.0 GiB"), "{text}");
        assert!(
            text.contains("1.0 GiB held by 2 unfinished uploads"),
            "{text}"
        );
        let err = too_many_open(open, Duration::hours(24));
        assert_eq!(err.status(), 429);
        assert!(err.to_string().contains("24 hours"), "{err}");
    }

    #[test]
    fn quota_messages_say_what_is_left() {
        assert!(check_quota(0, 10, 10).is_ok());
        let err = check_quota(1 << 30, 2 << 30, 2 << 30).expect_err("over");
        assert_eq!(err.status(), 413);
        assert!(err.to_string().contains("1.0 GiB of your 2.0 GiB"), "{err}");
    }
}
