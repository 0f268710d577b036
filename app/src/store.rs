//! The seam between the application and its database. One trait, one implementation per
//! backend (`server/src/store/{sqlite,postgres}.rs`), one story test run against both.

use async_trait::async_trait;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};

use crate::account::{Role, UserStatus};
use crate::model::{AssetDetail, AssetPage, Facets, MediaType};
use crate::search::{Search, Sort};
use crate::stats::{Day, Feature, NamedCount, SiteTotals};
use crate::upload::{JobInfo, Visibility};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (username, public id) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
}

/// Internal row id of a user. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// Internal row id of a stored file. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId(pub i64);

#[derive(Clone, Debug)]
pub struct NewUser {
    pub public_id: String,
    pub username: String,
    /// `None` for accounts that cannot log in (demo users).
    pub password_hash: Option<String>,
    /// The role asked for. The first account that can log in on an instance becomes
    /// admin whatever is asked (decided inside the insert, so two racing sign-ups cannot
    /// both become the first).
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub public_id: String,
    pub username: String,
    pub role: Role,
    pub status: UserStatus,
    pub login_count: u64,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A user with the stored password hash, for checking a login.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: User,
    /// PHC string; `None` when the account cannot log in with a password.
    pub password_hash: Option<String>,
}

/// Internal row id of a session. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(pub i64);

/// A session about to start: the SHA-256 of its cookie token, never the token.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub public_id: String,
    pub token_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device: String,
}

/// A live session found by its token, with its (enabled) user.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveSession {
    pub id: SessionId,
    pub public_id: String,
    pub user: User,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: DateTime<Utc>,
}

/// A session as its owner's list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub public_id: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device: String,
}

/// Which of a user's sessions end when the password changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndSessions {
    /// None (a rehash with new parameters is not a new password).
    None,
    /// All but this one (changing it from the account page).
    AllExcept(SessionId),
    /// All (a reset by an admin).
    All,
}

/// A file already written to storage, content-addressed by its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFile {
    pub sha256: String,
    pub byte_size: u64,
    pub mime_type: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// Path relative to the data directory's `files/` folder.
    pub storage_path: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewAsset {
    pub public_id: String,
    pub owner: UserId,
    pub title: String,
    pub prompt: String,
    pub model: Option<String>,
    pub media_type: MediaType,
    pub file: Option<FileId>,
    pub thumb: Option<FileId>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// Already normalised (see [`crate::model::normalize_tags`]).
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub negative_prompt: String,
    pub visibility: Visibility,
    /// The name of the file on the uploader's machine.
    pub original_filename: Option<String>,
    /// The 1024 px still for the asset page.
    pub preview: Option<FileId>,
    /// JSON of [`crate::model::Generation`], when the file's metadata was understood.
    pub generation: Option<String>,
    /// JSON object of the raw metadata text the file carried, when it carried any.
    pub raw_metadata: Option<String>,
    /// Version of the parsers that read the metadata (0: never read).
    pub parser_version: u32,
}

/// Internal row id of an asset. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AssetId(pub i64);

/// An upload about to start receiving bytes.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub public_id: String,
    pub owner: UserId,
    pub filename: String,
    pub byte_size: u64,
    pub expected_sha256: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An upload in progress, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadRecord {
    pub public_id: String,
    pub owner: UserId,
    pub filename: String,
    pub byte_size: u64,
    pub received: u64,
    pub expected_sha256: Option<String>,
    /// JSON the server wrote once every byte was in and the file was recognised.
    pub probe: Option<String>,
    /// Why the file was refused, with the HTTP status that says so.
    pub error: Option<(String, u16)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Everything that must commit together when an upload becomes an asset: the stored file
/// (or the existing row with the same SHA-256), the owner's storage use (within quota),
/// the asset with its tags, its processing job, and the upload row's removal.
#[derive(Clone, Debug)]
pub struct FinishUpload {
    pub upload_id: String,
    pub file: NewFile,
    /// `file` and `thumb` are ignored: the asset gets the file above, thumbnails come
    /// from the job.
    pub asset: NewAsset,
    /// The owner's storage quota in bytes.
    pub quota: u64,
    /// A video's poster frame from the uploader's browser, already stored.
    pub poster: Option<NewFile>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishOutcome {
    Finished,
    /// Nothing was written: the asset would take the owner past their quota.
    QuotaExceeded {
        used: u64,
    },
    /// Nothing was written: no such upload (finished or cancelled meanwhile).
    UploadGone,
}

/// A stored file as the media routes serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRef {
    pub sha256: String,
    pub mime_type: String,
    pub byte_size: u64,
    pub storage_path: String,
}

/// An asset's files and who may see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetMedia {
    pub owner: UserId,
    pub visibility: Visibility,
    pub title: String,
    pub original_filename: Option<String>,
    pub original: Option<StoredRef>,
    pub thumb: Option<StoredRef>,
    pub preview: Option<StoredRef>,
}

