//! Crashes, a full disk and a crowd, against the real `atelier` binary on 127.0.0.1: a
//! `kill -9` while a chunk arrives, a crash between placing an upload's file and
//! committing its rows and one just after the commit, the data directory on a small file
//! system that fills up, and fifty uploads at once beside gallery readers on SQLite. After
//! each, the database is sound, the upload goes on, and no file lacks its row or row its
//! file.

mod common;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use common::wire::*;
use common::TestDb;
use sha2::{Digest, Sha256};
use sqlx::Connection;

/// Every file under `dir`, relative to it, with `/` between folders.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

/// A connection to the SQLite database at `url`, once `PRAGMA integrity_check` said `ok`.
async fn sound_sqlite(url: &str) -> sqlx::SqliteConnection {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(check, ["ok"], "the SQLite database is damaged");
    conn
}

/// The `files` rows' storage paths and the `uploads` rows' ids, read straight from the
/// database; on SQLite, after `PRAGMA integrity_check` says `ok`.
async fn rows(db: &TestDb) -> (BTreeSet<String>, BTreeSet<String>) {
    let files = "SELECT storage_path FROM files";
    let uploads = "SELECT public_id FROM uploads";
    if db.url.starts_with("sqlite") {
        let mut conn = sound_sqlite(&db.url).await;
        let files = sqlx::query_scalar(files).fetch_all(&mut conn).await;
        let uploads = sqlx::query_scalar(uploads).fetch_all(&mut conn).await;
        (
            files.expect("files").into_iter().collect(),
            uploads.expect("uploads").into_iter().collect(),
        )
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        let files = sqlx::query_scalar(files).fetch_all(&mut conn).await;
        let uploads = sqlx::query_scalar(uploads).fetch_all(&mut conn).await;
        (
            files.expect("files").into_iter().collect(),
            uploads.expect("uploads").into_iter().collect(),
        )
    }
}

fn data(db: &TestDb) -> PathBuf {
    db.dir.path().join("data")
}

/// Every stored file has its row and every row its file; no upload's temp file is left
/// but those of `open` uploads.
async fn consistent(db: &TestDb, open: &[&str]) {
    let (file_rows, upload_rows) = rows(db).await;
    let on_disk = files_under(&data(db).join("files"));
    assert_eq!(on_disk, file_rows, "stored files and their rows differ");
    let expected: BTreeSet<String> = open.iter().map(|id| id.to_string()).collect();
    assert_eq!(upload_rows, expected, "unfinished uploads");
    let temps: BTreeSet<String> = files_under(&data(db).join("tmp"))
        .into_iter()
        .filter(|name| {
            !open
                .iter()
                .any(|id| name.starts_with(&format!("upload-{id}")))
        })
        .collect();
    assert!(temps.is_empty(), "temp files left behind: {temps:?}");
}

