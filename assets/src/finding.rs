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

use crate::config::Deadlines;
use crate::error::AssetError;
use crate::scan::{FindingKind, ScanFinding, Scanner};

/// The actor of the changes an import makes.
pub const SCAN_ACTOR: &str = "scan";

/// The actor of an acceptance that ran out.
pub const EXPIRY_ACTOR: &str = "expiry";

/// Where a finding is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// Found and not yet worked on.
    Open,
    /// Someone is fixing it.
    Fixing,
    /// A later scan of its host no longer found it.
    Fixed,
    /// Accepted as a risk, with a reason, until an expiry.
    RiskAccepted,
}

impl FindingStatus {
    /// `open`, `fixing`, `fixed` or `risk_accepted`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Fixing => "fixing",
            FindingStatus::Fixed => "fixed",
            FindingStatus::RiskAccepted => "risk_accepted",
        }
    }

    /// The status `s` names ([`FindingStatus::as_str`]).
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
    /// When it changed.
    pub at: Timestamp,
    /// A user name, or `scan` for changes an import made.
    pub actor: String,
    /// The status it changed to.
    pub status: FindingStatus,
    /// Why, when said (the acceptance's reason, a user's note, what the scan saw).
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
    /// The tool that reported it (a scan fixes only its own scanner's findings).
    pub scanner: Scanner,
    /// Vulnerability or baseline check.
    pub kind: FindingKind,
    /// What identifies it for its scanner on its host ([`ScanFinding::key`]).
    pub key: String,
    /// The port it was found on, when it is a network finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `tcp` or `udp`, with the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// CVE ids (`CVE-2021-44228`).
    #[serde(default)]
    pub cves: Vec<String>,
    /// CVSS base score, 0–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    /// CVSS vector, when the scanner gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    /// As the latest scan reporting it said.
    pub severity: Severity,
    /// What it is, in a line.
    pub title: String,
    /// The scanner's detail.
    #[serde(default)]
    pub detail: String,
    /// How to fix it, when the scanner says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    /// Where it is in its life.
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

    /// A finding `scanner` reported for the first time at `at`: open, its deadline counted
    /// from `at` by its severity.
    pub fn found(f: ScanFinding, scanner: Scanner, at: Timestamp, deadlines: &Deadlines) -> Self {
        let id = Finding::id_of(&f.host, scanner, &f.key, f.port);
        Finding {
            id,
            host: f.host,
            scanner,
            kind: f.kind,
            key: f.key,
            port: f.port,
            protocol: f.protocol,
            cves: f.cves,
            cvss: f.cvss,
            cvss_vector: f.cvss_vector,
            severity: f.severity,
            deadline: deadlines.due(f.severity, at),
            title: f.title,
            detail: f.detail,
            solution: f.solution,
            status: FindingStatus::Open,
            first_found: at,
            last_found: at,
            fixed_at: None,
            accepted_reason: None,
            accepted_until: None,
            history: vec![FindingEvent {
                at,
                actor: SCAN_ACTOR.to_owned(),
                status: FindingStatus::Open,
                note: Some(format!("found by {}", scanner.as_str())),
            }],
            overdue_alerted: None,
        }
    }

    /// A later scan at `at` reported it again: what the scanner says now replaces what it
    /// said (severity, score, CVEs, text); a fixed finding is open once more, its deadline
    /// counted afresh from `at`. Whether it was reopened.
    pub fn found_again(&mut self, f: ScanFinding, at: Timestamp, deadlines: &Deadlines) -> bool {
        self.kind = f.kind;
        self.protocol = f.protocol;
        self.cves = f.cves;
        self.cvss = f.cvss;
        self.cvss_vector = f.cvss_vector;
        self.severity = f.severity;
        self.title = f.title;
        self.detail = f.detail;
        self.solution = f.solution;
        if at > self.last_found {
            self.last_found = at;
        }
        let reopened = self.status == FindingStatus::Fixed;
        if reopened {
            self.status = FindingStatus::Open;
            self.first_found = at;
            self.last_found = at;
            self.fixed_at = None;
            self.overdue_alerted = None;
            self.history.push(FindingEvent {
                at,
                actor: SCAN_ACTOR.to_owned(),
                status: FindingStatus::Open,
                note: Some(format!("found again by {}", self.scanner.as_str())),
            });
        }
        // The deadline follows the severity the scanner gives now.
        self.deadline = deadlines.due(self.severity, self.first_found);
        reopened
    }

    /// A scan of its host at `at` no longer reports it: fixed.
    pub fn fixed_by_scan(&mut self, at: Timestamp) {
        self.status = FindingStatus::Fixed;
        self.fixed_at = Some(at);
        self.history.push(FindingEvent {
            at,
            actor: SCAN_ACTOR.to_owned(),
            status: FindingStatus::Fixed,
            note: Some(format!("no longer found by {}", self.scanner.as_str())),
        });
    }

    /// A user's change, checked against the lifecycle: open → fixing; open or fixing →
    /// risk accepted (a reason, an expiry after `now`); fixing or risk accepted → open. A
    /// fixed finding is not changed by hand: only a scan that no longer finds it confirms a
    /// fix, and only a scan that finds it again reopens it. An acceptance past its expiry
    /// counts as open: it may be moved to fixing or accepted anew.
    pub fn change(
        &mut self,
        change: StatusChange,
        actor: &str,
        now: Timestamp,
    ) -> Result<(), AssetError> {
        let invalid = |why: String| Err(AssetError::Invalid(why));
        let from = self.status;
        let expired = from == FindingStatus::RiskAccepted && self.is_open(now);
        if from == FindingStatus::Fixed {
            return invalid(format!(
                "finding {} is fixed: only a scan that finds it again reopens it",
                self.id
            ));
        }
        let (status, note) = match change {
            StatusChange::Fixing { note } => {
                if from == FindingStatus::Fixing {
                    return invalid(format!("finding {} is already being fixed", self.id));
                }
                if from == FindingStatus::RiskAccepted && !expired {
                    return invalid(format!(
                        "finding {} is accepted as a risk: reopen it before fixing it",
                        self.id
                    ));
                }
                (FindingStatus::Fixing, note)
            }
            StatusChange::RiskAccepted { reason, until } => {
                let reason = reason.trim();
                if reason.is_empty() {
                    return invalid("accepting a risk needs a reason".to_owned());
                }
                if until <= now {
                    return invalid(format!(
                        "a risk is accepted until a time in the future, not {until}"
                    ));
                }
                self.accepted_reason = Some(reason.to_owned());
                self.accepted_until = Some(until);
                (
                    FindingStatus::RiskAccepted,
                    Some(format!("{reason} (until {until})")),
                )
            }
            StatusChange::Open { note } => {
                if from == FindingStatus::Open {
                    return invalid(format!("finding {} is already open", self.id));
                }
                (FindingStatus::Open, note)
            }
        };
        if status != FindingStatus::RiskAccepted {
            self.accepted_reason = None;
            self.accepted_until = None;
        }
        self.status = status;
        self.history.push(FindingEvent {
            at: now,
            actor: actor.to_owned(),
            status,
            note: note.filter(|n| !n.trim().is_empty()),
        });
        Ok(())
    }

    /// An acceptance past its expiry at `now` becomes open again (so lists and filters by
    /// status agree with [`Finding::is_open`]). Whether it changed.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        if self.status != FindingStatus::RiskAccepted || !self.is_open(now) {
            return false;
        }
        let until = self.accepted_until.unwrap_or(now);
        self.status = FindingStatus::Open;
        self.accepted_reason = None;
        self.accepted_until = None;
        self.history.push(FindingEvent {
            at: until,
            actor: EXPIRY_ACTOR.to_owned(),
            status: FindingStatus::Open,
            note: Some("risk acceptance expired".to_owned()),
        });
        true
    }

    /// Whether the node should raise the overdue alert for it at `now`: overdue, and not
    /// alerted since its deadline passed.
    pub fn needs_overdue_alert(&self, now: Timestamp) -> bool {
        self.is_overdue(now) && self.overdue_alerted.is_none_or(|at| at <= self.deadline)
    }
}

