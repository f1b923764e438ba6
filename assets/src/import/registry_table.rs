//! Registry rows from a table (CSV here; .xlsx cells come through [`rows`] too): the header
//! row's Chinese or English names map to columns, each data row to a system.
//!
//! The header is the first row (of the first ten) that names the system column and one other
//! registry column, so a title row above it ("XX市信息系统安全责任清单") is passed over. Header
//! names are matched ignoring case, spaces, punctuation (full-width or not) and a required-field
//! marker (`*系统名称`). Rows naming the same system (region and name) merge: lists add up,
//! a value given once holds for the others, and a row giving a different value for one already
//! given is refused. A refused row names its row (as a spreadsheet numbers it, the header
//! being row 1 when it is the first) and column, and the other rows load.

use std::collections::HashMap;

use onewall_model::{Exposure, RegionCode};

use crate::error::{AssetError, Place, Refusal};
use crate::registry::{Net, System};

use super::{Context, RegistryRows};

/// The columns a registry table may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Name,
    Region,
    Department,
    Ops,
    Contact,
    Phone,
    Level,
    Filing,
    Cii,
    Exposure,
    /// 互联网暴露 as yes or no.
    Internet,
    Addresses,
    Hosts,
    Tags,
}

/// Header names (normalised by [`header_key`]) and their column.
const HEADERS: &[(&str, Col)] = &[
    ("系统名称", Col::Name),
    ("信息系统名称", Col::Name),
    ("系统名", Col::Name),
    ("应用系统名称", Col::Name),
    ("system", Col::Name),
    ("systemname", Col::Name),
    ("name", Col::Name),
    ("区划代码", Col::Region),
    ("行政区划代码", Col::Region),
    ("属地", Col::Region),
    ("行政区划", Col::Region),
    ("所属地区", Col::Region),
    ("region", Col::Region),
    ("regioncode", Col::Region),
    ("regionname", Col::Region),
    ("所属区划", Col::Region),
    ("区划", Col::Region),
    ("使用单位", Col::Department),
    ("主管部门", Col::Department),
    ("责任单位", Col::Department),
    ("主体责任单位", Col::Department),
    ("使用部门", Col::Department),
    ("department", Col::Department),
    ("dept", Col::Department),
    ("主管单位", Col::Department),
    ("系统所属单位", Col::Department),
    ("owner", Col::Department),
    ("运维单位", Col::Ops),
    ("运维运营单位", Col::Ops),
    ("运营单位", Col::Ops),
    ("operator", Col::Ops),
    ("opsunit", Col::Ops),
    ("ops", Col::Ops),
    ("运维服务单位", Col::Ops),
    ("运维厂商", Col::Ops),
    ("operatorunit", Col::Ops),
    ("联系人", Col::Contact),
    ("负责人", Col::Contact),
    ("contact", Col::Contact),
    ("contacts", Col::Contact),
    ("联系电话", Col::Phone),
    ("电话", Col::Phone),
    ("联系方式", Col::Phone),
    ("phone", Col::Phone),
    ("等保级别", Col::Level),
    ("等级保护级别", Col::Level),
    ("等保等级", Col::Level),
    ("安全保护等级", Col::Level),
    ("定级", Col::Level),
    ("level", Col::Level),
    ("mlpslevel", Col::Level),
    ("备案号", Col::Filing),
    ("备案编号", Col::Filing),
    ("等保备案号", Col::Filing),
    ("filing", Col::Filing),
    ("filingnumber", Col::Filing),
    ("filingno", Col::Filing),
    ("备案证明编号", Col::Filing),
    ("关基", Col::Cii),
    ("关键信息基础设施", Col::Cii),
    ("是否关基", Col::Cii),
    ("是否关键信息基础设施", Col::Cii),
    ("cii", Col::Cii),
    ("暴露面", Col::Exposure),
    ("exposure", Col::Exposure),
    ("互联网暴露", Col::Internet),
    ("是否互联网暴露", Col::Internet),
    ("internetfacing", Col::Internet),
    ("是否对互联网开放", Col::Internet),
    ("互联网访问", Col::Internet),
    ("internet", Col::Internet),
    ("地址", Col::Addresses),
    ("ip地址", Col::Addresses),
    ("ip", Col::Addresses),
    ("ip地址段", Col::Addresses),
    ("网段", Col::Addresses),
    ("addresses", Col::Addresses),
    ("address", Col::Addresses),
    ("networks", Col::Addresses),
    ("ipaddress", Col::Addresses),
    ("ipaddresses", Col::Addresses),
    ("ips", Col::Addresses),
    ("cidr", Col::Addresses),
    ("主机名", Col::Hosts),
    ("域名", Col::Hosts),
    ("主机名域名", Col::Hosts),
    ("hostnames", Col::Hosts),
    ("hostname", Col::Hosts),
    ("hosts", Col::Hosts),
    ("domain", Col::Hosts),
    ("domains", Col::Hosts),
    ("计算机名", Col::Hosts),
    ("标签", Col::Tags),
    ("tags", Col::Tags),
];

