//! The registry written out in the columns the import reads (Chinese headers), so an export
//! imports again unchanged: CSV (UTF-8 with a BOM, which Excel opens as UTF-8) and .xlsx.
//!
//! The .xlsx is the smallest workbook Excel, WPS and calamine all open: one sheet of inline
//! strings (no shared-string table), a bold frozen header row, every cell formatted as text
//! so that Excel does not turn a region code or a filing number into a number.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::registry::{Registry, System};

/// The header row, in the order written.
pub const COLUMNS: &[&str] = &[
    "系统名称",
    "区划代码",
    "使用单位",
    "运维单位",
    "联系人",
    "等保级别",
    "备案号",
    "关基",
    "暴露面",
    "地址",
    "主机名",
    "标签",
];

/// One system's cells, in [`COLUMNS`] order.
fn record(s: &System) -> [String; 12] {
    let join = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>().join("; ");
    [
        s.name.clone(),
        s.region.to_string(),
        s.department.clone(),
        s.ops_unit.clone(),
        s.contacts.join("; "),
        s.level.map(|l| l.to_string()).unwrap_or_default(),
        s.filing.clone().unwrap_or_default(),
        if s.cii { "是" } else { "否" }.to_owned(),
        match s.exposure {
            onewall_model::Exposure::Internet => "互联网",
            onewall_model::Exposure::Internal => "内网",
        }
        .to_owned(),
        join(&mut s.networks.iter().map(|n| n.to_string())),
        s.hosts.join("; "),
        s.tags.join("; "),
    ]
}

/// What a cell starts with when a spreadsheet would read it as a formula.
pub(crate) const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell that cannot run as a formula when the file is opened in a spreadsheet (a
/// system's name or contact comes from an imported file, anyone's text): `'` put before it,
/// as spreadsheets themselves mark text; the import takes it off.
fn defuse(cell: String) -> String {
    if cell.starts_with(FORMULA_START) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The registry as CSV: UTF-8 with a byte-order mark, CRLF line ends (as Excel writes).
pub fn csv(registry: &Registry) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to memory cannot fail; a failure would leave the file short, never panic.
        let _ = w.write_record(COLUMNS);
        for s in registry.systems() {
            let _ = w.write_record(record(s).map(defuse));
        }
        let _ = w.flush();
    }
    out
}

/// The registry as an .xlsx workbook of one sheet (安全责任清单).
pub fn xlsx(registry: &Registry) -> Vec<u8> {
    // Writing to memory cannot fail but for a bug in the zip writer; an empty answer then.
    workbook(&sheet(registry)).unwrap_or_default()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="安全责任清单" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

/// Style 0 default, 1 the bold header, 2 text (`@`) for the data cells.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#;

/// Column widths (in characters) for the columns of [`COLUMNS`].
const WIDTHS: [u8; 12] = [28, 10, 24, 24, 24, 9, 20, 6, 8, 32, 32, 16];

fn workbook(sheet: &str) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ("xl/styles.xml", STYLES),
        ("xl/worksheets/sheet1.xml", sheet),
    ] {
        zip.start_file(name, options)?;
        zip.write_all(body.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The worksheet: the header row then one row per system, all inline strings.
fn sheet(registry: &Registry) -> String {
    let rows = registry.len() + 1;
    let last = column_name(COLUMNS.len() - 1);
    let mut x = String::with_capacity(256 * rows);
    x.push_str(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    );
    let _ = write!(
        x,
        r#"<dimension ref="A1:{last}{rows}"/><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>"#
    );
    for (i, w) in WIDTHS.iter().enumerate() {
        let _ = write!(
            x,
            r#"<col min="{n}" max="{n}" width="{w}" customWidth="1"/>"#,
            n = i + 1
        );
    }
    x.push_str("</cols><sheetData>");
    write_row(&mut x, 1, COLUMNS.iter().map(|c| (*c).to_owned()), 1);
    for (i, s) in registry.systems().enumerate() {
        write_row(&mut x, i + 2, record(s).into_iter(), 2);
    }
    x.push_str("</sheetData></worksheet>");
    x
}

fn write_row(x: &mut String, r: usize, cells: impl Iterator<Item = String>, style: u8) {
    let _ = write!(x, r#"<row r="{r}">"#);
    for (c, v) in cells.enumerate() {
        let col = column_name(c);
        if v.is_empty() {
            let _ = write!(x, r#"<c r="{col}{r}" s="{style}"/>"#);
            continue;
        }
        let _ = write!(
            x,
            r#"<c r="{col}{r}" s="{style}" t="inlineStr"><is><t xml:space="preserve">"#
        );
        escape_into(x, &v);
        x.push_str("</t></is></c>");
    }
    x.push_str("</row>");
}

/// `A`, `B` … `Z`, `AA` … for a 0-based column.
fn column_name(mut c: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// XML text: markup escaped, characters XML 1.0 does not allow dropped.
fn escape_into(x: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => x.push_str("&amp;"),
            '<' => x.push_str("&lt;"),
            '>' => x.push_str("&gt;"),
            '"' => x.push_str("&quot;"),
            '\t' | '\n' | '\r' => x.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => x.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(11), "L");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn escaping() {
        let mut x = String::new();
        escape_into(&mut x, "a<b>&\"c\u{1}\nd");
        assert_eq!(x, "a&lt;b&gt;&amp;&quot;c\nd");
    }
}
