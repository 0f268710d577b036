//! Every runtime setting, listed once: its key, what it means, its default and how a value
//! is checked. Settings are stored as text (`settings` table); [`Settings`] is what is in
//! force, typed, with the default wherever nothing valid is stored. The CLI, the upload
//! limits, the usage writer and registration all read them here. (The migrations seed the
//! same defaults as rows; a missing or unreadable row falls back to these.)

use crate::account::RegistrationMode;
use crate::units::parse_bytes;

/// What values a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A size above zero such as `512MiB` or `2GiB` (1024-based units; `MB` = 1000²).
    Size,
    /// A whole number in `min..=max`.
    Whole { min: u32, max: u32 },
}

/// One runtime setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub kind: Kind,
    /// The value in force when none (or none valid) is stored.
    pub default: &'static str,
    /// What it means, for the CLI and the admin pages.
    pub description: &'static str,
}

pub const REGISTRATION_MODE: Setting = Setting {
    key: "registration_mode",
    kind: Kind::Choice(&["open", "closed"]),
    default: "open",
    description: "open: anyone may register; closed: only the CLI (and later admins) create \
                  accounts",
};

pub const UPLOAD_QUOTA: Setting = Setting {
    key: "upload_quota",
    kind: Kind::Size,
    default: "2GiB",
    description: "storage each user's uploads may take, e.g. 2GiB (1024-based units; MB = 1000²)",
};

pub const MAX_IMAGE_SIZE: Setting = Setting {
    key: "max_image_size",
    kind: Kind::Size,
    default: "50MiB",
    description: "largest image file accepted, e.g. 50MiB",
};

pub const MAX_VIDEO_SIZE: Setting = Setting {
    key: "max_video_size",
    kind: Kind::Size,
    default: "512MiB",
    description: "largest video file accepted, e.g. 512MiB",
};

pub const UPLOAD_EXPIRY_HOURS: Setting = Setting {
    key: "upload_expiry_hours",
    kind: Kind::Whole { min: 1, max: 8760 },
    default: "24",
    description: "hours an unfinished upload is kept before its bytes are deleted (1 to 8760)",
};

pub const MAX_OPEN_UPLOADS: Setting = Setting {
    key: "max_open_uploads",
    kind: Kind::Whole {
        min: 1,
        max: 10_000,
    },
    default: "100",
    description: "unfinished uploads one person may have at once (1 to 10000); each holds its \
                  announced size against their quota until it is published, cancelled or \
                  expires",
};

pub const MIN_FREE_DISK: Setting = Setting {
    key: "min_free_disk",
    kind: Kind::Size,
    default: "512MiB",
    description: "free space kept on the data disk, e.g. 512MiB: an upload that would leave \
                  less is refused (507) until space is freed",
};

pub const USAGE_TRACKING: Setting = Setting {
    key: "usage_tracking",
    kind: Kind::Choice(&["on", "off"]),
    default: "on",
    description: "on: record each use of a feature for the statistics; off: record nothing",
};

pub const USAGE_RETENTION_DAYS: Setting = Setting {
    key: "usage_retention_days",
    kind: Kind::Whole { min: 1, max: 3650 },
    default: "90",
    description: "days raw usage events are kept (1 to 3650); the daily rollups are kept forever",
};

pub const TRASH_DAYS: Setting = Setting {
    key: "trash_days",
    kind: Kind::Whole { min: 1, max: 3650 },
    default: "30",
    description: "days a deleted asset stays in its owner's trash (1 to 3650) before it is \
                  purged for good, freeing its storage",
};

/// Every runtime setting, in the order they are listed.
pub const ALL: [Setting; 10] = [
    REGISTRATION_MODE,
    UPLOAD_QUOTA,
    MAX_IMAGE_SIZE,
    MAX_VIDEO_SIZE,
    UPLOAD_EXPIRY_HOURS,
    MAX_OPEN_UPLOADS,
    MIN_FREE_DISK,
    USAGE_TRACKING,
    USAGE_RETENTION_DAYS,
    TRASH_DAYS,
];

/// The setting with this key; the error names the known ones.
pub fn find(key: &str) -> Result<&'static Setting, String> {
    ALL.iter().find(|s| s.key == key).ok_or_else(|| {
        let known: Vec<&str> = ALL.iter().map(|s| s.key).collect();
        format!(
            "there is no setting “{key}”; known settings: {}",
            known.join(", ")
        )
    })
}

impl Setting {
    /// The value as it is stored (trimmed, normalised), or why it is not one, naming what
    /// is allowed.
    pub fn check(&self, value: &str) -> Result<String, String> {
        let key = self.key;
        let trimmed = value.trim();
        match self.kind {
            Kind::Choice(words) => {
                let lower = trimmed.to_ascii_lowercase();
                words
                    .iter()
                    .find(|w| **w == lower)
                    .map(|w| w.to_string())
                    .ok_or_else(|| format!("{key} is {}, not “{value}”", words.join(" or ")))
            }
            Kind::Size => match parse_bytes(trimmed) {
                Some(bytes) if bytes > 0 => Ok(trimmed.replace(' ', "")),
                _ => Err(format!(
                    "{key} is a size such as 512MiB or 2GiB, not “{value}”"
                )),
            },
            Kind::Whole { min, max } => match trimmed.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                _ => Err(format!(
                    "{key} is a whole number from {min} to {max}, not “{value}”"
                )),
            },
        }
    }
}

