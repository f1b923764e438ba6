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

/// Which format `bytes` are (the file name, when known, only breaks ties: `.xlsx`, `.csv`).
pub fn detect(name: Option<&str>, bytes: &[u8]) -> Result<Format, AssetError> {
    let _ = (name, bytes);
    todo!("issue 21: sniff the content")
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
