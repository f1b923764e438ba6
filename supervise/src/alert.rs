//! The alerts supervision raises itself (a bulletin deadline missed, a 重保 slot report
//! missing, nobody on duty): no events behind them, an id derived from what they are about so
//! every level that raises one raises the same, stored and published by the node like any
//! alert.

use onewall_model::{Alert, AlertId, RegionCode, Timestamp};

use crate::{Result, SuperviseError};

/// What a supervision alert says.
#[derive(Debug)]
pub(crate) struct Raised<'a> {
    pub id: AlertId,
    pub rule_id: &'a str,
    pub title: String,
    /// `critical`, `high`, `medium`, `low`.
    pub severity: &'a str,
    pub tags: &'a [&'a str],
    pub region: RegionCode,
    /// Field and value pairs shown as what matched.
    pub matched: Vec<(&'a str, String)>,
}

impl Raised<'_> {
    /// The alert, raised at `now` (built through serde, so fields other crates add to `Alert`
    /// with defaults need no change here).
    pub fn at(self, now: Timestamp) -> Result<Alert> {
        let matched: Vec<_> = self
            .matched
            .iter()
            .map(|(field, value)| serde_json::json!({"field": field, "value": value}))
            .collect();
        let v = serde_json::json!({
            "id": self.id,
            "time": now,
            "created": now,
            "rule": {
                "id": self.rule_id,
                "title": self.title,
                "level": self.severity,
                "tags": self.tags,
            },
            "severity": self.severity,
            "event_ids": [],
            "entities": [],
            "region": self.region,
            "matched": matched,
        });
        serde_json::from_value(v).map_err(|e| {
            SuperviseError::Internal(format!("building the {} alert: {e}", self.rule_id))
        })
    }
}