/// The settings in force, typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub registration_mode: RegistrationMode,
    pub upload_quota: u64,
    pub max_image_size: u64,
    pub max_video_size: u64,
    pub upload_expiry_hours: u32,
    pub max_open_uploads: u32,
    pub min_free_disk: u64,
    pub usage_tracking: bool,
    pub usage_retention_days: u32,
    pub trash_days: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::from_stored(std::iter::empty())
    }
}

impl Settings {
    /// From stored `(key, value)` rows: each setting's valid stored value, else its default.
    pub fn from_stored(rows: impl IntoIterator<Item = (String, String)>) -> Settings {
        let rows: Vec<(String, String)> = rows.into_iter().collect();
        let value = |setting: &Setting| -> String {
            rows.iter()
                .find(|(key, _)| key == setting.key)
                .and_then(|(_, value)| setting.check(value).ok())
                .unwrap_or_else(|| setting.default.to_string())
        };
        // Defaults always pass their own checks (a test says so), so these fall-backs are
        // never reached in practice.
        let size = |setting: &Setting| parse_bytes(&value(setting)).unwrap_or(0);
        let whole = |setting: &Setting| value(setting).parse().unwrap_or(0);
        Settings {
            registration_mode: RegistrationMode::parse(&value(&REGISTRATION_MODE))
                .unwrap_or(RegistrationMode::Open),
            upload_quota: size(&UPLOAD_QUOTA),
            max_image_size: size(&MAX_IMAGE_SIZE),
            max_video_size: size(&MAX_VIDEO_SIZE),
            upload_expiry_hours: whole(&UPLOAD_EXPIRY_HOURS),
            max_open_uploads: whole(&MAX_OPEN_UPLOADS),
            min_free_disk: size(&MIN_FREE_DISK),
            usage_tracking: value(&USAGE_TRACKING) == "on",
            usage_retention_days: whole(&USAGE_RETENTION_DAYS),
            trash_days: whole(&TRASH_DAYS),
        }
    }

    /// What is in force on this instance now.
    #[cfg(feature = "ssr")]
    pub async fn load(
        store: &dyn crate::store::Store,
    ) -> Result<Settings, crate::store::StoreError> {
        Ok(Settings::from_stored(store.list_settings().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check() {
        for setting in ALL {
            assert_eq!(
                setting.check(setting.default).as_deref(),
                Ok(setting.default),
                "{}",
                setting.key
            );
        }
        let keys: Vec<&str> = ALL.iter().map(|s| s.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "keys are unique");
    }

    #[test]
    fn values_are_checked_and_normalised_with_reasons() {
        assert_eq!(REGISTRATION_MODE.check(" Closed").as_deref(), Ok("closed"));
        assert!(REGISTRATION_MODE
            .check("maybe")
            .expect_err("bad")
            .contains("open or closed"));
        assert_eq!(UPLOAD_QUOTA.check("5 GiB").as_deref(), Ok("5GiB"));
        assert!(UPLOAD_QUOTA
            .check("0")
            .expect_err("zero")
            .contains("a size such as 512MiB"));
        assert_eq!(UPLOAD_EXPIRY_HOURS.check("48").as_deref(), Ok("48"));
        assert!(UPLOAD_EXPIRY_HOURS
            .check("9000")
            .expect_err("too long")
            .contains("from 1 to 8760"));
        assert!(find("colour")
            .expect_err("unknown")
            .contains("registration_mode"));
    }

    #[test]
    fn stored_values_apply_and_unreadable_ones_fall_back_to_defaults() {
        let defaults = Settings::default();
        assert_eq!(defaults.registration_mode, RegistrationMode::Open);
        assert_eq!(defaults.upload_quota, 2 << 30);
        assert_eq!(defaults.max_image_size, 50 << 20);
        assert_eq!(defaults.max_video_size, 512 << 20);
        assert_eq!(defaults.upload_expiry_hours, 24);
        assert_eq!(defaults.max_open_uploads, 100);
        assert_eq!(defaults.min_free_disk, 512 << 20);
        assert!(defaults.usage_tracking);
        assert_eq!(defaults.usage_retention_days, 90);

        let stored = Settings::from_stored(
            [
                ("registration_mode", "closed"),
                ("upload_quota", "lots"),
                ("max_image_size", "1MiB"),
                ("usage_tracking", "off"),
                ("usage_retention_days", "0"),
                ("something_else", "x"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        assert_eq!(stored.registration_mode, RegistrationMode::Closed);
        assert_eq!(stored.upload_quota, 2 << 30, "unreadable: the default");
        assert_eq!(stored.max_image_size, 1 << 20);
        assert!(!stored.usage_tracking);
        assert_eq!(stored.usage_retention_days, 90, "out of range: the default");
    }
}
