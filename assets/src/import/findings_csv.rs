//! The generic findings CSV, for scanners onewall does not read natively: one finding a
//! row, header `host,port,cve,cvss,title`, in UTF-8 or GBK.
//!
//! | column | also written as |
//! |---|---|
//! | `host` (required: an address or a host name) | `ip`, `address`, `主机`, `IP地址`, `主机地址`, `资产` |
//! | `port` (`443` or `443/tcp`) | `端口` |
//! | `protocol` (`tcp` when a port is given without one) | `proto`, `协议` |
//! | `cve` (one or more, `,;` or space separated) | `cve_id`, `漏洞编号`, `CVE编号` |
//! | `cvss` (base score 0–10) | `cvss_score`, `score`, `评分`, `CVSS评分` |
//! | `cvss_vector` (v2, `CVSS:3.x/…` or `CVSS:4.0/…`) | `vector`, `CVSS向量` |
//! | `severity` (`critical`…`info`, `紧急`/`高危`/`中危`/`低危`/`信息`) | `风险等级`, `危险等级`, `严重程度` |
//! | `title` | `name`, `漏洞名称`, `标题`, `名称` |
//! | `solution` | `fix`, `修复建议`, `解决方案`, `整改建议` |
//! | `detail` | `description`, `描述`, `详情`, `漏洞描述` |
//!
//! A row needs a host and a CVE or a title; its key is its CVEs (else its title). The score
//! is the `cvss` cell, else the vector's base score (computed with the `cvss` crate). The
//! severity is the `severity` cell when given, else the score's CVSS band, else medium (a
//! finding nobody scored is not harmless). Any bad cell refuses the whole file, naming its
//! row (as a spreadsheet numbers it: the header is row 1 unless a title row sits above it)
//! and column.

use std::collections::HashSet;
use std::net::IpAddr;

use onewall_model::Severity;
use onewall_model::asset::severity_of_cvss;

use crate::error::{AssetError, Place};
use crate::scan::{FindingKind, Scan, ScanFinding, ScannedHost, Scanner};

use super::Context;

const FORMAT: &str = "findings_csv";

/// The columns this file reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Host,
    Port,
    Protocol,
    Cve,
    Cvss,
    Vector,
    Severity,
    Title,
    Solution,
    Detail,
}

/// A header cell's column: lower case, spaces, `_` and `-` ignored.
fn column_of(cell: &str) -> Option<Col> {
    let key: String = cell
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match key.as_str() {
        "host" | "ip" | "address" | "ipaddress" | "主机" | "ip地址" | "主机地址" | "资产"
        | "主机ip" => Col::Host,
        "port" | "端口" => Col::Port,
        "protocol" | "proto" | "协议" => Col::Protocol,
        "cve" | "cveid" | "cves" | "漏洞编号" | "cve编号" => Col::Cve,
        "cvss" | "cvssscore" | "score" | "评分" | "cvss评分" => Col::Cvss,
        "cvssvector" | "vector" | "cvss向量" => Col::Vector,
        "severity" | "风险等级" | "危险等级" | "严重程度" => Col::Severity,
        "title" | "name" | "漏洞名称" | "标题" | "名称" => Col::Title,
        "solution" | "fix" | "修复建议" | "解决方案" | "整改建议" => Col::Solution,
        "detail" | "details" | "description" | "描述" | "详情" | "漏洞描述" => Col::Detail,
        _ => return None,
    })
}

