//! Node files are the node's alone: created 0600 in 0700 directories (the databases hold
//! password hashes, token hashes and personal data; the spool holds raw logs).
//!
//! The process creates files under a umask of 077, so every file and directory it makes (the
//! SQLite databases with their WAL and SHM files, spool segments, the outbox, snapshots) is
//! private whoever opens it; and on start the node takes back files an older version left
//! readable to others.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of every directory the node keeps data in.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the node keeps data in.
pub const FILE_MODE: u32 = 0o600;

/// From now on, files and directories this process creates are readable by their owner only.
pub fn private_by_default() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Make `dir` and everything under it private (directories 0700, files 0600), when it exists;
/// returns how many modes were changed. Symbolic links are left alone (and not followed).
pub fn make_private(dir: &Path) -> io::Result<usize> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut changed = 0;
    let mut stack = vec![(dir.to_path_buf(), meta)];
    while let Some((path, meta)) = stack.pop() {
        let want = if meta.is_dir() {
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        if meta.permissions().mode() & 0o7777 != want {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(want))
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            changed += 1;
        }
        if meta.is_dir() {
            let entries = std::fs::read_dir(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            for entry in entries {
                let entry = entry?;
                stack.push((entry.path(), std::fs::symlink_metadata(entry.path())?));
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_left_readable_are_taken_back() -> io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let data = tmp.path().join("data");
        std::fs::create_dir_all(data.join("spool"))?;
        std::fs::write(data.join("auth.sqlite3"), b"x")?;
        std::fs::write(data.join("spool").join("00000001.seg"), b"x")?;
        for p in [&data, &data.join("spool")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))?;
        }
        for p in [
            data.join("auth.sqlite3"),
            data.join("spool").join("00000001.seg"),
        ] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644))?;
        }
        assert_eq!(make_private(&data)?, 4);
        assert_eq!(make_private(&data)?, 0);
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&data)?, 0o700);
        assert_eq!(mode(&data.join("spool").join("00000001.seg"))?, 0o600);
        assert_eq!(make_private(&tmp.path().join("absent"))?, 0);
        Ok(())
    }
}
