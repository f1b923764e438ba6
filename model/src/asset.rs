//! Assets as the rest of the node sees them: what an alert's target is (`Alert::target`,
//! `Incident::targets`), how exposed a system is, and the roll-up a child reports to its
//! parent. The registry, the scanner and baseline results and the lookup are in the
//! `onewall-assets` crate.

use serde::{Deserialize, Serialize};

use crate::{RegionCode, Severity, Timestamp};

/// Where a system can be reached from (暴露面).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Reachable from the internet (互联网).
    Internet,
    /// Reachable only from inside (内网, 政务外网).
    #[default]
    Internal,
}

impl Exposure {
    /// `internet` or `internal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Internet => "internet",
            Exposure::Internal => "internal",
        }
    }

    /// English or Chinese: `internet`, `互联网`, `公网`, `外网`, `internal`, `内网`, `政务外网`,
    /// `intranet` (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Exposure> {
        match s.trim().to_ascii_lowercase().as_str() {
            "internet" | "互联网" | "公网" | "外网" | "public" | "internet-facing" => {
                Some(Exposure::Internet)
            }
            "internal" | "内网" | "政务外网" | "intranet" | "private" => {
                Some(Exposure::Internal)
            }
            _ => None,
        }
    }
}

/// What an alert hit, as the registry knows it: filled by the node when the alert's target
/// (its destination address or host) is registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTarget {
    /// The alert's value that was looked up (an address or a host name).
    pub value: String,
    /// The registered host's name, when the registry or a scan names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The information system's id and name.
    pub system_id: String,
    pub system: String,
    /// The system's region (属地).
    pub region: RegionCode,
    /// The department that uses it (主体责任).
    pub department: String,
    /// The unit that runs it (运维单位).
    #[serde(default)]
    pub ops_unit: String,
    /// 等级保护 level, 1–5, when filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// 关键信息基础设施.
    #[serde(default)]
    pub cii: bool,
    pub exposure: Exposure,
    /// CVEs the alert's tags name (`cve.2021-44228` → `CVE-2021-44228`) that are open
    /// findings on this host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_cves: Vec<String>,
}

/// A host the exposure report names: seen but not registered (unknown), or registered but
/// quiet (silent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExposedHost {
    /// The address (or host name) as seen or registered.
    pub address: String,
    /// Its host name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The system it belongs to (silent hosts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub region: RegionCode,
    /// When it was last seen (none: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// How it was seen: `log` (it sent events) or `flow` (it appeared in flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_by: Option<String>,
}

/// Unknown and silent hosts at one time, for the daily report and the exposure screen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExposureReport {
    pub at: Option<Timestamp>,
    /// Hosts that sent logs or appeared in flows but are not registered.
    pub unknown: Vec<ExposedHost>,
    /// Registered hosts that sent nothing for `silent_hours`.
    pub silent: Vec<ExposedHost>,
    /// The silence threshold used.
    pub silent_hours: u32,
}

/// One region and department's figures in a roll-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupRow {
    pub region: RegionCode,
    /// The department (主体责任单位); empty for hosts no system claims (unknown hosts).
    pub department: String,
    /// Systems by 等保 level: index 0 = no level filed, 1–5 = 一级 … 五级.
    pub systems_by_level: [u64; 6],
    /// Systems flagged 关键信息基础设施.
    pub cii_systems: u64,
    /// Internet-facing systems.
    pub internet_systems: u64,
    /// Registered hosts.
    pub hosts: u64,
    /// Open findings (open, fixing, or risk accepted past its expiry) by severity, in
    /// [`Severity::ALL`] order (informational … critical).
    pub open_findings: [u64; 5],
    /// Open findings past their deadline.
    pub overdue: u64,
    /// Hosts seen but not registered.
    pub unknown_hosts: u64,
    /// Registered hosts that sent nothing for the silence threshold.
    pub silent_hosts: u64,
}

/// What a node reports of its assets to its parent: figures per region and department, not
/// the systems themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetRollup {
    /// The reporting node's region.
    pub region: RegionCode,
    /// When the figures were taken.
    pub at: Timestamp,
    pub rows: Vec<RollupRow>,
}

/// The severity a finding of `cvss` score (0.0–10.0) has, by CVSS v3's bands: none (0) →
/// informational, low < 4, medium < 7, high < 9, critical.
pub fn severity_of_cvss(cvss: f64) -> Severity {
    if cvss <= 0.0 {
        Severity::Informational
    } else if cvss < 4.0 {
        Severity::Low
    } else if cvss < 7.0 {
        Severity::Medium
    } else if cvss < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// The CVE ids a rule's tags name, normalised: `cve.2021-44228` or `cve.2021.44228` →
/// `CVE-2021-44228` (SigmaHQ tags CVEs as `cve.YYYY-NNNN`).
pub fn cves_of_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let Some(rest) = t
            .strip_prefix("cve.")
            .or_else(|| t.strip_prefix("CVE."))
            .or_else(|| t.strip_prefix("CVE-"))
            .or_else(|| t.strip_prefix("cve-"))
        else {
            continue;
        };
        let mut parts = rest.splitn(2, ['-', '.']);
        let (Some(year), Some(num)) = (parts.next(), parts.next()) else {
            continue;
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if year.len() == 4 && digits(year) && num.len() >= 4 && digits(num) {
            let id = format!("CVE-{year}-{num}");
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_tags_are_normalised() {
        let tags: Vec<String> = [
            "attack.initial-access",
            "cve.2021-44228",
            "cve.2021.45046",
            "CVE-2021-44228",
            "cve.21-1",
            "cve.2021-12x4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(cves_of_tags(&tags), ["CVE-2021-44228", "CVE-2021-45046"]);
    }

    #[test]
    fn cvss_bands() {
        assert_eq!(severity_of_cvss(0.0), Severity::Informational);
        assert_eq!(severity_of_cvss(3.9), Severity::Low);
        assert_eq!(severity_of_cvss(4.0), Severity::Medium);
        assert_eq!(severity_of_cvss(8.9), Severity::High);
        assert_eq!(severity_of_cvss(10.0), Severity::Critical);
    }

    #[test]
    fn exposure_words() {
        assert_eq!(Exposure::parse(" 互联网 "), Some(Exposure::Internet));
        assert_eq!(Exposure::parse("Internal"), Some(Exposure::Internal));
        assert_eq!(Exposure::parse("dmz?"), None);
    }
}
