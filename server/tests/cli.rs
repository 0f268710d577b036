//! Running the `atelier` binary as an operator would: help, bad configuration, a taken
//! port, and a clean shutdown on SIGTERM.

use std::{
    net::TcpListener,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

fn atelier(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("ATELIER_DATA_DIR")
        .env_remove("ATELIER_ADDR")
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "1");
    cmd
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