/// How many rows the header may be down from the top.
const HEADER_SEARCH: usize = 10;

/// A header cell as matched: lower case, without spaces, punctuation, a `*` marker or a note
/// in brackets; full-width ASCII folded to ASCII.
fn header_key(cell: &str) -> String {
    let mut depth = 0u32;
    cell.chars()
        .map(|c| match c {
            // Full-width forms of ASCII (Ａ, （, ：) to ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        // A note in brackets is not part of the name: 区划代码（6位）, 等保级别[1-5].
        .filter(|c| {
            match c {
                '(' | '[' | '【' | '〔' => depth += 1,
                ')' | ']' | '】' | '〕' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !is_cjk_punctuation(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_cjk_punctuation(c: char) -> bool {
    matches!(
        c,
        '\u{3000}'..='\u{303F}' | '\u{FEFF}' | '·' | '—' | '…' | '“' | '”' | '‘' | '’'
    )
}

fn column_of(cell: &str) -> Option<Col> {
    let key = header_key(cell);
    HEADERS.iter().find(|(k, _)| *k == key).map(|(_, c)| *c)
}

/// Whether a header row (cells as read) is a registry's: it names the system column and at
/// least one other registry column. [`super::detect`] uses it to tell a registry CSV from a
/// findings CSV.
pub(super) fn is_registry_header(cells: &[String]) -> bool {
    let cols: Vec<Col> = cells.iter().filter_map(|c| column_of(c)).collect();
    cols.contains(&Col::Name) && cols.iter().any(|c| *c != Col::Name)
}

/// A CSV file, UTF-8 (BOM or not) or GBK.
pub(super) fn parse_csv(bytes: &[u8], ctx: &Context<'_>) -> Result<RegistryRows, AssetError> {
    let text = super::text::decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter_of(&text))
        .from_reader(text.as_bytes());
    let mut table: Numbered = Vec::new();
    // A spreadsheet shows a record as one row however many lines its quoted cells span, and
    // a blank line as an empty row (which the CSV reader skips): rows are counted so.
    let mut row = 0;
    // Where the next record starts when no blank line comes first.
    let mut next_line = 1;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(AssetError::refused(
                    "registry_csv",
                    Place::Row {
                        row: row + 1,
                        column: None,
                    },
                    format!("unreadable CSV record: {e}"),
                ));
            }
        }
        let start = record.position().map_or(next_line, |p| p.line());
        row += 1 + start.saturating_sub(next_line) as usize;
        let spans = record
            .iter()
            .map(|c| c.matches('\n').count() as u64)
            .sum::<u64>();
        next_line = start + 1 + spans;
        table.push((row, record.iter().map(unescape_formula).collect()));
    }
    numbered_rows(table, ctx, "registry_csv")
}

/// A cell as written: the export puts `'` before a cell that a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`), and the import takes it off again.
pub(super) fn unescape_formula(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::export::FORMULA_START) => rest.to_owned(),
        _ => cell.to_owned(),
    }
}

/// The separator of the header line: a comma, else a tab or semicolon when the line has more
/// of those (Excel's "text (tab delimited)", European CSV).
fn delimiter_of(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    let count = |c: char| first.matches(c).count();
    let (commas, tabs, semis) = (count(','), count('\t'), count(';'));
    if tabs > commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

/// Rows of cells, each with its spreadsheet row number.
pub(super) type Numbered = Vec<(usize, Vec<String>)>;

/// Rows with their spreadsheet row numbers: the header is found, each later row read.
pub(super) fn numbered_rows(
    table: Numbered,
    ctx: &Context<'_>,
    format: &'static str,
) -> Result<RegistryRows, AssetError> {
    let Some(at) = table
        .iter()
        .take(HEADER_SEARCH)
        .position(|(_, cells)| is_registry_header(cells))
    else {
        return Err(AssetError::refused(
            format,
            Place::File,
            "no registry header row: expected 系统名称 (or system) and another registry column \
             such as 区划代码, 使用单位, 等保级别, 地址 in one of the first rows",
        ));
    };
    let mut rows = table.into_iter().skip(at);
    let Some((_, header)) = rows.next() else {
        return Err(AssetError::refused(format, Place::File, "empty table"));
    };
    let columns: Vec<Option<Col>> = header.iter().map(|c| column_of(c)).collect();
    let mut merger = Merger::default();
    let mut out = RegistryRows::default();
    for (row, cells) in rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        let fields = Fields {
            row,
            cells: &cells,
            columns: &columns,
            header: &header,
        };
        match read_row(&fields, ctx).and_then(|r| merger.add(r, &fields)) {
            Ok(()) => {}
            Err(refusal) => out.refused.push(refusal),
        }
    }
    out.systems = merger.finish();
    Ok(out)
}

/// One data row and how to name its cells.
struct Fields<'a> {
    row: usize,
    cells: &'a [String],
    columns: &'a [Option<Col>],
    header: &'a [String],
}

