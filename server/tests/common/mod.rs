//! Opening a fresh, empty store on each backend for a test, and running the real binary.
#![allow(dead_code)]

use std::sync::Arc;

use app::model::AssetPage;
use app::store::{AssetQuery, Cursor, Store};
use atelier_server::{config::sqlite_url, store};
use rand::Rng;
use sqlx::{Connection, Executor};

pub mod wire;

/// Names another build of `atelier` for the tests that run the binary: `make test` sets it
/// to the release binary, so that every attack in those tests is tried against what people
/// run. Unset, they run the debug binary cargo built with them.
pub const BINARY_ENV: &str = "ATELIER_TEST_BINARY";

/// The real `atelier` binary run in `dir` with `args`, as an operator would there: SQLite
/// in `dir/data` unless `database_url` names another database, nothing from the
/// environment that would point it elsewhere, warnings logged.
pub fn atelier(
    dir: &std::path::Path,
    database_url: Option<&str>,
    args: &[&str],
) -> std::process::Command {
    let binary = std::env::var_os(BINARY_ENV)
        .filter(|path| !path.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_atelier").into());
    let mut cmd = std::process::Command::new(binary);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("ATELIER_DATA_DIR")
        .env_remove("ATELIER_ADDR")
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "1");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

/// Set by `make test` (scripts/postgres.sh): a server where tests may create databases.
pub const POSTGRES_ENV: &str = "ATELIER_TEST_POSTGRES_URL";

pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// Closes the store and drops the test's Postgres database.
    pub async fn finish(mut self) {
        self.store.close().await;
        if let Some((admin, name)) = self.postgres.take() {
            drop_database(&admin, &name)
                .await
                .expect("drop the test database");
        }
    }
}

impl Drop for TestDb {
    /// A test that panicked never reached [`TestDb::finish`]: its database is dropped here,
    /// on a thread of its own (the test's runtime may be gone), so none is left behind.
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_database(&admin, &name))
                .map_err(|e| e.to_string())
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop a test database: {err}");
        }
    }
}

async fn drop_database(admin: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
        .await?;
    conn.close().await
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir.path().join("atelier.db"));
    let store = store::open(&url).await.expect("open sqlite");
    TestDb {
        store,
        url,
        dir,
        postgres: None,
    }
}

/// A new database on the test server, or `None` when no server was configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(admin) = std::env::var(POSTGRES_ENV) else {
        eprintln!("skipped: {POSTGRES_ENV} is not set, so this Postgres test did not run");
        return None;
    };
    let name = format!("atelier_test_{:016x}", rand::thread_rng().gen::<u64>());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin} does not answer: {e}"));
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create the test database");
    conn.close().await.expect("close");
    let mut url = url::Url::parse(&admin).expect("a valid URL");
    url.set_path(&name);
    let url = url.to_string();
    let store = store::open(&url).await.expect("open postgres");
    Some(TestDb {
        store,
        url,
        dir: tempfile::tempdir().expect("tempdir"),
        postgres: Some((admin, name)),
    })
}

/// A response, read whole.
pub struct Reply {
    pub status: axum::http::StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }

    pub fn header(&self, name: axum::http::header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value this response sets for cookie `name` (empty when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
    }
}

