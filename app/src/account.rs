//! Accounts as the server and the browser both see them: roles, the signed-in user,
//! sessions, and the rules a username and a password must follow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Enabled,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Enabled => "enabled",
            UserStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<UserStatus> {
        match text {
            "enabled" => Some(UserStatus::Enabled),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// Whether strangers may create accounts (a runtime setting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    Open,
    Closed,
}

impl RegistrationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationMode::Open => "open",
            RegistrationMode::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<RegistrationMode> {
        match text {
            "open" => Some(RegistrationMode::Open),
            "closed" => Some(RegistrationMode::Closed),
            _ => None,
        }
    }
}

/// The signed-in user (`GET /api/me`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
}

/// What anyone may know about this instance before signing in (`GET /api/instance`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub registration: RegistrationMode,
}

/// One of my sessions, as the account page lists it (`GET /api/sessions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Opaque id, for revoking it.
    pub id: String,
    /// A readable label such as "Firefox on Linux".
    pub device: String,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The session of the browser asking.
    pub current: bool,
}

/// Usernames are 3–32 characters of `a-z`, `0-9`, `_` and `-` (stored lower-case, so
/// "Alice" registers as "alice"). Returns the normalised name or what is wrong with it.
pub fn normalize_username(input: &str) -> Result<String, String> {
    let name = input.trim().to_ascii_lowercase();
    let len = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(format!(
            "a username has {USERNAME_MIN} to {USERNAME_MAX} characters (this one has {len})"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "a username may hold only letters a–z, digits, “_” and “-” (not “{bad}”)"
        ));
    }
    Ok(name)
}

/// Length rule for passwords (the common-password check happens on the server).
pub fn check_password_length(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        Err(format!(
            "a password needs at least {PASSWORD_MIN} characters (this one has {len})"
        ))
    } else if len > PASSWORD_MAX {
        Err(format!(
            "a password has at most {PASSWORD_MAX} characters (this one has {len})"
        ))
    } else {
        Ok(())
    }
}

/// A local path to go to after signing in. Anything that could leave the site (`//host`,
/// `https://…`, `/\host`) or carries odd characters becomes `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 512
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_or_refused_with_the_reason() {
        assert_eq!(normalize_username(" Alice_01 "), Ok("alice_01".into()));
        assert_eq!(normalize_username("a-b"), Ok("a-b".into()));
        assert!(normalize_username("ab")
            .expect_err("short")
            .contains("3 to 32"));
        assert!(normalize_username(&"a".repeat(33)).is_err());
        let err = normalize_username("</script><script>alert(1)</script>").expect_err("html");
        assert!(
            err.contains("3 to 32") || err.contains("only letters"),
            "{err}"
        );
        assert!(normalize_username("ali ce")
            .expect_err("space")
            .contains("“ ”"));
        assert!(normalize_username("élodie").is_err());
    }

    #[test]
    fn passwords_have_8_to_128_characters() {
        assert!(check_password_length("short").is_err());
        assert!(check_password_length("exactly8").is_ok());
        assert!(check_password_length(&"x".repeat(128)).is_ok());
        assert!(check_password_length(&"x".repeat(129)).is_err());
        // Characters, not bytes.
        assert!(check_password_length("ééééééé").is_err());
    }

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/account")), "/account");
        assert_eq!(safe_next(Some("/a/abc?x=1")), "/a/abc?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
