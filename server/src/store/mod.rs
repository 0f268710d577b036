//! The two implementations of [`app::store::Store`], and choosing one from `DATABASE_URL`.

mod postgres;
mod search;
mod sqlite;
mod usage;

use std::sync::Arc;

use app::model::{media_url, AssetDetail, AssetSummary, MediaType, MediaVariant};
use app::search::{text_tokens, Search, Sort};
use app::store::{Cursor, Store, StoreError};
use app::upload::{JobInfo, Visibility};
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Why a database could not be opened. Each message is one line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL must start with sqlite:// or postgres:// (got “{0}”)")]
    UnknownScheme(String),
    #[error("DATABASE_URL is not a valid {backend} URL: {reason}")]
    BadUrl {
        backend: &'static str,
        reason: String,
    },
    #[error("cannot open the {backend} database: {reason}")]
    Connect {
        backend: &'static str,
        reason: String,
    },
    #[error("cannot apply the {backend} migrations: {reason}")]
    Migrate {
        backend: &'static str,
        reason: String,
    },
}

/// Connects to the database named by `url` and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::open(url).await?)),
        _ => Err(OpenError::UnknownScheme(redact(url))),
    }
}

/// The URL without any password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &url[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Maps a driver error to the store's error kinds.
fn db_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        _ => StoreError::Database(err.to_string()),
    }
}

/// A unique violation on insert into `users` means the name is taken (in any case).
fn username_taken(err: sqlx::Error, username: &str) -> StoreError {
    match db_error(err) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("the username “{username}” is taken"))
        }
        other => other,
    }
}

/// The columns [`user_from_row`] reads, from `users u`.
const USER_COLUMNS: &str = "u.id, u.public_id, u.username, u.role, u.status, u.login_count, \
     u.last_login_at, u.created_at";

/// The same columns, unqualified, for `RETURNING`.
const USER_RETURNING: &str =
    "id, public_id, username, role, status, login_count, last_login_at, created_at";

/// A user from [`USER_COLUMNS`]; timestamps are stored differently, so each backend
/// decodes those itself.
fn user_from_row<'r, R>(
    row: &'r R,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
) -> Result<app::store::User, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    use app::account::{Role, UserStatus};
    let role: String = col(row, "role")?;
    let status: String = col(row, "status")?;
    Ok(app::store::User {
        id: app::store::UserId(col(row, "id")?),
        public_id: col(row, "public_id")?,
        username: col(row, "username")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Database(format!("unknown role “{role}”")))?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Database(format!("unknown status “{status}”")))?,
        login_count: u64::try_from(col::<R, i64>(row, "login_count")?).unwrap_or(0),
        last_login_at,
        created_at,
    })
}

/// Reads one column, failing with the store's error.
fn col<'r, R, T>(row: &'r R, name: &str) -> Result<T, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(name).map_err(db_error)
}

/// An asset as both backends read it, before it becomes an API type.
struct AssetRow {
    /// The asset key: its creation time in Unix microseconds, unique (the `id` column).
    key: i64,
    public_id: String,
    title: String,
    prompt: String,
    model: Option<String>,
    media_type: i16,
    width: Option<i32>,
    height: Option<i32>,
    duration_ms: Option<i32>,
    created_at: DateTime<Utc>,
    owner: String,
    tags: Vec<String>,
    thumb_sha256: Option<String>,
    preview_sha256: Option<String>,
    visibility: String,
}

/// What only the asset page shows: the original and preview files and the metadata.
struct FileRow {
    file: Option<(String, String, i64)>,
    negative_prompt: String,
    original_filename: Option<String>,
    generation: Option<String>,
    raw_metadata_present: bool,
}

/// Columns the asset page reads beyond [`AssetRow`]'s, with `LEFT JOIN files f` (the
/// original), in both backends.
const FILE_COLUMNS: &str = "f.sha256 AS file_sha256, f.mime_type AS file_mime, \
     f.byte_size AS file_size, a.negative_prompt, \
     a.original_filename, CAST(a.generation AS TEXT) AS generation, \
     CASE WHEN a.raw_metadata IS NULL THEN 0 ELSE 1 END AS raw_present";

/// Joins for [`FILE_COLUMNS`].
const FILE_JOINS: &str = "LEFT JOIN files f ON f.id = a.file_id";

