//! A finding kept on a host and its lifecycle:
//!
//! ```text
//! open ──► fixing ──► fixed (a later scan of the host no longer finds it)
//!   │         │
//!   └─────────┴──► risk_accepted (reason, expiry; open again after the expiry)
//! fixed ──(found again)──► open
//! ```
//!
//! Its deadline comes from its severity ([`crate::config::Deadlines`]), counted from when it
//! was first found; an open or fixing finding past its deadline is overdue.

use onewall_model::{Severity, Timestamp};
use serde::{Deserialize, Serialize};

use crate::scan::{FindingKind, Scanner};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    Fixing,
    Fixed,
    RiskAccepted,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Fixing => "fixing",
            FindingStatus::Fixed => "fixed",
            FindingStatus::RiskAccepted => "risk_accepted",
        }
    }

    pub fn parse(s: &str) -> Option<FindingStatus> {
        [
            FindingStatus::Open,
            FindingStatus::Fixing,
            FindingStatus::Fixed,
            FindingStatus::RiskAccepted,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One change in a finding's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingEvent {
    pub at: Timestamp,
    /// A user name, or `scan` for changes an import made.
    pub actor: String,
    pub status: FindingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A finding on a host, as the node keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable: derived from host, scanner, key and port ([`Finding::id_of`]).
    pub id: String,
    /// The host's key (its address as text, else its name).
    pub host: String,
    pub scanner: Scanner,
    pub kind: FindingKind,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default)]
    pub cves: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    pub severity: Severity,
    pub title: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    pub status: FindingStatus,
    /// When a scan first reported it (again, after a fix: the deadline counts from then).
    pub first_found: Timestamp,
    /// The latest scan that reported it.
    pub last_found: Timestamp,
    /// When it must be fixed by.
    pub deadline: Timestamp,
    /// When a scan confirmed it fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_at: Option<Timestamp>,
    /// Risk accepted: why, and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_until: Option<Timestamp>,
    /// Every change, oldest first.
    #[serde(default)]
    pub history: Vec<FindingEvent>,
    /// When the node raised the overdue alert for it (once per deadline passed; cleared
    /// when it is found again after a fix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_alerted: Option<Timestamp>,
}

impl Finding {
    /// The id of the finding `key` of `scanner` on `host` at `port`.
    pub fn id_of(host: &str, scanner: Scanner, key: &str, port: Option<u16>) -> String {
        let port = port.map(|p| p.to_string()).unwrap_or_default();
        format!(
            "fnd-{:016x}",
            onewall_model::hash::fnv1a(
                format!("{host}\u{1f}{}\u{1f}{key}\u{1f}{port}", scanner.as_str()).as_bytes()
            )
        )
    }

    /// Whether it counts as open at `now`: open, fixing, or risk accepted past its expiry.
    pub fn is_open(&self, now: Timestamp) -> bool {
        match self.status {
            FindingStatus::Open | FindingStatus::Fixing => true,
            FindingStatus::Fixed => false,
            FindingStatus::RiskAccepted => self.accepted_until.is_some_and(|u| now > u),
        }
    }

    /// Whether it is open and past its deadline at `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.is_open(now) && now > self.deadline
    }
}

/// A change a user asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StatusChange {
    /// Work on it has started.
    Fixing {
        #[serde(default)]
        note: Option<String>,
    },
    /// Accepted as a risk: a reason is required; the expiry is required too (a risk is never
    /// accepted for good).
    RiskAccepted { reason: String, until: Timestamp },
    /// Back to open (undo fixing or an acceptance).
    Open {
        #[serde(default)]
        note: Option<String>,
    },
}
