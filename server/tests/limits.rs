//! Time limits everywhere, against the real `atelier` binary on 127.0.0.1: clients that
//! trickle their headers are cut while visitors are still served, connections past the cap
//! wait and are closed, a stop does not wait for a slow upload (which resumes after the
//! restart), an upload that trickles is cut and resumes, and a search over its budget is
//! answered with a clear 503 while `/healthz` keeps answering.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::wire::*;
use common::TestDb;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

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