/// Waits until every processing job has ended (the stills are stored and have rows).
async fn jobs_done(addr: &str, session: &str, asset_id: &str) {
    for _ in 0..200 {
        let reply = get(addr, &format!("/api/asset?id={asset_id}"), Some(session))
            .await
            .expect("the asset");
        assert_eq!(reply.status, 200, "{}", reply.text());
        let state = reply.json()["job"]["state"].as_str().map(str::to_string);
        if matches!(state.as_deref(), Some("done" | "failed")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the processing job of {asset_id} did not end in 10 s");
}

/// The one asset's id, read from the database (its answer was lost in a crash).
async fn only_asset(db: &TestDb) -> String {
    let sql = "SELECT public_id FROM assets";
    let ids: Vec<String> = if db.url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query_scalar(sql).fetch_all(&mut conn).await
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query_scalar(sql).fetch_all(&mut conn).await
    }
    .expect("assets");
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `kill -9` while a chunk is arriving: after the restart the upload resumes from its last
/// receipt, and what the crash left past it is not trusted.
async fn killed_while_a_chunk_arrives_the_upload_resumes(db: &TestDb) {
    let dir = db.dir.path();
    let mut server = Server::start(dir, Some(&db.url), &[]).await;
    let session = register(&server.addr, "ada").await;
    // Big enough that its first half reaches the disk (the server writes in 1 MiB blocks).
    let file = noise_png(1000);
    let upload_id = start_upload(&server.addr, &session, &file).await;
    // Half the file at once, then a byte now and then; killed mid-way.
    let trickling = tokio::spawn(trickle_chunk(
        server.addr.clone(),
        session.clone(),
        upload_id.clone(),
        0,
        file.clone(),
        file.len() / 2,
        Duration::from_secs(20),
    ));
    let temp = data(db).join("tmp").join(format!("upload-{upload_id}"));
    for _ in 0..100 {
        if std::fs::metadata(&temp).is_ok_and(|m| m.len() > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill_9();
    let _ = trickling.await;
    let left = std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0);
    assert!(left > 0, "the crash came after bytes reached the disk");

    let server = Server::start(dir, Some(&db.url), &[]).await;
    let status = upload_status(&server.addr, &session, &upload_id).await;
    // No receipt was stored for them: they are not trusted, and are sent again.
    let received = status["received"].as_u64().expect("received");
    assert_eq!(received, 0, "{status}");
    let asset = finish_upload(&server.addr, &session, &upload_id, &file, received).await;
    jobs_done(&server.addr, &session, &asset).await;
    let (file_rows, _) = rows(db).await;
    assert!(
        file_rows.iter().any(|p| p.contains(&sha256_hex(&file))),
        "the stored file is the one sent: {file_rows:?}"
    );
    consistent(db, &[]).await;
}

/// Starts the server with a crash point, uploads a small file as `ada` and asks to finish
/// it; the server aborts at the point, and the answer is lost. The session and upload id.
async fn crash_while_finishing(db: &TestDb, point: &str) -> (String, String) {
    let mut server = Server::start_with(
        db.dir.path(),
        Some(&db.url),
        &[],
        &[(atelier_server::crash::CRASH_AT_ENV, point)],
    )
    .await;
    let session = register(&server.addr, "ada").await;
    let file = noise_png(120);
    let upload_id = start_upload(&server.addr, &session, &file).await;
    let sent = send_chunk(&server.addr, &session, &upload_id, 0, &file).await;
    assert_eq!(sent.status, 200, "{}", sent.text());
    let lost = exchange(
        &server.addr,
        format!(
            "POST /api/upload/finish HTTP/1.1\r\nAccept: application/json\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n{}",
            cookie(Some(&session))
        ),
        format!("upload_id={upload_id}").as_bytes(),
    )
    .await;
    assert!(
        lost.is_err(),
        "the finish had no answer: {:?}",
        lost.map(|r| r.status)
    );
    let status = server.ended(Duration::from_secs(10)).await;
    assert!(!status.success(), "it crashed at {point}: {status}");
    (session, upload_id)
}

/// The server crashes after placing an upload's file, before committing the rows that name
/// it. After the restart the upload is still there, finishing it again makes the asset,
/// and nothing is left that no row names.
async fn a_crash_between_placing_and_committing_is_finished_again(db: &TestDb) {
    let (session, upload_id) = crash_while_finishing(db, "finish-placed").await;
    // The crash came where it should: the file is placed and no row names it.
    let (file_rows, upload_rows) = rows(db).await;
    assert!(file_rows.is_empty(), "{file_rows:?}");
    assert!(upload_rows.contains(&upload_id));
    assert_eq!(files_under(&data(db).join("files")).len(), 1);

    let server = Server::start(db.dir.path(), Some(&db.url), &[]).await;
    let status = upload_status(&server.addr, &session, &upload_id).await;
    assert_eq!(status["complete"], true, "{status}");
    let done = post_form(
        &server.addr,
        "/api/upload/finish",
        &[("upload_id", &upload_id)],
        Some(&session),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let asset = done.json()["asset_id"].as_str().expect("id").to_string();
    jobs_done(&server.addr, &session, &asset).await;
    consistent(db, &[]).await;
}

/// The server crashes just after committing a finished upload, before removing its temp
/// file. The asset is there after the restart, and start-up removed the temp file.
async fn a_crash_after_committing_leaves_no_temp_file(db: &TestDb) {
    let (session, upload_id) = crash_while_finishing(db, "finish-committed").await;
    assert!(
        data(db)
            .join("tmp")
            .join(format!("upload-{upload_id}"))
            .exists(),
        "the crash came before the temp file went"
    );

    let server = Server::start(db.dir.path(), Some(&db.url), &[]).await;
    let asset = only_asset(db).await;
    jobs_done(&server.addr, &session, &asset).await;
    let gone = get(
        &server.addr,
        &format!("/api/upload/status?upload_id={upload_id}"),
        Some(&session),
    )
    .await
    .expect("status");
    assert_eq!(gone.status, 404, "{}", gone.text());
    consistent(db, &[]).await;
}

on_both_backends!(
    killed_while_a_chunk_arrives_the_upload_resumes,
    a_crash_between_placing_and_committing_is_finished_again,
    a_crash_after_committing_leaves_no_temp_file,
);

/// A small tmpfs mounted for one test, unmounted when it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts `size` bytes of tmpfs at `at`; `None` where this machine does not allow it
    /// (not root, or no mount permission in this sandbox).
    fn mount(at: &Path, size: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipped: cannot mount a tmpfs here ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Free bytes on the file system holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df's answer")
}

/// The data directory on a 48 MiB file system that fills up: uploads answer 507 and keep
/// nothing of the refused chunk, the database stays sound, and once space is freed the
/// upload goes on and is published. Below the free-space floor, a new upload is refused
/// before a byte is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_uploads_go_on_once_space_is_freed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(_tmpfs) = Tmpfs::mount(&dir.path().join("data"), 48 << 20) else {
        return;
    };
    let settings = |key: &str, value: &str| {
        let out = common::atelier(dir.path(), None, &["settings", "set", key, value])
            .output()
            .expect("atelier settings");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let server = Server::start(dir.path(), None, &[]).await;
    let session = register(&server.addr, "ada").await;
    let file = noise_png(1200); // about 4 MiB
    let upload_id = start_upload(&server.addr, &session, &file).await;

    // Half the chunk arrives with room to spare; then the disk fills (another writer), and
    // the rest does not fit.
    let (before, after) = chunk_parts(&upload_id, 0);
    let half = file.len() / 2;
    let mut stream = tokio::net::TcpStream::connect(&server.addr)
        .await
        .expect("connect");
    let mut start = chunk_head(
        &server.addr,
        &session,
        before.len() + file.len() + after.len(),
    );
    start.extend_from_slice(&before);
    start.extend_from_slice(&file[..half]);
    use tokio::io::AsyncWriteExt;
    stream.write_all(&start).await.expect("send the first half");
    let temp = dir
        .path()
        .join("data/tmp")
        .join(format!("upload-{upload_id}"));
    for _ in 0..100 {
        if std::fs::metadata(&temp).is_ok_and(|m| m.len() >= 1 << 20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let filler = dir.path().join("data").join("filler");
    let room = free_bytes(&dir.path().join("data"));
    std::fs::write(
        &filler,
        vec![7u8; usize::try_from(room.saturating_sub(64 << 10)).expect("size")],
    )
    .expect("fill the disk");
    let mut rest = file[half..].to_vec();
    rest.extend_from_slice(&after);
    let _ = stream.write_all(&rest).await;
    let full = read_reply(&mut stream).await.expect("an answer");
    assert_eq!(full.status, 507, "{}", full.text());
    let body = full.json();
    assert_eq!(body["error"], "insufficient_storage", "{body}");
    assert_eq!(body["received"], 0, "{body}");
    assert_eq!(
        std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0),
        0,
        "nothing of the refused chunk is kept"
    );
    // Other pages still answer, and no answer was a 500.
    let page = get(&server.addr, "/", None).await.expect("the gallery");
    assert_eq!(page.status, 200);

    // Space is freed: the same chunk goes in and the upload is published.
    std::fs::remove_file(&filler).expect("free the disk");
    let asset = finish_upload(&server.addr, &session, &upload_id, &file, 0).await;
    jobs_done(&server.addr, &session, &asset).await;

    // Below the floor, the next upload is refused before it starts.
    settings("min_free_disk", "1TiB");
    let refused = post_form(
        &server.addr,
        "/api/upload/start",
        &[("filename", "more.png"), ("size", "1000")],
        Some(&session),
    )
    .await;
    assert_eq!(refused.status, 507, "{}", refused.text());
    drop(server);
    sound_sqlite(&atelier_server::config::sqlite_url(
        &dir.path().join("data/atelier.db"),
    ))
    .await;
}

/// Fifty people upload at once while others browse the gallery, on SQLite's one writer:
/// every upload is published, no answer is a 500, and nothing says the database is locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_uploads_at_once_beside_gallery_readers_on_sqlite() {
    const UPLOADERS: usize = 50;
    const READS: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        dir.path(),
        None,
        &["--rate-register", "off", "--rate-search", "off"],
    )
    .await;
    let addr = server.addr.clone();
    let mut sessions = Vec::with_capacity(UPLOADERS);
    for i in 0..UPLOADERS {
        sessions.push(register(&addr, &format!("maker{i}")).await);
    }
    let uploads: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, session)| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let file = noise_png(40 + i as u32);
                let id = start_upload(&addr, &session, &file).await;
                finish_upload(&addr, &session, &id, &file, 0).await
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for i in 0..READS / 4 {
                    let path = if (i + r) % 2 == 0 { "/" } else { "/api/assets" };
                    let reply = get(&addr, path, None).await.expect("an answer");
                    statuses.push((reply.status, reply.text()));
                }
                statuses
            })
        })
        .collect();
    let mut published = BTreeSet::new();
    for upload in uploads {
        published.insert(upload.await.expect("an uploader"));
    }
    assert_eq!(published.len(), UPLOADERS);
    for reader in readers {
        for (status, text) in reader.await.expect("a reader") {
            assert!(status < 500, "{status}: {text}");
            assert!(!text.contains("database is locked"), "{text}");
        }
    }
    let listed = get(&addr, "/api/assets", None)
        .await
        .expect("the gallery's API");
    assert_eq!(listed.status, 200, "{}", listed.text());
}