/// Whether a header row is a findings CSV's: a host column and a CVE or CVSS column
/// (`strict`), or just a host and a title column (`!strict`, tried after the registry's
/// header, which may have a host column and a name).
pub(super) fn is_findings_header(cells: &[String], strict: bool) -> bool {
    let cols: Vec<Col> = cells.iter().filter_map(|c| column_of(c)).collect();
    let has = |c: Col| cols.contains(&c);
    has(Col::Host)
        && if strict {
            has(Col::Cve) || has(Col::Cvss) || has(Col::Vector)
        } else {
            has(Col::Title)
        }
}

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<Scan, AssetError> {
    let text = super::text::decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    // The header is the first row naming a host column, within the first five (a title row
    // such as `漏洞扫描结果（2026年12月）` may sit above it).
    let mut header_row = 0;
    let (names, cols) = loop {
        header_row += 1;
        let header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => {
                return Err(refuse_row(
                    header_row,
                    None,
                    format!("unreadable header: {e}"),
                ));
            }
            None if header_row == 1 => {
                return Err(AssetError::refused(
                    FORMAT,
                    Place::File,
                    "the file is empty",
                ));
            }
            None => return Err(refuse_row(1, None, "no host column (host, ip, 主机)")),
        };
        let names: Vec<String> = header.iter().map(|c| c.trim().to_string()).collect();
        let cols: Vec<Option<Col>> = names.iter().map(|c| column_of(c)).collect();
        if cols.contains(&Some(Col::Host)) {
            break (names, cols);
        }
        if header_row == 5 {
            return Err(refuse_row(1, None, "no host column (host, ip, 主机)"));
        }
    };
    let mut hosts: Vec<ScannedHost> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut findings = Vec::new();
    for (i, record) in records.enumerate() {
        let row = header_row + i + 1;
        let record = record.map_err(|e| refuse_row(row, None, format!("unreadable row: {e}")))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |want: Col| -> (&str, Option<String>) {
            for (j, col) in cols.iter().enumerate() {
                if *col == Some(want) {
                    let value = record.get(j).unwrap_or("").trim();
                    if !value.is_empty() {
                        return (value, names.get(j).cloned());
                    }
                }
            }
            ("", column_name(&cols, &names, want))
        };
        let (host, address, name) = host_of(row, cell(Col::Host))?;
        let finding = finding_of(row, &host, &cell)?;
        if seen.insert(host) {
            hosts.push(ScannedHost {
                address,
                names: name.into_iter().collect(),
                ports: None,
            });
        }
        findings.push(finding);
    }
    Ok(Scan {
        scanner: Scanner::Csv,
        at: ctx.now,
        hosts,
        findings,
    })
}

/// The header a column is written as in this file.
fn column_name(cols: &[Option<Col>], names: &[String], want: Col) -> Option<String> {
    cols.iter()
        .position(|c| *c == Some(want))
        .and_then(|j| names.get(j).cloned())
}

type HostCell = (String, Option<IpAddr>, Option<String>);

/// The host cell: an address, or a host name (lower case).
fn host_of(row: usize, (value, column): (&str, Option<String>)) -> Result<HostCell, AssetError> {
    if value.is_empty() {
        return Err(refuse_row(row, column, "no host"));
    }
    if let Ok(addr) = value.parse::<IpAddr>() {
        return Ok((addr.to_string(), Some(addr), None));
    }
    let name = value.trim_end_matches('.').to_lowercase();
    let valid = name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        });
    if !valid {
        return Err(refuse_row(
            row,
            column,
            format!("{value:?} is neither an address nor a host name"),
        ));
    }
    Ok((name.clone(), None, Some(name)))
}