impl Fields<'_> {
    /// The cells of column `col` (a table may repeat a column, e.g. two 联系人), trimmed and
    /// non-empty, each with its index.
    fn all(&self, col: Col) -> impl Iterator<Item = (usize, &str)> {
        self.columns
            .iter()
            .enumerate()
            .filter(move |(_, c)| **c == Some(col))
            .filter_map(|(i, _)| {
                let v = self.cells.get(i)?.trim();
                (!v.is_empty()).then_some((i, v))
            })
    }

    fn first(&self, col: Col) -> Option<(usize, &str)> {
        self.all(col).next()
    }

    /// The header as written of a column, for a refusal.
    fn column_name(&self, col: Col) -> String {
        self.columns
            .iter()
            .position(|c| *c == Some(col))
            .and_then(|i| self.header.get(i))
            .map(|h| h.trim().to_owned())
            .unwrap_or_default()
    }

    fn refuse(&self, index: Option<usize>, reason: String) -> Refusal {
        Refusal {
            place: Place::Row {
                row: self.row,
                column: index
                    .and_then(|i| self.header.get(i))
                    .map(|h| h.trim().to_owned()),
            },
            reason,
        }
    }

    fn refuse_col(&self, col: Col, reason: String) -> Refusal {
        Refusal {
            place: Place::Row {
                row: self.row,
                column: Some(self.column_name(col)).filter(|c| !c.is_empty()),
            },
            reason,
        }
    }
}

/// What one row says; `None` where it says nothing.
#[derive(Debug)]
struct Row {
    name: String,
    region: RegionCode,
    department: Option<String>,
    ops_unit: Option<String>,
    contacts: Vec<String>,
    level: Option<u8>,
    filing: Option<String>,
    cii: Option<bool>,
    exposure: Option<Exposure>,
    networks: Vec<Net>,
    hosts: Vec<String>,
    tags: Vec<String>,
}

