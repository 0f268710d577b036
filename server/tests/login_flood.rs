//! A password-guessing flood against the real `atelier` binary on loopback: two hundred
//! logins sent at once against one account. The throttle lets exactly its allowed number
//! through to a password check and answers the rest `429` at once; the server's memory
//! stays bounded and `/healthz` keeps answering quickly the whole time.

mod common;

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use common::{atelier, PASSWORD};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const GUESSES: usize = 200;
/// The login throttle's allowance (`app::auth::throttle::MAX_FAILURES`).
const ALLOWED: usize = app::auth::throttle::MAX_FAILURES;

/// A running server, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection; the status and how long it took.
async fn request(port: u16, head: &str, body: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "{head}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}

/// Resident memory of `pid` in KiB.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_guesses_at_once_get_ten_checks_and_the_site_stays_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut create = atelier(
        dir.path(),
        None,
        &["user", "create", "victim", "--password-stdin"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("user create");
    {
        use std::io::Write;
        create
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .expect("password");
    }
    assert!(create.wait().expect("wait").success());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let server = Server(
        atelier(
            dir.path(),
            None,
            &["serve", "--addr", &format!("127.0.0.1:{port}")],
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err()
        || request(port, "GET /healthz HTTP/1.1", "").await.0 != 200
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The owner logs in once: what the first login sets up (the password threads' block,
    // a session) is the server's working size, not the flood's cost. A success does not
    // count against the throttle.
    let (status, _) = request(
        port,
        "POST /api/login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json",
        &format!("username=victim&password={}", PASSWORD.replace(' ', "+")),
    )
    .await;
    assert_eq!(status, 200, "the owner's own login");
    let pid = server.0.id();
    let before = resident_kib(pid);

    // While the flood runs, a monitor asks /healthz every 20 ms.
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let monitor = {
        let flooding = flooding.clone();
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut peak = 0;
            let mut answers = 0;
            while flooding.load(std::sync::atomic::Ordering::Relaxed) && answers < 3000 {
                let (status, took) = request(port, "GET /healthz HTTP/1.1", "").await;
                assert_eq!(status, 200, "healthz during the flood");
                slowest = slowest.max(took);
                peak = peak.max(resident_kib(pid));
                answers += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (slowest, peak, answers)
        })
    };

    let guesses: Vec<_> = (0..GUESSES)
        .map(|n| {
            tokio::spawn(async move {
                let body = format!("username=victim&password=guess-number-{n}");
                request(
                    port,
                    "POST /api/login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json",
                    &body,
                )
                .await
                .0
            })
        })
        .collect();
    let mut statuses = Vec::with_capacity(GUESSES);
    for guess in guesses {
        statuses.push(
            tokio::time::timeout(Duration::from_secs(120), guess)
                .await
                .expect("a guess answered")
                .expect("guess"),
        );
    }
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let (slowest, peak, answers) = monitor.await.expect("monitor");

    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, refused),
        (ALLOWED, GUESSES - ALLOWED),
        "only the allowed guesses reach a password check: {statuses:?}"
    );
    // The right password waits for the window too.
    let (status, _) = request(
        port,
        "POST /api/login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json",
        &format!("username=victim&password={}", PASSWORD.replace(' ', "+")),
    )
    .await;
    assert_eq!(status, 429);

    assert!(answers > 0, "the monitor ran");
    assert!(
        slowest < Duration::from_millis(200),
        "/healthz took {slowest:?} at worst during the flood"
    );
    // Each password check takes a ~19 MiB block on one of the password threads; what the
    // flood costs does not grow with the number of guesses (measured: ~80 MiB for its ten
    // checks whether 11, 200 or 400 guesses are sent; before the threads of their own,
    // 180 MiB).
    eprintln!(
        "{GUESSES} guesses: healthz at worst {slowest:?} over {answers} checks; \
         resident {before} KiB before, {peak} KiB at the peak"
    );
    assert!(
        peak.saturating_sub(before) < 128 * 1024,
        "resident memory grew from {before} KiB to {peak} KiB"
    );
}
