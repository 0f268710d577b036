//! Account and settings administration from the command line (`atelier user …`,
//! `atelier settings …`). The admin UI will call the same store methods.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use app::account::{check_password_length, normalize_username, Role, UserStatus};
use app::auth::password::{is_common, Passwords};
use app::store::{EndSessions, NewUser, Store, User};
use chrono::Utc;
use rand::Rng;

/// Checks a value for a runtime setting (see [`app::settings`]); the error names the allowed
/// values, or the known settings.
pub fn validate_setting(key: &str, value: &str) -> Result<String> {
    let setting = app::settings::find(key).map_err(anyhow::Error::msg)?;
    setting.check(value).map_err(anyhow::Error::msg)
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
