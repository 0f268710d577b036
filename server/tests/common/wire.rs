//! The real `atelier` binary on 127.0.0.1 and HTTP/1.1 spoken by hand on the wire, for
//! the tests that need a process of its own (time limits, crashes, signals) or bytes a
//! client library would not send (trickled headers, a chunk cut mid-way).

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{atelier, PASSWORD};

// ---- the binary ---------------------------------------------------------------------

/// A running `atelier serve`, killed if a test ends without stopping it.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Starts `atelier serve` in `dir` with `args` and waits (at most a minute) until
    /// `/healthz` answers.
    pub async fn start(dir: &Path, database_url: Option<&str>, args: &[&str]) -> Server {
        Server::start_with(dir, database_url, args, &[]).await
    }

    /// As [`Server::start`], with `env` set for the process (a crash point, say). The
    /// free-space floor is set to 1 MiB first: a test machine may have less free disk than
    /// the default keeps (512 MiB).
    pub async fn start_with(
        dir: &Path,
        database_url: Option<&str>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let floor = atelier(
            dir,
            database_url,
            &["settings", "set", "min_free_disk", "1MiB"],
        )
        .output()
        .expect("atelier settings set");
        assert!(
            floor.status.success(),
            "{}",
            String::from_utf8_lossy(&floor.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--addr", &addr];
        all.extend_from_slice(args);
        let child = atelier(dir, database_url, &all)
            .envs(env.iter().copied())
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
    pub async fn terminate(&mut self, limit: Duration) -> Duration {
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

impl Server {
    /// Kills the process with SIGKILL, as a power cut or the OOM killer would, and reaps it.
    pub fn kill_9(&mut self) {
        let killed = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let _ = self.child.wait();
    }

    /// Waits (at most `limit`) for the process to end by itself (a crash point); its status.
    pub async fn ended(&mut self, limit: Duration) -> std::process::ExitStatus {
        let since = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                since.elapsed() < limit,
                "the server was still running after {limit:?}"
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

pub fn seed(dir: &Path, database_url: Option<&str>, count: u64) {
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
pub struct Reply {
    pub status: u16,
    pub head: String,
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

    /// The session token the answer sets.
    pub fn session(&self) -> Option<String> {
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
pub async fn read_reply(stream: &mut TcpStream) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_reply(&raw)
}

pub fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
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
pub async fn exchange(addr: &str, head: String, body: &[u8]) -> std::io::Result<Reply> {
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

pub fn cookie(session: Option<&str>) -> String {
    session.map_or_else(String::new, |token| {
        format!("Cookie: __Host-atelier_session={token}\r\n")
    })
}

pub async fn get(addr: &str, path: &str, session: Option<&str>) -> std::io::Result<Reply> {
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

pub async fn post_form(
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

pub const BOUNDARY: &str = "atelier-wire-test-5b1e";

/// A chunk's multipart body in two parts: everything up to its data, and what follows.
pub fn chunk_parts(upload_id: &str, offset: u64) -> (Vec<u8>, Vec<u8>) {
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

pub fn chunk_head(addr: &str, session: &str, length: usize) -> Vec<u8> {
    format!(
        "POST /api/upload/chunk HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Accept: application/json\r\n{}\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n",
        cookie(Some(session))
    )
    .into_bytes()
}

/// Sends `data` as the chunk at `offset` in one go.
pub async fn send_chunk(
    addr: &str,
    session: &str,
    upload_id: &str,
    offset: u64,
    data: &[u8],
) -> Reply {
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
pub async fn trickle_chunk(
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
pub fn noise_png(side: u32) -> Vec<u8> {
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
pub async fn register(addr: &str, name: &str) -> String {
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
pub async fn start_upload(addr: &str, session: &str, file: &[u8]) -> String {
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

pub async fn upload_status(addr: &str, session: &str, upload_id: &str) -> serde_json::Value {
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
pub async fn finish_upload(
    addr: &str,
    session: &str,
    upload_id: &str,
    file: &[u8],
    received: u64,
) -> String {
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
    done.json()["asset_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no asset id: {}", done.text()))
        .to_string()
}
