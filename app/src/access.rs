//! Who may do what to a collection: the one place every permission is decided. The server
//! asks it before any change (and before showing anything), the pages ask it which
//! controls to draw. A person stands to a collection as its owner, as a member with a
//! role, as the holder of a share link, or as a stranger.

use serde::{Deserialize, Serialize};

use crate::model::Visibility;

/// A member's role, from least to most trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    /// Sees the collection (a private one too).
    Viewer,
    /// Adds their own assets and takes them out again.
    Contributor,
    /// Curates everything: any item, the order, the title, description, cover and
    /// visibility; invites viewers and contributors.
    Editor,
}

impl MemberRole {
    pub const ALL: [MemberRole; 3] = [
        MemberRole::Viewer,
        MemberRole::Contributor,
        MemberRole::Editor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Viewer => "viewer",
            MemberRole::Contributor => "contributor",
            MemberRole::Editor => "editor",
        }
    }

    pub fn parse(text: &str) -> Option<MemberRole> {
        match text.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(MemberRole::Viewer),
            "contributor" => Some(MemberRole::Contributor),
            "editor" => Some(MemberRole::Editor),
            _ => None,
        }
    }

    /// What the role is called on a page.
    pub fn label(self) -> &'static str {
        match self {
            MemberRole::Viewer => "Viewer",
            MemberRole::Contributor => "Contributor",
            MemberRole::Editor => "Editor",
        }
    }
}

/// How a person stands to one collection. In the API it is one word: `owner`, `editor`,
/// `contributor`, `viewer`, `link_holder` or `stranger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Standing {
    Owner,
    Member(MemberRole),
    /// Came with a share link to this collection (and holds no role in it).
    LinkHolder,
    /// Anyone else, logged in or not.
    Stranger,
}

impl Standing {
    /// Every standing, for tables and tests.
    pub const ALL: [Standing; 6] = [
        Standing::Owner,
        Standing::Member(MemberRole::Editor),
        Standing::Member(MemberRole::Contributor),
        Standing::Member(MemberRole::Viewer),
        Standing::LinkHolder,
        Standing::Stranger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Owner => "owner",
            Standing::Member(role) => role.as_str(),
            Standing::LinkHolder => "link_holder",
            Standing::Stranger => "stranger",
        }
    }

    pub fn parse(text: &str) -> Option<Standing> {
        Standing::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The role a member holds, or the owner's powers counted as above every role.
    fn rank(self) -> Option<u8> {
        match self {
            Standing::Owner => Some(3),
            Standing::Member(MemberRole::Editor) => Some(2),
            Standing::Member(MemberRole::Contributor) => Some(1),
            Standing::Member(MemberRole::Viewer) => Some(0),
            Standing::LinkHolder | Standing::Stranger => None,
        }
    }
}

impl From<Standing> for &'static str {
    fn from(standing: Standing) -> &'static str {
        standing.as_str()
    }
}

impl TryFrom<String> for Standing {
    type Error = String;

    fn try_from(text: String) -> Result<Standing, String> {
        Standing::parse(&text).ok_or_else(|| format!("“{text}” is not a standing"))
    }
}

/// What someone may try to do to a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See it and the items in it.
    View,
    /// Add an asset of one's own.
    AddOwn,
    /// Take out an asset one added that is one's own.
    RemoveOwn,
    /// Take out anyone's asset.
    RemoveAny,
    /// Change the order of the items.
    Reorder,
    /// Change the title, description, cover or visibility.
    Edit,
    /// Invite someone as a viewer or a contributor.
    #[serde(rename = "invite")]
    InviteViewerOrContributor,
    /// Invite someone as an editor, change a member's role, or remove a member.
    ManageMembers,
    /// Hand the collection to a member.
    #[serde(rename = "transfer")]
    TransferOwnership,
    /// Delete the collection (its assets stay).
    Delete,
    /// Make or revoke a share link to it.
    Share,
    /// Stop being a member.
    Leave,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::View,
        Action::AddOwn,
        Action::RemoveOwn,
        Action::RemoveAny,
        Action::Reorder,
        Action::Edit,
        Action::InviteViewerOrContributor,
        Action::ManageMembers,
        Action::TransferOwnership,
        Action::Delete,
        Action::Share,
        Action::Leave,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::AddOwn => "add_own",
            Action::RemoveOwn => "remove_own",
            Action::RemoveAny => "remove_any",
            Action::Reorder => "reorder",
            Action::Edit => "edit",
            Action::InviteViewerOrContributor => "invite",
            Action::ManageMembers => "manage_members",
            Action::TransferOwnership => "transfer",
            Action::Delete => "delete",
            Action::Share => "share",
            Action::Leave => "leave",
        }
    }

    /// The words of a refusal: "you may not {…} this collection".
    pub fn refusal(self) -> &'static str {
        match self {
            Action::View => "see",
            Action::AddOwn => "add assets to",
            Action::RemoveOwn => "take assets out of",
            Action::RemoveAny => "take other people's assets out of",
            Action::Reorder => "reorder",
            Action::Edit => "edit",
            Action::InviteViewerOrContributor => "invite people to",
            Action::ManageMembers => "manage the members of",
            Action::TransferOwnership => "hand over",
            Action::Delete => "delete",
            Action::Share => "make or revoke share links to",
            Action::Leave => "leave",
        }
    }
}

