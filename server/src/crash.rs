//! Crash points for the reliability suite. A test starts the server with
//! `ATELIER_TEST_CRASH_AT` naming one point; the server aborts there (no unwinding, nothing
//! flushed or cleaned up, as `kill -9` would leave it), so the test can restart it between
//! two steps that a real crash could separate and check what start-up and the sweeper make
//! of it. Unset, as everywhere outside those tests, a point costs one comparison.
//!
//! The points: `finish-placed` (an upload's file and poster are in storage, the rows that
//! name them not yet committed) and `finish-committed` (the asset is committed, the upload's
//! temp files not yet removed).

use std::sync::OnceLock;

/// The environment variable that names the point to crash at.
pub const CRASH_AT_ENV: &str = "ATELIER_TEST_CRASH_AT";

/// Aborts the process if the environment names this point.
pub fn point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT
        .get_or_init(|| std::env::var(CRASH_AT_ENV).ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("atelier: crash point “{name}” reached; aborting as a test asked");
        std::process::abort();
    }
}
