//! Attachments of rectifications, kept by every node that holds the bulletin: one file per
//! content under `supervise/files/`, named by its SHA-256 (so the same evidence sent twice is
//! kept once), written to a temporary name and renamed. (Helper h1.)

use std::path::{Path, PathBuf};

use crate::Result;

/// The folder, in the data directory.
pub const DIR: &str = "supervise/files";

/// The attachment folder.
#[derive(Debug, Clone)]
pub struct Files {
    dir: PathBuf,
}

impl Files {
    /// Open (or create, private) the folder.
    pub fn open(dir: &Path) -> Result<Files> {
        std::fs::create_dir_all(dir)?;
        Ok(Files {
            dir: dir.to_path_buf(),
        })
    }

    /// Keep `bytes`; answers their lower-case hex SHA-256.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let _ = (bytes, &self.dir);
        todo!("h1")
    }

    /// The bytes kept under `sha256`, if any (the name is checked to be 64 hex digits).
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let _ = sha256;
        todo!("h1")
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
