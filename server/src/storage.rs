//! Content-addressed file storage under `<data dir>/files`. A file is written to a temp
//! file, fsynced, and renamed into place, so a crash never leaves a half-written file
//! under its final name; the same bytes are stored once.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
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

#[derive(Clone, Debug)]
pub struct FileStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FileStore {
    /// Opens (creating if needed) the storage under `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("files");
        let tmp = data_dir.join("tmp");
        fs::create_dir_all(&root)?;
        fs::create_dir_all(&tmp)?;
        Ok(FileStore { root, tmp })
    }

    /// The folder content-addressed files live under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder for files being written (uploads in progress, files about to be placed).
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
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
        let sha256 = hex::encode(Sha256::digest(bytes));
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
}