impl FileRow {
    /// Reads [`FILE_COLUMNS`].
    fn read<'r, R>(row: &'r R) -> Result<FileRow, StoreError>
    where
        R: Row,
        for<'n> &'n str: ColumnIndex<R>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        i32: Decode<'r, R::Database> + Type<R::Database>,
    {
        let file = match col::<R, Option<String>>(row, "file_sha256")? {
            None => None,
            Some(sha256) => Some((sha256, col(row, "file_mime")?, col(row, "file_size")?)),
        };
        Ok(FileRow {
            file,
            negative_prompt: col(row, "negative_prompt")?,
            original_filename: col(row, "original_filename")?,
            generation: col(row, "generation")?,
            raw_metadata_present: col::<R, i32>(row, "raw_present")? != 0,
        })
    }
}

impl AssetRow {
    /// Reads the columns both backends store alike; timestamps and tag lists are stored
    /// differently, so each backend decodes those itself.
    fn read<'r, R>(
        row: &'r R,
        created_at: DateTime<Utc>,
        tags: Vec<String>,
    ) -> Result<AssetRow, StoreError>
    where
        R: Row,
        for<'n> &'n str: ColumnIndex<R>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        i16: Decode<'r, R::Database> + Type<R::Database>,
        i32: Decode<'r, R::Database> + Type<R::Database>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
    {
        Ok(AssetRow {
            key: col(row, "id")?,
            public_id: col(row, "public_id")?,
            title: col(row, "title")?,
            prompt: col(row, "prompt")?,
            model: col(row, "model")?,
            media_type: col(row, "media_type")?,
            width: col(row, "width")?,
            height: col(row, "height")?,
            duration_ms: col(row, "duration_ms")?,
            created_at,
            owner: col(row, "owner")?,
            tags,
            thumb_sha256: col(row, "thumb_sha256")?,
            preview_sha256: col(row, "preview_sha256")?,
            visibility: col(row, "visibility")?,
        })
    }

    fn into_summary(self) -> Result<AssetSummary, StoreError> {
        let media_type = MediaType::from_code(self.media_type).ok_or_else(|| {
            StoreError::Database(format!(
                "asset {} has unknown media_type {}",
                self.public_id, self.media_type
            ))
        })?;
        let positive = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
        let visibility = Visibility::parse(&self.visibility).ok_or_else(|| {
            StoreError::Database(format!(
                "asset {} has unknown visibility {}",
                self.public_id, self.visibility
            ))
        })?;
        Ok(AssetSummary {
            thumb_url: self
                .thumb_sha256
                .map(|sha| media_url(&self.public_id, MediaVariant::Thumb, &sha)),
            preview_url: self
                .preview_sha256
                .map(|sha| media_url(&self.public_id, MediaVariant::Preview, &sha)),
            visibility,
            id: self.public_id,
            title: self.title,
            prompt: self.prompt,
            media_type,
            owner: self.owner,
            tags: self.tags,
            model: self.model,
            created_at: self.created_at,
            width: positive(self.width),
            height: positive(self.height),
            duration_ms: positive(self.duration_ms),
        })
    }

    fn into_detail(self, extra: FileRow, job: Option<JobInfo>) -> Result<AssetDetail, StoreError> {
        let id = self.public_id.clone();
        let generation = match extra.generation.as_deref() {
            None => None,
            Some(json) => match serde_json::from_str(json) {
                Ok(generation) => Some(generation),
                Err(err) => {
                    // Never fatal: the page still shows, with the raw metadata note.
                    tracing::warn!(asset = %id, %err, "stored generation metadata is unreadable");
                    None
                }
            },
        };
        let file = extra.file;
        Ok(AssetDetail {
            summary: self.into_summary()?,
            media_url: file
                .as_ref()
                .map(|(sha, _, _)| media_url(&id, MediaVariant::Original, sha)),
            byte_size: file
                .as_ref()
                .and_then(|(_, _, size)| u64::try_from(*size).ok()),
            mime_type: file.map(|(_, mime, _)| mime),
            negative_prompt: extra.negative_prompt,
            original_filename: extra.original_filename,
            generation,
            raw_metadata_present: extra.raw_metadata_present,
            job,
            is_mine: false,
            can_delete: false,
        })
    }
}

/// A page of rows (each with its relevance score, when sorted by it) fetched with
/// `limit + 1`: the extra row only says whether more follow.
fn into_page(
    mut rows: Vec<(AssetRow, Option<f64>)>,
    limit: u32,
    sort: Sort,
) -> Result<app::model::AssetPage, StoreError> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|(last, score)| {
            Cursor {
                sort,
                key: last.key,
                score: *score,
            }
            .encode()
        })
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|(row, _)| row.into_summary())
        .collect::<Result<_, _>>()?;
    Ok(app::model::AssetPage { items, next_cursor })
}