/// Sends one request through the router, as the server would.
pub async fn send(app: &axum::Router, req: axum::http::Request<axum::body::Body>) -> Reply {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// What uploading `bytes` charges its owner's quota: the file, and the metadata atelier
/// keeps with it (parsed, raw, and the note of what was left out).
pub fn charged(bytes: &[u8]) -> u64 {
    let format = atelier_server::media::probe::sniff(bytes).expect("a file atelier accepts");
    let kept = atelier_server::media::read_metadata(&mut std::io::Cursor::new(bytes), format);
    bytes.len() as u64 + kept.stored().bytes()
}

/// The bytes of an asset's stills, as its owner is charged for them: each still it names,
/// by the size of its file.
pub async fn stills_bytes(db: &TestDb, asset_id: &str) -> u64 {
    let sql = "SELECT COALESCE((SELECT byte_size FROM files WHERE id = a.thumb_file_id), 0)
                    + COALESCE((SELECT byte_size FROM files WHERE id = a.preview_file_id), 0)
                    + COALESCE((SELECT byte_size FROM files WHERE id = a.poster_file_id), 0)
                 FROM assets a WHERE a.public_id = $1";
    let bytes: i64 = match db.store.backend() {
        "sqlite" => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("connect");
            sqlx::query_scalar(sql)
                .bind(asset_id)
                .fetch_one(&mut conn)
                .await
                .expect("asset row")
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar(sql)
                .bind(asset_id)
                .fetch_one(&mut conn)
                .await
                .expect("asset row")
        }
    };
    u64::try_from(bytes).expect("a size")
}

/// The asset as its page's API call sees it, once its processing job has ended.
pub async fn processed(browser: &mut Browser, asset_id: &str) -> serde_json::Value {
    for _ in 0..200 {
        let reply = browser.get(&format!("/api/asset?id={asset_id}")).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.text());
        let asset = reply.json();
        if matches!(asset["job"]["state"].as_str(), Some("done" | "failed")) {
            return asset;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the processing job of {asset_id} did not end in 10 s");
}

/// A 512 × 512 image asset with nothing but its id, owner and time: no file, texts, tags
/// or metadata (a test sets what its story needs over it).
pub fn bare_asset(
    public_id: &str,
    owner: app::store::UserId,
    created_at: chrono::DateTime<chrono::Utc>,
) -> app::store::NewAsset {
    app::store::NewAsset {
        public_id: public_id.to_string(),
        owner,
        title: String::new(),
        prompt: String::new(),
        model: None,
        media_type: app::model::MediaType::Image,
        file: None,
        thumb: None,
        width: Some(512),
        height: Some(512),
        duration_ms: None,
        tags: Vec::new(),
        created_at,
        negative_prompt: String::new(),
        visibility: app::model::Visibility::Public,
        original_filename: None,
        preview: None,
        generation: None,
        raw_metadata: None,
        metadata_dropped: None,
        parser_version: 0,
    }
}

/// `name` publishes bare pictures `ids` with `visibility`, a minute apart from an hour
/// ago (the first the oldest), each titled "Picture {id}".
#[allow(dead_code)]
pub async fn publish_bare(
    db: &TestDb,
    name: &str,
    ids: &[&str],
    visibility: app::model::Visibility,
) {
    let owner = user_id(db, name).await;
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let assets: Vec<app::store::NewAsset> = ids
        .iter()
        .zip(0..)
        .map(|(id, n)| app::store::NewAsset {
            title: format!("Picture {id}"),
            visibility,
            ..bare_asset(id, owner, start + chrono::Duration::minutes(n))
        })
        .collect();
    db.store.insert_assets(&assets).await.expect("insert");
}

/// The ids a search finds for `browser`.
pub async fn found(browser: &mut Browser, query: &str) -> Vec<String> {
    let reply = browser.get(&format!("/api/assets?{query}")).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.text());
    reply.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["id"].as_str().map(str::to_string))
        .collect()
}

