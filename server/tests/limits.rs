//! Time limits everywhere, against the real `atelier` binary on 127.0.0.1: clients that
//! trickle their headers are cut while visitors are still served, connections past the cap
//! wait and are closed, a stop does not wait for a slow upload (which resumes after the
//! restart), an upload that trickles is cut and resumes, and a search over its budget is
//! answered with a clear 503 while `/healthz` keeps answering.

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use common::{atelier, TestDb, PASSWORD};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

// ---- the binary ---------------------------------------------------------------------

/// A running `atelier serve`, killed if a test ends without stopping it.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `atelier serve` in `dir` with `args` and waits (at most a minute) until
    /// `/healthz` answers.
    async fn start(dir: &Path, database_url: Option<&str>, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--addr", &addr];
        all.extend_from_slice(args);
        let child = atelier(dir, database_url, &all)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn atelier serve");
        let server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(reply) = get(&server.addr, "/healthz", None).await {
                if reply.status == 200 {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "the server never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; how long it took.
    async fn terminate(&mut self, limit: Duration) -> Duration {
        let sent = Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "exit after SIGTERM: {status}");
                return sent.elapsed();
            }
            assert!(
                sent.elapsed() < limit,
                "the server had not exited {limit:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seed(dir: &Path, database_url: Option<&str>, count: u64) {
    let out = atelier(
        dir,
        database_url,
        &["seed-demo", "--count", &count.to_string(), "--no-files"],
    )
    .output()
    .expect("run seed-demo");
    assert!(
        out.status.success(),
        "seed-demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- HTTP/1.1 on the wire -----------------------------------------------------------------

/// An answer read whole (the requests ask the server to close the connection after it).
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }

    /// The session token the answer sets.
    fn session(&self) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            if !name.eq_ignore_ascii_case("set-cookie") {
                return None;
            }
            let value = value.trim().strip_prefix("__Host-atelier_session=")?;
            Some(value.split(';').next().unwrap_or_default().to_string())
        })
    }
}

/// Reads an answer to its end and parses it (a chunked body is put together).
async fn read_reply(stream: &mut TcpStream) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no complete answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut joined = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 || rest.len() < size {
                break;
            }
            joined.extend_from_slice(&rest[..size]);
            rest = &rest[(size + 2).min(rest.len())..];
        }
        body = joined;
    }
    Ok(Reply { status, head, body })
}

/// Sends `head` (without its blank line) and `body` on a new connection and reads the
/// answer, within 30 seconds.
async fn exchange(addr: &str, head: String, body: &[u8]) -> std::io::Result<Reply> {
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut stream = TcpStream::connect(addr).await?;
        let mut request = head.into_bytes();
        request.extend_from_slice(
            format!(
                "Host: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body);
        stream.write_all(&request).await?;
        read_reply(&mut stream).await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 30 s"))?
}

fn cookie(session: Option<&str>) -> String {
    session.map_or_else(String::new, |token| {
        format!("Cookie: __Host-atelier_session={token}\r\n")
    })
}

async fn get(addr: &str, path: &str, session: Option<&str>) -> std::io::Result<Reply> {
    // Pages as a browser asks for them, the API as a script does (a server function
    // answers a browser's form with a redirect).
    let accept = if path.starts_with("/api/") {
        "application/json"
    } else {
        "text/html"
    };
    let head = format!(
        "GET {path} HTTP/1.1\r\nAccept: {accept}\r\n{}",
        cookie(session)
    );
    exchange(addr, head, b"").await
}

async fn post_form(
    addr: &str,
    path: &str,
    fields: &[(&str, &str)],
    session: Option<&str>,
) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let head = format!(
        "POST {path} HTTP/1.1\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n{}",
        cookie(session)
    );
    exchange(addr, head, body.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

const BOUNDARY: &str = "atelier-limits-test-5b1e";

/// A chunk's multipart body in two parts: everything up to its data, and what follows.
fn chunk_parts(upload_id: &str, offset: u64) -> (Vec<u8>, Vec<u8>) {
    let before = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload_id\"\r\n\r\n{upload_id}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"offset\"\r\n\r\n{offset}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    (
        before.into_bytes(),
        format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
    )
}

fn chunk_head(addr: &str, session: &str, length: usize) -> Vec<u8> {
    format!(
        "POST /api/upload/chunk HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Accept: application/json\r\n{}\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n",
        cookie(Some(session))
    )
    .into_bytes()
}

/// Sends `data` as the chunk at `offset` in one go.
async fn send_chunk(addr: &str, session: &str, upload_id: &str, offset: u64, data: &[u8]) -> Reply {
    let (before, after) = chunk_parts(upload_id, offset);
    let mut body = before;
    body.extend_from_slice(data);
    body.extend_from_slice(&after);
    let mut request = chunk_head(addr, session, body.len());
    request.extend_from_slice(&body);
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&request).await.expect("send the chunk");
    read_reply(&mut stream).await.expect("the chunk's answer")
}

/// Sends the chunk at `offset` with all of `data` announced, but only its first `fast`
/// bytes at once and then a byte every 100 ms, until the server answers (at most
/// `bound`). The answer, if one came.
async fn trickle_chunk(
    addr: String,
    session: String,
    upload_id: String,
    offset: u64,
    data: Vec<u8>,
    fast: usize,
    bound: Duration,
) -> Option<Reply> {
    let (before, after) = chunk_parts(&upload_id, offset);
    let length = before.len() + data.len() + after.len();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let mut start = chunk_head(&addr, &session, length);
    start.extend_from_slice(&before);
    start.extend_from_slice(&data[..fast]);
    stream.write_all(&start).await.expect("send the start");
    let (mut reader, mut writer) = stream.into_split();
    let reading = tokio::spawn(async move {
        let mut raw = Vec::new();
        let _ = reader.read_to_end(&mut raw).await;
        raw
    });
    let started = Instant::now();
    let mut next = fast;
    while !reading.is_finished() && started.elapsed() < bound && next < data.len() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if writer.write_all(&data[next..=next]).await.is_err() {
            break;
        }
        next += 1;
    }
    let raw = tokio::time::timeout(Duration::from_secs(10), reading)
        .await
        .ok()?
        .ok()?;
    parse_reply(&raw).ok()
}

