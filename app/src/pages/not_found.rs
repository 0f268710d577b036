use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · atelier"/>
        <section class="page narrow">
            <h1>"Nothing here"</h1>
            <p>"This page does not exist. " <a href="/">"Back to the gallery"</a></p>
        </section>
    }
}
