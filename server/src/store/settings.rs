//! Runtime settings as stored: a key, a text value, when it last changed.

use app::store::{SettingStore, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::types::Ts;
use super::{for_each_backend, Db};

for_each_backend! {
    #[async_trait]
    impl SettingStore for Db<DB> {
        async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(self.reader())
                .await?)
        }

        async fn set_setting(
            &self,
            key: &str,
            value: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                 updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(value)
            .bind(Ts(now))
            .execute(self.writer())
            .await?;
            Ok(())
        }

        async fn list_settings(&self) -> Result<Vec<(String, String)>, StoreError> {
            Ok(sqlx::query_as("SELECT key, value FROM settings ORDER BY key")
                .fetch_all(self.reader())
                .await?)
        }
    }
}
