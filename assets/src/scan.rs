//! What a scanner reported: the hosts it looked at (with their open ports and services) and
//! its findings. A scan covers its hosts: a finding of the same scanner on a covered host
//! that the scan no longer reports is fixed ([`crate::book::AssetBook::apply_scan`]).

use std::net::IpAddr;

use onewall_model::{Severity, Timestamp};
use serde::{Deserialize, Serialize};

/// Which tool produced the results (findings are compared per scanner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scanner {
    /// Nmap XML (`-oX`): ports, services, versions; no findings.
    Nmap,
    /// Greenbone / OpenVAS XML report.
    Greenbone,
    /// The generic findings CSV (host, port, CVE, CVSS, title).
    Csv,
    /// OpenSCAP XCCDF results or ARF.
    Openscap,
    /// lynis report (`lynis-report.dat`).
    Lynis,
}

impl Scanner {
    pub fn as_str(self) -> &'static str {
        match self {
            Scanner::Nmap => "nmap",
            Scanner::Greenbone => "greenbone",
            Scanner::Csv => "csv",
            Scanner::Openscap => "openscap",
            Scanner::Lynis => "lynis",
        }
    }
}

/// An open port and what answers on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Service {
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Nmap's service name (`ssh`, `http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Product and version as the scanner reported (`OpenSSH 9.2p1 Debian 2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One host as a scan saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScannedHost {
    /// Its address, when the scanner gave one.
    pub address: Option<IpAddr>,
    /// Host names the scanner gave (lower case).
    #[serde(default)]
    pub names: Vec<String>,
    /// Open ports (Nmap); `None` when the scanner does not report ports (the host's known
    /// ports are then kept).
    #[serde(default)]
    pub ports: Option<Vec<Service>>,
}

impl ScannedHost {
    /// The key findings and host records use: the address as text, else the first name.
    pub fn key(&self) -> Option<String> {
        self.address
            .map(|a| a.to_string())
            .or_else(|| self.names.first().cloned())
    }
}

/// Vulnerability or baseline (configuration) check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Vulnerability,
    Baseline,
}

/// One finding as the scanner reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanFinding {
    /// The host's key ([`ScannedHost::key`]).
    pub host: String,
    pub kind: FindingKind,
    /// What identifies it for this scanner on this host: the NVT OID (Greenbone), the CVE
    /// (CSV), the XCCDF rule id, the lynis test id.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// CVE ids (`CVE-2021-44228`).
    #[serde(default)]
    pub cves: Vec<String>,
    /// CVSS base score, 0–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    /// The CVSS vector, when given (`CVSS:3.1/AV:N/...`); the score is computed from it
    /// when the file gives no score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    pub severity: Severity,
    pub title: String,
    #[serde(default)]
    pub detail: String,
    /// How to fix it, when the scanner says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
}

/// One imported scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub scanner: Scanner,
    /// When the scan ran (from the file; the import time when the file does not say).
    pub at: Timestamp,
    /// The hosts it covered (every host a finding names is among them).
    pub hosts: Vec<ScannedHost>,
    pub findings: Vec<ScanFinding>,
}