/// How many assets carry `tag`, as the tag list counts them.
pub async fn tag_count(db: &TestDb, tag: &str) -> u64 {
    db.store
        .top_tags(100)
        .await
        .expect("tags")
        .into_iter()
        .find(|t| t.name == tag)
        .map_or(0, |t| t.count)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every stored file (originals, stills, posters) under the test's data directory.
pub fn stored_files(db: &TestDb) -> Vec<std::path::PathBuf> {
    files_under(&db.dir.path().join("files"))
}

/// The id of the user called `name`.
pub async fn user_id(db: &TestDb, name: &str) -> app::store::UserId {
    db.store
        .find_user(name)
        .await
        .expect("lookup")
        .unwrap_or_else(|| panic!("no user {name}"))
        .id
}

/// A password every test account may use (long enough, not a common one).
pub const PASSWORD: &str = "violet tractor sings";

/// A server over `db` whose uploads go in `chunk`-byte chunks, with one processing worker.
pub async fn serving(db: &TestDb, chunk: u64) -> atelier_server::http::ServerState {
    // A test machine may have less free disk than the default floor keeps (512 MiB); the
    // floor's own story sets it.
    db.store
        .set_setting("min_free_disk", "1MiB", chrono::Utc::now())
        .await
        .expect("min_free_disk");
    let files = atelier_server::storage::FileStore::open(db.dir.path()).expect("file store");
    let state = atelier_server::http::ServerState::new(db.store.clone(), files)
        .with_uploads(|engine| engine.with_chunk_size(chunk));
    // Building the state starts nothing: the worker and the usage writer are started here,
    // and left running (dropped, not stopped) until the test's runtime ends.
    use atelier_server::background::{Background, Plan};
    drop(
        Background::start(
            &state,
            Plan {
                workers: 1,
                upkeep: false,
            },
        )
        .await,
    );
    state
}

/// A browser that has just registered `name`, an ordinary user.
pub async fn member(state: &atelier_server::http::ServerState, name: &str, ip: u8) -> Browser {
    let mut browser = Browser::new(state, [192, 0, 2, ip], FIREFOX);
    let reply = browser.register(name, PASSWORD).await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.text());
    browser
}

/// A browser that has just made the instance's admin `name` through the setup link, as
/// its owner does on a fresh instance.
pub async fn admin(state: &atelier_server::http::ServerState, name: &str, ip: u8) -> Browser {
    let token = state.accounts.setup.arm();
    let mut browser = Browser::new(state, [192, 0, 2, ip], FIREFOX);
    let reply = browser
        .post(
            "/api/register",
            &[
                ("username", name),
                ("password", PASSWORD),
                ("setup", &token),
            ],
        )
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["role"], "admin");
    browser
}

/// A multipart body of `fields` in order, and its boundary.
pub fn multipart(fields: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----atelier-test-7d93f1".to_string();
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{boundary}\r\n").as_bytes());
        if *name == "data" || *name == "file" {
            body.extend(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"blob.png\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
        } else {
            body.extend(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend(*value);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

/// Posts `fields` as multipart form data from this site's page (`sec-fetch-site`), or, with
/// `html_form`, as a browser submitting an HTML form without JavaScript.
pub async fn post_multipart(
    browser: &mut Browser,
    path: &str,
    fields: &[(&str, &[u8])],
    html_form: bool,
) -> Reply {
    let (boundary, body) = multipart(fields);
    let req = axum::http::Request::post(path).header(
        axum::http::header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    );
    let req = if html_form {
        req.header(
            axum::http::header::ACCEPT,
            "text/html,application/xhtml+xml",
        )
        .header(axum::http::header::ORIGIN, "http://atelier.test")
    } else {
        req.header("sec-fetch-site", "same-origin")
    };
    browser.send_body(req, axum::body::Body::from(body)).await
}

/// Follows `next_cursor` from the newest asset to the oldest, `limit` at a time.
pub async fn every_page(store: &dyn Store, limit: u32) -> Vec<AssetPage> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let query = AssetQuery {
            after: after.take(),
            ..AssetQuery::newest(limit)
        };
        let page = store.search_assets(&query).await.expect("list");
        after = page
            .next_cursor
            .as_deref()
            .map(|c| Cursor::decode(c).expect("a cursor this store handed out"));
        pages.push(page);
        if after.is_none() {
            return pages;
        }
    }
}

/// Runs an async story once on SQLite and once on Postgres, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = $crate::common::sqlite().await;
                    super::$story(&db).await;
                    db.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::common::postgres().await {
                        super::$story(&db).await;
                        db.finish().await;
                    }
                }
            }
        )+
    };
}

