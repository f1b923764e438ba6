//! OpenSCAP results: an XCCDF 1.2 results file (`oscap xccdf eval --results`, the benchmark
//! with its `<TestResult>`) or an ARF report (`--results-arf`, the source data stream and
//! the `<TestResult>` in an `<asset-report-collection>`).
//!
//! Each `rule-result` whose `<result>` is `fail` is a `Baseline` finding keyed by the rule's
//! id. `error` and `unknown` (the check could not run) are not findings, nor are `pass`,
//! `fixed`, `notapplicable`, `notchecked`, `notselected` and `informational`. Severity is the
//! rule-result's `severity` attribute (`high`, `medium`, `low`, `info`; `unknown` or none is
//! low); the title is the benchmark's `Rule/title` when the file holds the benchmark, else
//! the rule id; the detail lists the rule's idents (CCE ids).
//!
//! The host is the `TestResult`'s `target` (a name, lower case; OpenSCAP writes `unknown`
//! when it could not tell) and the best of its `target-address`es: loopback and link-local
//! addresses only when there is nothing else. The scan time is its `end-time`.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use onewall_model::{Severity, Timestamp};

use crate::error::{AssetError, Place};
use crate::scan::{FindingKind, Scan, ScanFinding, ScannedHost, Scanner};

use super::Context;
use super::xml::{self, Node, Walk};

const FORMAT: &str = "xccdf";

/// The `TestResult` being read.
#[derive(Default)]
struct TestDraft {
    end: Option<Timestamp>,
    target: Option<String>,
    fqdn: Option<String>,
    addresses: Vec<IpAddr>,
    /// Failed rules: (rule id, severity, idents).
    failed: Vec<(String, Severity, Vec<String>)>,
}

/// The `rule-result` being read.
struct RuleResultDraft {
    idref: String,
    severity: Severity,
    result: Option<String>,
    idents: Vec<String>,
}

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<Scan, AssetError> {
    let src = xml::decode(bytes);
    let mut w = Walk::new(FORMAT, &src);
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut rule: Option<String> = None;
    let mut test: Option<TestDraft> = None;
    let mut rule_result: Option<RuleResultDraft> = None;
    let mut fact: Option<String> = None;
    let mut tests: Vec<TestDraft> = Vec::new();
    loop {
        match w.next()? {
            Node::Open(e) => match w.name() {
                "Rule" => rule = w.attr(&e, "id")?,
                "TestResult" => {
                    let end = match w.attr(&e, "end-time")? {
                        Some(t) => Some(time_of(&w, &t)?),
                        None => None,
                    };
                    test = Some(TestDraft {
                        end,
                        ..TestDraft::default()
                    });
                }
                "rule-result" if test.is_some() => {
                    let Some(idref) = w.attr(&e, "idref")?.filter(|s| !s.trim().is_empty()) else {
                        return Err(w.refuse("rule-result without an idref"));
                    };
                    let severity = severity_of(&w.attr(&e, "severity")?.unwrap_or_default());
                    rule_result = Some(RuleResultDraft {
                        idref,
                        severity,
                        result: None,
                        idents: Vec::new(),
                    });
                }
                "fact" if test.is_some() => fact = w.attr(&e, "name")?,
                _ => {}
            },
            Node::Close(text) => match (w.name(), w.ancestor(1)) {
                ("title", "Rule") => {
                    if let Some(id) = &rule
                        && !text.is_empty()
                    {
                        titles.entry(id.clone()).or_insert(text);
                    }
                }
                ("Rule", _) => rule = None,
                ("result", "rule-result") => {
                    if let Some(r) = rule_result.as_mut() {
                        r.result = Some(text);
                    }
                }
                ("ident", "rule-result") => {
                    if let Some(r) = rule_result.as_mut()
                        && !text.is_empty()
                    {
                        r.idents.push(text);
                    }
                }
                ("rule-result", _) => {
                    if let (Some(r), Some(t)) = (rule_result.take(), test.as_mut()) {
                        rule_result_done(&w, r, t)?;
                    }
                }
                ("target", "TestResult") => {
                    if let Some(t) = test.as_mut() {
                        t.target =
                            Some(text.to_lowercase()).filter(|s| !s.is_empty() && s != "unknown");
                    }
                }
                ("target-address", "TestResult") => {
                    if let (Some(t), Ok(addr)) = (test.as_mut(), text.parse::<IpAddr>()) {
                        t.addresses.push(addr);
                    }
                }
                ("fact", "target-facts") => {
                    let is_fqdn = fact.take().is_some_and(|n| n.ends_with(":fqdn"));
                    if let (true, Some(t)) = (is_fqdn, test.as_mut()) {
                        t.fqdn = Some(text.to_lowercase()).filter(|s| !s.is_empty());
                    }
                }
                ("TestResult", _) => {
                    if let Some(t) = test.take() {
                        if t.target.is_none() && t.fqdn.is_none() && t.addresses.is_empty() {
                            return Err(w.refuse(
                                "the TestResult names no target (target is unknown and there is no target-address)",
                            ));
                        }
                        tests.push(t);
                    }
                }
                _ => {}
            },
            Node::Eof => break,
        }
    }
    if tests.is_empty() {
        return Err(AssetError::refused(
            FORMAT,
            Place::File,
            "no TestResult: the file holds no results (evaluate with --results or --results-arf)",
        ));
    }
    Ok(scan_of(tests, &titles, ctx))
}

