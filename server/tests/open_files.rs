//! The open-file limit at start, against the real `atelier` binary: a server started
//! under a soft limit too small for its connection cap raises it (within the hard limit)
//! before it serves. (Alone in its test binary: it lowers this process's own limit, which
//! the server inherits.)

mod common;

use common::wire::*;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The soft open-file limit of process `pid`, from /proc.
fn soft_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("/proc limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    line.split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

#[tokio::test]
async fn a_small_open_file_limit_is_raised_to_fit_the_connection_cap() {
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let wanted = 1_024 + atelier_server::http::serve::RESERVED_DESCRIPTORS;
    if hard < wanted {
        eprintln!("skipped: the hard open-file limit here is {hard}, under the {wanted} needed");
        return;
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(300),
            maximum: limit.maximum,
        },
    )
    .expect("lower the soft limit");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), None, &["--max-connections", "1024"]).await;
    assert_eq!(
        soft_limit(std::process::id()),
        300,
        "this process is as set"
    );
    let raised = soft_limit(server.child.id());
    assert!(raised >= wanted, "the server's soft limit is {raised}");
    let health = get(&server.addr, "/healthz", None).await.expect("healthz");
    assert_eq!(health.status, 200);
}
