//! `POST /share-target`: where the manifest's `share_target` sends files shared from
//! another app. The service worker answers it on the device (it keeps the files for the
//! upload page); this answers only when no worker did (the app was not opened since it
//! was installed, or its data was cleared): the files cannot be kept, and the upload page
//! says so. Nothing is read or stored here, so a cross-site POST is harmless.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

pub(super) async fn share_target() -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/upload?shared=lost"),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}
