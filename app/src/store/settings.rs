//! Runtime settings as stored: keys and text values (what they mean is the caller's).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::StoreError;

#[async_trait]
pub trait SettingStore: Send + Sync {
    /// A runtime setting's stored value.
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores a runtime setting (the caller has validated it).
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every stored runtime setting as `(key, value)`, by key.
    async fn list_settings(&self) -> Result<Vec<(String, String)>, StoreError>;
}
