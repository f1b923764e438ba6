//! The HTML rendering: one page, UTF-8, `lang="zh-CN"`, a small inline style sheet that prints
//! well (tables do not split a row across pages), every text escaped.

use std::fmt::Write;

use super::{Block, Doc, Table, xml_safe};

const STYLE: &str = "body{font-family:\"SimSun\",\"宋体\",\"Noto Serif CJK SC\",serif;\
max-width:60em;margin:2em auto;padding:0 1em;color:#111;line-height:1.6}\
h1{text-align:center;font-size:1.6em;margin-bottom:.2em}\
p.subtitle{text-align:center;color:#444;margin-top:0}\
h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;margin:.6em 0 1em}\
caption{text-align:left;font-weight:bold;padding:.2em 0}\
th,td{border:1px solid #777;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#eee}\
table.figures th{width:40%}\
tr{page-break-inside:avoid}\
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}}";

/// Escape text for an HTML element or a quoted attribute.
pub(crate) fn escape(s: &str) -> String {
    let s = xml_safe(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn render(doc: &Doc) -> String {
    let mut o = String::with_capacity(4096);
    o.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(o, "<title>{}</title>", escape(&doc.title));
    let _ = writeln!(o, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(o, "<h1>{}</h1>", escape(&doc.title));
    if !doc.subtitle.is_empty() {
        let _ = writeln!(o, "<p class=\"subtitle\">{}</p>", escape(&doc.subtitle));
    }
    for b in &doc.blocks {
        match b {
            Block::Heading { text } => {
                let _ = writeln!(o, "<h2>{}</h2>", escape(text));
            }
            Block::Paragraph { text } => {
                let lines: Vec<String> = text.split('\n').map(escape).collect();
                let _ = writeln!(o, "<p>{}</p>", lines.join("<br>"));
            }
            Block::Figures { items } => {
                o.push_str("<table class=\"figures\">\n<tbody>\n");
                for (k, v) in items {
                    let _ = writeln!(
                        o,
                        "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                        escape(k),
                        escape(v)
                    );
                }
                o.push_str("</tbody>\n</table>\n");
            }
            Block::Table(t) => table(&mut o, t),
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn table(o: &mut String, t: &Table) {
    let cols = t.columns();
    o.push_str("<table>\n");
    if !t.caption.is_empty() {
        let _ = writeln!(o, "<caption>{}</caption>", escape(&t.caption));
    }
    o.push_str("<thead><tr>");
    for i in 0..cols {
        let h = t.header.get(i).map_or("", String::as_str);
        let _ = write!(o, "<th scope=\"col\">{}</th>", escape(h));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        o.push_str("<tr>");
        for i in 0..cols {
            let c = r.get(i).map_or("", String::as_str);
            let _ = write!(o, "<td>{}</td>", escape(c));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_nothing_is_loaded_from_elsewhere() {
        let mut d = Doc::new("周报 <script>", "2026-W49 & 郑州");
        d.paragraph("a\"b'c\nd\u{1}e");
        d.table("表", &["名称", "数"], vec![vec!["<b>x</b>".into()]]);
        let h = render(&d);
        assert!(h.contains("<html lang=\"zh-CN\">"));
        assert!(h.contains("<meta charset=\"utf-8\">"));
        assert!(h.contains("周报 &lt;script&gt;"));
        assert!(h.contains("2026-W49 &amp; 郑州"));
        assert!(h.contains("a&quot;b&#39;c<br>de"));
        assert!(h.contains("<td>&lt;b&gt;x&lt;/b&gt;</td><td></td>"));
        assert!(!h.contains("<script"));
        for bad in ["src=", "href=", "@import", "url("] {
            assert!(!h.contains(bad), "{bad}");
        }
    }
}
