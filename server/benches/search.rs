//! Gallery and search at a million assets, on SQLite and on Postgres: the real `atelier`
//! binary seeded with `seed-demo --count 1000000 --no-files`, serving on loopback, loaded by
//! `wrk` at 25 connections for each request shape.
//!
//! For each shape it reports the server's own time (the `Server-Timing` header every
//! response carries) and the latency wrk saw, p50/p95/p99, and the throughput; then the
//! server time again with one connection. wrk and the server share this machine's two
//! cores, so at 25 connections both times include queueing behind the other requests; the
//! single connection shows what one request costs.
//!
//! Prints the figures and writes them to target/bench/search.txt. Run with `make bench` (or
//! `cargo bench -p server --bench search`). `ATELIER_BENCH_ASSETS` changes the count;
//! Postgres is used when `ATELIER_TEST_POSTGRES_URL` names a server (default
//! postgres://postgres@127.0.0.1:5432/postgres) that answers.
//!
//! While working on one part: `ATELIER_BENCH_BACKENDS=sqlite` (or `postgres`) runs one
//! backend, `ATELIER_BENCH_SHAPES=facets,gallery` only the request shapes whose label
//! contains one of those, and `ATELIER_BENCH_KEEP=1` keeps the seeded data for the next run (seeding
//! only when it is empty).