/// A PNG of noise, about `side`² × 3 bytes (noise does not compress).
fn noise_png(side: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let picture = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode a PNG");
    png
}

/// Registers `name` and returns the session token.
async fn register(addr: &str, name: &str) -> String {
    let reply = post_form(
        addr,
        "/api/register",
        &[("username", name), ("password", PASSWORD)],
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.session().expect("a session cookie")
}

/// Announces `file` and returns its upload id.
async fn start_upload(addr: &str, session: &str, file: &[u8]) -> String {
    let size = file.len().to_string();
    let reply = post_form(
        addr,
        "/api/upload/start",
        &[("filename", "noise.png"), ("size", &size)],
        Some(session),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["upload_id"]
        .as_str()
        .expect("an upload id")
        .to_string()
}

async fn upload_status(addr: &str, session: &str, upload_id: &str) -> serde_json::Value {
    let reply = get(
        addr,
        &format!("/api/upload/status?upload_id={upload_id}"),
        Some(session),
    )
    .await
    .expect("status");
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// Sends the rest of `file` from `received`, then finishes the upload: it is an asset.
async fn finish_upload(addr: &str, session: &str, upload_id: &str, file: &[u8], received: u64) {
    let at = usize::try_from(received).expect("offset");
    let reply = send_chunk(addr, session, upload_id, received, &file[at..]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["complete"], true, "{}", reply.text());
    let done = post_form(
        addr,
        "/api/upload/finish",
        &[("upload_id", upload_id)],
        Some(session),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.json()["asset_id"].is_string(), "{}", done.text());
}

/// The open-file limit of this process (from /proc; `None` where there is none).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// ---- the stories --------------------------------------------------------------------------

/// 2,000 clients send half a request's headers and then a byte now and then. Visitors are
/// served throughout, and every slow client is cut at the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_at_the_header_timeout_while_visitors_are_served() {
    const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
    let dir = tempfile::tempdir().expect("tempdir");
    seed(dir.path(), None, 50);
    // Each slow client takes a descriptor here and one in the server (same limit).
    let wanted = 2_000;
    let slow = match open_file_limit() {
        Some(limit) if limit < 2 * wanted + 400 => {
            let scaled = limit.saturating_sub(400) / 2;
            eprintln!("the open-file limit is {limit}: {scaled} slow clients instead of {wanted}");
            scaled
        }
        _ => wanted,
    };
    assert!(slow >= 100, "too few file descriptors for this test");
    let server = Server::start(
        dir.path(),
        None,
        &["--header-timeout", "2s", "--max-connections", "2500"],
    )
    .await;
    let addr = server.addr.clone();

    // The slow clients: each reports how long after its first bytes it was cut, if it was.
    let opened = Instant::now();
    let mut clients = Vec::with_capacity(slow);
    for _ in 0..slow {
        let mut stream = TcpStream::connect(&addr)
            .await
            .expect("connect a slow client");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: atelier.test\r\nUser-Agent: sl")
            .await
            .expect("half a header");
        let began = Instant::now();
        clients.push(tokio::spawn(async move {
            let mut buf = [0u8; 512];
            for _ in 0..40 {
                tokio::select! {
                    read = stream.read(&mut buf) => {
                        // Closed (or a last word before closing): cut.
                        if matches!(read, Ok(0) | Err(_)) {
                            return Some(began.elapsed());
                        }
                    }
                    () = tokio::time::sleep(Duration::from_millis(250)) => {
                        if stream.write_all(b"o").await.is_err() {
                            return Some(began.elapsed());
                        }
                    }
                }
            }
            None
        }));
    }
    eprintln!("{slow} slow clients connected in {:?}", opened.elapsed());

    // Meanwhile a visitor comes back every 200 ms: the health check and the gallery answer
    // quickly each time.
    let mut slowest = Duration::ZERO;
    let visiting = Instant::now();
    while visiting.elapsed() < HEADER_TIMEOUT + Duration::from_secs(2) {
        for path in ["/healthz", "/"] {
            let asked = Instant::now();
            let reply = get(&addr, path, None).await.expect("a visitor is answered");
            assert_eq!(reply.status, 200, "{path}: {}", reply.text());
            slowest = slowest.max(asked.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("slowest visit during the trickle: {slowest:?}");
    assert!(
        slowest < Duration::from_secs(2),
        "a visitor waited {slowest:?}"
    );

    // Every slow client was cut at the header timeout (give or take scheduling).
    let mut latest = Duration::ZERO;
    for client in clients {
        let cut = client
            .await
            .expect("slow client task")
            .expect("a slow client was never cut");
        assert!(
            cut >= HEADER_TIMEOUT - Duration::from_millis(200),
            "cut early: {cut:?}"
        );
        latest = latest.max(cut);
    }
    eprintln!("the last slow client was cut {latest:?} after its first bytes");
    assert!(
        latest < HEADER_TIMEOUT + Duration::from_secs(3),
        "{latest:?}"
    );
    drop(server);
}

/// Past the connection cap, a new connection waits briefly for a slot and is then closed
/// without an answer; once the slow clients are cut, visitors are served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_and_are_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        dir.path(),
        None,
        &["--header-timeout", "6s", "--max-connections", "4"],
    )
    .await;
    let addr = server.addr.clone();
    // Let the start-up's health checks close their connections.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\n")
            .await
            .expect("write");
        hogs.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let asked = Instant::now();
    let refused = get(&addr, "/healthz", None).await;
    let waited = asked.elapsed();
    assert!(
        refused.is_err(),
        "the fifth connection was served: {}",
        refused.map(|r| r.status).unwrap_or_default()
    );
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );

    // The hogs are cut at the header timeout; then there is room again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(reply) = get(&addr, "/healthz", None).await {
            assert_eq!(reply.status, 200);
            break;
        }
        assert!(Instant::now() < deadline, "no room after the hogs were cut");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(hogs);
}

/// SIGTERM while a slow client uploads: the server exits within its deadline, cutting the
/// upload, which keeps its synced receipt; after a restart it is finished from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_a_slow_upload_which_resumes_after_restart() {
    const DEADLINE: Duration = Duration::from_secs(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), None, &["--shutdown-deadline", "3s"]).await;
    let addr = server.addr.clone();
    let session = register(&addr, "mara").await;
    let file = noise_png(300);
    let upload_id = start_upload(&addr, &session, &file).await;

    let fast = 64 * 1024;
    let trickle = tokio::spawn(trickle_chunk(
        addr.clone(),
        session.clone(),
        upload_id.clone(),
        0,
        file.clone(),
        fast,
        Duration::from_secs(30),
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let took = server.terminate(DEADLINE + Duration::from_secs(4)).await;
    eprintln!("exited {took:?} after SIGTERM");
    assert!(took < DEADLINE + Duration::from_secs(2), "{took:?}");

    // The chunk was cut before the deadline and answered with what is in.
    let reply = trickle
        .await
        .expect("trickle task")
        .expect("the cut chunk was answered");
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("shutting down"), "{}", reply.text());
    let received = reply.json()["received"].as_u64().expect("received");
    assert!(received >= fast as u64, "{received}");
    assert!(received < file.len() as u64, "{received}");

    // After a restart the status shows that receipt, and the upload is finished from it.
    let server = Server::start(dir.path(), None, &[]).await;
    let status = upload_status(&server.addr, &session, &upload_id).await;
    assert_eq!(status["received"].as_u64(), Some(received), "{status}");
    finish_upload(&server.addr, &session, &upload_id, &file, received).await;
    drop(server);
}