/// A processing job a worker has claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    pub asset: AssetId,
    pub asset_public_id: String,
    pub attempts: u32,
    pub original: Option<StoredRef>,
    /// A video's poster frame, when the uploader's browser sent one.
    pub poster: Option<StoredRef>,
}

/// What a finished job made: the 512 px thumbnail and the 1024 px preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutput {
    pub thumb: Option<NewFile>,
    pub preview: Option<NewFile>,
    /// Set when the job is done but something could not be made (shown, not retried).
    pub note: Option<String>,
}

/// An asset whose metadata an older parser read, for `atelier reparse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReparseItem {
    pub asset: AssetId,
    pub public_id: String,
    pub original: StoredRef,
}

/// Where a page ends: the key of its last asset, in the order it was read (and its score,
/// for a relevance sort).
///
/// An asset's key is its creation time in Unix microseconds, unique per asset (a clash
/// moves the later one on by a microsecond), so one integer orders every result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cursor {
    pub sort: Sort,
    pub key: i64,
    /// The last asset's score (lower is better); only for [`Sort::Relevant`].
    pub score: Option<f64>,
}

impl Cursor {
    /// Opaque to clients: base64url of `n:micros`, `o:micros` or `r:score-bits:micros`.
    pub fn encode(&self) -> String {
        let text = match (self.sort, self.score) {
            (Sort::Newest, _) => format!("n:{}", self.key),
            (Sort::Oldest, _) => format!("o:{}", self.key),
            (Sort::Relevant, score) => format!(
                "r:{:x}:{}",
                score.unwrap_or(f64::INFINITY).to_bits(),
                self.key
            ),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (order, rest) = raw.split_once(':')?;
        let (sort, score, key) = match order {
            "n" => (Sort::Newest, None, rest),
            "o" => (Sort::Oldest, None, rest),
            "r" => {
                let (bits, key) = rest.split_once(':')?;
                let score = f64::from_bits(u64::from_str_radix(bits, 16).ok()?);
                if score.is_nan() {
                    return None;
                }
                (Sort::Relevant, Some(score), key)
            }
            _ => return None,
        };
        Some(Cursor {
            sort,
            key: key.parse().ok()?,
            score,
        })
    }
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct AssetQuery {
    pub search: Search,
    pub sort: Sort,
    pub limit: u32,
    /// Continue after this position; `None` starts at the beginning.
    pub after: Option<Cursor>,
    /// Who is asking. Private assets are listed only when the search is restricted to the
    /// viewer's own (`by:` naming them).
    pub viewer: Option<UserId>,
}

impl AssetQuery {
    /// The newest matches whose [`Store::facets`] are counted.
    pub fn facets(search: &Search, viewer: Option<UserId>) -> AssetQuery {
        AssetQuery {
            search: search.clone(),
            sort: Sort::Newest,
            limit: crate::model::FACET_SAMPLE,
            after: None,
            viewer,
        }
    }

    /// The first page of everything public, newest first.
    pub fn newest(limit: u32) -> AssetQuery {
        AssetQuery {
            search: Search::default(),
            sort: Sort::Newest,
            limit,
            after: None,
            viewer: None,
        }
    }
}

/// A user's profile: who they are and how many assets they show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRecord {
    pub user: UserId,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub public_images: u64,
    pub public_videos: u64,
    pub private_images: u64,
    pub private_videos: u64,
    /// Views of their assets by other people.
    pub views_received: u64,
    /// Bytes of originals their assets hold (what the quota limits).
    pub storage_bytes: u64,
}

/// One use of a feature, as the usage recorder hands it to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    pub at: DateTime<Utc>,
    pub feature: Feature,
    /// `None` for a visitor who is not logged in.
    pub user: Option<UserId>,
    /// A few words on what was used: which filters a search set, the asset viewed.
    pub detail: String,
}

/// The usage rollups of a range of days, as stored (days without use are absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageRollup {
    /// `(day, feature, events, distinct users)`.
    pub features: Vec<(Day, Feature, u64, u64)>,
    /// `(day, distinct active users)`.
    pub active: Vec<(Day, u64)>,
}

/// One user's use of one feature over a range of days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFeatureCount {
    pub user: UserId,
    pub feature: Feature,
    pub events: u64,
}