use std::{
    fmt::Write as _,
    fs,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

mod support;
use support::{atelier, free_port, wait_for, Server};

const CONNECTIONS: u32 = 25;
const SECONDS: u32 = 8;
/// The same request from one connection: what it costs without queueing.
const SOLO_SECONDS: u32 = 3;

/// Prints p50/p95/p99 of wrk's latency and of the `Server-Timing` durations, merged over
/// wrk's threads.
const WRK_SCRIPT: &str = r#"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) hist = {}; errors = 0 end
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
  local timing = headers["server-timing"] or headers["Server-Timing"]
  if timing then
    local ms = tonumber(string.match(timing, "dur=([%d%.]+)"))
    if ms then
      local bucket = math.floor(ms * 20)
      hist[bucket] = (hist[bucket] or 0) + 1
    end
  end
end
function done(summary, latency, requests)
  local merged, total, errs = {}, 0, 0
  for _, t in ipairs(threads) do
    for b, n in pairs(t:get("hist")) do
      merged[b] = (merged[b] or 0) + n
      total = total + n
    end
    errs = errs + t:get("errors")
  end
  local keys = {}
  for b in pairs(merged) do table.insert(keys, b) end
  table.sort(keys)
  local function pct(p)
    local want, seen = total * p / 100, 0
    for _, b in ipairs(keys) do
      seen = seen + merged[b]
      if seen >= want then return (b + 1) / 20 end
    end
    return 0
  end
  io.write(string.format(
    "RESULT rps=%.0f lat50=%.2f lat95=%.2f lat99=%.2f srv50=%.2f srv95=%.2f srv99=%.2f n=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    pct(50), pct(95), pct(99), total, errs + summary.errors.status))
end
"#;

/// `GET path` on a fresh connection; the body.
fn get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}\n{body}");
    body.to_string()
}

fn json(port: u16, path: &str) -> serde_json::Value {
    serde_json::from_str(&get(port, path)).expect("JSON")
}

/// One request shape under load: (server p50, p95, p99, wrk p50, p95, p99, rps).
struct Load {
    srv: [f64; 3],
    lat: [f64; 3],
    rps: f64,
    requests: u64,
}

fn load(port: u16, path: &str, script: &Path, connections: u32, seconds: u32) -> Load {
    let threads = connections.min(2);
    let out = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("wrk (scripts/setup.sh --bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("wrk said: {text}"));
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    assert_eq!(field("errors"), 0.0, "{path}: errors under load: {line}");
    Load {
        srv: [field("srv50"), field("srv95"), field("srv99")],
        lat: [field("lat50"), field("lat95"), field("lat99")],
        rps: field("rps"),
        requests: field("n") as u64,
    }
}

fn encode(q: &str) -> String {
    app::model::percent_encode(q, false)
}

/// The newest-first cursor whose page is the very last one (the oldest assets).
fn deepest_cursor(port: u16) -> String {
    let oldest = json(port, "/api/assets?sort=oldest&limit=25");
    let at = oldest["items"][24]["created_at"]
        .as_str()
        .expect("25 assets");
    let key = chrono::DateTime::parse_from_rfc3339(at)
        .expect("a time")
        .timestamp_micros();
    URL_SAFE_NO_PAD.encode(format!("n:{key}"))
}

/// A cursor near the end of everything sorted by `sort` (`liked` or `viewed`): no likes or
/// views and older than all but the oldest 24, where the scan is longest.
fn deepest_count_cursor(port: u16, sort: &str) -> String {
    let oldest = json(port, "/api/assets?sort=oldest&limit=25");
    let key = chrono::DateTime::parse_from_rfc3339(
        oldest["items"][24]["created_at"]
            .as_str()
            .expect("25 assets"),
    )
    .expect("a time")
    .timestamp_micros();
    let prefix = if sort == "liked" { "l" } else { "v" };
    URL_SAFE_NO_PAD.encode(format!("{prefix}:0:{key}"))
}

fn run_backend(
    name: &str,
    data: &Path,
    database: Option<&str>,
    count: u64,
    script: &Path,
    report: &mut String,
) {
    let started = Instant::now();
    let mut seed = atelier(data, database);
    seed.args(["seed-demo", "--count", &count.to_string(), "--no-files"]);
    if keep() {
        seed.arg("--if-empty");
    }
    let seeded = seed.stdout(Stdio::null()).status().expect("seed-demo");
    assert!(seeded.success(), "seed-demo failed");
    let seed_time = started.elapsed();

    let port = free_port();
    let _server = Server(
        atelier(data, database)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .expect("serve"),
    );
    wait_for(port);

    let first = json(port, "/api/assets?limit=1");
    let owner = first["items"][0]["owner"]
        .as_str()
        .expect("owner")
        .to_string();
    let deepest = deepest_cursor(port);
    let shapes: Vec<(&str, String)> = vec![
        ("gallery page / (HTML)", "/".into()),
        ("first page /api/assets", "/api/assets".into()),
        (
            "deepest page (cursor)",
            format!("/api/assets?cursor={deepest}"),
        ),
        ("text, common word: neon", "/api/assets?q=neon".into()),
        (
            "text, rarer word: violinist",
            "/api/assets?q=violinist".into(),
        ),
        (
            "text, phrase: \"golden hour\"",
            format!("/api/assets?q={}", encode("\"golden hour\"")),
        ),
        (
            "tag + type: portrait, video",
            "/api/assets?tags=portrait&type=video".into(),
        ),
        (
            "tag:portrait type:video after:2026-03-01 cyberpunk",
            format!(
                "/api/assets?q={}",
                encode("tag:portrait type:video after:2026-03-01 cyberpunk")
            ),
        ),
        (
            "tag:cyberpunk type:video (rarer together)",
            format!("/api/assets?q={}", encode("tag:cyberpunk type:video")),
        ),
        (
            "relevance: neon city",
            format!("/api/assets?sort=relevant&q={}", encode("neon city")),
        ),
        ("one owner's assets", format!("/api/assets?owner={owner}")),
        ("most liked, all time", "/api/assets?sort=liked".into()),
        (
            "most liked, deepest page (cursor)",
            format!(
                "/api/assets?sort=liked&cursor={}",
                deepest_count_cursor(port, "liked")
            ),
        ),
        // The demo's year ends on 2026-11-01: its last week and month stand for "this
        // week" and "this month" (a period is the same key range).
        (
            "most liked, last week of the data",
            "/api/assets?sort=liked&from=2026-10-25".into(),
        ),
        (
            "most viewed, last month of the data",
            "/api/assets?sort=viewed&from=2026-10-02".into(),
        ),
        ("most viewed, all time", "/api/assets?sort=viewed".into()),
        (
            "most liked, tag portrait",
            "/api/assets?sort=liked&tags=portrait".into(),
        ),
        (
            "one owner's, most liked",
            format!("/api/assets?owner={owner}&sort=liked"),
        ),
        (
            "what one person likes",
            format!("/api/assets?liked={owner}"),
        ),
        (
            "what one person likes, most viewed",
            format!("/api/assets?liked={owner}&sort=viewed"),
        ),
        // The demo features one asset in 2,000.
        ("featured", "/api/assets?sort=featured".into()),
        (
            "featured, tag portrait",
            "/api/assets?sort=featured&tags=portrait".into(),
        ),
        ("the featured shelf", "/api/featured".into()),
        ("profile summary", format!("/api/profile?username={owner}")),
        ("facets: everything", "/api/facets".into()),
        ("facets: text neon", "/api/facets?q=neon".into()),
        (
            "facets: tag:portrait type:video after:… cyberpunk",
            format!(
                "/api/facets?q={}",
                encode("tag:portrait type:video after:2026-03-01 cyberpunk")
            ),
        ),
    ];
    let only = std::env::var("ATELIER_BENCH_SHAPES").unwrap_or_default();
    let shapes: Vec<(&str, String)> = shapes
        .into_iter()
        .filter(|(label, _)| only.split(',').any(|part| label.contains(part.trim())))
        .collect();

    let _ = writeln!(
        report,
        "\n{name}: {count} assets seeded in {:.0} s",
        seed_time.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "{:<48} {:>22} {:>22} {:>7} {:>22}",
        "request", "25 conn: server ms", "25 conn: wrk ms", "req/s", "1 conn: server ms"
    );
    let _ = writeln!(
        report,
        "{:<48} {:>22} {:>22} {:>7} {:>22}",
        "", "p50/p95/p99", "p50/p95/p99", "", "p50/p95/p99"
    );
    let mut first_page = None;
    for (label, path) in &shapes {
        // Sanity: the shape answers and finds something.
        let body = get(port, path);
        assert!(body.len() > 100, "{label}: {body}");
        let l = load(port, path, script, CONNECTIONS, SECONDS);
        let one = load(port, path, script, 1, SOLO_SECONDS);
        let _ = writeln!(
            report,
            "{label:<48} {:>22} {:>22} {:>7.0} {:>22}",
            format!("{:.2}/{:.2}/{:.2}", l.srv[0], l.srv[1], l.srv[2]),
            format!("{:.1}/{:.1}/{:.1}", l.lat[0], l.lat[1], l.lat[2]),
            l.rps,
            format!("{:.2}/{:.2}/{:.2}", one.srv[0], one.srv[1], one.srv[2]),
        );
        assert!(l.requests > 0);
        if path == "/api/assets" {
            first_page = Some(l.srv[0]);
        } else if path.contains("cursor=") {
            if let Some(first) = first_page {
                let _ = writeln!(
                    report,
                    "{:<48} {:>22}",
                    "  deepest / first page (server p50)",
                    format!("{:.2}x", l.srv[0] / first)
                );
            }
        }
    }
}

/// `sql` run by psql on the admin database: what it printed, or `None` when it failed.
fn psql(admin: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .arg(admin)
        .args(["-qAtc", sql])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The Postgres half, in a database `atelier_bench` on the server that
/// `ATELIER_TEST_POSTGRES_URL` names (skipped when it does not answer).
fn run_postgres(out_dir: &Path, count: u64, script: &Path, report: &mut String) {
    let admin = std::env::var("ATELIER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let kept = keep()
        && psql(
            &admin,
            "SELECT 1 FROM pg_database WHERE datname = 'atelier_bench'",
        )
        .is_some_and(|found| found == "1");
    let ready = kept
        || ((keep()
            || psql(&admin, "DROP DATABASE IF EXISTS atelier_bench WITH (FORCE)").is_some())
            && psql(&admin, "CREATE DATABASE atelier_bench").is_some());
    if !ready {
        let _ = writeln!(report, "\nPostgres: skipped, {admin} does not answer");
        return;
    }
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/atelier_bench"),
        None => panic!("{admin} is not a database URL"),
    };
    let data = out_dir.join("search-postgres");
    let _ = fs::remove_dir_all(&data);
    fs::create_dir_all(&data).expect("data dir");
    run_backend("Postgres", &data, Some(&url), count, script, report);
    if !keep() {
        let _ = fs::remove_dir_all(&data);
        psql(&admin, "DROP DATABASE IF EXISTS atelier_bench WITH (FORCE)");
    }
}

/// Keep the seeded data between runs (`ATELIER_BENCH_KEEP=1`).
fn keep() -> bool {
    std::env::var("ATELIER_BENCH_KEEP").is_ok_and(|v| v == "1")
}

fn main() {
    let count: u64 = std::env::var("ATELIER_BENCH_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    fs::create_dir_all(&out_dir).expect("target/bench");
    let script = out_dir.join("search-wrk.lua");
    fs::write(&script, WRK_SCRIPT).expect("write the wrk script");
    let mut report = format!(
        "Search and gallery at {count} assets (atelier seed-demo --no-files), wrk -t2 -c{CONNECTIONS} -d{SECONDS}s\n\
         server ms: the Server-Timing of each response; wrk ms: what the client saw (includes queueing);\n\
         1 conn: the same request from a single connection (wrk -c1 -d{SOLO_SECONDS}s)\n"
    );

    let backends = std::env::var("ATELIER_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .to_lowercase();
    if backends.contains("sqlite") {
        let data = out_dir.join("search-sqlite");
        if !keep() {
            let _ = fs::remove_dir_all(&data);
        }
        fs::create_dir_all(&data).expect("data dir");
        run_backend("SQLite", &data, None, count, &script, &mut report);
        if !keep() {
            let _ = fs::remove_dir_all(&data);
        }
    }
    if backends.contains("postgres") {
        run_postgres(&out_dir, count, &script, &mut report);
    }
    print!("\n{report}");
    fs::write(out_dir.join("search.txt"), &report).expect("write report");
}
