//! Snapshots: every detector's state as JSON, restored into detectors of the same id and
//! definition (a changed detector starts learning again).

use serde::{Deserialize, Serialize};

use super::groups::DetState;
use super::{Anomalies, SnapshotError};

/// The snapshot format's version; a snapshot of another version is refused.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct SnapshotOut<'a> {
    version: u32,
    detectors: &'a [DetState],
}

#[derive(Deserialize)]
struct SnapshotIn {
    version: u32,
    detectors: Vec<DetState>,
}

impl Anomalies {
    /// Every detector's state, to write to disk.
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&SnapshotOut {
            version: VERSION,
            detectors: &self.states,
        })
        .unwrap_or_default()
    }

    /// Restore from [`Anomalies::snapshot`]'s bytes: the state of detectors of the current
    /// set with the same id and definition. Returns the groups restored.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<usize, SnapshotError> {
        let snap: SnapshotIn =
            serde_json::from_slice(bytes).map_err(|e| SnapshotError::Invalid(e.to_string()))?;
        if snap.version != VERSION {
            return Err(SnapshotError::Invalid(format!(
                "version {} (this build reads version {VERSION})",
                snap.version
            )));
        }
        let mut restored = 0;
        for mut saved in snap.detectors {
            let found = self
                .set
                .detectors
                .iter()
                .position(|d| d.doc.id == saved.id && d.doc.digest == saved.digest);
            let Some(i) = found else { continue };
            let params = &self.set.detectors[i].params;
            saved.groups.retain(|_, g| g.state.fits(params));
            restored += saved.groups.len();
            self.states[i] = saved;
        }
        Ok(restored)
    }
}
