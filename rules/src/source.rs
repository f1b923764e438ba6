//! Where rule text comes from: the built-in pack (embedded at build time) and rule
//! directories on disk.

use std::fs;
use std::path::Path;

use crate::error::{LoadReport, RuleError, RulesError};

/// The text of one rule file and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// Where the text came from, used in messages and [`crate::RuleInfo::path`] (a file path,
    /// or `builtin/<file>` for the built-in pack).
    pub path: String,
    /// The YAML text: one rule, or several separated by `---`.
    pub text: String,
}

impl RuleSource {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        RuleSource {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// The built-in pack: `(file name, YAML text)`, embedded from `rules/packs/builtin/`.
pub(crate) const BUILTIN: &[(&str, &str)] = &[
    (
        "ssh_auth_failure.yml",
        include_str!("../packs/builtin/ssh_auth_failure.yml"),
    ),
    (
        "ssh_root_login_external.yml",
        include_str!("../packs/builtin/ssh_root_login_external.yml"),
    ),
    (
        "sudo_to_root.yml",
        include_str!("../packs/builtin/sudo_to_root.yml"),
    ),
    (
        "local_account_created.yml",
        include_str!("../packs/builtin/local_account_created.yml"),
    ),
    (
        "crontab_modified.yml",
        include_str!("../packs/builtin/crontab_modified.yml"),
    ),
    (
        "flow_unusual_destination_port.yml",
        include_str!("../packs/builtin/flow_unusual_destination_port.yml"),
    ),
    // Flow evidence rules (quiet: `generate: false` in the correlations counting them) and
    // the correlations: port scan, host sweep, volumetric spike.
    (
        "flow_probe.yml",
        include_str!("../packs/builtin/flow_probe.yml"),
    ),
    (
        "flow_icmp.yml",
        include_str!("../packs/builtin/flow_icmp.yml"),
    ),
    (
        "flow_large_transfer.yml",
        include_str!("../packs/builtin/flow_large_transfer.yml"),
    ),
    (
        "flow_port_scan.yml",
        include_str!("../packs/builtin/flow_port_scan.yml"),
    ),
    (
        "flow_host_sweep.yml",
        include_str!("../packs/builtin/flow_host_sweep.yml"),
    ),
    (
        "flow_volumetric_spike.yml",
        include_str!("../packs/builtin/flow_volumetric_spike.yml"),
    ),
    // Anomaly detectors (`anomaly:` documents, compiled by the onewall-anomaly crate): logons,
    // processes, flows, databases, web servers and firewalls.
    (
        "anomaly_ssh_new_network.yml",
        include_str!("../packs/builtin/anomaly_ssh_new_network.yml"),
    ),
    (
        "anomaly_windows_logon_new_host.yml",
        include_str!("../packs/builtin/anomaly_windows_logon_new_host.yml"),
    ),
    (
        "anomaly_failed_logon_volume.yml",
        include_str!("../packs/builtin/anomaly_failed_logon_volume.yml"),
    ),
    (
        "anomaly_logon_hours.yml",
        include_str!("../packs/builtin/anomaly_logon_hours.yml"),
    ),
    (
        "anomaly_rare_process.yml",
        include_str!("../packs/builtin/anomaly_rare_process.yml"),
    ),
    (
        "anomaly_flow_bytes.yml",
        include_str!("../packs/builtin/anomaly_flow_bytes.yml"),
    ),
    (
        "anomaly_db_rows_sent.yml",
        include_str!("../packs/builtin/anomaly_db_rows_sent.yml"),
    ),
    (
        "anomaly_db_audit_volume.yml",
        include_str!("../packs/builtin/anomaly_db_audit_volume.yml"),
    ),
    (
        "anomaly_web_server_errors.yml",
        include_str!("../packs/builtin/anomaly_web_server_errors.yml"),
    ),
    (
        "anomaly_web_client_errors.yml",
        include_str!("../packs/builtin/anomaly_web_client_errors.yml"),
    ),
    (
        "anomaly_firewall_volume.yml",
        include_str!("../packs/builtin/anomaly_firewall_volume.yml"),
    ),
];

/// The built-in pack as sources, each with the path `builtin/<file name>`.
pub fn builtin_sources() -> Vec<RuleSource> {
    BUILTIN
        .iter()
        .map(|(name, text)| RuleSource::new(format!("builtin/{name}"), *text))
        .collect()
}

/// How deep [`read_rule_dir`] descends (a guard against symlink loops).
const MAX_DEPTH: usize = 32;

/// Read every `*.yml` / `*.yaml` file under `dir`, recursively, in name order; entries whose
/// names start with `.` are skipped.
///
/// Only failing to read `dir` itself is an error. A file or subdirectory that cannot be read
/// (or is not UTF-8) is returned in the report, counted as one rule document.
pub fn read_rule_dir(dir: &Path) -> Result<(Vec<RuleSource>, LoadReport), RulesError> {
    let entries = list(dir).map_err(|source| RulesError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut sources = Vec::new();
    let mut report = LoadReport::default();
    walk(entries, 0, &mut sources, &mut report);
    Ok((sources, report))
}

fn list(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut paths = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    paths.sort();
    Ok(paths)
}

fn walk(
    entries: Vec<std::path::PathBuf>,
    depth: usize,
    sources: &mut Vec<RuleSource>,
    report: &mut LoadReport,
) {
    for path in entries {
        let shown = path.display().to_string();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let unreadable = |report: &mut LoadReport, reason: String| {
            report.total += 1;
            report.errors.push(RuleError::new(&shown, None, reason));
        };
        if path.is_dir() {
            if depth >= MAX_DEPTH {
                unreadable(report, "directory nesting is too deep".into());
                continue;
            }
            match list(&path) {
                Ok(children) => walk(children, depth + 1, sources, report),
                Err(e) => unreadable(report, format!("cannot read directory: {e}")),
            }
            continue;
        }
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if !is_yaml {
            continue;
        }
        match fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push(RuleSource::new(shown, text)),
                Err(_) => unreadable(report, "file is not utf-8".into()),
            },
            Err(e) => unreadable(report, format!("cannot read file: {e}")),
        }
    }
}
