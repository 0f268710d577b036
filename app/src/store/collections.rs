//! Collections: titled, ordered sets of assets that people curate together, with members
//! in roles. The store keeps them; who may do what is decided before it is asked
//! ([`crate::access::allows`]), except where only a transaction can tell (an asset that is
//! the actor's own, one already in, the last free place).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::ids::UserId;
use crate::access::MemberRole;
use crate::model::Visibility;

/// Most collections one person owns.
pub const MAX_COLLECTIONS: u32 = 500;
/// Most assets one collection holds.
pub const MAX_COLLECTION_ITEMS: u32 = 10_000;
/// Most members one collection has (the owner aside).
pub const MAX_MEMBERS: u32 = 100;
/// Assets one request may add to or take out of a collection (as a bulk action may name).
pub const MAX_ITEMS_AT_ONCE: usize = super::bulk::MAX_BULK;

/// Internal row id of a collection. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CollectionId(pub i64);

/// A collection to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCollection {
    pub public_id: String,
    pub owner: UserId,
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
}

/// A collection as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionRecord {
    pub id: CollectionId,
    pub public_id: String,
    pub owner: UserId,
    pub owner_name: String,
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    /// The asset (public id) chosen as its cover, if one was.
    pub cover: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When an admin featured it, if one did.
    pub featured: Option<DateTime<Utc>>,
}

/// What an edit of a collection sets: every field of the form (the cover is chosen on its
/// own: [`CollectionStore::set_cover`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionEdit {
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
}

/// A member as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    pub user: UserId,
    pub username: String,
    pub role: MemberRole,
    pub added_at: DateTime<Utc>,
}

/// One collection in a list (a profile's, the asset page's, a picker's), as the person
/// asking may see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionListing {
    pub record: CollectionRecord,
    /// Items the person asking may see.
    pub items: u64,
    /// The cover they see: the chosen one if they may see it, else the newest item added
    /// that they may see; `(asset public id, thumbnail sha256)`.
    pub cover: Option<(String, Option<String>)>,
    /// Their role, when they are a member.
    pub role: Option<MemberRole>,
}

/// Whom a list of collections is for and which it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionList<'a> {
    /// The collections `owner` (a username) owns that the viewer may see listed: public
    /// ones, and any the viewer owns or is a member of.
    OwnedBy(&'a str),
    /// The collections holding this asset (public id) that the viewer may see listed.
    Holding(&'a str),
    /// The collections the viewer may add their own assets to (owner, editor,
    /// contributor), most recently changed first.
    Mine,
    /// This one collection (public id), whoever may see it: the caller has checked.
    One(&'a str),
    /// This one collection (public id), for the holder of a share link to it: its items
    /// count as they show to them, like a member's (the caller has checked the link).
    Shared(&'a str),
    /// The public collections admins featured, the most recently featured first.
    Featured,
}

/// Where a moved item goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoveTo {
    /// Just before this item (public id).
    Before(String),
    /// To the end.
    End,
    /// One place earlier among the items this person sees (one hidden from them is
    /// passed over, so that the move shows).
    Up(UserId),
    /// One place later among the items this person sees.
    Down(UserId),
}

/// How adding assets went. Unless it is [`AddOutcome::Added`], nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// The assets added (in the order named); those already in are left where they are.
    Added {
        added: Vec<String>,
        already: Vec<String>,
    },
    /// These may not be added by this actor: not theirs (or, for `others_public`, not
    /// public either), in the trash, or missing.
    Refused(Vec<String>),
    /// The collection would hold more than [`MAX_COLLECTION_ITEMS`].
    Full { free: u32 },
}

/// How a change to the members went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberOutcome {
    Done,
    /// Nobody has that username.
    NoSuchUser,
    /// The owner cannot be a member of their own collection.
    IsOwner,
    /// The person is not a member.
    NotMember,
    /// The collection has [`MAX_MEMBERS`] members already.
    Full,
    /// The person is a member already, and the actor may not change roles.
    AlreadyMember,
    /// A collection is handed over to an editor only.
    NotEditor,
    /// The person owns [`MAX_COLLECTIONS`] already.
    TooMany,
}

#[async_trait]
pub trait CollectionStore: Send + Sync {
    /// Creates a collection, unless its owner has [`MAX_COLLECTIONS`] already (`None`).
    async fn create_collection(
        &self,
        new: &NewCollection,
    ) -> Result<Option<CollectionRecord>, StoreError>;

    /// The collection `public_id` and the role `user` holds in it (none for the owner,
    /// strangers and visitors).
    async fn collection(
        &self,
        public_id: &str,
        user: Option<UserId>,
    ) -> Result<Option<(CollectionRecord, Option<MemberRole>)>, StoreError>;

    /// Sets the title, description and visibility at `at`.
    async fn edit_collection(
        &self,
        id: CollectionId,
        edit: &CollectionEdit,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Chooses the cover: an item (public id), or `None` for the newest one added; `false`
    /// when the asset is not in the collection (nothing changed).
    async fn set_cover(
        &self,
        id: CollectionId,
        asset: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the collection, its items, members and share links (the assets stay).
    async fn delete_collection(&self, id: CollectionId) -> Result<(), StoreError>;

    /// Adds assets (public ids, at most [`MAX_ITEMS_AT_ONCE`]) at the end, in the order
    /// named, all or none: each must be out of the trash and `actor`'s own, or, when
    /// `others_public`, anyone's public one.
    async fn add_items(
        &self,
        id: CollectionId,
        assets: &[String],
        actor: UserId,
        others_public: bool,
        at: DateTime<Utc>,
    ) -> Result<AddOutcome, StoreError>;

    /// Takes assets out (their own only, unless `any`); returns the public ids taken out.
    /// A cover taken out is no longer the cover.
    async fn remove_items(
        &self,
        id: CollectionId,
        assets: &[String],
        actor: UserId,
        any: bool,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    /// Moves an item; `false` when the item (or the one to go before) is not in it.
    async fn move_item(
        &self,
        id: CollectionId,
        asset: &str,
        to: &MoveTo,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The members, by role (editors first), then name.
    async fn members(&self, id: CollectionId) -> Result<Vec<MemberRecord>, StoreError>;

    /// Makes `username` a member in `role`, or, when `may_change` (the owner), changes the
    /// role of a member; decided in one transaction.
    async fn set_member(
        &self,
        id: CollectionId,
        username: &str,
        role: MemberRole,
        may_change: bool,
        at: DateTime<Utc>,
    ) -> Result<MemberOutcome, StoreError>;

    /// Ends `username`'s membership (removed, or they left).
    async fn remove_member(
        &self,
        id: CollectionId,
        username: &str,
    ) -> Result<MemberOutcome, StoreError>;

    /// Makes the editor `username` the owner, unless they own [`MAX_COLLECTIONS`] already;
    /// the owner stays on as an editor.
    async fn transfer_collection(
        &self,
        id: CollectionId,
        username: &str,
        at: DateTime<Utc>,
    ) -> Result<MemberOutcome, StoreError>;

    /// Whether `viewer` sees the asset (public id, out of the trash) through a private
    /// collection they have a place in (its owner or a member), whatever its visibility.
    async fn shown_by_collection(&self, asset: &str, viewer: UserId) -> Result<bool, StoreError>;

    /// Collections as `viewer` may see them listed (see [`CollectionList`]), most recently
    /// changed (or featured) first, at most `limit`.
    async fn list_collections(
        &self,
        list: CollectionList<'_>,
        viewer: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<CollectionListing>, StoreError>;
}
