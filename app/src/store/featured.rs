//! Featured picks: an admin features a public asset or collection, and the gallery's shelf
//! and `sort=featured` list them, the most recently featured first. Who may feature is the
//! caller's to check (admins only); the store keeps what only it can tell (that the thing
//! exists, is out of the trash and is public).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;
use crate::model::Visibility;

/// What can be featured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Featurable<'a> {
    /// An asset (public id).
    Asset(&'a str),
    /// A collection (public id).
    Collection(&'a str),
}

/// How featuring (or taking a pick back) went. Unless it is [`FeatureOutcome::Done`],
/// nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeatureOutcome {
    /// When it is featured now (`None`: it is not).
    Done(Option<DateTime<Utc>>),
    /// Nothing has that id (or the asset is in the trash).
    Missing,
    /// Only public things are featured; this one is not.
    NotPublic(Visibility),
}

#[async_trait]
pub trait FeaturedStore: Send + Sync {
    /// Features `thing` as of `at`, or takes it back (`at` is `None`). Featuring what is
    /// featured already keeps its first time; taking back what is not featured is done.
    async fn set_featured(
        &self,
        thing: Featurable<'_>,
        at: Option<DateTime<Utc>>,
    ) -> Result<FeatureOutcome, StoreError>;
}
