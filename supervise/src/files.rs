//! Attachments of rectifications, kept by every node that holds the bulletin: one file per
//! content under `supervise/files/`, named by its SHA-256 (so the same evidence sent twice is
//! kept once), written to a temporary name and renamed.

use std::io::Write;
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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Files {
            dir: dir.to_path_buf(),
        })
    }

    /// Keep `bytes`; answers their lower-case hex SHA-256. The bytes go to a temporary file
    /// (owner-only) that is synced and renamed, so a crash leaves either the whole file or
    /// none under the hash's name; content held already is not written again.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.dir.join(&sha);
        if path.is_file() {
            return Ok(sha);
        }
        let tmp = self
            .dir
            .join(format!("{sha}.{}.tmp", onewall_model::id::StepId::now()));
        let written = (|| -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        Ok(sha)
    }

    /// The bytes kept under `sha256`, if any. Only a name of 64 lower-case hex digits is
    /// looked up, so no input ever names a path.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match std::fs::read(self.dir.join(sha256)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether content `sha256` is kept.
    pub fn has(&self, sha256: &str) -> bool {
        is_sha256_hex(sha256) && self.dir.join(sha256).is_file()
    }
}

/// Is `s` 64 lower-case hex digits (the name of a kept file)?
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
