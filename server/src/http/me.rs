//! `GET /me`: one fixed address for "my profile" (the installed app's shortcut). It sends
//! the person to `/u/{their name}`, or to log in first and then come back here.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{error::error_response, state::ServerState};

pub(super) async fn me(State(state): State<ServerState>, req: Request) -> Response {
    let session = match state
        .accounts
        .session(state.store.as_ref(), req.headers(), chrono::Utc::now())
        .await
    {
        Ok(session) => session,
        Err(err) => return error_response(&err, None),
    };
    let to = match session {
        Some(session) => format!(
            "/u/{}",
            app::model::percent_encode(&session.user.username, false)
        ),
        None => "/login?next=%2Fme".to_string(),
    };
    let Ok(location) = HeaderValue::from_str(&to) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            // Whose profile depends on who asks.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
    )
        .into_response()
}
