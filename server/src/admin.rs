//! Account and settings administration from the command line (`atelier user …`,
//! `atelier settings …`). The admin UI will call the same store methods.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use app::account::{check_password_length, normalize_username, RegistrationMode, Role, UserStatus};
use app::auth::password::{is_common, Passwords};
use app::store::{EndSessions, NewUser, Store, User};
use chrono::Utc;
use rand::Rng;

/// Runtime settings: key, what it means, and how its value is checked.
pub const SETTINGS: &[(&str, &str)] = &[
    (
        "registration_mode",
        "open: anyone may register; closed: only the CLI (and later admins) create accounts",
    ),
    (
        "upload_quota",
        "storage each user's uploads may take, e.g. 2GiB (1024-based units; MB = 1000²)",
    ),
    ("max_image_size", "largest image file accepted, e.g. 50MiB"),
    ("max_video_size", "largest video file accepted, e.g. 512MiB"),
    (
        "upload_expiry_hours",
        "hours an unfinished upload is kept before its bytes are deleted (1 to 8760)",
    ),
    (
        "usage_tracking",
        "on: record each use of a feature for the statistics; off: record nothing",
    ),
    (
        "usage_retention_days",
        "days raw usage events are kept (1 to 3650); the daily rollups are kept forever",
    ),
];

/// Checks a value for a runtime setting; the error names the allowed values.
pub fn validate_setting(key: &str, value: &str) -> Result<String> {
    match key {
        "registration_mode" => RegistrationMode::parse(value.trim())
            .map(|mode| mode.as_str().to_string())
            .with_context(|| format!("registration_mode is open or closed, not “{value}”")),
        "upload_quota" | "max_image_size" | "max_video_size" => {
            match app::units::parse_bytes(value) {
                Some(bytes) if bytes > 0 => Ok(value.trim().replace(' ', "")),
                _ => bail!("{key} is a size such as 512MiB or 2GiB, not “{value}”"),
            }
        }
        "usage_tracking" => match value.trim() {
            on @ ("on" | "off") => Ok(on.to_string()),
            _ => bail!("usage_tracking is on or off, not “{value}”"),
        },
        "usage_retention_days" => match value.trim().parse::<u32>() {
            Ok(days) if (1..=3650).contains(&days) => Ok(days.to_string()),
            _ => bail!("usage_retention_days is a whole number from 1 to 3650, not “{value}”"),
        },
        "upload_expiry_hours" => match value.trim().parse::<u32>() {
            Ok(hours) if (1..=8760).contains(&hours) => Ok(hours.to_string()),
            _ => bail!("upload_expiry_hours is a whole number from 1 to 8760, not “{value}”"),
        },
        _ => {
            let known: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
            bail!(
                "there is no setting “{key}”; known settings: {}",
                known.join(", ")
            )
        }
    }
}

/// Where a new password comes from.
pub enum NewPassword {
    /// Generated and printed once.
    Generated,
    /// Given (read from stdin); must pass the same rules as on the web.
    Given(String),
}

impl NewPassword {
    /// The first line of stdin (without its line ending).
    pub fn from_stdin() -> Result<NewPassword> {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        Ok(NewPassword::Given(password))
    }

    /// The password to set, and whether it should be shown (generated ones are).
    fn resolve(self) -> Result<(String, bool)> {
        match self {
            NewPassword::Generated => Ok((generate_password(), true)),
            NewPassword::Given(password) => {
                check_password_length(&password).map_err(anyhow::Error::msg)?;
                if is_common(&password) {
                    bail!("this password is one of the most common ones; choose another");
                }
                Ok((password, false))
            }
        }
    }
}

/// 20 random base62 characters in four groups (about 119 bits).
pub fn generate_password() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..20)
        .map(|_| char::from(app::ids::BASE62[rng.gen_range(0..app::ids::BASE62.len())]))
        .collect();
    chars
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// What `user create` and `user reset-password` report.
pub struct PasswordReport {
    pub user: User,
    /// Set when the password was generated: show it once.
    pub generated: Option<String>,
}

pub async fn create_user(
    store: &dyn Store,
    username: &str,
    admin: bool,
    password: NewPassword,
) -> Result<PasswordReport> {
    let username = normalize_username(username).map_err(anyhow::Error::msg)?;
    let (password, show) = password.resolve()?;
    let hash = Passwords::new(1)
        .hash(&password)
        .await
        .map_err(anyhow::Error::msg)?;
    let user = store
        .create_user(&NewUser {
            public_id: app::ids::new_public_id(),
            username,
            password_hash: Some(hash),
            role: if admin { Role::Admin } else { Role::User },
            created_at: Utc::now(),
        })
        .await?;
    Ok(PasswordReport {
        user,
        generated: show.then_some(password),
    })
}

async fn existing(store: &dyn Store, username: &str) -> Result<User> {
    store
        .find_user(username.trim())
        .await?
        .with_context(|| format!("there is no user “{}”", username.trim()))
}

/// Sets a new password and ends every session of the account.
pub async fn reset_password(
    store: &dyn Store,
    username: &str,
    password: NewPassword,
) -> Result<PasswordReport> {
    let user = existing(store, username).await?;
    let (password, show) = password.resolve()?;
    let hash = Passwords::new(1)
        .hash(&password)
        .await
        .map_err(anyhow::Error::msg)?;
    store.set_password(user.id, &hash, EndSessions::All).await?;
    Ok(PasswordReport {
        user,
        generated: show.then_some(password),
    })
}

pub async fn set_status(store: &dyn Store, username: &str, status: UserStatus) -> Result<User> {
    store
        .set_status(username.trim(), status)
        .await?
        .with_context(|| format!("there is no user “{}”", username.trim()))
}

pub async fn set_role(store: &dyn Store, username: &str, role: &str) -> Result<User> {
    let role = Role::parse(role.trim())
        .with_context(|| format!("a role is admin or user, not “{role}”"))?;
    store
        .set_role(username.trim(), role)
        .await?
        .with_context(|| format!("there is no user “{}”", username.trim()))
}

pub async fn set_setting(store: &dyn Store, key: &str, value: &str) -> Result<String> {
    let value = validate_setting(key, value)?;
    store.set_setting(key, &value, Utc::now()).await?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_random_and_acceptable() {
        let a = generate_password();
        assert_eq!(a.len(), 23, "{a}");
        assert_ne!(a, generate_password());
        assert!(check_password_length(&a).is_ok());
    }

    #[test]
    fn settings_are_validated_by_key() {
        assert_eq!(
            validate_setting("registration_mode", " closed").expect("ok"),
            "closed"
        );
        let err = validate_setting("registration_mode", "maybe").expect_err("bad");
        assert!(err.to_string().contains("open or closed"));
        let err = validate_setting("colour", "red").expect_err("unknown");
        assert!(err.to_string().contains("registration_mode"));
    }
}
