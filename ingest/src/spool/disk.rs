//! Free space on the spool's filesystem, and the reserve kept on it for the store.
//!
//! The spool and the store share the data directory's filesystem by default. When it fills,
//! the store's writes must win over new intake: events the spool takes but the store cannot
//! write only pile up. So the spool refuses appends while the free space is below the store's
//! reserve ([`DiskWatch::room`]), and says so: `onewall_disk_full_total`, the gauge
//! `onewall_disk_free_bytes{path="data"}`, the node's health condition `disk_full`, and a log
//! line when it starts and when it is over.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use metrics::gauge;
use onewall_model::health::Health;
use tracing::{error, info};

/// The health condition's name.
const CONDITION: &str = "disk_full";

/// Bytes an unprivileged writer may still use on the filesystem holding `path` (or its
/// nearest existing ancestor), and the filesystem's size.
pub fn space(path: &Path) -> std::io::Result<(u64, u64)> {
    let mut at = path;
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    let st = rustix::fs::statvfs(at)?;
    let unit = st.f_frsize.max(1);
    Ok((
        st.f_bavail.saturating_mul(unit),
        st.f_blocks.saturating_mul(unit),
    ))
}

/// The reserve in force on a filesystem of `total` bytes: `configured`, or a tenth of the
/// filesystem if that is smaller (so a small disk is not refused from the start).
pub fn reserve(configured: u64, total: u64) -> u64 {
    configured.min(total / 10)
}

/// Whether an I/O error means the filesystem is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// What a client is told when the disk is full.
pub fn disk_full_message(free: u64, reserve: u64) -> String {
    format!(
        "disk full: {free} bytes free on the data directory's filesystem, the store needs {reserve}"
    )
}

/// Watches the free space of the spool's filesystem.
#[derive(Debug)]
pub(super) struct DiskWatch {
    dir: PathBuf,
    reserve: u64,
    full: AtomicBool,
}

impl DiskWatch {
    pub fn new(dir: PathBuf, reserve: u64) -> DiskWatch {
        DiskWatch {
            dir,
            reserve,
            full: AtomicBool::new(false),
        }
    }

    /// Measure now: `Err((free, reserve))` when the free space is below the reserve. When it
    /// cannot be measured, there is room as far as this check knows (a write that then fails
    /// with "no space" is caught by [`DiskWatch::refused`]).
    pub fn room(&self) -> Result<(), (u64, u64)> {
        let Ok((free, total)) = space(&self.dir) else {
            return Ok(());
        };
        gauge!("onewall_disk_free_bytes", "path" => "data").set(free as f64);
        let reserve = reserve(self.reserve, total);
        if free < reserve {
            self.mark_full(free, reserve);
            Err((free, reserve))
        } else {
            self.mark_ok(free);
            Ok(())
        }
    }

    /// Whether the free space is below twice the reserve: time to give back what the spool
    /// holds for events already stored.
    pub fn short(&self) -> bool {
        match space(&self.dir) {
            Ok((free, total)) => free < reserve(self.reserve, total).saturating_mul(2),
            Err(_) => false,
        }
    }

    /// A write found the disk full: (free, reserve) as measured now.
    pub fn refused(&self) -> (u64, u64) {
        let (free, total) = space(&self.dir).unwrap_or((0, 0));
        let reserve = reserve(self.reserve, total);
        self.mark_full(free, reserve);
        (free, reserve)
    }

    fn mark_full(&self, free: u64, reserve: u64) {
        let message = disk_full_message(free, reserve);
        if !self.full.swap(true, Ordering::Relaxed) {
            error!(dir = %self.dir.display(), free, reserve,
                "disk full: new events are refused until space is freed; the store keeps the rest");
        }
        Health::node().set(CONDITION, message);
    }

    fn mark_ok(&self, free: u64) {
        if self.full.swap(false, Ordering::Relaxed) {
            info!(dir = %self.dir.display(), free, "disk space is back: taking new events again");
            Health::node().clear(CONDITION);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_at_most_a_tenth_of_the_filesystem() {
        assert_eq!(reserve(256 << 20, 100 << 30), 256 << 20);
        assert_eq!(reserve(256 << 20, 1 << 30), (1 << 30) / 10);
        assert_eq!(reserve(0, 1 << 30), 0);
    }

    #[test]
    fn space_is_measured_at_the_nearest_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (free, total) = space(&dir.path().join("not/yet/made")).unwrap();
        assert!(total > 0 && free <= total);
    }
}
