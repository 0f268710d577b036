//! Collections as the API and the pages show them, and the limits of what people type
//! into them. Shared by the server and the browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Action, MemberRole, Standing};
use crate::model::Visibility;

/// Longest collection title, in characters.
pub const MAX_TITLE: usize = 120;
/// Longest collection description, in characters.
pub const MAX_DESCRIPTION: usize = 2_000;
/// Collections a list shows (a profile's, an asset's, a picker's).
pub const LIST_LIMIT: u32 = 100;

/// A collection in a list: enough for a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionSummary {
    /// Public id; its page is `/c/{id}`.
    pub id: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub visibility: Visibility,
    /// Items the person asking may see.
    pub items: u64,
    /// The cover's thumbnail (the chosen cover, or the newest item added), if any.
    pub cover_url: Option<String>,
    /// The cover's asset (public id).
    pub cover_id: Option<String>,
    /// The role of the person asking, when they are a member.
    pub role: Option<MemberRole>,
    pub updated_at: DateTime<Utc>,
    /// When an admin featured it, if one did.
    #[serde(default)]
    pub featured: Option<DateTime<Utc>>,
}

/// A member, as the collection's page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub username: String,
    pub role: MemberRole,
    pub added_at: DateTime<Utc>,
}

/// One collection, for its page: what it is, who is in it, and what the person asking
/// may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionDetail {
    #[serde(flatten)]
    pub summary: CollectionSummary,
    /// The chosen cover (public id), if one was chosen.
    pub chosen_cover: Option<String>,
    /// Members; only the owner and members see them.
    pub members: Vec<Member>,
    /// How the person asking stands to it.
    pub standing: Standing,
    /// What they may do (the actions [`crate::access::allows`] grants them).
    pub may: Vec<Action>,
    pub created_at: DateTime<Utc>,
}

impl CollectionDetail {
    pub fn may(&self, action: Action) -> bool {
        self.may.contains(&action)
    }
}

/// What changing a collection's items did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsChanged {
    /// The collection (public id).
    pub collection: String,
    /// The assets added or taken out, in the order named.
    pub changed: Vec<String>,
    /// The assets that were in it already (adding) or not in it (taking out).
    pub unchanged: Vec<String>,
}

/// A title as typed: trimmed, at least one character, at most [`MAX_TITLE`].
pub fn checked_title(title: &str) -> Result<String, String> {
    let title = title.trim();
    match title.chars().count() {
        0 => Err("give the collection a title".into()),
        n if n > MAX_TITLE => Err(format!(
            "the title is {n} characters long; at most {MAX_TITLE} fit"
        )),
        _ => Ok(title.to_string()),
    }
}

/// A description as typed: trimmed, at most [`MAX_DESCRIPTION`] characters.
pub fn checked_description(text: &str) -> Result<String, String> {
    let text = text.trim();
    let n = text.chars().count();
    if n > MAX_DESCRIPTION {
        return Err(format!(
            "the description is {n} characters long; at most {MAX_DESCRIPTION} fit"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_descriptions_are_trimmed_and_bounded() {
        assert_eq!(checked_title("  Dunes  "), Ok("Dunes".to_string()));
        assert_eq!(
            checked_title("   "),
            Err("give the collection a title".to_string())
        );
        assert!(checked_title(&"é".repeat(MAX_TITLE)).is_ok());
        assert!(checked_title(&"é".repeat(MAX_TITLE + 1))
            .unwrap_err()
            .contains("121 characters"));
        assert_eq!(checked_description(""), Ok(String::new()));
        assert!(checked_description(&"x".repeat(MAX_DESCRIPTION + 1)).is_err());
    }
}
