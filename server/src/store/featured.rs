//! Featured picks as stored: `featured_at` on `assets` and `collections` (Unix
//! microseconds on both backends, so the search cursor carries it as an integer).

use app::model::Visibility;
use app::store::{Featurable, FeatureOutcome, FeaturedStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{for_each_backend, Db};

for_each_backend! {
    #[async_trait]
    impl FeaturedStore for Db<DB> {
        async fn set_featured(
            &self,
            thing: Featurable<'_>,
            at: Option<DateTime<Utc>>,
        ) -> Result<FeatureOutcome, StoreError> {
            // An asset in the trash is featured by nobody; a pick is taken back whatever
            // has become of it since.
            let (table, id, live) = match thing {
                Featurable::Asset(id) => ("assets", id, " AND trashed_at IS NULL"),
                Featurable::Collection(id) => ("collections", id, ""),
            };
            let micros = at.map(|at| at.timestamp_micros());
            let updated: Option<Option<i64>> = sqlx::query_scalar(&format!(
                "UPDATE {table}
                    SET featured_at = CASE WHEN $2 IS NULL THEN NULL
                                           ELSE COALESCE(featured_at, $2) END
                  WHERE public_id = $1
                    AND ($2 IS NULL OR (visibility = 'public'{live}))
                  RETURNING featured_at"
            ))
            .bind(id)
            .bind(micros)
            .fetch_optional(self.writer())
            .await?;
            if let Some(featured_at) = updated {
                return Ok(FeatureOutcome::Done(
                    featured_at.and_then(DateTime::from_timestamp_micros),
                ));
            }
            // Nothing was written: say why.
            let found: Option<String> = sqlx::query_scalar(&format!(
                "SELECT visibility FROM {table} WHERE public_id = $1{live}"
            ))
            .bind(id)
            .fetch_optional(self.writer())
            .await?;
            Ok(match found.as_deref().map(Visibility::parse) {
                None => FeatureOutcome::Missing,
                Some(Some(visibility)) => FeatureOutcome::NotPublic(visibility),
                Some(None) => {
                    return Err(StoreError::Database(format!(
                        "{table} row {id} has an unknown visibility"
                    )))
                }
            })
        }
    }
}