#[allow(unused_imports)]
pub use browser::*;

mod browser {
    use std::net::SocketAddr;

    use atelier_server::http::{router, ServerState};
    use axum::{
        body::Body,
        extract::connect_info::MockConnectInfo,
        http::{header, Request},
        Router,
    };

    use super::{send, Reply};

    pub const FIREFOX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    pub const COOKIE: &str = "__Host-atelier_session";

    /// The session token a response sets, if any (empty when it clears the cookie).
    pub fn session_cookie(reply: &Reply) -> Option<String> {
        reply.cookie(COOKIE)
    }

    /// One browser (or script): its address, user agent and cookie jar of one cookie.
    #[derive(Clone)]
    pub struct Browser {
        pub app: Router,
        pub user_agent: &'static str,
        pub cookie: Option<String>,
    }

    impl Browser {
        pub fn new(state: &ServerState, ip: [u8; 4], user_agent: &'static str) -> Browser {
            let peer = SocketAddr::from((ip, 40_000));
            Browser {
                app: router(state.clone()).layer(MockConnectInfo(peer)),
                user_agent,
                cookie: None,
            }
        }

        pub async fn send(&mut self, req: axum::http::request::Builder, body: String) -> Reply {
            self.send_body(req, Body::from(body)).await
        }

        /// Sends any body (multipart, raw bytes) with this browser's headers and cookie.
        pub async fn send_body(&mut self, req: axum::http::request::Builder, body: Body) -> Reply {
            let mut req = req
                .header(header::HOST, "atelier.test")
                .header(header::USER_AGENT, self.user_agent);
            if let Some(token) = &self.cookie {
                req = req.header(header::COOKIE, format!("theme=dark; {COOKIE}={token}"));
            }
            let reply = send(&self.app, req.body(body).expect("request")).await;
            if let Some(token) = session_cookie(&reply) {
                self.cookie = (!token.is_empty()).then_some(token);
            }
            reply
        }

        /// Pages are asked for as a browser does, API calls as a script does.
        pub async fn get(&mut self, uri: &str) -> Reply {
            let accept = if uri.starts_with("/api/") {
                "application/json"
            } else {
                "text/html,application/xhtml+xml,*/*;q=0.8"
            };
            self.send(
                Request::get(uri).header(header::ACCEPT, accept),
                String::new(),
            )
            .await
        }

        /// A `fetch` from our own page (what the hydrated app and scripts do).
        pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Reply {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            self.send(
                Request::post(uri)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .header("sec-fetch-site", "same-origin"),
                body,
            )
            .await
        }

        /// A plain HTML form submitted without JavaScript from `page`.
        pub async fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> Reply {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            self.send(
                Request::post(action)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "text/html,application/xhtml+xml")
                    .header(header::REFERER, format!("http://atelier.test{page}"))
                    .header(header::ORIGIN, "http://atelier.test"),
                body,
            )
            .await
        }

        pub async fn register(&mut self, username: &str, password: &str) -> Reply {
            self.post(
                "/api/register",
                &[
                    ("username", username),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await
        }

        pub async fn login(&mut self, username: &str, password: &str) -> Reply {
            self.post(
                "/api/login",
                &[("username", username), ("password", password)],
            )
            .await
        }

        pub async fn me(&mut self) -> Reply {
            self.get("/api/me").await
        }

        /// Turns one of this person's assets `public`, `unlisted` or `private`, as the
        /// bulk bar does, and expects that to work.
        pub async fn set_visibility(&mut self, asset: &str, visibility: &str) {
            let reply = self
                .post(
                    "/api/assets/bulk",
                    &[
                        ("ids[]", asset),
                        ("action", "set_visibility"),
                        ("visibility", visibility),
                    ],
                )
                .await;
            assert_eq!(
                reply.status,
                axum::http::StatusCode::OK,
                "{asset} → {visibility}: {}",
                reply.text()
            );
        }
    }
}