/// A rule-result read whole: kept when it failed; an unknown result word is refused.
fn rule_result_done(w: &Walk<'_>, r: RuleResultDraft, t: &mut TestDraft) -> Result<(), AssetError> {
    let Some(result) = r.result else {
        return Err(w.refuse(format!("rule-result {} has no result", r.idref)));
    };
    match result.as_str() {
        "fail" => t.failed.push((r.idref, r.severity, r.idents)),
        "pass" | "error" | "unknown" | "notapplicable" | "notchecked" | "notselected"
        | "informational" | "fixed" => {}
        other => {
            return Err(w.refuse(format!(
                "rule-result {} has result {other:?}, not an XCCDF result",
                r.idref
            )));
        }
    }
    Ok(())
}

fn scan_of(tests: Vec<TestDraft>, titles: &HashMap<String, String>, ctx: &Context<'_>) -> Scan {
    let mut hosts: Vec<ScannedHost> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    let mut findings = Vec::new();
    let mut at: Option<Timestamp> = None;
    for t in tests {
        at = at.max(t.end);
        let mut names: Vec<String> = Vec::new();
        for n in [t.target, t.fqdn].into_iter().flatten() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let host = ScannedHost {
            address: best_address(&t.addresses),
            names,
            ports: None,
        };
        let Some(key) = host.key() else { continue };
        for (rule, severity, idents) in t.failed {
            let title = titles.get(&rule).cloned().unwrap_or_else(|| rule.clone());
            findings.push(ScanFinding {
                host: key.clone(),
                kind: FindingKind::Baseline,
                key: rule,
                port: None,
                protocol: None,
                cves: Vec::new(),
                cvss: None,
                cvss_vector: None,
                severity,
                title,
                detail: idents.join(", "),
                solution: None,
            });
        }
        if keys.insert(key) {
            hosts.push(host);
        }
    }
    Scan {
        scanner: Scanner::Openscap,
        at: at.unwrap_or(ctx.now),
        hosts,
        findings,
    }
}

/// The address that names the host best: a global one, then private, then link-local, then
/// loopback.
fn best_address(addresses: &[IpAddr]) -> Option<IpAddr> {
    let rank = |a: &IpAddr| match a {
        IpAddr::V4(v4) if v4.is_loopback() || v4.is_unspecified() => 4,
        IpAddr::V4(v4) if v4.is_link_local() => 3,
        IpAddr::V4(_) => 0,
        IpAddr::V6(v6) if v6.is_loopback() || v6.is_unspecified() => 5,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => 3,
        IpAddr::V6(_) => 1,
    };
    addresses.iter().min_by_key(|a| rank(a)).copied()
}

fn severity_of(word: &str) -> Severity {
    match word.trim().to_ascii_lowercase().as_str() {
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "info" => Severity::Informational,
        _ => Severity::Low,
    }
}

/// An XCCDF time: RFC 3339, or without a zone (read as UTC).
fn time_of(w: &Walk<'_>, text: &str) -> Result<Timestamp, AssetError> {
    super::lynis::parse_datetime(text)
        .ok_or_else(|| w.refuse(format!("end-time {text:?} is not a date and time")))
}