fn read_row(f: &Fields<'_>, ctx: &Context<'_>) -> Result<Row, Refusal> {
    let Some((_, name)) = f.first(Col::Name) else {
        let col = f.column_name(Col::Name);
        return Err(f.refuse_col(Col::Name, format!("{col} is empty: a row names its system")));
    };
    let region = match f.first(Col::Region) {
        None => ctx.default_region,
        Some((i, v)) => region_of(v, ctx).map_err(|why| f.refuse(Some(i), why))?,
    };
    let text = |col: Col| f.first(col).map(|(_, v)| v.to_owned());
    let mut row = Row {
        name: name.to_owned(),
        region,
        department: text(Col::Department),
        ops_unit: text(Col::Ops),
        filing: text(Col::Filing),
        contacts: Vec::new(),
        level: None,
        cii: None,
        exposure: None,
        networks: Vec::new(),
        hosts: Vec::new(),
        tags: Vec::new(),
    };
    for col in [Col::Contact, Col::Phone] {
        for (_, v) in f.all(col) {
            row.contacts.extend(split_contacts(v).map(str::to_owned));
        }
    }
    if let Some((i, v)) = f.first(Col::Level) {
        row.level = parse_level(v).map_err(|why| f.refuse(Some(i), why))?;
    }
    if let Some((i, v)) = f.first(Col::Cii) {
        let cii = parse_bool(v);
        row.cii = Some(cii.ok_or_else(|| f.refuse(Some(i), yes_no(v, "关键信息基础设施")))?);
    }
    if let Some((i, v)) = f.first(Col::Exposure) {
        let e = Exposure::parse(v).or_else(|| parse_bool(v).map(internet));
        row.exposure = Some(e.ok_or_else(|| {
            f.refuse(
                Some(i),
                format!("exposure {v:?} is not internet (互联网) or internal (内网)"),
            )
        })?);
    }
    if let Some((i, v)) = f.first(Col::Internet) {
        let e = parse_bool(v).map(internet).or_else(|| Exposure::parse(v));
        let e = e.ok_or_else(|| f.refuse(Some(i), yes_no(v, "互联网暴露")))?;
        // Both columns given and at odds: the row is wrong about one of them.
        if row.exposure.is_some_and(|x| x != e) {
            return Err(f.refuse(Some(i), format!("互联网暴露 {v:?} contradicts 暴露面")));
        }
        row.exposure = Some(e);
    }
    for (i, v) in f.all(Col::Addresses) {
        for item in split_list(v) {
            let net = Net::parse(item).ok_or_else(|| {
                f.refuse(
                    Some(i),
                    format!("{item:?} is not an IP address or network (10.1.2.3, 10.1.2.0/24)"),
                )
            })?;
            row.networks.push(net);
        }
    }
    for (i, v) in f.all(Col::Hosts) {
        for item in split_list(v) {
            match host_of(item) {
                Some(Host::Addr(net)) => row.networks.push(net),
                Some(Host::Name(n)) => row.hosts.push(n),
                None => {
                    return Err(f.refuse(Some(i), format!("{item:?} is not a host name")));
                }
            }
        }
    }
    for (_, v) in f.all(Col::Tags) {
        row.tags.extend(split_list(v).map(str::to_owned));
    }
    Ok(row)
}

fn internet(yes: bool) -> Exposure {
    if yes {
        Exposure::Internet
    } else {
        Exposure::Internal
    }
}

fn yes_no(v: &str, what: &str) -> String {
    format!("{what} {v:?} is not yes or no (是/否, Y/N, 1/0, √)")
}