/// A [`app::store::StoredRef`] from columns `{prefix}_sha256`, `_mime`, `_size`, `_path`.
fn stored_ref<'r, R>(row: &'r R, prefix: &str) -> Result<Option<app::store::StoredRef>, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let Some(sha256) = col::<R, Option<String>>(row, &format!("{prefix}_sha256"))? else {
        return Ok(None);
    };
    Ok(Some(app::store::StoredRef {
        sha256,
        mime_type: col(row, &format!("{prefix}_mime"))?,
        byte_size: u64::try_from(col::<R, i64>(row, &format!("{prefix}_size"))?).unwrap_or(0),
        storage_path: col(row, &format!("{prefix}_path"))?,
    }))
}

/// Columns for [`stored_ref`] from a `files` alias.
fn stored_ref_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.sha256 AS {prefix}_sha256, {alias}.mime_type AS {prefix}_mime, \
         {alias}.byte_size AS {prefix}_size, {alias}.storage_path AS {prefix}_path"
    )
}

/// A job's state as stored, before its timestamps are decoded.
fn job_info<'r, R>(
    row: &'r R,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
) -> Result<JobInfo, StoreError>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i32: Decode<'r, R::Database> + Type<R::Database>,
{
    let state: String = col(row, "state")?;
    Ok(JobInfo {
        state: app::upload::JobState::parse(&state)
            .ok_or_else(|| StoreError::Database(format!("unknown job state “{state}”")))?,
        progress: u8::try_from(col::<R, i32>(row, "progress")?.clamp(0, 100)).unwrap_or(0),
        attempts: u32::try_from(col::<R, i32>(row, "attempts")?).unwrap_or(0),
        error: col(row, "error")?,
        started_at,
        finished_at,
    })
}

