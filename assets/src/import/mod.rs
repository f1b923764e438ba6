//! Every import format, detected from the content, parsed whole before anything is applied.
//!
//! | format | detected by | gives |
//! |---|---|---|
//! | registry CSV (UTF-8, with or without BOM, or GBK as Excel writes it on a Chinese Windows) | a header row naming the registry's columns, Chinese or English | systems |
//! | registry .xlsx | a ZIP holding `xl/workbook.xml`; first sheet, header row as above | systems |
//! | Nmap XML (`-oX`) | root `<nmaprun>` | hosts, open ports, services |
//! | Greenbone / OpenVAS XML | root `<report>` (or `<get_reports_response>`) with `<results>` | vulnerability findings |
//! | findings CSV | a header with host and CVE or title columns (`host,port,cve,cvss,title`) | vulnerability findings |
//! | OpenSCAP XCCDF results / ARF | `<Benchmark>`/`<TestResult>` in the XCCDF 1.2 namespace, or `<asset-report-collection>` | baseline findings (failed rules) |
//! | lynis report | `lynis-report.dat` lines (`report_version_major=`, `warning[]=`, `suggestion[]=`) | baseline findings |
//!
//! Registry imports skip a bad row (reported by row and column) and load the good ones.
//! Scanner imports are all or nothing: a broken file is refused naming the element or row,
//! and nothing of it is applied.

use onewall_model::{RegionCode, RegionTree, Timestamp};
use serde::Serialize;

use crate::error::{AssetError, Refusal};
use crate::registry::System;
use crate::scan::Scan;

mod findings_csv;
mod greenbone;
mod lynis;
mod nmap;
mod registry_table;
pub mod text;
mod xccdf;
mod xlsx;
mod xml;

/// The formats [`detect`] tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    RegistryCsv,
    RegistryXlsx,
    Nmap,
    Greenbone,
    FindingsCsv,
    Xccdf,
    Lynis,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::RegistryCsv => "registry_csv",
            Format::RegistryXlsx => "registry_xlsx",
            Format::Nmap => "nmap",
            Format::Greenbone => "greenbone",
            Format::FindingsCsv => "findings_csv",
            Format::Xccdf => "xccdf",
            Format::Lynis => "lynis",
        }
    }

    /// Whether it carries registry rows (else a scan).
    pub fn is_registry(self) -> bool {
        matches!(self, Format::RegistryCsv | Format::RegistryXlsx)
    }
}

/// What parsing needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Region codes are checked against it.
    pub tree: &'a RegionTree,
    /// When the file does not say when the scan ran.
    pub now: Timestamp,
    /// The region of registry rows that name none (the node's region).
    pub default_region: RegionCode,
}

/// Registry rows read from a table: systems (rows of the same system merged) and the rows
/// refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegistryRows {
    pub systems: Vec<System>,
    /// Data rows read (not counting the header).
    pub rows: usize,
    pub refused: Vec<Refusal>,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Registry(RegistryRows),
    Scan(Scan),
}

/// How much of a file [`detect`] reads.
const SNIFF: usize = 64 * 1024;

/// What [`detect`] says when nothing fits.
const READ: &str = "reads Nmap XML, Greenbone/OpenVAS XML reports, OpenSCAP XCCDF results or ARF, \
lynis reports, findings CSV (host,port,cve,cvss,title) and registry tables (CSV in UTF-8 or GBK, .xlsx)";

/// Which format `bytes` are, from the content (its first 64 KiB): the root element of an
/// XML file, the ZIP signature of an .xlsx, a lynis report's keys, a CSV's header row. The
/// file name, when known, only breaks a tie (a ZIP named `.xlsx`).
pub fn detect(name: Option<&str>, bytes: &[u8]) -> Result<Format, AssetError> {
    let head = bytes.get(..SNIFF).unwrap_or(bytes);
    if head.starts_with(b"PK\x03\x04") {
        let is_xlsx_name = name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".xlsx"));
        // The workbook part's name sits in the ZIP's central directory at the end of the
        // file, and in a local header near the start.
        if contains(bytes, b"xl/workbook.xml") || is_xlsx_name {
            return Ok(Format::RegistryXlsx);
        }
        return Err(AssetError::UnknownFormat(format!(
            "a ZIP archive that is not an .xlsx workbook; onewall {READ}"
        )));
    }
    let text = text::decode(cut_at_char(head));
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.starts_with('<') {
        return detect_xml(trimmed);
    }
    if is_lynis(&text) {
        return Ok(Format::Lynis);
    }
    let headers = csv_headers(&text);
    // A table may open with a title row (`XX省信息系统安全责任清单`) above its header: the
    // first row that names known columns decides.
    for header in &headers {
        if findings_csv::is_findings_header(header, true) {
            return Ok(Format::FindingsCsv);
        }
        if registry_table::is_registry_header(header) {
            return Ok(Format::RegistryCsv);
        }
        if findings_csv::is_findings_header(header, false) {
            return Ok(Format::FindingsCsv);
        }
    }
    if let Some(header) = headers.first() {
        return Err(AssetError::UnknownFormat(format!(
            "a table whose header ({}) names neither registry nor findings columns; onewall {READ}",
            header.join(",")
        )));
    }
    Err(AssetError::UnknownFormat(format!("onewall {READ}")))
}

