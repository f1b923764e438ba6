//! Plain and CSV lists of indicators.
//!
//! A **plain list** holds one value per line; blank lines and lines starting with `#` are
//! comments, and a value ends at the first white space (so `203.0.113.9 # c2` reads
//! `203.0.113.9`). A **CSV list** holds one record per line, fields separated by a delimiter
//! (`,` unless told) and optionally in double quotes (`""` is a quote inside one); its columns
//! are mapped by [`CsvColumns`], by position (from 0) or by name. Names are read from a header:
//! the first record when [`CsvColumns::header`] is set, else the last comment line before the
//! first record (abuse.ch exports write their header as `# "first_seen_utc","dst_ip",...`).
//!
//! Each value's kind is the list's ([`ListFormat::kind`]), the record's kind column, or, for
//! neither, guessed from the value: an address, a range (`/`), a URL (`://`), a hash of 32, 40
//! or 64 hex digits (64 is read as SHA-256), an email address (`@`), else a domain. An
//! address written with a port (`203.0.113.9:443`, as ThreatFox's `ip:port`) is the address.
//!
//! A line that is not a value is rejected with its reason (`line 12`); a document that is not
//! UTF-8 text, names a column its header lacks, or holds records none of which is a value (an
//! error page instead of the list) is malformed, and the feed keeps its previous indicators.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use onewall_model::{IndicatorKind, Severity, Tlp};
use serde::Deserialize;

use super::{FeedRead, Rejected};
use crate::{Indicator, IntelError, Observable};

/// How a list is written (`format` of a list feed in `[intel]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFormat {
    /// The kind of every value; when absent, the kind column's or a guess per value.
    #[serde(default)]
    pub kind: Option<IndicatorKind>,
    /// Read as CSV with these columns; a plain list when absent.
    #[serde(default)]
    pub csv: Option<CsvColumns>,
    /// The confidence of every indicator without a confidence column (default 50).
    #[serde(default)]
    pub confidence: Option<u8>,
    /// The severity of every indicator (default medium).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The marking of every indicator (default AMBER).
    #[serde(default)]
    pub tlp: Option<Tlp>,
    /// Labels given to every indicator.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// The columns of a CSV list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvColumns {
    pub value: Column,
    /// A column naming each record's kind (`ip`, `ip:port`, `domain`, `url`, `md5_hash` ...;
    /// see [`kind_of_name`]).
    #[serde(default)]
    pub kind: Option<Column>,
    /// More kind names for the kind column (name to kind).
    #[serde(default)]
    pub kinds: BTreeMap<String, IndicatorKind>,
    /// First seen: the indicator's `valid_from`.
    #[serde(default)]
    pub first_seen: Option<Column>,
    /// Last seen: the `valid_from` of records without a first seen.
    #[serde(default)]
    pub last_seen: Option<Column>,
    /// 0–100.
    #[serde(default)]
    pub confidence: Option<Column>,
    /// Each a list of labels separated by `,` (tags, the malware's name ...).
    #[serde(default)]
    pub tags: Vec<Column>,
    /// The record's id in the source.
    #[serde(default)]
    pub id: Option<Column>,
    #[serde(default)]
    pub description: Option<Column>,
    /// The first record is a header of column names.
    #[serde(default)]
    pub header: bool,
    #[serde(default = "comma")]
    pub delimiter: char,
}

fn comma() -> char {
    ','
}

/// A column by position (from 0) or by its name in the header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Column {
    Index(usize),
    Name(String),
}

impl CsvColumns {
    /// Columns with only a value column, the rest unset.
    pub fn value(value: Column) -> CsvColumns {
        CsvColumns {
            value,
            kind: None,
            kinds: BTreeMap::new(),
            first_seen: None,
            last_seen: None,
            confidence: None,
            tags: Vec::new(),
            id: None,
            description: None,
            header: false,
            delimiter: ',',
        }
    }
}

fn name(s: &str) -> Option<Column> {
    Some(Column::Name(s.to_string()))
}

