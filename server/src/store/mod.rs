//! atelier's database: [`app::store::Store`] for SQLite (the embedded default) and
//! Postgres. Each domain's SQL is written once in its module (accounts, sessions,
//! settings, files, assets, curating, bulk actions, collections, featured picks, trash,
//! search, likes and views, uploads, jobs, usage), compiled for both backends by
//! [`for_each_backend!`]; what truly differs is a named hook of [`Backend`], implemented in
//! `sqlite.rs` and `postgres.rs` with opening, pools and maintenance.
//!
//! Statements use `$1…$n` placeholders on both (sqlx-sqlite binds them by number),
//! [`types::Ts`] for every moment and [`types::Json`] for JSON parameters.

mod accounts;
mod assets;
mod backend;
mod bulk;
mod collections;
mod curate;
mod featured;
mod files;
mod jobs;
mod likes;
mod plan;
mod postgres;
mod search;
mod sessions;
mod settings;
mod shares;
mod sqlite;
mod trash;
mod types;
mod uploads;
mod usage;
mod visibility;

use std::{sync::Arc, time::Duration};

use app::store::{Store, StoreError};
use sqlx::{Pool, Postgres, Sqlite};

/// The store on SQLite.
pub type SqliteStore = Db<Sqlite>;
/// The store on Postgres.
pub type PgStore = Db<Postgres>;

/// How long one search (its page or its facets) may run before it is stopped.
pub const SEARCH_BUDGET: Duration = Duration::from_secs(3);
/// Connections in the search pool: at most this many searches run at once, so however
/// expensive they are, sessions, `/healthz` and every other read keep their own pool.
pub const SEARCH_CONNECTIONS: u32 = 4;
/// How long a search waits for a free search connection before it is refused as busy.
pub const SEARCH_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// How the store is opened: what `atelier serve` can tune.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How long one search may run ([`SEARCH_BUDGET`]).
    pub search_budget: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            search_budget: SEARCH_BUDGET,
        }
    }
}

/// A database's pools. Statements that write go to [`Db::writer`], reads to
/// [`Db::reader`]: on SQLite one writer connection (so transactions never fight over the
/// write lock) and a pool of read-only ones; on Postgres both are the same pool. Searches
/// and facets run on a pool of their own, [`Db::search`], under [`Db::search_budget`], so
/// that a costly one never makes a login or a health check wait.
pub struct Db<B: sqlx::Database> {
    writer: Pool<B>,
    reader: Pool<B>,
    search: Pool<B>,
    search_budget: Duration,
}

impl<B: sqlx::Database> Db<B> {
    fn writer(&self) -> &Pool<B> {
        &self.writer
    }

    fn reader(&self) -> &Pool<B> {
        &self.reader
    }
}

/// Writes the items once and compiles them for each backend, with `DB` naming it
/// (`sqlx::Sqlite`, then `sqlx::Postgres`). Inside, every type is concrete, so sqlx's
/// executors and transactions work as in code written for one backend; backend
/// differences go through [`Backend`]'s named hooks.
macro_rules! for_each_backend {
    ($($item:item)*) => {
        const _: () = {
            use ::sqlx::Sqlite as DB;
            $($item)*
        };
        const _: () = {
            use ::sqlx::Postgres as DB;
            $($item)*
        };
    };
}
use for_each_backend;

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
    open_with(url, Options::default()).await
}

/// [`open`] with options other than the defaults.
pub async fn open_with(url: &str, options: Options) -> Result<Arc<dyn Store>, OpenError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url, options).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::open(url, options).await?)),
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

/// A unique violation on insert into `users` means the name is taken (in any case).
fn username_taken(err: sqlx::Error, username: &str) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("the username “{username}” is taken"))
        }
        other => other,
    }
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