/// One row's finding.
fn finding_of<'r>(
    row: usize,
    host: &str,
    cell: &dyn Fn(Col) -> (&'r str, Option<String>),
) -> Result<ScanFinding, AssetError> {
    let (port_text, port_col) = cell(Col::Port);
    let (mut port, mut protocol) = (None, None);
    if !port_text.is_empty() {
        let (number, proto) = match port_text.split_once('/') {
            Some((n, p)) => (n.trim(), Some(p.trim().to_lowercase())),
            None => (port_text, None),
        };
        port = Some(number.parse::<u16>().map_err(|_| {
            refuse_row(row, port_col, format!("{port_text:?} is not a port number"))
        })?);
        protocol = proto;
    }
    let (proto_text, _) = cell(Col::Protocol);
    if !proto_text.is_empty() {
        protocol = Some(proto_text.to_lowercase());
    } else if port.is_some() && protocol.is_none() {
        protocol = Some("tcp".to_string());
    }
    let (cve_text, cve_col) = cell(Col::Cve);
    let cves = cves_of(cve_text).map_err(|bad| {
        refuse_row(
            row,
            cve_col,
            format!("{bad:?} is not a CVE id (CVE-YYYY-NNNN)"),
        )
    })?;
    let (score_text, score_col) = cell(Col::Cvss);
    let mut cvss = None;
    if !score_text.is_empty() {
        let score: f64 = score_text
            .parse()
            .ok()
            .filter(|s: &f64| (0.0..=10.0).contains(s))
            .ok_or_else(|| {
                refuse_row(
                    row,
                    score_col,
                    format!("{score_text:?} is not a CVSS score 0–10"),
                )
            })?;
        cvss = Some(score);
    }
    let (vector_text, vector_col) = cell(Col::Vector);
    let cvss_vector = (!vector_text.is_empty()).then(|| vector_text.to_string());
    if let Some(v) = &cvss_vector {
        let score = score_of_vector(v)
            .map_err(|e| refuse_row(row, vector_col, format!("CVSS vector {v:?}: {e}")))?;
        cvss.get_or_insert(score);
    }
    let (severity_text, severity_col) = cell(Col::Severity);
    let severity = if severity_text.is_empty() {
        cvss.map_or(Severity::Medium, severity_of_cvss)
    } else {
        severity_word(severity_text).ok_or_else(|| {
            refuse_row(
                row,
                severity_col,
                format!("{severity_text:?} is not a severity (critical, high, medium, low, info; 紧急, 高危, 中危, 低危, 信息)"),
            )
        })?
    };
    let (title_text, title_col) = cell(Col::Title);
    if cves.is_empty() && title_text.is_empty() {
        return Err(refuse_row(row, title_col, "neither a CVE nor a title"));
    }
    let key = if cves.is_empty() {
        title_text.to_string()
    } else {
        cves.join(",")
    };
    let title = if title_text.is_empty() {
        key.clone()
    } else {
        title_text.to_string()
    };
    let (solution, _) = cell(Col::Solution);
    let (detail, _) = cell(Col::Detail);
    Ok(ScanFinding {
        host: host.to_string(),
        kind: FindingKind::Vulnerability,
        key,
        port,
        protocol,
        cves,
        cvss,
        cvss_vector,
        severity,
        title,
        detail: detail.to_string(),
        solution: (!solution.is_empty()).then(|| solution.to_string()),
    })
}

/// The CVE ids of a cell, upper case, in order, without repeats; the first token that is
/// not one is the error.
pub(super) fn cves_of(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for token in text
        .split([',', ';', ' ', '\t', '\n', '，', '；', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let id = token.to_ascii_uppercase();
        let valid = id
            .strip_prefix("CVE-")
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(year, num)| {
                year.len() == 4
                    && year.bytes().all(|b| b.is_ascii_digit())
                    && num.len() >= 4
                    && num.bytes().all(|b| b.is_ascii_digit())
            });
        if !valid {
            return Err(token.to_string());
        }
        if seen.insert(id.clone()) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The base score of a CVSS v2, v3.x or v4.0 vector.
pub(super) fn score_of_vector(vector: &str) -> Result<f64, String> {
    let parsed: cvss::Cvss = vector
        .trim()
        .parse()
        .map_err(|e: cvss::Error| e.to_string())?;
    let score = parsed.score();
    if score.is_finite() && (0.0..=10.0).contains(&score) {
        Ok(score)
    } else {
        Err(format!("scores {score}, outside 0–10"))
    }
}

/// A severity word, English or Chinese.
pub(super) fn severity_word(text: &str) -> Option<Severity> {
    Some(match text.trim().to_lowercase().as_str() {
        "critical" | "紧急" | "严重" | "超危" => Severity::Critical,
        "high" | "高" | "高危" => Severity::High,
        "medium" | "moderate" | "中" | "中危" => Severity::Medium,
        "low" | "低" | "低危" => Severity::Low,
        "info" | "informational" | "none" | "log" | "信息" | "提示" => Severity::Informational,
        _ => return None,
    })
}

fn refuse_row(row: usize, column: Option<String>, reason: impl Into<String>) -> AssetError {
    AssetError::refused(FORMAT, Place::Row { row, column }, reason)
}
