//! Content-addressed file storage under `<data dir>/files`. A file is written to a temp
//! file, fsynced, and renamed into place, so a crash never leaves a half-written file
//! under its final name; the same bytes are stored once. Work that places or removes a
//! stored file does so under that file's lock.

use std::{
    fs::{self, File},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A file now safely on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub sha256: String,
    pub byte_size: u64,
    /// Relative to the storage root, e.g. `ab/cd/abcd….jpg`.
    pub storage_path: String,
}

/// Number of locks that serialise work on the same stored file (by SHA-256 prefix).
const FILE_LOCKS: usize = 64;

/// Clones share the folders and the locks; open the storage once per process.
#[derive(Clone, Debug)]
pub struct FileStore {
    root: PathBuf,
    tmp: PathBuf,
    locks: Arc<[tokio::sync::Mutex<()>]>,
}

impl FileStore {
    /// Opens (creating if needed) the storage under `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("files");
        let tmp = data_dir.join("tmp");
        fs::create_dir_all(&root)?;
        fs::create_dir_all(&tmp)?;
        Ok(FileStore {
            root,
            tmp,
            locks: (0..FILE_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// Waits for the lock on work with the stored file of this SHA-256: placing it and
    /// committing its row, or removing it when no row names it any more.
    pub async fn lock(&self, sha256: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.locks[lock_index(sha256)].lock().await
    }

    /// Waits for the locks on several stored files at once (a finish placing an original
    /// and its poster, a job its stills): each lock once, in one order, so two such
    /// holders never wait on each other.
    pub async fn lock_many(&self, sha256s: &[&str]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut indexes: Vec<usize> = sha256s.iter().map(|sha| lock_index(sha)).collect();
        indexes.sort_unstable();
        indexes.dedup();
        let mut guards = Vec::with_capacity(indexes.len());
        for index in indexes {
            guards.push(self.locks[index].lock().await);
        }
        guards
    }

    /// The folder content-addressed files live under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder for files being written (uploads in progress, files about to be placed).
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Bytes free on the disk the files live on, for an unprivileged writer (blocking,
    /// but one system call).
    pub fn free_space(&self) -> io::Result<u64> {
        let stat = rustix::fs::statvfs(&self.root)?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// Where a stored file lives on disk.
    pub fn path_of(&self, storage_path: &str) -> PathBuf {
        self.root.join(storage_path)
    }

    /// `ab/cd/<sha256>.<ext>`: two directory levels keep directories small at a million files.
    pub fn storage_path(sha256: &str, ext: &str) -> String {
        format!("{}/{}/{sha256}.{ext}", &sha256[..2], &sha256[2..4])
    }

    /// Stores `bytes` (blocking I/O; call from `spawn_blocking` in async code).
    pub fn put(&self, bytes: &[u8], ext: &str) -> io::Result<StoredFile> {
        let sha256 = digest(bytes);
        let storage_path = Self::storage_path(&sha256, ext);
        let target = self.path_of(&storage_path);
        let stored = StoredFile {
            sha256,
            byte_size: bytes.len() as u64,
            storage_path,
        };
        if target.exists() {
            return Ok(stored);
        }
        let mut suffix = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut suffix);
        let temp = self.tmp.join(format!("put-{}", hex::encode(suffix)));
        let result = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            let dir = target.parent().unwrap_or(&self.root);
            fs::create_dir_all(dir)?;
            fs::rename(&temp, &target)?;
            // Make the rename itself durable.
            File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map(|()| stored)
    }

    /// Stored files last modified more than `grace` ago, as (relative path, size)
    /// (blocking).
    pub fn stored_before(&self, grace: Duration) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let now = SystemTime::now();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                let path = entry.path();
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                let old = modified_before(&meta, now, grace);
                if let (true, Ok(rel)) = (old, path.strip_prefix(&self.root)) {
                    out.push((rel.to_string_lossy().replace('\\', "/"), meta.len()));
                }
            }
        }
        out
    }
}

/// The lock that serialises work on the stored file of this SHA-256.
fn lock_index(sha256: &str) -> usize {
    let prefix = u8::from_str_radix(sha256.get(..2).unwrap_or("00"), 16).unwrap_or(0);
    usize::from(prefix) % FILE_LOCKS
}

/// The hex SHA-256 a stored file of these bytes is named by.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether a file was last modified more than `grace` before `now` (a file whose time
/// cannot be read, or lies ahead, is not).
pub fn modified_before(meta: &fs::Metadata, now: SystemTime, grace: Duration) -> bool {
    meta.modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age > grace)
}

/// Links (or, across file systems, copies) a complete temp file to its content-addressed
/// place, durably: the data is synced before the link, the directory after. The temp file
/// stays, so a failed commit can be finished again (blocking).
pub fn place(temp: &Path, target: &Path) -> io::Result<()> {
    File::open(temp)?.sync_all()?;
    let dir = target
        .parent()
        .ok_or_else(|| io::Error::other("a stored file needs a directory"))?;
    fs::create_dir_all(dir)?;
    if let Err(err) = fs::hard_link(temp, target) {
        if err.kind() == io::ErrorKind::AlreadyExists {
            return Ok(());
        }
        // Another file system: copy to a temp name beside the target, then rename.
        let partial = target.with_extension("partial");
        let copied = fs::copy(temp, &partial).and_then(|_| File::open(&partial)?.sync_all());
        if let Err(err) = copied.and_then(|()| fs::rename(&partial, target)) {
            let _ = fs::remove_file(&partial);
            return Err(err);
        }
    }
    File::open(dir)?.sync_all()
}

/// SHA-256 of a file and its length, read in 1 MiB blocks (blocking).
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Removes a file; one already gone is fine, any other failure is logged.
pub async fn remove_quietly(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(%err, path = %path.display(), "cannot remove a file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::open(dir.path()).expect("open");
        let a = store.put(b"hello", "txt").expect("put");
        let b = store.put(b"hello", "txt").expect("put again");
        assert_eq!(a, b);
        assert_eq!(
            a.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(a.storage_path, format!("2c/f2/{}.txt", a.sha256));
        assert_eq!(
            fs::read(store.path_of(&a.storage_path)).expect("read"),
            b"hello"
        );
        assert_eq!(
            fs::read_dir(dir.path().join("tmp")).expect("tmp").count(),
            0
        );
    }

    #[tokio::test]
    async fn several_locks_are_taken_once_each_in_one_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::open(dir.path()).expect("open");
        // Two names on one lock (00… and 40… share it) are one guard, not a deadlock.
        let guards = store.lock_many(&["00aa", "40bb", "01cc"]).await;
        assert_eq!(guards.len(), 2);
        assert!(store.locks[0].try_lock().is_err(), "held");
        assert!(store.locks[1].try_lock().is_err(), "held");
        drop(guards);
        assert!(store.locks[0].try_lock().is_ok(), "let go");
    }

    #[test]
    fn placing_keeps_the_temp_file_and_is_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let temp = dir.path().join("t");
        fs::write(&temp, b"bytes").expect("write");
        let target = dir.path().join("ab/cd/x.png");
        place(&temp, &target).expect("place");
        place(&temp, &target).expect("place again");
        assert_eq!(fs::read(&target).expect("read"), b"bytes");
        assert!(temp.exists());
    }
}
