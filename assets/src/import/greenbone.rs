//! Greenbone / OpenVAS report XML: the GMP `<get_reports_response>` or the report as the XML
//! report format exports it (`<report format_id=…><report>…`). Each
//! `report/results/result` is a vulnerability finding keyed by its NVT's OID on its host and
//! port:
//!
//! - host: the result's `<host>` text (an address) and its `<hostname>`;
//! - port: `443/tcp` → 443, tcp; `general/tcp` or `package` → no port;
//! - score: the result's `<severity>` (overrides applied), else the NVT's
//!   `<severities score>`, else `<cvss_base>`; the vector from `<severities>` or the NVT's
//!   `cvss_base_vector` tag; severity is the score's CVSS band;
//! - CVEs: `refs/ref type="cve"` (GMP 8 and later) or the older `<cve>` list;
//! - title: the NVT's name; detail: the result's description; solution: the NVT's.
//!
//! Results with threat `Log` or `Debug` or a score of 0 (OS detection, traceroute, service
//! lists) are informational and not kept as findings, nor are `False Positive` ones (score
//! -1, an analyst's override); their hosts still count as covered, so a finding that became
//! a log result is fixed. Every host in the report's host list is covered too.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use onewall_model::Timestamp;
use onewall_model::asset::severity_of_cvss;

use crate::error::{AssetError, Place};
use crate::scan::{FindingKind, Scan, ScanFinding, ScannedHost, Scanner};

use super::Context;
use super::findings_csv::{cves_of, score_of_vector};
use super::xml::{self, Node, Walk};

const FORMAT: &str = "greenbone";

/// One `<result>` as read.
#[derive(Default)]
struct ResultDraft {
    host: String,
    hostname: Option<String>,
    port: String,
    oid: Option<String>,
    name: String,
    nvt_name: String,
    threat: String,
    severity: Option<f64>,
    severities_score: Option<f64>,
    cvss_base: Option<f64>,
    vector: Option<String>,
    tag_vector: Option<String>,
    tag_solution: Option<String>,
    cves: Vec<String>,
    description: String,
    solution: Option<String>,
}

/// What the report says beyond its results.
#[derive(Default)]
struct Report {
    hosts: Vec<ScannedHost>,
    /// Host key → its index in `hosts`.
    keys: HashMap<String, usize>,
    findings: Vec<ScanFinding>,
    at: Option<Timestamp>,
    created: Option<Timestamp>,
    /// The host list entry being read (`report/host`): its address and hostname detail.
    host_ip: Option<String>,
    host_name: Option<String>,
    detail_name: Option<String>,
}

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<Scan, AssetError> {
    let src = xml::decode(bytes);
    let mut w = Walk::new(FORMAT, &src);
    let mut report = Report::default();
    let mut result: Option<ResultDraft> = None;
    let mut saw_results = false;
    loop {
        match w.next()? {
            Node::Open(e) => match w.name() {
                "get_reports_response" if w.depth() == 1 => {
                    let status = w.attr(&e, "status")?.unwrap_or_default();
                    if !status.is_empty() && !status.starts_with('2') {
                        let text = w.attr(&e, "status_text")?.unwrap_or_default();
                        return Err(w.refuse(format!("the response is status {status}: {text}")));
                    }
                }
                "report" | "get_reports_response" => {}
                other if w.depth() == 1 => {
                    return Err(w.refuse(format!(
                        "root element is <{other}>, not <report> or <get_reports_response>"
                    )));
                }
                "results" if w.ancestor(1) == "report" => saw_results = true,
                "result" if w.ancestor(1) == "results" && w.ancestor(2) == "report" => {
                    result = Some(ResultDraft::default());
                }
                "nvt" if result.is_some() && w.ancestor(1) == "result" => {
                    if let Some(r) = result.as_mut() {
                        r.oid = w.attr(&e, "oid")?.filter(|s| !s.trim().is_empty());
                    }
                }
                "severities" if result.is_some() && w.ancestor(1) == "nvt" => {
                    if let (Some(r), Some(s)) = (result.as_mut(), w.attr(&e, "score")?) {
                        r.severities_score = Some(score(&w, "severities score", &s)?);
                    }
                }
                "ref" if result.is_some() && w.ancestor(1) == "refs" => {
                    let is_cve = w
                        .attr(&e, "type")?
                        .is_some_and(|t| t.eq_ignore_ascii_case("cve"));
                    if let (true, Some(r), Some(id)) = (is_cve, result.as_mut(), w.attr(&e, "id")?)
                    {
                        let cves = cves_of(&id)
                            .map_err(|bad| w.refuse(format!("{bad:?} is not a CVE id")))?;
                        r.cves.extend(cves);
                    }
                }
                _ => {}
            },
            Node::Close(text) => {
                if let Some(r) = result.as_mut() {
                    if close_in_result(&w, r, &text)? {
                        let r = result.take().unwrap_or_default();
                        add_result(&w, &mut report, r)?;
                    }
                } else {
                    close_in_report(&w, &mut report, text)?;
                }
            }
            Node::Eof => break,
        }
    }
    if !saw_results {
        return Err(AssetError::refused(
            FORMAT,
            Place::File,
            "no report/results element: not a Greenbone report with results",
        ));
    }
    Ok(Scan {
        scanner: Scanner::Greenbone,
        at: report.at.or(report.created).unwrap_or(ctx.now),
        hosts: report.hosts,
        findings: report.findings,
    })
}

