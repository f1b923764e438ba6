//! The SLA policy: an incident must be acknowledged within a time set by its grade (and
//! sooner when it touches critical information infrastructure). The node's SLA check (a job
//! of the binary, not of the API) writes a breach on the incident's timeline and raises its
//! own alert (rule [`SLA_RULE_ID`]), once.
//!
//! Defaults follow the CAC reporting clocks: 30 minutes for grade Ⅰ–Ⅱ, 1 hour for incidents
//! on critical information infrastructure (关键信息基础设施), 4 hours for Ⅲ and 24 hours for Ⅳ.

use std::time::Duration;

use onewall_model::Incident;

use crate::workflow::grade_of;

/// The rule id of SLA-breach alerts.
pub const SLA_RULE_ID: &str = "onewall-sla-breach";

/// The SLA settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Minutes to acknowledge an incident of grade Ⅰ, Ⅱ, Ⅲ, Ⅳ.
    pub grade_minutes: [i64; 4],
    /// Minutes to acknowledge an incident on critical information infrastructure.
    pub cii_minutes: i64,
    /// Hosts, addresses or other entity values that are critical information infrastructure.
    pub cii_assets: Vec<String>,
    /// How often the timers are checked.
    pub check_every: Duration,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            grade_minutes: [30, 30, 240, 1440],
            cii_minutes: 60,
            cii_assets: Vec::new(),
            check_every: Duration::from_secs(30),
        }
    }
}

impl SlaPolicy {
    /// Minutes incident `i` has to be acknowledged.
    pub fn minutes_for(&self, i: &Incident) -> i64 {
        let by_grade = self.grade_minutes[usize::from(grade_of(i) - 1)];
        if i.entities
            .iter()
            .any(|e| self.cii_assets.contains(&e.value))
        {
            by_grade.min(self.cii_minutes)
        } else {
            by_grade
        }
    }
}
