//! The API's view of the node's anomaly detection ([`onewall_api::anomaly::AnomalyHub`]): the
//! detectors in use (from the handle the rules swap) and their status as the detect thread
//! last copied it to the board.

use std::sync::Arc;

use onewall_api::anomaly::{AnomalyHub, AnomalyService};
use serde_json::{Value, json};

use super::{DetectorHandle, Settings, SharedBoard, fresh_status};

/// What the hub reads.
#[derive(Debug)]
struct Hub {
    enabled: bool,
    detectors: DetectorHandle,
    board: SharedBoard,
    calendar: onewall_anomaly::Calendar,
}

/// The router extension serving `/api/v1/anomaly/*`.
pub fn service(
    detectors: DetectorHandle,
    board: SharedBoard,
    settings: &Settings,
) -> AnomalyService {
    AnomalyService {
        hub: Arc::new(Hub {
            enabled: settings.enabled,
            detectors,
            board,
            calendar: settings.config.calendar.clone(),
        }),
    }
}

impl AnomalyHub for Hub {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn detectors(&self) -> Vec<Value> {
        let set = self.detectors.current();
        let (board, at) = match self.board.read() {
            Ok(b) => (b.status.clone(), b.updated),
            Err(poisoned) => {
                let b = poisoned.into_inner();
                (b.status.clone(), b.updated)
            }
        };
        set.detectors()
            .iter()
            .map(|d| {
                let status = board
                    .iter()
                    .find(|s| s.id == d.id)
                    .cloned()
                    .unwrap_or_else(|| fresh_status(d));
                let mut v = serde_json::to_value(d).unwrap_or_else(|_| json!({}));
                v["status"] = serde_json::to_value(status).unwrap_or(Value::Null);
                // When the detect thread copied the status (at most once a second).
                v["status_at"] = serde_json::to_value(at).unwrap_or(Value::Null);
                v
            })
            .collect()
    }

    fn calendar(&self) -> Value {
        json!({
            "utc_offset_secs": self.calendar.utc_offset_secs(),
            "known_years": self.calendar.known_years(),
        })
    }
}