/// Whether `who` may do `action` to a collection with `visibility`. The one rule book:
///
/// - anyone may see a public or unlisted collection (unlisted: by its link); a private one
///   only its owner, its members and the holders of a share link to it;
/// - contributors, editors and the owner add their own assets and take them out again;
/// - editors and the owner take out anyone's, reorder, edit, and invite viewers and
///   contributors;
/// - only the owner invites editors, changes roles, removes members, hands the collection
///   over, deletes it and makes or revokes share links, which exist only for unlisted and
///   private collections (a public one's address is its link);
/// - every member may leave; the owner hands the collection over first.
pub fn allows(who: Standing, action: Action, visibility: Visibility) -> bool {
    let rank = who.rank();
    let at_least = |needed: u8| rank.is_some_and(|r| r >= needed);
    match action {
        Action::View => match visibility {
            Visibility::Public | Visibility::Unlisted => true,
            Visibility::Private => rank.is_some() || who == Standing::LinkHolder,
        },
        Action::AddOwn | Action::RemoveOwn => at_least(1),
        Action::RemoveAny | Action::Reorder | Action::Edit | Action::InviteViewerOrContributor => {
            at_least(2)
        }
        Action::ManageMembers | Action::TransferOwnership | Action::Delete => {
            who == Standing::Owner
        }
        Action::Share => who == Standing::Owner && visibility != Visibility::Public,
        Action::Leave => matches!(who, Standing::Member(_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rise_in_trust_and_read_back() {
        assert!(
            MemberRole::Viewer < MemberRole::Contributor
                && MemberRole::Contributor < MemberRole::Editor
        );
        for role in MemberRole::ALL {
            assert_eq!(MemberRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(MemberRole::parse(" Editor "), Some(MemberRole::Editor));
        assert_eq!(MemberRole::parse("owner"), None);
    }

    #[test]
    fn standings_are_one_word_each_way() {
        for standing in Standing::ALL {
            let json = serde_json::to_string(&standing).expect("json");
            assert_eq!(json, format!("\"{}\"", standing.as_str()));
            assert_eq!(
                serde_json::from_str::<Standing>(&json).expect("back"),
                standing
            );
        }
    }

    #[test]
    fn actions_are_named_alike_in_json_and_in_words() {
        for action in Action::ALL {
            let json = serde_json::to_string(&action).expect("json");
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
    }

    #[test]
    fn a_stranger_sees_what_is_not_private_and_changes_nothing() {
        for action in Action::ALL {
            for visibility in [
                Visibility::Public,
                Visibility::Unlisted,
                Visibility::Private,
            ] {
                let expected = action == Action::View && visibility != Visibility::Private;
                assert_eq!(
                    allows(Standing::Stranger, action, visibility),
                    expected,
                    "{action:?} {visibility:?}"
                );
            }
        }
    }

    #[test]
    fn only_the_owner_shares_and_only_what_is_not_public() {
        assert!(allows(Standing::Owner, Action::Share, Visibility::Private));
        assert!(allows(Standing::Owner, Action::Share, Visibility::Unlisted));
        assert!(!allows(Standing::Owner, Action::Share, Visibility::Public));
        assert!(!allows(
            Standing::Member(MemberRole::Editor),
            Action::Share,
            Visibility::Private
        ));
    }
}
