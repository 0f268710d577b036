//! Statistics at a million assets, on SQLite and on Postgres.
//!
//! 1. The site's totals: the counters (`Store::site_totals`, one row) against the seed's
//!    `site_stats` view (five COUNTs over the tables, `Store::count_site_totals`), both timed
//!    in-process on the same data; then `GET /api/stats` from the real `atelier` binary,
//!    as an admin, under `wrk`. Goal: the counters at least 100x faster than the view.
//!    Also `/api/stats/overview` and the `/stats` page for a year, from one connection.
//! 2. What recording usage costs a page: a gallery search (`/?q=neon`, which records one
//!    `search` event per request) under `wrk`, with `usage_tracking` off and on in turn
//!    (three runs each after a warm-up, medians compared).
//!    Goal: at most 5 % fewer requests a second with it on.
//!
//! Prints the figures and writes them to target/bench/stats.txt. Run with `make bench` (or
//! `cargo bench -p server --bench stats`). `ATELIER_BENCH_ASSETS` changes the count,
//! `ATELIER_BENCH_BACKENDS=sqlite` (or `postgres`) runs one backend; Postgres is used when
//! `ATELIER_TEST_POSTGRES_URL` names a server (default postgres://postgres@127.0.0.1:5432/postgres).

use std::{
    fmt::Write as _,
    fs,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

mod support;
use support::{atelier, free_port, wait_for, Server};

const CONNECTIONS: u32 = 25;
const SECONDS: u32 = 8;
const PASSWORD: &str = "bench lantern quietly hums";

/// Latency percentiles and throughput, plus the count of non-200 answers.
const WRK_SCRIPT: &str = r#"
function init(args) errors = 0 end
function response(status, headers, body) if status ~= 200 then errors = errors + 1 end end
function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f lat50=%.3f lat95=%.3f lat99=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
"#;

fn run(mut cmd: Command, what: &str) {
    let status = cmd.stdout(Stdio::null()).status().expect(what);
    assert!(status.success(), "{what} failed");
}

fn serve(data: &Path, database: Option<&str>) -> (Server, u16) {
    let port = free_port();
    let server = Server(
        atelier(data, database)
            .args([
                "serve",
                "--insecure-cookies",
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("serve"),
    );
    wait_for(port);
    (server, port)
}

/// One request on a fresh connection: the response head and body.
fn request(port: u16, head: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "{head}Host: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    (head.to_string(), body.to_string())
}

/// Logs the bench's admin in; the `Cookie` header that carries its session.
fn log_in(port: u16) -> String {
    let (head, body) = request(
        port,
        "POST /api/login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n",
        &format!("username=benchadmin&password={}", PASSWORD.replace(' ', "+")),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "login: {head}\n{body}");
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .expect("a session cookie")
}

struct Load {
    rps: f64,
    lat: [f64; 3],
}

fn load(port: u16, path: &str, cookie: &str, script: &Path, connections: u32) -> Load {
    // API calls as a script makes them (a browser's Accept would get the form redirect).
    let accept = if path.starts_with("/api/") {
        "application/json"
    } else {
        "text/html"
    };
    let (head, body) = request(
        port,
        &format!("GET {path} HTTP/1.1\r\nCookie: {cookie}\r\nAccept: {accept}\r\n"),
        "",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}\n{body}");
    let out = Command::new("wrk")
        .args([
            &format!("-t{}", connections.min(2)),
            &format!("-c{connections}"),
            &format!("-d{SECONDS}s"),
            "-H",
            &format!("Cookie: {cookie}"),
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
        rps: field("rps"),
        lat: [field("lat50"), field("lat95"), field("lat99")],
    }
}

/// Median milliseconds of `runs` calls.
async fn median_ms<F, Fut>(runs: usize, mut call: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
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
    run(seed, "seed-demo");
    let seed_time = started.elapsed();
    let mut admin = atelier(data, database);
    admin
        .args([
            "user",
            "create",
            "benchadmin",
            "--admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped());
    let mut child = admin.stdout(Stdio::null()).spawn().expect("user create");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    assert!(child.wait().expect("user create").success());
    let _ = writeln!(
        report,
        "\n{name}: {count} assets seeded in {:.0} s",
        seed_time.as_secs_f64()
    );

    // 1. In-process: the counters against the view, on the same data.
    let url = database
        .map(str::to_string)
        .unwrap_or_else(|| atelier_server::config::sqlite_url(&data.join("atelier.db")));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (kept_ms, counted_ms, equal) = runtime.block_on(async {
        let store = atelier_server::store::open(&url).await.expect("open");
        let kept = store.site_totals().await.expect("totals");
        let counted = store.count_site_totals().await.expect("count");
        let kept_ms = median_ms(201, || async {
            store.site_totals().await.expect("totals");
        })
        .await;
        let counted_ms = median_ms(5, || async {
            store.count_site_totals().await.expect("count");
        })
        .await;
        store.close().await;
        (kept_ms, counted_ms, kept == counted)
    });
    assert!(equal, "the counters disagree with the recount");
    let _ = writeln!(
        report,
        "  totals from the counters (one row)      {kept_ms:>10.3} ms median of 201\n  \
         totals from site_stats (COUNTs)         {counted_ms:>10.3} ms median of 5\n  \
         counters / view                         {:>10.0}x faster (goal: 100x)",
        counted_ms / kept_ms
    );

    // 2. Over HTTP, as the admin.
    let (server, port) = serve(data, database);
    let cookie = log_in(port);
    let one = load(port, "/api/stats", &cookie, script, 1);
    let many = load(port, "/api/stats", &cookie, script, CONNECTIONS);
    let _ = writeln!(
        report,
        "  GET /api/stats, 1 conn                  p50/p95/p99 {:.2}/{:.2}/{:.2} ms, {:.0} req/s\n  \
         GET /api/stats, {CONNECTIONS} conn                 p50/p95/p99 {:.2}/{:.2}/{:.2} ms, {:.0} req/s",
        one.lat[0], one.lat[1], one.lat[2], one.rps, many.lat[0], many.lat[1], many.lat[2], many.rps
    );

    // What /stats itself asks for, and the page as the admin's browser gets it.
    for (label, path) in [
        (
            "GET /api/stats/overview?range=1y",
            "/api/stats/overview?range=1y",
        ),
        ("GET /stats?range=1y (HTML)", "/stats?range=1y"),
    ] {
        let one = load(port, path, &cookie, script, 1);
        let _ = writeln!(
            report,
            "  {label:<38}  p50/p95/p99 {:.2}/{:.2}/{:.2} ms, {:.0} req/s (1 conn)",
            one.lat[0], one.lat[1], one.lat[2], one.rps
        );
    }

    // 3. What recording a search costs the gallery page: a warm-up, then on and off in
    // turn, three times each, each with a fresh server; the medians are compared (one run
    // against one other varies by several percent on this machine).
    drop(server);
    let search = "/?q=neon";
    let set_tracking = |on: bool| {
        let mut cmd = atelier(data, database);
        cmd.args([
            "settings",
            "set",
            "usage_tracking",
            if on { "on" } else { "off" },
        ]);
        run(cmd, "settings set");
    };
    let mut rounds: [Vec<Load>; 2] = [Vec::new(), Vec::new()];
    for round in 0..7 {
        let tracking = round % 2 == 1;
        set_tracking(tracking);
        let (server, port) = serve(data, database);
        let measured = load(port, search, "theme=dark", script, CONNECTIONS);
        drop(server);
        if round > 0 {
            rounds[usize::from(tracking)].push(measured);
        }
    }
    set_tracking(true);
    let median = |runs: &mut Vec<Load>| {
        runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        runs.remove(runs.len() / 2)
    };
    let [mut off_runs, mut on_runs] = rounds;
    let (on, off) = (median(&mut on_runs), median(&mut off_runs));
    let _ = writeln!(
        report,
        "  gallery search {search}, tracking on     {:.0} req/s, p50/p95/p99 {:.2}/{:.2}/{:.2} ms (median of 3)\n  \
         gallery search {search}, tracking off    {:.0} req/s, p50/p95/p99 {:.2}/{:.2}/{:.2} ms (median of 3)\n  \
         recording costs                         {:>+9.1} % req/s (goal: at most 5 %)",
        on.rps, on.lat[0], on.lat[1], on.lat[2], off.rps, off.lat[0], off.lat[1], off.lat[2],
        (off.rps - on.rps) / off.rps * 100.0
    );
}

fn psql(admin: &str, sql: &str) -> bool {
    Command::new("psql")
        .arg(admin)
        .args(["-qAtc", sql])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn main() {
    let count: u64 = std::env::var("ATELIER_BENCH_ASSETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    fs::create_dir_all(&out_dir).expect("target/bench");
    let script = out_dir.join("stats-wrk.lua");
    fs::write(&script, WRK_SCRIPT).expect("write the wrk script");
    let mut report = format!(
        "Statistics at {count} assets (atelier seed-demo --no-files); HTTP figures from wrk -t2 -d{SECONDS}s\n"
    );
    let backends = std::env::var("ATELIER_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .to_lowercase();
    if backends.contains("sqlite") {
        let data = out_dir.join("stats-sqlite");
        let _ = fs::remove_dir_all(&data);
        fs::create_dir_all(&data).expect("data dir");
        run_backend("SQLite", &data, None, count, &script, &mut report);
        let _ = fs::remove_dir_all(&data);
    }
    if backends.contains("postgres") {
        let admin = std::env::var("ATELIER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if psql(
            &admin,
            "DROP DATABASE IF EXISTS atelier_stats_bench WITH (FORCE)",
        ) && psql(&admin, "CREATE DATABASE atelier_stats_bench")
        {
            let url = match admin.rsplit_once('/') {
                Some((server, _)) => format!("{server}/atelier_stats_bench"),
                None => panic!("{admin} is not a database URL"),
            };
            let data = out_dir.join("stats-postgres");
            let _ = fs::remove_dir_all(&data);
            fs::create_dir_all(&data).expect("data dir");
            run_backend("Postgres", &data, Some(&url), count, &script, &mut report);
            let _ = fs::remove_dir_all(&data);
            psql(
                &admin,
                "DROP DATABASE IF EXISTS atelier_stats_bench WITH (FORCE)",
            );
        } else {
            let _ = writeln!(report, "\nPostgres: skipped, {admin} does not answer");
        }
    }
    print!("\n{report}");
    fs::write(out_dir.join("stats.txt"), &report).expect("write report");
}
