//! Upload throughput and memory: the real `atelier` binary serving on loopback, a client
//! sending 8 MiB chunks over one keep-alive connection as the upload page does, for files
//! of 1 MiB, 256 MiB and 1 GiB. Compared with `dd` writing the same amount to the same disk
//! in the same run, and the server's peak resident memory watched for growth.
//! Prints the figures and writes them to target/bench/upload.txt.
//! Run with `make bench` (or `cargo bench -p server --bench upload`).

use std::{
    fmt::Write as _,
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const CHUNK: usize = 8 * 1024 * 1024;
const PASSWORD: &str = "violet tractor sings";
const MIB: u64 = 1024 * 1024;

fn atelier(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_atelier"));
    cmd.arg("--data-dir")
        .arg(data)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run atelier");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One HTTP/1.1 connection that stays open, as a browser's would.
struct Client {
    stream: BufReader<TcpStream>,
    host: String,
    cookie: String,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream: BufReader::new(stream),
            host: format!("127.0.0.1:{port}"),
            cookie: String::new(),
        }
    }

    /// Sends a request with `body` written in pieces from `parts`; answers (status, body).
    fn request(&mut self, path: &str, content_type: &str, parts: &[&[u8]]) -> (u16, String) {
        let length: usize = parts.iter().map(|p| p.len()).sum();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nSec-Fetch-Site: same-origin\r\n\
             Accept: application/json\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n",
            self.host, self.cookie
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).expect("write head");
        for part in parts {
            stream.write_all(part).expect("write body");
        }
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).expect("status");
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().expect("length");
            }
            if name.eq_ignore_ascii_case("set-cookie") && value.contains("atelier_session=") {
                self.cookie = value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        let mut body = vec![0u8; content_length];
        self.stream.read_exact(&mut body).expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn form(&mut self, path: &str, body: &str) -> (u16, String) {
        self.request(
            path,
            "application/x-www-form-urlencoded",
            &[body.as_bytes()],
        )
    }
}

fn json_field<'a>(body: &'a str, key: &str) -> &'a str {
    let start = body
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {body}"))
        + key.len()
        + 3;
    body[start..]
        .trim_start_matches('"')
        .split(['"', ',', '}'])
        .next()
        .unwrap_or_default()
}

/// A playable MP4 padded with a media box to `size` bytes.
fn video_of_size(path: &Path, size: u64) {
    let head = atelier_server::media::samples::mp4(64, 48, 10);
    let pad = size - head.len() as u64;
    let mut file = std::io::BufWriter::new(fs::File::create(path).expect("create"));
    file.write_all(&head).expect("write");
    file.write_all(&(pad as u32).to_be_bytes()).expect("write");
    file.write_all(b"free").expect("write");
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9e37_79b9_u32;
    for byte in block.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *byte = x as u8;
    }
    let mut left = pad - 8;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).expect("write");
        left -= n as u64;
    }
    file.flush().expect("flush");
}

/// (VmRSS, VmHWM) of a process in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Outcome {
    send: Duration,
    finish: Duration,
    peak_growth_kib: u64,
}

fn upload(client: &mut Client, pid: u32, file: &Path, size: u64) -> Outcome {
    // Reset the peak to the present, so the peak after says what this upload added.
    let _ = fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let (rss_before, _) = memory(pid);
    let (status, body) = client.form(
        "/api/upload/start",
        &format!("filename=bench.mp4&size={size}"),
    );
    assert_eq!(status, 200, "{body}");
    let id = json_field(&body, "upload_id").to_string();
    let boundary = "atelier-bench-boundary";
    let mut source = fs::File::open(file).expect("open");
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    let started = Instant::now();
    while offset < size {
        let n = (size - offset).min(CHUNK as u64) as usize;
        source.read_exact(&mut buf[..n]).expect("read");
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"upload_id\"\r\n\r\n{id}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"offset\"\r\n\r\n{offset}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let (status, body) = client.request(
            "/api/upload/chunk",
            &format!("multipart/form-data; boundary={boundary}"),
            &[head.as_bytes(), &buf[..n], tail.as_bytes()],
        );
        assert_eq!(status, 200, "{body}");
        offset += n as u64;
    }
    let send = started.elapsed();
    let started = Instant::now();
    let (status, body) = client.form("/api/upload/finish", &format!("upload_id={id}&title=bench"));
    assert_eq!(status, 200, "{body}");
    let finish = started.elapsed();
    let (_, hwm) = memory(pid);
    Outcome {
        send,
        finish,
        peak_growth_kib: hwm.saturating_sub(rss_before),
    }
}