/// The items without repeats, in the order first given.
fn dedup<T: std::hash::Hash + Eq + Clone>(items: Vec<T>) -> Vec<T> {
    if items.len() < 2 {
        return items;
    }
    // SipHash: the values come from a file, not from the process.
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

/// A region as a six-digit code the tree knows (a spreadsheet's number `410100.0` too), or
/// a region's name (`郑州市`, `郑州`, `Zhengzhou`); else why not.
fn region_of(v: &str, ctx: &Context<'_>) -> Result<RegionCode, String> {
    let v = v.trim();
    let digits = v.strip_suffix(".0").unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let known = (digits.len() == 6)
            .then(|| digits.parse().ok().and_then(|n| RegionCode::new(n).ok()))
            .flatten()
            .filter(|code| ctx.tree.contains(*code));
        return known.ok_or_else(|| {
            format!(
                "region code {digits} is not a GB/T 2260 region this node knows (a county \
                 is known once the configuration's [[regions]] adds it)"
            )
        });
    }
    let bare = |n: &str| {
        n.strip_suffix('市')
            .or_else(|| n.strip_suffix('省'))
            .or_else(|| n.strip_suffix('区'))
            .or_else(|| n.strip_suffix('县'))
            .unwrap_or(n)
            .to_owned()
    };
    let found: Vec<RegionCode> = ctx
        .tree
        .iter()
        .filter(|r| {
            r.name == v
                || (!bare(v).is_empty() && bare(&r.name) == bare(v))
                || r.name_en
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(v))
        })
        .map(|r| r.code)
        .collect();
    match found.as_slice() {
        [code] => Ok(*code),
        [] => Err(format!(
            "region {v:?} is neither a six-digit region code nor the name of a region this \
             node knows"
        )),
        // Two regions of one name (a 城关区 in several cities): the name does not say which.
        codes => Err(format!(
            "region {v:?} names {} regions ({}): give the code",
            codes.len(),
            codes
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// 等保级别 as written: `3`, `三级`, `第三级`, `3级`, `等保三级`, `S3A3G3` (the G digit); empty
/// words (`未定级`, `无`, `-`) give none.
fn parse_level(v: &str) -> Result<Option<u8>, String> {
    let s: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    if matches!(
        s.as_str(),
        "未定级" | "无" | "-" | "—" | "/" | "none" | "n/a"
    ) {
        return Ok(None);
    }
    let bad = || format!("等保级别 {v:?} is not 1–5");
    let upper = s.to_ascii_uppercase();
    if upper.starts_with('S') && upper.contains('A') {
        // S3A2G3: the system's level is the general (G) one, else the higher of S and A.
        let digit_after = |c: char| {
            upper
                .find(c)
                .and_then(|i| upper[i + 1..].chars().next())
                .and_then(|d| d.to_digit(10))
        };
        let level = digit_after('G').or_else(|| digit_after('S').max(digit_after('A')));
        return match level {
            Some(n @ 1..=5) => Ok(Some(n as u8)),
            _ => Err(bad()),
        };
    }
    let core = s
        .trim_start_matches("等保")
        .trim_start_matches("等级保护")
        .trim_start_matches('第')
        .trim_end_matches("等保")
        .trim_end_matches('级')
        .trim_end_matches(".0");
    let n = match core {
        "一" | "1" => 1,
        "二" | "2" => 2,
        "三" | "3" => 3,
        "四" | "4" => 4,
        "五" | "5" => 5,
        _ => return Err(bad()),
    };
    Ok(Some(n))
}

/// Yes or no as lists write it.
fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_lowercase().as_str() {
        "是" | "yes" | "y" | "true" | "1" | "√" | "✓" | "✔" | "对" | "有" => Some(true),
        "否" | "no" | "n" | "false" | "0" | "×" | "✗" | "无" | "不是" | "" => Some(false),
        _ => None,
    }
}

/// Items of a list cell: separated by `;`, `,`, `、`, spaces, newlines (and their full-width
/// forms).
fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(|c: char| matches!(c, ';' | ',' | '、' | '；' | '，' | '|') || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Contacts: a name and number stay together (`张三 13800000000`); entries are separated by
/// `;`, `、` or newlines.
fn split_contacts(v: &str) -> impl Iterator<Item = &str> {
    v.split([';', '；', '、', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

enum Host {
    Addr(Net),
    Name(String),
}

/// A host name cell item: a name, a URL (`https://www.zz.gov.cn:8443/x` → `www.zz.gov.cn`),
/// or an address written among the names.
fn host_of(item: &str) -> Option<Host> {
    let rest = item.split_once("://").map_or(item, |(_, r)| r);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or("");
    if let Some(net) = Net::parse(rest.trim_start_matches('[').trim_end_matches(']')) {
        return Some(Host::Addr(net));
    }
    // A port after the name.
    let name = match rest.rsplit_once(':') {
        Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => rest,
    };
    let name = crate::registry::normalise_host(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| Host::Name(name.into_owned()))
}

/// Rows merged into systems by (region, name), in order of first appearance.
#[derive(Default)]
struct Merger {
    systems: Vec<(Row, usize)>,
    index: HashMap<(RegionCode, String), usize>,
}

impl Merger {
    fn add(&mut self, row: Row, f: &Fields<'_>) -> Result<(), Refusal> {
        let key = (row.region, row.name.clone());
        let Some(&at) = self.index.get(&key) else {
            if row.department.is_none() {
                let col = f.column_name(Col::Department);
                let col = if col.is_empty() {
                    "使用单位".into()
                } else {
                    col
                };
                return Err(f.refuse_col(
                    Col::Department,
                    format!("{col} is empty: a system needs the department that uses it"),
                ));
            }
            self.index.insert(key, self.systems.len());
            self.systems.push((row, f.row));
            return Ok(());
        };
        let (have, first_row) = &self.systems[at];
        let first_row = *first_row;
        // Check every single value before changing anything: a refused row changes nothing.
        let clash = |col: Col, a: Option<String>, b: Option<String>| match (a, b) {
            (Some(a), Some(b)) if a != b => Some(f.refuse_col(
                col,
                format!("{b:?} differs from {a:?} given for this system in row {first_row}"),
            )),
            _ => None,
        };
        let show = |e: Option<Exposure>| e.map(|e| e.as_str().to_owned());
        let checks = [
            clash(
                Col::Department,
                have.department.clone(),
                row.department.clone(),
            ),
            clash(Col::Ops, have.ops_unit.clone(), row.ops_unit.clone()),
            clash(
                Col::Level,
                have.level.map(|l| l.to_string()),
                row.level.map(|l| l.to_string()),
            ),
            clash(Col::Filing, have.filing.clone(), row.filing.clone()),
            clash(
                Col::Cii,
                have.cii.map(|c| c.to_string()),
                row.cii.map(|c| c.to_string()),
            ),
            clash(Col::Exposure, show(have.exposure), show(row.exposure)),
        ];
        if let Some(refusal) = checks.into_iter().flatten().next() {
            return Err(refusal);
        }
        let have = &mut self.systems[at].0;
        have.ops_unit = have.ops_unit.take().or(row.ops_unit);
        have.level = have.level.or(row.level);
        have.filing = have.filing.take().or(row.filing);
        have.cii = have.cii.or(row.cii);
        have.exposure = have.exposure.or(row.exposure);
        // Duplicates go in `finish`: a system of many host rows costs linear time.
        have.contacts.extend(row.contacts);
        have.networks.extend(row.networks);
        have.hosts.extend(row.hosts);
        have.tags.extend(row.tags);
        Ok(())
    }

    fn finish(self) -> Vec<System> {
        self.systems
            .into_iter()
            .map(|(r, _)| System {
                id: System::id_of(r.region, &r.name),
                name: r.name.trim().to_owned(),
                region: r.region,
                department: r.department.unwrap_or_default(),
                ops_unit: r.ops_unit.unwrap_or_default(),
                contacts: dedup(r.contacts),
                level: r.level,
                filing: r.filing,
                cii: r.cii.unwrap_or(false),
                exposure: r.exposure.unwrap_or_default(),
                networks: dedup(r.networks),
                hosts: dedup(r.hosts),
                tags: dedup(r.tags),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_ignoring_case_spaces_and_punctuation() {
        for (cell, col) in [
            ("*系统名称", Col::Name),
            (" System Name ", Col::Name),
            ("区划代码（6位）", Col::Region),
            ("等保级别[1-5]", Col::Level),
            ("ＩＰ地址", Col::Addresses),
            ("IP Address", Col::Addresses),
            ("主机名/域名", Col::Hosts),
            ("等级保护级别", Col::Level),
            ("运维运营单位：", Col::Ops),
            ("是否关键信息基础设施", Col::Cii),
            ("Internet-Facing", Col::Internet),
        ] {
            assert_eq!(column_of(cell), Some(col), "{cell}");
        }
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(is_registry_header(&row(&["序号", "系统名称", "IP地址"])));
        assert!(!is_registry_header(&row(&["系统名称"])));
        assert!(!is_registry_header(&row(&[
            "host", "port", "cve", "cvss", "title"
        ])));
    }

    #[test]
    fn levels_as_written() {
        for (v, want) in [
            ("3", Some(3)),
            ("三级", Some(3)),
            ("第三级", Some(3)),
            ("3级", Some(3)),
            ("S3A3G3", Some(3)),
            ("S2A3G3", Some(3)),
            ("s2a2", Some(2)),
            ("等保二级", Some(2)),
            ("二级等保", Some(2)),
            ("4.0", Some(4)),
            ("第五级", Some(5)),
            ("未定级", None),
        ] {
            assert_eq!(parse_level(v), Ok(want), "{v}");
        }
        for bad in ["6", "0", "六级", "高", "S6A6G6", "3a"] {
            assert!(parse_level(bad).unwrap_err().contains("1–5"), "{bad}");
        }
    }

    #[test]
    fn yes_no_and_hosts() {
        for v in ["是", "Y", "yes", "TRUE", "1", "√"] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
        for v in ["否", "N", "no", "false", "0", "×"] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
        assert_eq!(parse_bool("maybe"), None);
        let name = |v: &str| match host_of(v) {
            Some(Host::Name(n)) => n,
            Some(Host::Addr(a)) => a.to_string(),
            None => "-".into(),
        };
        assert_eq!(
            name("https://WWW.zz.gov.cn:8443/index.html"),
            "www.zz.gov.cn"
        );
        assert_eq!(name("web01."), "web01");
        assert_eq!(name("10.1.2.3"), "10.1.2.3");
        assert_eq!(name("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(name("门户.政务.cn"), "门户.政务.cn");
        assert_eq!(name("a b"), "-");
        assert_eq!(name("x=1"), "-");
        let items: Vec<&str> =
            split_list("10.0.0.1;10.0.0.2，10.0.0.3、10.0.0.4\n10.0.0.5 10.0.0.6").collect();
        assert_eq!(items.len(), 6);
    }
}