/// A user's standing figures, for the admin's usage table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFigures {
    pub user: UserId,
    pub username: String,
    pub assets: u64,
    pub views_received: u64,
    pub storage_bytes: u64,
    /// Days in the range asked for with any event.
    pub active_days: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Answers when the database does (for `/healthz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finishes outstanding work and closes connections (SQLite checkpoints its WAL).
    async fn close(&self);

    /// Refreshes the query planner's statistics after a bulk load (on Postgres also the
    /// visibility map, with `VACUUM`).
    async fn analyze(&self) -> Result<(), StoreError>;

    /// Merges the full-text index back into one piece when writes have split it up (after
    /// a bulk load, and hourly from the server). `true` when there was work to do.
    async fn tidy_search_index(&self) -> Result<bool, StoreError>;

    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;

    /// Finds a user by name, ignoring case.
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// The user and password hash for a login attempt (name ignoring case).
    async fn find_credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError>;

    /// Stores a new password hash and ends sessions as asked, in one transaction.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        end: EndSessions,
    ) -> Result<(), StoreError>;

    /// Sets the role; `None` when no such user.
    async fn set_role(&self, username: &str, role: Role) -> Result<Option<User>, StoreError>;

    /// Enables or disables an account; disabling ends all its sessions in the same
    /// transaction. `None` when no such user.
    async fn set_status(
        &self,
        username: &str,
        status: UserStatus,
    ) -> Result<Option<User>, StoreError>;

    /// Every account that can log in, oldest first (for the CLI).
    async fn list_accounts(&self) -> Result<Vec<User>, StoreError>;

    /// Records a successful login: the new session, `login_count + 1`, `last_login_at`.
    async fn start_session(
        &self,
        user: UserId,
        session: &NewSession,
    ) -> Result<SessionId, StoreError>;

    /// The session whose token hashes to `token_hash`, if it has not expired at `now` and
    /// its user is enabled.
    async fn find_session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<ActiveSession>, StoreError>;

    /// Marks a session used at `now`, sliding its idle expiry to `expires_at`.
    async fn touch_session(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Ends the session with this token (logging out). True when there was one.
    async fn end_session(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError>;

    /// A user's unexpired sessions, most recently used first.
    async fn list_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Ends one of the user's sessions by its public id. True when it was theirs and live.
    async fn revoke_session(&self, user: UserId, public_id: &str) -> Result<bool, StoreError>;

    /// Ends all of the user's sessions but `keep`; returns how many ended.
    async fn revoke_other_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError>;

    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// A runtime setting's stored value.
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores a runtime setting (the caller has validated it).
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every runtime setting, by key.
    async fn list_settings(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// Records a stored file; the same SHA-256 twice returns the existing row.
    async fn put_file(&self, file: &NewFile) -> Result<FileId, StoreError>;

    /// Inserts assets and their tags in one transaction: all of them or none.
    async fn insert_assets(&self, assets: &[NewAsset]) -> Result<(), StoreError>;

    /// One page of the assets a search finds, keyset-paginated over the asset key.
    async fn search_assets(&self, query: &AssetQuery) -> Result<AssetPage, StoreError>;

    /// How the newest [`crate::model::FACET_SAMPLE`] matches of a search divide up by type,
    /// tag and model, with the same visibility rules as [`Store::search_assets`].
    async fn facets(&self, search: &Search, viewer: Option<UserId>) -> Result<Facets, StoreError>;

    /// A user's profile with their asset counts (kept by triggers, never counted here).
    async fn profile(&self, username: &str) -> Result<Option<ProfileRecord>, StoreError>;

    /// Exact count; for the CLI, never for a request path.
    async fn count_assets(&self) -> Result<u64, StoreError>;

    /// The asset as `viewer` may see it: `None` when missing or another user's private one.
    async fn view_asset(
        &self,
        public_id: &str,
        viewer: Option<UserId>,
    ) -> Result<Option<AssetDetail>, StoreError>;

    /// The asset's files and owner, for the media routes (which check visibility).
    async fn asset_media(&self, public_id: &str) -> Result<Option<AssetMedia>, StoreError>;

    async fn create_upload(&self, upload: &NewUpload) -> Result<(), StoreError>;

    async fn find_upload(&self, public_id: &str) -> Result<Option<UploadRecord>, StoreError>;

    /// Records how many bytes are safely in the temp file (never fewer than before: syncs
    /// may finish out of order).
    async fn set_upload_received(
        &self,
        public_id: &str,
        received: u64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records what the complete file is (`probe` JSON) or why it was refused.
    async fn set_upload_result(
        &self,
        public_id: &str,
        probe: Option<&str>,
        error: Option<(&str, u16)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// True when there was such an upload.
    async fn delete_upload(&self, public_id: &str) -> Result<bool, StoreError>;

    /// Public ids of uploads that expired before `now`, at most `limit`.
    async fn expired_uploads(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// Bytes the user's assets hold (kept in step with every asset write).
    async fn storage_used(&self, user: UserId) -> Result<u64, StoreError>;

    /// Turns an upload into an asset in one transaction (see [`FinishUpload`]).
    async fn finish_upload(&self, finish: &FinishUpload) -> Result<FinishOutcome, StoreError>;

    /// Whether a `files` row has this SHA-256.
    async fn file_exists(&self, sha256: &str) -> Result<bool, StoreError>;

    /// Which of these storage paths a `files` row points to.
    async fn known_storage_paths(&self, paths: &[String]) -> Result<Vec<String>, StoreError>;

    /// Takes the oldest pending job (marking it processing, attempts + 1).
    async fn claim_job(&self, now: DateTime<Utc>) -> Result<Option<ClaimedJob>, StoreError>;

    async fn set_job_progress(&self, job: i64, progress: u8) -> Result<(), StoreError>;

    /// Stores the job's files, points the asset at them and marks the job done, together.
    async fn complete_job(
        &self,
        job: &ClaimedJob,
        output: &JobOutput,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn fail_job(&self, job: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Jobs left `processing` by a server that stopped go back to `pending`; returns how many.
    async fn requeue_interrupted_jobs(&self) -> Result<u64, StoreError>;

    /// Puts the owner's failed job for an asset back in the queue. `None` when the asset is
    /// not theirs or has no job.
    async fn retry_job(
        &self,
        asset_public_id: &str,
        owner: UserId,
    ) -> Result<Option<JobInfo>, StoreError>;

    /// Assets with an original whose metadata was read by a parser older than `version`,
    /// after `after` in id order, at most `limit`.
    async fn reparse_batch(
        &self,
        version: u32,
        after: AssetId,
        limit: u32,
    ) -> Result<Vec<ReparseItem>, StoreError>;

    /// Tags starting with `prefix`, in name order, at most `limit` (for autocompletion).
    async fn suggest_tags(&self, prefix: &str, limit: u32) -> Result<Vec<String>, StoreError>;

    /// The site's totals, read from the counters the triggers keep (one row).
    async fn site_totals(&self) -> Result<SiteTotals, StoreError>;

    /// The same figures counted from the tables (the seed's `site_stats` view and the
    /// files' sizes): for tests, benchmarks and the CLI, never for a request path.
    async fn count_site_totals(&self) -> Result<SiteTotals, StoreError>;

    /// Deletes an asset (its tags and jobs with it) if `actor` owns it or `any_owner` is
    /// set (an admin), and every file row no asset names any more, in one transaction.
    /// Returns the removed files, whose bytes the caller removes from disk; `None` when
    /// there is no such asset or it is not the actor's.
    async fn delete_asset(
        &self,
        public_id: &str,
        actor: UserId,
        any_owner: bool,
    ) -> Result<Option<Vec<StoredRef>>, StoreError>;

    /// The tags most assets carry, most first (ties by name), from the kept counts.
    async fn top_tags(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError>;

    /// The models most assets name (ignoring case), most first (ties by name).
    async fn top_models(&self, limit: u32) -> Result<Vec<NamedCount>, StoreError>;

    /// Stores a batch of usage events and folds them into the daily rollups, in one
    /// transaction. An `AssetViewed` event's detail is the asset's public id: its owner's
    /// `views_received` grows with it.
    async fn record_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError>;

    /// The daily rollups from `first` to `last`, inclusive.
    async fn usage_rollup(&self, first: Day, last: Day) -> Result<UsageRollup, StoreError>;

    /// Per feature over `first..=last`: events, distinct logged-in users, anonymous events.
    async fn feature_usage(
        &self,
        first: Day,
        last: Day,
    ) -> Result<Vec<crate::stats::FeatureUsage>, StoreError>;

    /// Per user and feature over `first..=last`, for users with any event then.
    async fn user_feature_counts(
        &self,
        first: Day,
        last: Day,
    ) -> Result<Vec<UserFeatureCount>, StoreError>;

    /// The standing figures of users active in `first..=last`, most active first, at most
    /// `limit`.
    async fn active_user_figures(
        &self,
        first: Day,
        last: Day,
        limit: u32,
    ) -> Result<Vec<UserFigures>, StoreError>;

    /// Deletes raw usage events from before `before` (the rollups stay); returns how many.
    async fn prune_usage_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Stores newly read metadata.
    async fn set_generation(
        &self,
        asset: AssetId,
        generation: Option<&str>,
        raw_metadata: Option<&str>,
        version: u32,
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for (sort, score) in [
            (Sort::Newest, None),
            (Sort::Oldest, None),
            (Sort::Relevant, Some(-3.25)),
        ] {
            let cursor = Cursor {
                sort,
                key: 1_767_225_600_123_456,
                score,
            };
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        assert_eq!(Cursor::decode("not a cursor"), None);
        for bad in [
            "x:12",
            "n:../../etc",
            "n: 12",
            "n:",
            "r:12",
            "r:7ff8000000000000:1",
        ] {
            assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bad)), None, "{bad}");
        }
    }
}
