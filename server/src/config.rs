//! Where data lives and which database to use, resolved once at start-up.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// File name of the embedded SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "atelier.db";

#[derive(Clone, Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
}

impl Config {
    /// Creates the data directory if needed, checks it is writable, and picks the database:
    /// `database_url` when given, else SQLite inside the data directory.
    pub fn resolve(data_dir: &Path, database_url: Option<&str>) -> Result<Config> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let probe = data_dir.join(".atelier-write-test");
        fs::write(&probe, b"ok")
            .and_then(|()| fs::remove_file(&probe))
            .with_context(|| {
                format!("the data directory {} is not writable", data_dir.display())
            })?;
        let database_url = match database_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => sqlite_url(&data_dir.join(SQLITE_FILE)),
        };
        Ok(Config {
            data_dir: data_dir.to_path_buf(),
            database_url,
        })
    }
}

/// A `sqlite://` URL for a path, percent-encoding what a URL cannot carry.
pub fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'%' | b'?' | b'#' | b' ' => url.push_str(&format!("%{byte:02X}")),
            _ => url.push(char::from(byte)),
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config::resolve(&dir.path().join("data"), None).expect("resolve");
        assert!(config.database_url.starts_with("sqlite://"));
        assert!(config.database_url.ends_with("/data/atelier.db"));
        let pg = Config::resolve(dir.path(), Some("postgres://x/y")).expect("resolve");
        assert_eq!(pg.database_url, "postgres://x/y");
    }

    #[test]
    fn unwritable_data_dir_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").expect("write");
        let err = Config::resolve(&file.join("data"), None).expect_err("must fail");
        assert!(format!("{err:#}").contains("cannot create the data directory"));
    }
}
