//! How a page shows an error.

use leptos::prelude::*;

use crate::error::ApiError;

/// An error as a page shows it: what happened, in words a person can act on.
#[component]
pub fn ErrorNotice(error: ApiError) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <p>{error.to_string()}</p>
        </div>
    }
}