/// An upload that trickles below the minimum rate is cut; what arrived is kept and synced,
/// and the client goes on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_slower_than_the_minimum_rate_is_cut_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        dir.path(),
        None,
        &["--upload-min-rate", "65536", "--upload-rate-window", "1s"],
    )
    .await;
    let addr = server.addr.clone();
    let session = register(&addr, "nils").await;
    let file = noise_png(300);
    let upload_id = start_upload(&addr, &session, &file).await;

    let started = Instant::now();
    let fast = 100 * 1024;
    let reply = trickle_chunk(
        addr.clone(),
        session.clone(),
        upload_id.clone(),
        0,
        file.clone(),
        fast,
        Duration::from_secs(20),
    )
    .await
    .expect("the slow chunk was answered");
    let took = started.elapsed();
    eprintln!("cut after {took:?}: {}", reply.text());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("slowed below"), "{}", reply.text());
    let received = reply.json()["received"].as_u64().expect("received");
    assert!(received >= fast as u64, "{received}");

    let status = upload_status(&addr, &session, &upload_id).await;
    assert_eq!(status["received"].as_u64(), Some(received), "{status}");
    finish_upload(&addr, &session, &upload_id, &file, received).await;
    drop(server);
}

/// Assets the searches below scan: enough that excluding every tag takes a while.
const SEARCH_ROWS: u64 = 30_000;