/// The asset key of a moment: Unix microseconds.
pub(crate) fn asset_key(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Keys for assets about to be inserted, in their order: each its creation time, moved on
/// by a microsecond past any other asset of the batch with the same or a later-moved time.
/// (The database may still hold a clash; the insert resolves it the same way.)
fn unique_keys(assets: &[app::store::NewAsset]) -> Vec<i64> {
    let mut order: Vec<(i64, usize)> = assets
        .iter()
        .enumerate()
        .map(|(n, a)| (asset_key(a.created_at), n))
        .collect();
    order.sort_unstable();
    let mut keys = vec![0; assets.len()];
    let mut last = i64::MIN;
    for (key, n) in order {
        let key = key.max(last.saturating_add(1));
        last = key;
        keys[n] = key;
    }
    keys
}

/// The time an asset key stands for.
fn key_time(key: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(key)
        .ok_or_else(|| StoreError::Database(format!("asset key {key} is not a time")))
}

/// The inclusive key range a search and cursor allow; `None` when it is empty.
fn key_bounds(search: &Search, sort: Sort, after: Option<Cursor>) -> Option<(i64, i64)> {
    let midnight = |d: chrono::NaiveDate| asset_key(d.and_time(chrono::NaiveTime::MIN).and_utc());
    let mut lo = search.from.map(midnight).unwrap_or(i64::MIN);
    let mut hi = search
        .to
        .and_then(|d| d.succ_opt())
        .map(|d| midnight(d) - 1)
        .unwrap_or(i64::MAX);
    if let Some(cursor) = after {
        match sort {
            Sort::Newest => hi = hi.min(cursor.key.saturating_sub(1)),
            Sort::Oldest => lo = lo.max(cursor.key.saturating_add(1)),
            // A relevance page goes on by score, within the same candidates.
            Sort::Relevant => {}
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// The search's text as both full-text indexes cut it: words that must all appear, and
/// phrases whose words must appear in a row. `None` when the search has no text.
struct TextQuery {
    words: Vec<String>,
    phrases: Vec<Vec<String>>,
}

impl TextQuery {
    fn new(search: &Search) -> Option<TextQuery> {
        let mut words: Vec<String> = Vec::new();
        for token in search.words.iter().flat_map(|w| text_tokens(w)) {
            if !words.contains(&token) {
                words.push(token);
            }
        }
        let phrases: Vec<Vec<String>> = search
            .phrases
            .iter()
            .map(|p| text_tokens(p))
            .filter(|p| !p.is_empty())
            .collect();
        (!words.is_empty() || !phrases.is_empty()).then_some(TextQuery { words, phrases })
    }

    /// An FTS5 query: each word and phrase a quoted string, all required.
    fn fts5(&self) -> String {
        let quote = |tokens: &[String]| format!("\"{}\"", tokens.join(" ").replace('"', "\"\""));
        self.words
            .iter()
            .map(|w| quote(std::slice::from_ref(w)))
            .chain(self.phrases.iter().map(|p| quote(p)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The tags of a search as stored.
struct SearchTags {
    /// `(id, asset_count)` of each included tag, rarest first.
    include: Vec<(i64, i64)>,
    /// Ids of the excluded tags that exist.
    exclude: Vec<i64>,
}

/// `(name, id, asset_count)` of the tags a search names that exist.
type FoundTags = Vec<(String, i64, i64)>;

/// Tags named by a search, as stored. `None` when an included tag does not exist (so
/// nothing can match).
fn split_tags(search: &Search, found: &[(String, i64, i64)]) -> Option<SearchTags> {
    let lookup = |name: &String| found.iter().find(|(n, _, _)| n == name);
    let mut include = Vec::with_capacity(search.tags.len());
    for name in &search.tags {
        let (_, id, count) = lookup(name)?;
        include.push((*id, *count));
    }
    include.sort_by_key(|(_, count)| *count);
    let exclude = search
        .exclude_tags
        .iter()
        .filter_map(lookup)
        .map(|(_, id, _)| *id)
        .collect();
    Some(SearchTags { include, exclude })
}

/// A profile from its user, the `(media_type, visibility, assets)` rows of `user_counts`
/// and the user's `(views_received, storage_bytes)`.
fn profile_record(
    user: app::store::User,
    counts: &[(i16, String, i64)],
    (views, storage): (i64, i64),
) -> app::store::ProfileRecord {
    let count = |media_type: MediaType, visibility: Visibility| {
        counts
            .iter()
            .filter(|(t, v, _)| *t == media_type.code() && *v == visibility.as_str())
            .map(|(_, _, n)| u64::try_from(*n).unwrap_or(0))
            .sum()
    };
    app::store::ProfileRecord {
        user: user.id,
        username: user.username,
        created_at: user.created_at,
        public_images: count(MediaType::Image, Visibility::Public),
        public_videos: count(MediaType::Video, Visibility::Public),
        private_images: count(MediaType::Image, Visibility::Private),
        private_videos: count(MediaType::Video, Visibility::Private),
        views_received: u64::try_from(views).unwrap_or(0),
        storage_bytes: u64::try_from(storage).unwrap_or(0),
    }
}

/// `(users, assets, images, videos, creators, storage_bytes)` as the API counts them.
fn site_totals(row: (i64, i64, i64, i64, i64, i64)) -> app::stats::SiteTotals {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    app::stats::SiteTotals {
        users: n(row.0),
        assets: n(row.1),
        images: n(row.2),
        videos: n(row.3),
        creators: n(row.4),
        storage_bytes: n(row.5),
    }
}

/// A removed `files` row's `(sha256, mime_type, byte_size, storage_path)`.
fn stored_file(row: (String, String, i64, String)) -> app::store::StoredRef {
    app::store::StoredRef {
        sha256: row.0,
        mime_type: row.1,
        byte_size: u64::try_from(row.2).unwrap_or(0),
        storage_path: row.3,
    }
}

/// The distinct file ids an asset names (original, stills, poster).
fn unique_files(ids: [Option<i64>; 4]) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `(id, username, assets, views_received, storage_bytes, active days)`.
fn user_figures(row: (i64, String, i64, i64, i64, i64)) -> app::store::UserFigures {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    app::store::UserFigures {
        user: app::store::UserId(row.0),
        username: row.1,
        assets: n(row.2),
        views_received: n(row.3),
        storage_bytes: n(row.4),
        active_days: n(row.5),
    }
}

fn opt_i32(v: Option<u32>) -> Option<i32> {
    v.and_then(|v| i32::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/atelier"),
            "postgres://app:***@db:5432/atelier"
        );
        assert_eq!(redact("postgres://db/atelier"), "postgres://db/atelier");
        assert_eq!(
            redact("sqlite://data/atelier.db"),
            "sqlite://data/atelier.db"
        );
    }
}