/// An element of a `<result>` closes; `true` when it is the result itself.
fn close_in_result(w: &Walk<'_>, r: &mut ResultDraft, text: &str) -> Result<bool, AssetError> {
    let parent = w.ancestor(1);
    match (w.name(), parent) {
        ("result", "results") => return Ok(true),
        ("host", "result") => r.host = text.to_string(),
        ("hostname", "host") if w.ancestor(2) == "result" => {
            r.hostname = Some(text.to_lowercase()).filter(|s| !s.is_empty());
        }
        ("port", "result") => r.port = text.to_string(),
        ("name", "result") => r.name = text.to_string(),
        ("name", "nvt") => r.nvt_name = text.to_string(),
        ("threat", "result") => r.threat = text.to_string(),
        ("severity", "result") if !text.is_empty() => {
            r.severity = Some(score(w, "severity", text)?)
        }
        ("cvss_base", "nvt") if !text.is_empty() => {
            r.cvss_base = Some(score(w, "cvss_base", text)?)
        }
        ("value", "severity") if w.ancestor(2) == "severities" && !text.is_empty() => {
            r.vector.get_or_insert_with(|| text.to_string());
        }
        ("cve", "nvt")
            // GMP 7 and older: a comma-separated list, `NOCVE` when there is none.
            if !text.is_empty() && !text.eq_ignore_ascii_case("nocve") => {
                let cves =
                    cves_of(text).map_err(|bad| w.refuse(format!("{bad:?} is not a CVE id")))?;
                r.cves.extend(cves);
            }
        ("tags", "nvt") => {
            for tag in text.split('|') {
                if let Some((k, v)) = tag.split_once('=') {
                    match k.trim() {
                        "cvss_base_vector" => r.tag_vector = Some(v.trim().to_string()),
                        "solution" => r.tag_solution = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
        }
        ("solution", "nvt") if !text.is_empty() => r.solution = Some(text.to_string()),
        ("description", "result") => r.description = text.to_string(),
        _ => {}
    }
    Ok(false)
}

/// An element outside the results closes: the scan's times and the host list.
fn close_in_report(w: &Walk<'_>, report: &mut Report, text: String) -> Result<(), AssetError> {
    let in_report = w.ancestor(1) == "report";
    match w.name() {
        "scan_start" if in_report => report.at = report.at.or(time_of(&text)),
        "creation_time" | "timestamp" if in_report => {
            report.created = report.created.or(time_of(&text));
        }
        "ip" if w.ancestor(1) == "host" && w.ancestor(2) == "report" => report.host_ip = Some(text),
        "name" if w.ancestor(1) == "detail" && w.ancestor(3) == "report" => {
            report.detail_name = Some(text);
        }
        "value"
            if w.ancestor(1) == "detail"
                && w.ancestor(3) == "report"
                && report.detail_name.as_deref() == Some("hostname")
                && !text.is_empty() =>
        {
            report.host_name = Some(text.to_lowercase());
        }
        "host" if in_report => {
            if let Some(ip) = report.host_ip.take() {
                let addr = address(w, &ip)?;
                let name = report.host_name.take();
                cover(report, addr, name);
            }
            report.host_name = None;
        }
        _ => {}
    }
    Ok(())
}

/// A result read whole: a finding unless informational; its host covered either way.
fn add_result(w: &Walk<'_>, report: &mut Report, r: ResultDraft) -> Result<(), AssetError> {
    let addr = address(w, &r.host)?;
    let host = addr.to_string();
    cover(report, addr, r.hostname.clone());
    let Some(oid) = r.oid else {
        return Err(w.refuse("the result has no nvt oid"));
    };
    let vector = r.vector.or(r.tag_vector).filter(|v| !v.is_empty());
    let vector_score = vector.as_deref().and_then(|v| score_of_vector(v).ok());
    let cvss = r
        .severity
        .or(r.severities_score)
        .or(r.cvss_base)
        .or(vector_score);
    let threat = r.threat.to_ascii_lowercase();
    let informational = matches!(threat.as_str(), "log" | "debug" | "false positive")
        || cvss.is_some_and(|s| s <= 0.0);
    if informational {
        return Ok(());
    }
    let (port, protocol) = port_of(&r.port);
    let mut cves = r.cves;
    let mut seen = HashSet::new();
    cves.retain(|c| seen.insert(c.clone()));
    let title = if r.nvt_name.is_empty() {
        r.name
    } else {
        r.nvt_name
    };
    report.findings.push(ScanFinding {
        host,
        kind: FindingKind::Vulnerability,
        key: oid,
        port,
        protocol,
        cves,
        cvss,
        cvss_vector: vector,
        severity: cvss.map_or(onewall_model::Severity::Medium, severity_of_cvss),
        title,
        detail: r.description,
        solution: r.solution.or(r.tag_solution).filter(|s| !s.is_empty()),
    });
    Ok(())
}

/// Host names kept per host (a report names a host once or twice).
const MAX_NAMES: usize = 16;

fn cover(report: &mut Report, addr: IpAddr, name: Option<String>) {
    match report.keys.get(&addr.to_string()) {
        None => {
            report.keys.insert(addr.to_string(), report.hosts.len());
            report.hosts.push(ScannedHost {
                address: Some(addr),
                names: name.into_iter().collect(),
                ports: None,
            });
        }
        Some(&i) => {
            if let (Some(name), Some(h)) = (name, report.hosts.get_mut(i))
                && h.names.len() < MAX_NAMES
                && !h.names.contains(&name)
            {
                h.names.push(name);
            }
        }
    }
}

fn address(w: &Walk<'_>, text: &str) -> Result<IpAddr, AssetError> {
    text.trim()
        .parse()
        .map_err(|_| w.refuse(format!("host {text:?} is not an address")))
}

/// `443/tcp` → (443, tcp); `general/tcp` → (none, tcp); `package` → (none, none).
fn port_of(text: &str) -> (Option<u16>, Option<String>) {
    let (number, proto) = match text.trim().split_once('/') {
        Some((n, p)) => (n, Some(p.trim().to_lowercase()).filter(|p| !p.is_empty())),
        None => (text.trim(), None),
    };
    (number.trim().parse().ok(), proto)
}

/// A score -1…10 (Greenbone writes -1 for false positives, -2/-3 for debug and errors).
fn score(w: &Walk<'_>, what: &str, text: &str) -> Result<f64, AssetError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (-3.0..=10.0).contains(s))
        .ok_or_else(|| w.refuse(format!("{what} {text:?} is not a score 0–10")))
}

/// An ISO 8601 time (`2026-12-01T10:00:00Z`); older managers' `Tue Jun  4 09:33:11 2019`
/// and empty texts are not read (the scan time then falls back).
fn time_of(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    Timestamp::parse_rfc3339(t)
        .ok()
        .or_else(|| super::lynis::parse_datetime(t))
}