impl ListFormat {
    /// abuse.ch Feodo Tracker's `ipblocklist.csv` (botnet C2 addresses).
    pub fn feodo_csv() -> ListFormat {
        let mut c = CsvColumns::value(Column::Name("dst_ip".into()));
        c.first_seen = name("first_seen_utc");
        c.tags = vec![Column::Name("malware".into())];
        ListFormat {
            kind: Some(IndicatorKind::Ip),
            csv: Some(c),
            labels: vec!["botnet_cc".into()],
            ..ListFormat::default()
        }
    }

    /// abuse.ch URLhaus's CSV dumps (malware URLs).
    pub fn urlhaus_csv() -> ListFormat {
        let mut c = CsvColumns::value(Column::Name("url".into()));
        c.first_seen = name("dateadded");
        c.tags = vec![Column::Name("threat".into()), Column::Name("tags".into())];
        c.id = name("id");
        ListFormat {
            kind: Some(IndicatorKind::Url),
            csv: Some(c),
            ..ListFormat::default()
        }
    }

    /// abuse.ch ThreatFox's CSV export (indicators of several kinds).
    pub fn threatfox_csv() -> ListFormat {
        let mut c = CsvColumns::value(Column::Name("ioc_value".into()));
        c.kind = name("ioc_type");
        c.first_seen = name("first_seen_utc");
        c.last_seen = name("last_seen_utc");
        c.confidence = name("confidence_level");
        c.tags = vec![
            Column::Name("threat_type".into()),
            Column::Name("malware_printable".into()),
            Column::Name("tags".into()),
        ];
        c.id = name("ioc_id");
        ListFormat {
            csv: Some(c),
            ..ListFormat::default()
        }
    }
}

/// The kind a kind column's text names: onewall's names (`ip`, `domain-tree` ...) and the
/// common spellings of feeds (`ip:port`, `ipv4`, `ip-dst`, `hostname`, `md5_hash`,
/// `sha256_hash`, `email-src` ...).
pub fn kind_of_name(s: &str) -> Option<IndicatorKind> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(k) = IndicatorKind::parse(&t) {
        return Some(k);
    }
    Some(match t.as_str() {
        "ip:port" | "ipv4" | "ipv6" | "ip-dst" | "ip-src" | "ipv4-addr" | "ipv6-addr"
        | "ip_address" => IndicatorKind::Ip,
        "ip-range" | "cidr_range" | "net" => IndicatorKind::Cidr,
        "hostname" | "fqdn" | "domain-name" | "host" => IndicatorKind::Domain,
        "uri" | "link" => IndicatorKind::Url,
        "md5_hash" | "md5-hash" => IndicatorKind::Md5,
        "sha1_hash" | "sha1-hash" | "sha-1" => IndicatorKind::Sha1,
        "sha256_hash" | "sha256-hash" | "sha-256" => IndicatorKind::Sha256,
        "sm3_hash" => IndicatorKind::Sm3,
        "email-src" | "email-dst" | "email_address" | "email-addr" => IndicatorKind::Email,
        _ => return None,
    })
}

/// The kind `value` looks like (see the module's doc).
pub fn guess_kind(value: &str) -> IndicatorKind {
    let v = value.trim();
    if v.parse::<std::net::IpAddr>().is_ok() || v.parse::<SocketAddr>().is_ok() {
        return IndicatorKind::Ip;
    }
    if v.contains("://") {
        return IndicatorKind::Url;
    }
    if v.contains('/') {
        return IndicatorKind::Cidr;
    }
    if v.bytes().all(|b| b.is_ascii_hexdigit()) {
        match v.len() {
            32 => return IndicatorKind::Md5,
            40 => return IndicatorKind::Sha1,
            64 => return IndicatorKind::Sha256,
            _ => {}
        }
    }
    if v.contains('@') {
        return IndicatorKind::Email;
    }
    IndicatorKind::Domain
}