/// An XML file by its root element.
fn detect_xml(text: &str) -> Result<Format, AssetError> {
    let Some((root, attrs)) = xml::root(text) else {
        return Err(AssetError::UnknownFormat(format!(
            "XML without a readable root element; onewall {READ}"
        )));
    };
    let xccdf_ns = attrs
        .iter()
        .any(|(k, v)| (k == "xmlns" || k.starts_with("xmlns:")) && v.contains("xccdf"));
    match root.as_str() {
        "nmaprun" => Ok(Format::Nmap),
        "get_reports_response" => Ok(Format::Greenbone),
        "report"
            if ["<results", "<gmp>", "<omp>", "<nvt", "<scan_start"]
                .iter()
                .any(|m| text.contains(m))
                || attrs.iter().any(|(k, _)| k == "format_id") =>
        {
            Ok(Format::Greenbone)
        }
        "asset-report-collection" => Ok(Format::Xccdf),
        "Benchmark" | "TestResult" if xccdf_ns => Ok(Format::Xccdf),
        other => Err(AssetError::UnknownFormat(format!(
            "XML with root element <{other}>; onewall {READ}"
        ))),
    }
}

/// Whether the text has a lynis report's keys.
fn is_lynis(text: &str) -> bool {
    text.lines().take(200).any(|l| {
        let l = l.trim_start();
        l.starts_with("report_version_major=") || l.starts_with("lynis_version=")
    })
}

/// The first rows of a CSV (cells trimmed) that have at least two non-empty cells: header
/// candidates.
fn csv_headers(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .take(5)
        .map_while(Result::ok)
        .map(|r| r.iter().map(|c| c.trim().to_string()).collect::<Vec<_>>())
        .filter(|cells| cells.iter().filter(|c| !c.is_empty()).count() >= 2)
        .collect()
}

/// `bytes` cut back to a UTF-8 character boundary when it is UTF-8 cut mid-character (a
/// 64 KiB prefix of a UTF-8 file must still read as UTF-8, not fall through to GBK).
fn cut_at_char(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes,
        Err(e) if e.error_len().is_none() => bytes.get(..e.valid_up_to()).unwrap_or(bytes),
        Err(_) => bytes,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Parse `bytes` as `format`. Scanner formats refuse a broken file whole.
pub fn parse(format: Format, bytes: &[u8], ctx: &Context<'_>) -> Result<Parsed, AssetError> {
    match format {
        Format::RegistryCsv => registry_table::parse_csv(bytes, ctx).map(Parsed::Registry),
        Format::RegistryXlsx => xlsx::parse(bytes, ctx).map(Parsed::Registry),
        Format::Nmap => nmap::parse(bytes, ctx).map(Parsed::Scan),
        Format::Greenbone => greenbone::parse(bytes, ctx).map(Parsed::Scan),
        Format::FindingsCsv => findings_csv::parse(bytes, ctx).map(Parsed::Scan),
        Format::Xccdf => xccdf::parse(bytes, ctx).map(Parsed::Scan),
        Format::Lynis => lynis::parse(bytes, ctx).map(Parsed::Scan),
    }
}

/// [`detect`] then [`parse`].
pub fn read(
    name: Option<&str>,
    bytes: &[u8],
    ctx: &Context<'_>,
) -> Result<(Format, Parsed), AssetError> {
    let format = detect(name, bytes)?;
    Ok((format, parse(format, bytes, ctx)?))
}
