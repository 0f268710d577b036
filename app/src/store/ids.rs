//! Internal row ids. They never leave the server: pages and the API name things by their
//! public ids.

/// Internal row id of a user. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// Internal row id of a session. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(pub i64);

/// Internal row id of a stored file. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId(pub i64);

/// Internal row id of an asset. Never leaves the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AssetId(pub i64);
