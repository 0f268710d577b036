//! `/admin/usage.csv`: the admin's usage tables as CSV; a refusal is the API's JSON error.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use super::{error::error_response, state::ServerState};

/// `/admin/usage.csv?range=&table=users|features&sort=&dir=`: the admin's usage tables as
/// CSV, for a spreadsheet.
pub(super) async fn usage_csv(
    State(state): State<ServerState>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: header::HeaderMap,
) -> Response {
    use app::api::stats::ssr::{admin_only, admin_usage, csv, parse_range, parse_sort, CsvTable};
    use app::error::ApiError;
    let answer = async {
        let session = state
            .accounts
            .session(state.store.as_ref(), &headers, chrono::Utc::now())
            .await?
            .ok_or_else(|| ApiError::Unauthorized("log in to do this".into()))?;
        admin_only(&session.user)?;
        let arg = |key: &str| query.get(key).map(String::as_str).unwrap_or_default();
        let range = parse_range(arg("range"))?;
        let table = CsvTable::parse(arg("table"))?;
        let (sort, descending) = parse_sort(arg("sort"), arg("dir"))?;
        let usage =
            admin_usage(state.store.as_ref(), &state.usage, range, sort, descending).await?;
        Ok::<_, ApiError>((range, table, csv(&usage, table)))
    };
    match answer.await {
        Ok((range, table, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"atelier-usage-{}-{}.csv\"",
                        table.as_str(),
                        range.as_str()
                    ),
                ),
            ],
            body,
        )
            .into_response(),
        Err(err) => error_response(&err, None),
    }
}
