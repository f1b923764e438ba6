//! Where rule text comes from: the built-in pack (embedded at build time) and rule
//! directories on disk.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use serde::de::Deserialize;
use serde_norway::Value as Yaml;

use crate::error::{LoadReport, RuleError, RulesError};

/// The text of one rule file and where it came from.
///
/// A source carries its YAML documents once they are parsed (by pack reading, which
/// transforms them, or by [`crate::pack::RuleSet::load`]), so the rule compiler and the
/// correlation reader do not parse the same text again, and the documents a pack's pipelines
/// changed are compiled as they are, not written out as text and parsed back.
#[derive(Clone)]
pub struct RuleSource {
    /// Where the text came from, used in messages and [`crate::RuleInfo::path`] (a file path,
    /// or `builtin/<file>` for the built-in pack).
    pub path: String,
    /// The YAML text: one rule, or several separated by `---`. For a source whose documents
    /// pipelines changed, the text as read until [`RuleSource::write_text`] writes the
    /// changed documents into it.
    pub text: String,
    /// The documents, when already parsed (or changed since the text was read).
    parsed: Option<Arc<Parsed>>,
    /// The documents were changed and `text` not yet written from them.
    unwritten: bool,
}

/// A source's YAML documents, in order, and the syntax error that ended the stream, if any
/// (the documents before it are kept, as the compiler reads them).
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) docs: Vec<Yaml>,
    /// The parser's message for the first syntax error.
    pub(crate) error: Option<String>,
}

impl Parsed {
    fn of(text: &str) -> Parsed {
        let mut parsed = Parsed::default();
        for doc in serde_norway::Deserializer::from_str(text) {
            match Yaml::deserialize(doc) {
                Ok(v) => parsed.docs.push(v),
                Err(e) => {
                    // The stream cannot go on past a syntax error (the deserializer would
                    // yield it again and again).
                    parsed.error = Some(e.to_string());
                    break;
                }
            }
        }
        parsed
    }
}

impl PartialEq for RuleSource {
    fn eq(&self, other: &Self) -> bool {
        fn docs(s: &RuleSource) -> Option<&Vec<Yaml>> {
            s.parsed.as_ref().filter(|_| s.unwritten).map(|p| &p.docs)
        }
        self.path == other.path && self.text == other.text && docs(self) == docs(other)
    }
}

impl Eq for RuleSource {}

impl std::fmt::Debug for RuleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSource")
            .field("path", &self.path)
            .field("text", &self.text)
            .field("unwritten", &self.unwritten)
            .finish()
    }
}

impl RuleSource {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        RuleSource {
            path: path.into(),
            text: text.into(),
            parsed: None,
            unwritten: false,
        }
    }

    /// A source whose documents are `docs`: the text's (`changed` false), or the text's
    /// changed (`changed` true: the text is written from them only when asked, see
    /// [`RuleSource::write_text`]).
    pub(crate) fn with_docs(path: String, text: String, docs: Vec<Yaml>, changed: bool) -> Self {
        RuleSource {
            path,
            text,
            parsed: Some(Arc::new(Parsed { docs, error: None })),
            unwritten: changed,
        }
    }

    /// Write the documents into `text` when they were changed since it was read (a pack's
    /// pipelines transform rules as documents; the text is needed only by readers of the
    /// text, such as the anomaly detectors' compiler). A document that cannot be written is
    /// left out; the messages say why.
    pub fn write_text(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        let Some(parsed) = self.parsed.as_ref().filter(|_| self.unwritten) else {
            return errors;
        };
        let mut text = String::new();
        for doc in &parsed.docs {
            match serde_norway::to_string(doc) {
                Ok(t) => {
                    text.push_str("---\n");
                    text.push_str(&t);
                }
                Err(e) => errors.push(format!("cannot write the transformed rule: {e}")),
            }
        }
        self.text = text;
        self.unwritten = false;
        errors
    }

    /// Whether the source may hold an anomaly detector document (a top-level `anomaly:` key):
    /// a cheap test on the text, so the detectors' readers read only the files that can
    /// matter. Pipelines add no top-level key, so the text as read tells.
    pub fn may_hold_anomaly(&self) -> bool {
        self.text
            .lines()
            .any(|l| l.starts_with("anomaly:") || l.starts_with("\"anomaly\":"))
    }

    /// Parse the text now (once), so every later reader shares the documents.
    pub(crate) fn parse_once(&mut self) {
        if self.parsed.is_none() {
            self.parsed = Some(Arc::new(Parsed::of(&self.text)));
        }
    }

    /// The text's documents: those parsed before, or parsed now.
    pub(crate) fn documents(&self) -> Arc<Parsed> {
        match &self.parsed {
            Some(p) => Arc::clone(p),
            None => Arc::new(Parsed::of(&self.text)),
        }
    }

    /// The documents, taken out of the source (copied when another source shares them).
    pub(crate) fn take_documents(&mut self) -> Parsed {
        match self.parsed.take() {
            Some(p) => Arc::try_unwrap(p).unwrap_or_else(|p| Parsed {
                docs: p.docs.clone(),
                error: p.error.clone(),
            }),
            None => Parsed::of(&self.text),
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
        "anomaly_ssh_new_country.yml",
        include_str!("../packs/builtin/anomaly_ssh_new_country.yml"),
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
        "anomaly_flow_new_destination_port.yml",
        include_str!("../packs/builtin/anomaly_flow_new_destination_port.yml"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_parsed_once_and_a_syntax_error_ends_them() {
        let mut src = RuleSource::new("r.yml", "a: 1\n---\nb: [2\n---\nc: 3\n");
        let parsed = src.documents();
        assert_eq!(parsed.docs.len(), 1);
        assert!(parsed.error.as_deref().is_some_and(|e| !e.is_empty()));
        src.parse_once();
        assert!(Arc::ptr_eq(&src.documents(), &src.documents()), "kept");
        assert_eq!(
            src,
            RuleSource::new("r.yml", "a: 1\n---\nb: [2\n---\nc: 3\n")
        );
        let taken = src.take_documents();
        assert_eq!(taken.docs.len(), 1);
    }

    #[test]
    fn changed_documents_are_written_into_the_text_when_asked() {
        let doc: Yaml = serde_norway::from_str("title: x\nid: '1'\n").expect("yaml");
        let mut src = RuleSource::with_docs("r.yml".into(), "title: y\n".into(), vec![doc], true);
        assert_eq!(src.text, "title: y\n", "the text as read until written");
        assert_ne!(src, RuleSource::new("r.yml", "title: y\n"));
        assert!(src.write_text().is_empty());
        assert_eq!(src.text, "---\ntitle: x\nid: '1'\n");
        assert_eq!(src, RuleSource::new("r.yml", src.text.clone()));
        // Written once: asking again changes nothing.
        assert!(src.write_text().is_empty());
        assert_eq!(src.text, "---\ntitle: x\nid: '1'\n");
    }
}