/// `text` as a value of `kind`; an address may carry a port, a domain must look like a host
/// name (letters, digits, `-`, `_` and dots, with at least one dot).
fn parse_value(kind: IndicatorKind, text: &str) -> Result<Observable, String> {
    if matches!(kind, IndicatorKind::Domain | IndicatorKind::DomainTree) {
        let t = text.trim().trim_end_matches('.');
        let hostlike = t.contains('.')
            && t.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '*'));
        if !hostlike {
            return Err(format!("{text:?} is not a host name"));
        }
    }
    match Observable::parse(kind, text) {
        Ok(v) => Ok(v),
        Err(e) => match (kind, text.trim().parse::<SocketAddr>()) {
            (IndicatorKind::Ip, Ok(sa)) => {
                Ok(Observable::Ip(crate::indicator::canonical_ip(sa.ip())))
            }
            _ => Err(e.to_string()),
        },
    }
}

/// `text` as the kind it looks like.
fn parse_guessed(text: &str) -> Result<Observable, String> {
    parse_value(guess_kind(text), text).map_err(|_| {
        format!("{text:?} is not an address, range, URL, hash, email address or domain")
    })
}

/// Read `doc`, a list written as `format` says, into indicators of `feed`.
pub fn read_list(doc: &[u8], feed: &str, format: &ListFormat) -> Result<FeedRead, IntelError> {
    let text = std::str::from_utf8(doc).map_err(|e| IntelError::MalformedFeed {
        format: "list",
        reason: format!("not UTF-8 text at byte {}", e.valid_up_to()),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (read, records) = match &format.csv {
        None => read_plain(text, feed, format),
        Some(cols) => read_csv(text, feed, format, cols)?,
    };
    if records > 0 && read.indicators.is_empty() {
        let first = read
            .rejected
            .first()
            .map(|r| format!("; {}: {}", r.item, r.reason))
            .unwrap_or_default();
        return Err(IntelError::MalformedFeed {
            format: if format.csv.is_some() {
                "csv list"
            } else {
                "list"
            },
            reason: format!("none of its {records} records is a value{first}"),
        });
    }
    Ok(read)
}

fn new_indicator(value: Observable, feed: &str, format: &ListFormat) -> Indicator {
    let mut ind = Indicator::new(value, feed);
    if let Some(c) = format.confidence {
        ind.confidence = c.min(100);
    }
    if let Some(s) = format.severity {
        ind.severity = s;
    }
    if let Some(t) = format.tlp {
        ind.tlp = t;
    }
    ind.labels = format.labels.clone();
    ind
}

/// A plain list; and how many records (non-comment lines) it held.
fn read_plain(text: &str, feed: &str, format: &ListFormat) -> (FeedRead, usize) {
    let mut read = FeedRead::default();
    let mut records = 0;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        records += 1;
        let value = t.split_whitespace().next().unwrap_or(t);
        let parsed = match format.kind {
            Some(kind) => parse_value(kind, value),
            None => parse_guessed(value),
        };
        match parsed {
            Ok(v) => read.indicators.push(new_indicator(v, feed, format)),
            Err(reason) => read.rejected.push(Rejected {
                item: format!("line {}", n + 1),
                reason,
            }),
        }
    }
    (read, records)
}

/// Split one CSV record; `None` when a quote is not closed.
pub fn split_record(line: &str, delimiter: char) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == delimiter {
            fields.push(finish(&mut cur, quoted));
            quoted = false;
        } else if quoted && c.is_whitespace() {
            // White space after a closing quote.
        } else if c == '"' && cur.trim().is_empty() {
            cur.clear();
            in_quotes = true;
            quoted = true;
        } else {
            cur.push(c);
        }
    }
    if in_quotes {
        return None;
    }
    fields.push(finish(&mut cur, quoted));
    Some(fields)
}

fn finish(cur: &mut String, quoted: bool) -> String {
    let s = std::mem::take(cur);
    if quoted { s } else { s.trim().to_string() }
}

mod csv;
pub use csv::parse_time;
use csv::read_csv;