/// `dd` copying `source` (the very bytes the upload sends; zeros would flatter a disk that
/// skips them) into `dir`, synced at the end.
fn dd(source: &Path, dir: &Path) -> Duration {
    let target = dir.join("dd-test");
    let started = Instant::now();
    let out = Command::new("dd")
        .arg(format!("if={}", source.display()))
        .arg(format!("of={}", target.display()))
        .arg("bs=8M")
        .arg("conv=fsync")
        .stderr(Stdio::null())
        .status()
        .expect("dd");
    let took = started.elapsed();
    assert!(out.success());
    let _ = fs::remove_file(target);
    took
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MIB as f64 / took.as_secs_f64()
}

fn main() {
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let work = out_dir.join("upload-work");
    let _ = fs::remove_dir_all(&work);
    let data = work.join("data");
    fs::create_dir_all(&data).expect("work dir");

    run(atelier(&data).args(["settings", "set", "max_video_size", "2GiB"]));
    run(atelier(&data).args(["settings", "set", "upload_quota", "8GiB"]));
    let mut create = atelier(&data)
        .args(["user", "create", "bench", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user create");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(PASSWORD.as_bytes())
        .expect("password");
    assert!(create.wait().expect("wait").success());

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let server = Server(
        atelier(&data)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .expect("serve"),
    );
    let pid = server.0.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut client = Client::connect(port);
    let (status, body) = client.form(
        "/api/login",
        &format!("username=bench&password={}", PASSWORD.replace(' ', "+")),
    );
    assert_eq!(status, 200, "{body}");

    let mut report = String::new();
    let _ = writeln!(
        report,
        "upload over loopback, 8 MiB chunks, one keep-alive connection (release build)"
    );
    let (rss, _) = memory(pid);
    let _ = writeln!(report, "server resident memory at rest: {} MiB", rss / 1024);
    let line = |report: &mut String, size: u64, outcome: &Outcome| {
        let _ = writeln!(
            report,
            "{:>5} MiB: sent in {:>7.3} s ({:>6.1} MiB/s), finished (SHA-256, link, commit) in {:.3} s, \
             peak RSS growth {:.1} MiB (goal ≤ 32)",
            size / MIB,
            outcome.send.as_secs_f64(),
            mib_per_s(size, outcome.send),
            outcome.finish.as_secs_f64(),
            outcome.peak_growth_kib as f64 / 1024.0
        );
    };
    for size in [MIB, 256 * MIB] {
        let file = work.join(format!("video-{}.mp4", size / MIB));
        video_of_size(&file, size);
        let outcome = upload(&mut client, pid, &file, size);
        line(&mut report, size, &outcome);
        let _ = fs::remove_file(&file);
    }
    // The disk's speed swings from minute to minute (a virtual disk and its host's cache),
    // so dd and the upload take turns with the same 1 GiB file, three times, and each
    // upload is compared with the dd run just before it; the median pair is the figure.
    let gib_file = work.join("video-1024.mp4");
    video_of_size(&gib_file, 1024 * MIB);
    let mut ratios = Vec::new();
    // Each run starts with nothing left to write back (`sync`), so neither pays for the other.
    let settle = || {
        let _ = Command::new("sync").status();
    };
    for _ in 0..3 {
        settle();
        let dd_took = dd(&gib_file, &data);
        settle();
        let outcome = upload(&mut client, pid, &gib_file, 1024 * MIB);
        line(&mut report, 1024 * MIB, &outcome);
        let dd_rate = mib_per_s(1024 * MIB, dd_took);
        let ratio = mib_per_s(1024 * MIB, outcome.send) / dd_rate;
        let _ = writeln!(
            report,
            "        dd of the same file just before (bs=8M, conv=fsync): {:.3} s ({dd_rate:.1} MiB/s); \
             upload at {:.0} %",
            dd_took.as_secs_f64(),
            ratio * 100.0
        );
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    let _ = writeln!(
        report,
        "1 GiB upload vs dd, median of 3 pairs: {:.0} % (goal ≥ 80 %)",
        ratios[1] * 100.0
    );
    drop(server);
    let _ = fs::remove_dir_all(&work);
    print!("{report}");
    fs::create_dir_all(&out_dir).expect("target/bench");
    fs::write(out_dir.join("upload.txt"), &report).expect("write report");
}
