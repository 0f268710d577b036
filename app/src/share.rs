//! Share links as the API and the pages show them. Shared by the server and the browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest a share link may last, in days.
pub const MAX_EXPIRY_DAYS: u32 = 365;
/// Share links the account page lists.
pub const LIST_LIMIT: u32 = 200;

/// What a share link opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SharedKind {
    Asset,
    Collection,
}

/// A share link, as its owner's account page lists it (the token is never shown again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLinkInfo {
    /// Its own public id (to revoke it).
    pub id: String,
    pub kind: SharedKind,
    /// The asset's or collection's public id.
    pub target: String,
    /// Its title.
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// How often it was opened.
    pub opens: u64,
    pub last_opened_at: Option<DateTime<Utc>>,
    /// Open now: not revoked, not expired.
    pub open: bool,
}

/// A share link just made: the only time its address is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLinkMade {
    #[serde(flatten)]
    pub info: ShareLinkInfo,
    /// The token.
    pub token: String,
    /// The path that opens it (`/s/{token}`); put the site's address before it.
    pub path: String,
}

/// Where an opened share link leads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedOpened {
    pub kind: SharedKind,
    /// The asset's or collection's public id.
    pub id: String,
    /// The page to go on to, carrying the token (`/c/{id}?s={token}`).
    pub path: String,
}

/// Days a link lasts, as a form sends them: empty or `never` for no end, else 1 to
/// [`MAX_EXPIRY_DAYS`].
pub fn parse_expiry(text: &str) -> Result<Option<u32>, String> {
    match text.trim() {
        "" | "never" => Ok(None),
        days => match days.parse::<u32>() {
            Ok(n) if (1..=MAX_EXPIRY_DAYS).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "expires_in_days is a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or \
                 never, not “{days}”"
            )),
        },
    }
}

/// A share token's shape (43 base64url characters), checked before anything is looked up.
pub fn is_token(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_whole_days_within_a_year() {
        assert_eq!(parse_expiry(""), Ok(None));
        assert_eq!(parse_expiry("never"), Ok(None));
        assert_eq!(parse_expiry(" 7 "), Ok(Some(7)));
        assert!(parse_expiry("0").is_err());
        assert!(parse_expiry("366").unwrap_err().contains("from 1 to 365"));
        assert!(parse_expiry("soon").is_err());
    }

    #[test]
    fn tokens_have_one_shape() {
        assert!(is_token(&"a".repeat(43)));
        assert!(!is_token(&"a".repeat(42)));
        assert!(!is_token(&format!("{}/", "a".repeat(42))));
    }
}