/// `exclude_tags=` every style tag: each demo asset carries one, so nothing matches and
/// every row must be looked at (within the search's tag limit).
async fn exclude_everything(db: &TestDb) -> String {
    let styles = atelier_server::demo::style_tags();
    assert!(
        styles.len() > 5 && styles.len() <= app::search::MAX_SEARCH_TAGS,
        "{styles:?}"
    );
    let found = db.store.suggest_tags("", 1_000, None).await.expect("tags");
    assert!(
        styles.iter().all(|style| found.iter().any(|t| t == style)),
        "{found:?}"
    );
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("exclude_tags", &styles.join(","))
        .finish()
}

/// A search over its budget is a clear 503, never a 500 nor a hung request.
async fn a_search_over_its_budget_is_a_clear_503(db: &TestDb) {
    seed(db.dir.path(), Some(&db.url), SEARCH_ROWS);
    let query = exclude_everything(db).await;
    let server = Server::start(db.dir.path(), Some(&db.url), &["--search-budget", "2ms"]).await;
    for path in [
        format!("/api/assets?{query}"),
        format!("/api/facets?{query}"),
    ] {
        let asked = Instant::now();
        let reply = get(&server.addr, &path, None).await.expect("an answer");
        eprintln!("{} in {:?}", reply.status, asked.elapsed());
        assert_eq!(reply.status, 503, "{path}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["error"], "unavailable", "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("2 ms") && message.contains("narrow it"),
            "{message}"
        );
        assert!(asked.elapsed() < Duration::from_secs(5));
    }
    // The gallery page that runs the same search says so too, and is not a 500.
    let page = get(&server.addr, &format!("/?{query}"), None)
        .await
        .expect("the page");
    assert_ne!(page.status, 500, "{}", page.text());
    drop(server);
}

/// Many long searches at once: `/healthz` (and so sessions, on the same pool) answers
/// quickly all along, because searches have a pool of their own.
async fn health_checks_answer_while_long_searches_run(db: &TestDb) {
    seed(db.dir.path(), Some(&db.url), SEARCH_ROWS);
    let query = Arc::new(exclude_everything(db).await);
    let server = Server::start(db.dir.path(), Some(&db.url), &["--search-budget", "60s"]).await;
    let addr = Arc::new(server.addr.clone());
    let searches: Vec<_> = (0..48)
        .map(|_| {
            let (addr, query) = (addr.clone(), query.clone());
            tokio::spawn(async move { get(&addr, &format!("/api/assets?{query}"), None).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let asked = Instant::now();
        let reply = get(&addr, "/healthz", None).await.expect("healthz");
        assert_eq!(reply.status, 200, "{}", reply.text());
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut done = 0;
    for search in searches {
        let reply = search.await.expect("search task").expect("a search answer");
        assert!(
            reply.status == 200 || reply.status == 503,
            "{}: {}",
            reply.status,
            reply.text()
        );
        done += usize::from(reply.status == 200);
    }
    eprintln!("slowest health check: {slowest:?}; {done} of 48 searches answered 200");
    assert!(done > 0, "no search finished at all");
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
    drop(server);
}

on_both_backends!(
    a_search_over_its_budget_is_a_clear_503,
    health_checks_answer_while_long_searches_run,
);
