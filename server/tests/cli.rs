//! Running the `atelier` binary as an operator would: help, bad configuration, a taken
//! port, a clean shutdown on SIGTERM, and the setup link of a fresh instance.

mod common;

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

/// The binary in `dir`, with SQLite in `dir/data`.
fn atelier(dir: &Path, args: &[&str]) -> Command {
    common::atelier(dir, None, args)
}

/// Exits non-zero with exactly one line on stderr, saying `needle`, and no panic.
fn assert_one_clear_line(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "expected “{needle}” in: {stderr}"
    );
}

#[test]
fn every_subcommand_explains_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["seed-demo", "--help"],
        vec!["user", "--help"],
        vec!["user", "create", "--help"],
        vec!["settings", "--help"],
        vec!["reparse", "--help"],
    ] {
        let out = atelier(dir.path(), &args).output().expect("run");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let serve = atelier(dir.path(), &["serve", "--help"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&serve.stdout);
    for flag in [
        "--addr",
        "--data-dir",
        "ATELIER_ADDR",
        "ATELIER_DATA_DIR",
        "DATABASE_URL",
        "--insecure-cookies",
        "--trusted-proxies",
        "--header-timeout",
        "--idle-timeout",
        "--max-connections",
        "--request-timeout",
        "--upload-timeout",
        "--upload-min-rate",
        "--upload-rate-window",
        "--shutdown-deadline",
        "--search-budget",
        "ATELIER_MAX_CONNECTIONS",
        "ATELIER_SEARCH_BUDGET",
    ] {
        assert!(text.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn bad_configuration_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");

    let out = atelier(dir.path(), &["migrate"])
        .env("DATABASE_URL", "mysql://root@localhost/atelier")
        .output()
        .expect("run");
    assert_one_clear_line(
        &out,
        "DATABASE_URL must start with sqlite:// or postgres://",
    );

    let out = atelier(dir.path(), &["migrate"])
        .env(
            "DATABASE_URL",
            "postgres://nobody:secret@127.0.0.1:1/atelier",
        )
        .output()
        .expect("run");
    assert_one_clear_line(&out, "cannot open the postgres database");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "says why: {stderr}");
    assert!(!stderr.contains("secret"));

    let out = atelier(dir.path(), &["migrate"])
        .env("DATABASE_URL", "postgres://[broken")
        .output()
        .expect("run");
    assert_one_clear_line(&out, "not a valid postgres URL");

    std::fs::write(dir.path().join("a-file"), b"x").expect("write");
    let out = atelier(dir.path(), &["migrate", "--data-dir", "a-file/data"])
        .output()
        .expect("run");
    assert_one_clear_line(&out, "cannot create the data directory a-file/data");

    let out = atelier(dir.path(), &["seed-demo", "--count", "0"])
        .output()
        .expect("run");
    assert_one_clear_line(&out, "--count must be at least 1");
}

#[test]
fn a_taken_port_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = atelier(dir.path(), &["serve", "--addr", &addr])
        .output()
        .expect("run");
    assert_one_clear_line(&out, &format!("cannot listen on {addr}"));
}

#[test]
fn the_server_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = atelier(dir.path(), &["serve", "--addr", &addr])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");

    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server never started listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        dir.path().join("data/atelier.db").exists(),
        "SQLite in ./data by default"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "the server ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Serves `dir` until it has logged a line holding `needle` or 30 s have passed; answers
/// that line (if any), then stops the server.
fn served_line(dir: &Path, needle: &str) -> Option<String> {
    use std::io::{BufRead, BufReader};
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = atelier(dir, &["serve", "--addr", &addr])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut found = None;
    // Listening is logged after the setup link, so once it is, the link would be too.
    let mut listening = false;
    while found.is_none() && !listening && Instant::now() < deadline {
        if let Ok(line) = seen.recv_timeout(Duration::from_millis(100)) {
            listening = line.contains("atelier listening");
            if line.contains(needle) {
                found = Some(line);
            }
        }
    }
    // A few more lines after "listening", where the link follows it.
    let settle = Instant::now() + Duration::from_secs(2);
    while found.is_none() && Instant::now() < settle {
        if let Ok(line) = seen.recv_timeout(Duration::from_millis(100)) {
            if line.contains(needle) {
                found = Some(line);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    found
}

#[test]
fn a_fresh_instance_logs_a_one_time_setup_link_until_it_has_an_admin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = served_line(dir.path(), "setup=").expect("the setup link is logged");
    assert!(line.contains("no admin yet"), "{line}");
    assert!(line.contains("/register?setup="), "{line}");
    let created = run_with_input(
        dir.path(),
        &["user", "create", "root", "--admin", "--password-stdin"],
        "violet tractor sings\n",
    );
    assert!(created.status.success(), "{created:?}");
    assert_eq!(served_line(dir.path(), "setup="), None, "an admin exists");
}

/// Runs `atelier` with `stdin` as its input and returns what it printed.
fn run_with_input(dir: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = atelier(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_manages_accounts_and_settings_from_the_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();

    // An admin with a generated password, shown once.
    let created = stdout(
        &atelier(path, &["user", "create", "Alice", "--admin"])
            .output()
            .expect("run"),
    );
    assert!(created.contains("created alice (admin)"), "{created}");
    let password = created
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("the generated password is printed")
        .to_string();
    assert_eq!(password.len(), 23, "{password}");

    // A user whose password comes from stdin (for scripts), held to the web's rules.
    let bob = run_with_input(
        path,
        &["user", "create", "bob", "--password-stdin"],
        "violet tractor sings\n",
    );
    let text = stdout(&bob);
    assert!(text.contains("created bob (user)"), "{text}");
    assert!(
        !text.contains("password:"),
        "a given password is not echoed"
    );
    let weak = run_with_input(
        path,
        &["user", "create", "carl", "--password-stdin"],
        "short\n",
    );
    assert_one_clear_line(&weak, "at least 8");
    let common = run_with_input(
        path,
        &["user", "create", "carl", "--password-stdin"],
        "12345678\n",
    );
    assert_one_clear_line(&common, "most common");
    let taken = atelier(path, &["user", "create", "BOB"])
        .output()
        .expect("run");
    assert_one_clear_line(&taken, "the username “bob” is taken");
    let bad = atelier(path, &["user", "create", "x"])
        .output()
        .expect("run");
    assert_one_clear_line(&bad, "3 to 32");

    let promoted = stdout(
        &atelier(path, &["user", "set-role", "bob", "admin"])
            .output()
            .expect("run"),
    );
    assert!(promoted.contains("bob is now admin"), "{promoted}");
    let disabled = stdout(
        &atelier(path, &["user", "disable", "bob"])
            .output()
            .expect("run"),
    );
    assert!(disabled.contains("disabled bob"), "{disabled}");
    let listed = stdout(&atelier(path, &["user", "list"]).output().expect("run"));
    let bob_line = listed
        .lines()
        .find(|l| l.starts_with("bob "))
        .expect("bob listed");
    assert!(
        bob_line.contains("admin") && bob_line.contains("disabled"),
        "{listed}"
    );
    assert!(listed.lines().any(|l| l.starts_with("alice ")), "{listed}");
    let missing = atelier(path, &["user", "reset-password", "nobody"])
        .output()
        .expect("run");
    assert_one_clear_line(&missing, "there is no user “nobody”");

    let reset = stdout(
        &atelier(path, &["user", "reset-password", "alice"])
            .output()
            .expect("run"),
    );
    let new_password = reset
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("printed")
        .to_string();
    assert_ne!(new_password, password);

    let closed = stdout(
        &atelier(path, &["settings", "set", "registration_mode", "closed"])
            .output()
            .expect("run"),
    );
    assert!(closed.contains("registration_mode = closed"), "{closed}");
    let listed = stdout(&atelier(path, &["settings", "list"]).output().expect("run"));
    assert!(listed.contains("registration_mode = closed"), "{listed}");
    let wrong = atelier(path, &["settings", "set", "registration_mode", "maybe"])
        .output()
        .expect("run");
    assert_one_clear_line(&wrong, "open or closed");

    // What the CLI did is what the web app sees: the reset password logs Alice in, the
    // old one does not, disabled Bob cannot, and registration is closed.
    let url = atelier_server::config::sqlite_url(&path.join("data/atelier.db"));
    let store = atelier_server::store::open(&url).await.expect("open");
    let files = atelier_server::storage::FileStore::open(&path.join("data")).expect("files");
    let app =
        atelier_server::http::router(atelier_server::http::ServerState::new(store.clone(), files));
    let login = |username: &str, password: &str| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("username", username), ("password", password)])
            .finish();
        axum::http::Request::post("/api/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .expect("request")
    };
    use tower::ServiceExt;
    let status = |r: axum::response::Response| r.status().as_u16();
    assert_eq!(
        status(
            app.clone()
                .oneshot(login("alice", &new_password))
                .await
                .expect("send")
        ),
        200
    );
    assert_eq!(
        status(
            app.clone()
                .oneshot(login("alice", &password))
                .await
                .expect("send")
        ),
        401
    );
    assert_eq!(
        status(
            app.clone()
                .oneshot(login("bob", "violet tractor sings"))
                .await
                .expect("send")
        ),
        403
    );
    let register = axum::http::Request::post("/api/register")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(
            "username=dave&password=violet+tractor+sings",
        ))
        .expect("request");
    assert_eq!(
        status(app.clone().oneshot(register).await.expect("send")),
        403
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_rereads_metadata_after_a_parser_upgrade() {
    use app::upload::UploadForm;
    use app::upload_engine::Uploads;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    let data = path.join("data");
    std::fs::create_dir_all(&data).expect("data dir");

    // Size limits are runtime settings, checked as they are set.
    let set = atelier(path, &["settings", "set", "upload_quota", "5 GiB"])
        .output()
        .expect("run");
    assert!(
        stdout(&set).contains("upload_quota = 5GiB"),
        "{}",
        stdout(&set)
    );
    let wrong = atelier(path, &["settings", "set", "max_video_size", "lots"])
        .output()
        .expect("run");
    assert_one_clear_line(&wrong, "a size such as 512MiB");

    // An asset uploaded while the parsers were older (as if: its metadata is forgotten).
    let url = atelier_server::config::sqlite_url(&data.join("atelier.db"));
    let store = atelier_server::store::open(&url).await.expect("open");
    let files = atelier_server::storage::FileStore::open(&data).expect("files");
    let engine = atelier_server::upload::UploadEngine::new(
        store.clone(),
        files,
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    let user = store
        .create_user(&app::store::NewUser {
            public_id: app::ids::new_public_id(),
            username: "carol".into(),
            password_hash: None,
            role: app::account::Role::User,
            created_at: chrono::Utc::now(),
        })
        .await
        .expect("user");
    let png = atelier_server::media::samples::comfyui_png(64, 64);
    let ticket = engine
        .start(&user, "comfy.png", png.len() as u64, None)
        .await
        .expect("start");
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(png))]);
    engine
        .write_chunk(&user, &ticket.upload_id, 0, body)
        .await
        .map_err(|e| e.error)
        .expect("chunk");
    let done = engine
        .finish(&user, &ticket.upload_id, UploadForm::default())
        .await
        .expect("finish");
    let old = store
        .reparse_batch(u32::MAX, app::store::AssetId(0), 10)
        .await
        .expect("batch");
    assert_eq!(old.len(), 1);
    store
        .set_generation(old[0].asset, &app::store::StoredMetadata::default())
        .await
        .expect("forget");
    store.close().await;

    let out = atelier(path, &["reparse"]).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("re-read 1 assets") && stdout(&out).contains("understood in 1"),
        "{}",
        stdout(&out)
    );
    let again = atelier(path, &["reparse"]).output().expect("run");
    assert!(
        stdout(&again).contains("re-read 0 assets"),
        "{}",
        stdout(&again)
    );

    let store = atelier_server::store::open(&url).await.expect("open");
    let asset = store
        .view_asset(&done.asset_id, None)
        .await
        .expect("view")
        .expect("asset");
    let generation = asset.generation.expect("metadata read again");
    assert_eq!(generation.tool.as_deref(), Some("comfyui"));
    assert!(asset.raw_metadata_present);
    store.close().await;
}