/// A change a user asks for ([`Finding::change`]).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ScanFinding;

    fn t(days: i64) -> Timestamp {
        Timestamp::from_secs(1_800_000_000 + days * 86_400)
    }

    fn found(severity: Severity) -> Finding {
        let f = ScanFinding {
            host: "10.0.0.1".into(),
            kind: FindingKind::Baseline,
            key: "ssh-root-login".into(),
            port: None,
            protocol: None,
            cves: vec![],
            cvss: None,
            cvss_vector: None,
            severity,
            title: "root may log in over ssh".into(),
            detail: String::new(),
            solution: None,
        };
        Finding::found(f, Scanner::Lynis, t(0), &Deadlines::default())
    }

    /// Every (status, change) pair: allowed or refused, as the lifecycle says.
    #[test]
    fn the_lifecycle_table() {
        let changes = |now: i64| {
            [
                StatusChange::Fixing { note: None },
                StatusChange::RiskAccepted {
                    reason: "r".into(),
                    until: t(now + 5),
                },
                StatusChange::Open { note: None },
            ]
        };
        let at = |status: FindingStatus| {
            let mut f = found(Severity::High);
            match status {
                FindingStatus::Open => {}
                FindingStatus::Fixing => f
                    .change(StatusChange::Fixing { note: None }, "u", t(1))
                    .unwrap(),
                FindingStatus::RiskAccepted => f.change(changes(1)[1].clone(), "u", t(1)).unwrap(),
                FindingStatus::Fixed => f.fixed_by_scan(t(1)),
            }
            f
        };
        // (from, [fixing, accept, open]) at day 2, while an acceptance holds.
        let table = [
            (FindingStatus::Open, [true, true, false]),
            (FindingStatus::Fixing, [false, true, true]),
            (FindingStatus::RiskAccepted, [false, true, true]),
            (FindingStatus::Fixed, [false, false, false]),
        ];
        for (from, allowed) in table {
            for (change, ok) in changes(2).into_iter().zip(allowed) {
                let mut f = at(from);
                let before = f.clone();
                let r = f.change(change.clone(), "u", t(2));
                assert_eq!(r.is_ok(), ok, "{from:?} with {change:?}: {r:?}");
                if !ok {
                    assert_eq!(f, before, "a refused change leaves it as it was");
                }
            }
        }
        // An acceptance past its expiry counts as open: fixing is allowed.
        let mut f = at(FindingStatus::RiskAccepted);
        assert!(
            f.change(StatusChange::Fixing { note: None }, "u", t(7))
                .is_ok()
        );
    }

    #[test]
    fn overdue_alerts_once_per_deadline() {
        let mut f = found(Severity::Critical);
        assert!(!f.needs_overdue_alert(t(7)));
        assert!(f.needs_overdue_alert(t(8)));
        f.overdue_alerted = Some(t(8));
        assert!(!f.needs_overdue_alert(t(9)));
        // Fixed, found again: the deadline counts afresh, and it alerts again past it.
        f.fixed_by_scan(t(10));
        let again = found(Severity::Critical);
        let scan_f = ScanFinding {
            host: again.host.clone(),
            kind: again.kind,
            key: again.key.clone(),
            port: None,
            protocol: None,
            cves: vec![],
            cvss: None,
            cvss_vector: None,
            severity: Severity::Critical,
            title: again.title.clone(),
            detail: String::new(),
            solution: None,
        };
        assert!(f.found_again(scan_f, t(20), &Deadlines::default()));
        assert_eq!(f.overdue_alerted, None);
        assert!(!f.needs_overdue_alert(t(26)));
        assert!(f.needs_overdue_alert(t(28)));
    }

    #[test]
    fn status_words_round_trip() {
        for s in [
            FindingStatus::Open,
            FindingStatus::Fixing,
            FindingStatus::Fixed,
            FindingStatus::RiskAccepted,
        ] {
            assert_eq!(FindingStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(FindingStatus::parse("closed"), None);
    }
}
