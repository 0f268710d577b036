use leptos::prelude::*;

#[component]
pub fn SiteHeader() -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">"atelier"</a>
            <nav aria-label="Main">
                <a href="/">"Gallery"</a>
            </nav>
        </header>
    }
}
