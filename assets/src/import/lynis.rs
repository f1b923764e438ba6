//! A lynis report (`lynis-report.dat`, or the file given to `--report-file`): `key=value`
//! lines, `#` comments. Each test that warned or suggested becomes one `Baseline` finding
//! keyed by its test id (`AUTH-9286`); a test that says several things (`FILE-6310` for
//! /home, /tmp and /var) is one finding listing them all, so it is fixed when the test no
//! longer complains at all.
//!
//! Severity: a `warning[]` is medium (lynis marks it as needing attention, but its warnings
//! range from "vulnerable packages" to "klogd is not running"), a `suggestion[]` low. The
//! host is `hostname=` (and `hostname.domainname` as a second name); the time `report_datetime_end=` (else `_start=`), which lynis writes
//! in the audited machine's local time without a zone: it is read as UTC, and a time ahead
//! of the import is taken as the import time.

use std::collections::HashMap;

use onewall_model::{Severity, Timestamp};

use crate::error::{AssetError, Place};
use crate::scan::{FindingKind, Scan, ScanFinding, ScannedHost, Scanner};

use super::Context;

const FORMAT: &str = "lynis";

/// Messages kept per test.
const MAX_MESSAGES: usize = 64;

/// One test's messages.
struct TestDraft {
    id: String,
    severity: Severity,
    /// `(warning?, message, details, solution)`.
    messages: Vec<(bool, String, Option<String>, Option<String>)>,
}

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<Scan, AssetError> {
    let text = super::text::decode(bytes);
    let mut hostname: Option<String> = None;
    let mut domain: Option<String> = None;
    let mut start: Option<Timestamp> = None;
    let mut end: Option<Timestamp> = None;
    let mut is_report = false;
    let mut tests: Vec<TestDraft> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            return Err(refuse(line, format!("{} is not key=value", clip(l))));
        };
        let value = value.trim();
        match key.trim() {
            "report_version_major" | "lynis_version" => is_report = true,
            "hostname" => {
                let name = value.trim_end_matches('.').to_lowercase();
                if name.is_empty() || name.chars().any(char::is_whitespace) {
                    return Err(refuse(
                        line,
                        format!("hostname {value:?} is not a host name"),
                    ));
                }
                hostname = Some(name);
            }
            "domainname" => {
                // `[Not Specified]` or empty when the machine has none.
                let d = value.trim_matches('.').to_lowercase();
                let plausible = !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
                domain = plausible.then_some(d);
            }
            "report_datetime_start" => start = Some(datetime(line, value)?),
            "report_datetime_end" => end = Some(datetime(line, value)?),
            "warning[]" => add(&mut tests, &mut by_id, line, value, true)?,
            "suggestion[]" => add(&mut tests, &mut by_id, line, value, false)?,
            _ => {}
        }
    }
    if !is_report {
        return Err(AssetError::refused(
            FORMAT,
            Place::File,
            "no report_version_major= or lynis_version= line: not a lynis report",
        ));
    }
    let Some(host) = hostname else {
        return Err(AssetError::refused(
            FORMAT,
            Place::File,
            "no hostname= line: the report does not say which host it audited",
        ));
    };
    let at = end
        .or(start)
        .map_or(ctx.now, |t| if t > ctx.now { ctx.now } else { t });
    let findings = tests.into_iter().map(|t| finding(&host, t)).collect();
    let mut names = vec![host.clone()];
    if let Some(d) = domain.filter(|d| !host.contains('.') && !d.is_empty()) {
        names.push(format!("{host}.{d}"));
    }
    Ok(Scan {
        scanner: Scanner::Lynis,
        at,
        hosts: vec![ScannedHost {
            address: None,
            names,
            ports: None,
        }],
        findings,
    })
}

/// `ID|message|details|solution|` into its test's draft.
fn add(
    tests: &mut Vec<TestDraft>,
    by_id: &mut HashMap<String, usize>,
    line: usize,
    value: &str,
    warning: bool,
) -> Result<(), AssetError> {
    let mut parts = value.split('|');
    let id = parts.next().unwrap_or("").trim();
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_id {
        return Err(refuse(
            line,
            format!(
                "{:?} does not start with a test id (ID|text|…)",
                clip(value)
            ),
        ));
    }
    let message = parts.next().unwrap_or("").trim();
    if message.is_empty() {
        return Err(refuse(line, format!("test {id} has no text")));
    }
    let dash = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty() && *s != "-")
            .map(str::to_string)
    };
    let details = dash(parts.next());
    let solution = dash(parts.next());
    let severity = if warning {
        Severity::Medium
    } else {
        Severity::Low
    };
    let entry = (warning, message.to_string(), details, solution);
    match by_id.get(id).and_then(|&i| tests.get_mut(i)) {
        Some(t) => {
            t.severity = t.severity.max(severity);
            // A test says a few things; past MAX_MESSAGES the rest is not kept (bounded
            // work per finding on hostile input).
            if t.messages.len() < MAX_MESSAGES && !t.messages.contains(&entry) {
                t.messages.push(entry);
            }
        }
        None => {
            by_id.insert(id.to_string(), tests.len());
            tests.push(TestDraft {
                id: id.to_string(),
                severity,
                messages: vec![entry],
            });
        }
    }
    Ok(())
}

fn finding(host: &str, t: TestDraft) -> ScanFinding {
    // Warnings first: the title is the most serious thing the test said.
    let mut messages = t.messages;
    messages.sort_by_key(|m| !m.0);
    let title = messages.first().map(|m| m.1.clone()).unwrap_or_default();
    let detail = messages
        .iter()
        .map(|(warning, text, details, _)| {
            let kind = if *warning { "warning" } else { "suggestion" };
            match details {
                Some(d) => format!("{kind}: {text} ({d})"),
                None => format!("{kind}: {text}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let solutions: Vec<String> = messages.iter().filter_map(|m| m.3.clone()).collect();
    ScanFinding {
        host: host.to_string(),
        kind: FindingKind::Baseline,
        key: t.id,
        port: None,
        protocol: None,
        cves: Vec::new(),
        cvss: None,
        cvss_vector: None,
        severity: t.severity,
        title,
        detail,
        solution: (!solutions.is_empty()).then(|| solutions.join("\n")),
    }
}

/// `2026-12-07 08:52:23` (or with a `T`), read as UTC.
fn datetime(line: usize, value: &str) -> Result<Timestamp, AssetError> {
    parse_datetime(value).ok_or_else(|| {
        refuse(
            line,
            format!("{value:?} is not a date and time (YYYY-MM-DD HH:MM:SS)"),
        )
    })
}

/// A date and time without a zone (`YYYY-MM-DD HH:MM:SS`, `T` allowed), as UTC; an RFC 3339
/// time as written.
pub(super) fn parse_datetime(value: &str) -> Option<Timestamp> {
    let value = value.trim();
    if let Ok(t) = Timestamp::parse_rfc3339(value) {
        return Some(t);
    }
    let format = time::macros::format_description!(
        "[year]-[month]-[day][first [ ][T]][hour]:[minute]:[second]"
    );
    let t = time::PrimitiveDateTime::parse(value, format).ok()?;
    Some(Timestamp::from_offset_date_time(t.assume_utc()))
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

fn refuse(line: usize, reason: impl Into<String>) -> AssetError {
    AssetError::refused(FORMAT, Place::Line { line }, reason)
}
