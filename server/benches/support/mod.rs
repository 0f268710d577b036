//! What the benchmarks that drive the real binary share: starting it on a data directory,
//! a free port to serve on, and stopping it when done.
#![allow(dead_code)]

use std::{
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

/// A running `atelier serve`, stopped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `atelier` binary on `data`, with SQLite there or the Postgres at `database`.
pub fn atelier(data: &Path, database: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.arg("--data-dir").arg(data).env("RUST_LOG", "warn");
    // One load generator plays every client: no per-client rate limits.
    for limit in [
        "ATELIER_RATE_REGISTER",
        "ATELIER_RATE_UPLOAD_START",
        "ATELIER_RATE_SEARCH",
        "ATELIER_RATE_FACETS",
        "ATELIER_RATE_LIKES",
    ] {
        cmd.env(limit, "off");
    }
    match database {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    cmd
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits until something listens on `port` (at most a minute).
pub fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}
