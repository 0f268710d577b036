//! Where the page is now, for a form to come back to.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The path and query of the page now.
pub fn page_url() -> String {
    let location = use_location();
    with_query(
        location.pathname.get_untracked(),
        &location.search.get_untracked(),
    )
}

/// `path` with the query `search` (without its `?`), if there is one.
pub fn with_query(path: String, search: &str) -> String {
    if search.is_empty() {
        path
    } else {
        format!("{path}?{search}")
    }
}

/// The path of the page now, without its query.
pub fn page_path() -> String {
    use_location().pathname.get_untracked()
}
