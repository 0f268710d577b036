//! The two implementations of [`app::store::Store`], and choosing one from `DATABASE_URL`.

mod postgres;
mod sqlite;

use std::sync::Arc;

use app::model::{file_url, AssetDetail, AssetSummary, MediaType};
use app::store::{Store, StoreError};
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
    thumb_mime: Option<String>,
}

/// The original file of an asset, read only for the asset page.
struct FileRow {
    sha256: String,
    mime_type: String,
    byte_size: i64,
}

/// Columns of the asset page's original file (`LEFT JOIN files f`), in both backends.
const FILE_COLUMNS: &str =
    "f.sha256 AS file_sha256, f.mime_type AS file_mime, f.byte_size AS file_size";

impl FileRow {
    /// The joined original file, if the asset has one.
    fn read<'r, R>(row: &'r R) -> Result<Option<FileRow>, StoreError>
    where
        R: Row,
        for<'n> &'n str: ColumnIndex<R>,
        String: Decode<'r, R::Database> + Type<R::Database>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
    {
        let Some(sha256) = col::<R, Option<String>>(row, "file_sha256")? else {
            return Ok(None);
        };
        Ok(Some(FileRow {
            sha256,
            mime_type: col(row, "file_mime")?,
            byte_size: col(row, "file_size")?,
        }))
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
    {
        Ok(AssetRow {
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
            thumb_mime: col(row, "thumb_mime")?,
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
        Ok(AssetSummary {
            thumb_url: self
                .thumb_sha256
                .zip(self.thumb_mime)
                .map(|(sha, mime)| file_url(&sha, &mime)),
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

    fn into_detail(self, file: Option<FileRow>) -> Result<AssetDetail, StoreError> {
        Ok(AssetDetail {
            summary: self.into_summary()?,
            media_url: file.as_ref().map(|f| file_url(&f.sha256, &f.mime_type)),
            byte_size: file.as_ref().and_then(|f| u64::try_from(f.byte_size).ok()),
            mime_type: file.map(|f| f.mime_type),
        })
    }
}

/// A page of rows fetched with `limit + 1`: the extra row only says whether more follow.
fn into_page(mut rows: Vec<AssetRow>, limit: u32) -> Result<app::model::AssetPage, StoreError> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|last| {
            app::store::Cursor {
                created_at: last.created_at,
                public_id: last.public_id.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(AssetRow::into_summary)
        .collect::<Result<_, _>>()?;
    Ok(app::model::AssetPage { items, next_cursor })
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
