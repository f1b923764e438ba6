//! The .docx a report renders to opens in a second, independent reader (python-docx) and
//! holds what was put in: the title, subtitle, headings and paragraphs in order, and every
//! cell of every table (figures tables included). The HTML page holds the same text.

use std::process::Command;

use onewall_supervise::doc::{self, Doc};

fn sample() -> Doc {
    let mut d = Doc::new(
        "郑州市 2026 年第 49 周网络安全周报",
        "2026-11-30 至 2026-12-07 · 410100",
    );
    d.heading("一、总体情况")
        .paragraph("本周共发生安全事件 7 起，其中Ⅱ级 1 起。\n第二行：<b>不是标签</b> & 符号")
        .figures(vec![
            ("事件总数".into(), "7".into()),
            ("平均确认时间".into(), "12 分 5 秒".into()),
        ])
        .heading("二、事件分级")
        .table(
            "事件分级",
            &["级别", "数量"],
            vec![
                vec!["Ⅰ级".into(), "0".into()],
                vec!["Ⅱ级".into(), "1".into()],
                vec!["未定级".into(), "6".into()],
            ],
        )
        .table("短行补齐", &["a", "b", "c"], vec![vec!["only one".into()]])
        .paragraph("Ends with Latin text, a tab\tand a control char \u{7} dropped.");
    d
}

/// Read `bytes` with python-docx: one line per paragraph (`P<TAB>style<TAB>text`) and per
/// table cell (`C<TAB>table<TAB>row<TAB>col<TAB>text`), with `\n` in text written as `\\n`;
/// then the East Asian font of the first run of the title.
fn read_with_python_docx(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.docx");
    std::fs::write(&path, bytes).expect("write");
    let script = r#"
import sys, docx
from docx.oxml.ns import qn
d = docx.Document(sys.argv[1])
esc = lambda s: s.replace("\\", "\\\\").replace("\n", "\\n")
for p in d.paragraphs:
    print("P\t%s\t%s" % (p.style.name if p.style is not None else "", esc(p.text)))
for ti, t in enumerate(d.tables):
    for ri, row in enumerate(t.rows):
        for ci, cell in enumerate(row.cells):
            print("C\t%d\t%d\t%d\t%s" % (ti, ri, ci, esc(cell.text)))
r = d.paragraphs[0].runs[0]._r
fonts = r.rPr.find(qn("w:rFonts"))
print("F\t%s" % fonts.get(qn("w:eastAsia")))
"#;
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("Debian's python3 with python3-docx (scripts/test installs it)");
    assert!(
        out.status.success(),
        "python-docx could not read the .docx: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_docx_opens_in_python_docx_with_every_paragraph_and_cell() {
    let d = sample();
    let bytes = doc::docx(&d).expect("docx");
    assert_eq!(&bytes[..2], b"PK", "a .docx is a zip");
    let text = read_with_python_docx(&bytes);

    let paras: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("P\t"))
        .map(|l| {
            let (s, t) = l.split_once('\t').expect("style and text");
            (s.to_owned(), t.replace("\\n", "\n"))
        })
        .filter(|(_, t)| !t.is_empty())
        .collect();
    let want: Vec<(&str, &str)> = vec![
        ("Title", "郑州市 2026 年第 49 周网络安全周报"),
        ("Subtitle", "2026-11-30 至 2026-12-07 · 410100"),
        ("Heading 1", "一、总体情况"),
        (
            "",
            "本周共发生安全事件 7 起，其中Ⅱ级 1 起。\n第二行：<b>不是标签</b> & 符号",
        ),
        ("Heading 1", "二、事件分级"),
        ("Caption", "事件分级"),
        ("Caption", "短行补齐"),
        (
            "",
            "Ends with Latin text, a tab\tand a control char  dropped.",
        ),
    ];
    assert_eq!(paras.len(), want.len(), "{paras:#?}");
    for ((style, text), (ws, wt)) in paras.iter().zip(&want) {
        assert_eq!(text, wt);
        if !ws.is_empty() {
            assert_eq!(style, ws, "style of {text}");
        }
    }

    let cells: Vec<Vec<String>> = text
        .lines()
        .filter_map(|l| l.strip_prefix("C\t"))
        .map(|l| l.splitn(4, '\t').map(str::to_owned).collect())
        .collect();
    let cell = |t: usize, r: usize, c: usize| -> String {
        cells
            .iter()
            .find(|v| v[0] == t.to_string() && v[1] == r.to_string() && v[2] == c.to_string())
            .map(|v| v[3].clone())
            .unwrap_or_else(|| panic!("no cell {t}/{r}/{c}"))
    };
    // The figures table: label and value, no header row.
    assert_eq!(cell(0, 0, 0), "事件总数");
    assert_eq!(cell(0, 0, 1), "7");
    assert_eq!(cell(0, 1, 1), "12 分 5 秒");
    // Data tables: the header row, then every row.
    assert_eq!(
        (cell(1, 0, 0), cell(1, 0, 1)),
        ("级别".to_owned(), "数量".to_owned())
    );
    assert_eq!((cell(1, 1, 0), cell(1, 1, 1)), ("Ⅰ级".into(), "0".into()));
    assert_eq!((cell(1, 2, 0), cell(1, 2, 1)), ("Ⅱ级".into(), "1".into()));
    assert_eq!(
        (cell(1, 3, 0), cell(1, 3, 1)),
        ("未定级".into(), "6".into())
    );
    // A short row is padded to the header's width.
    assert_eq!(cell(2, 1, 0), "only one");
    assert_eq!(cell(2, 1, 2), "");
    assert_eq!(cells.iter().filter(|v| v[0] == "1").count(), 8);

    assert!(text.contains("F\t宋体"), "East Asian font on runs: {text}");
}

#[test]
fn the_html_page_holds_the_same_text_escaped() {
    let h = doc::html(&sample());
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.contains("<title>郑州市 2026 年第 49 周网络安全周报</title>"));
    assert!(h.contains("第二行：&lt;b&gt;不是标签&lt;/b&gt; &amp; 符号"));
    assert!(h.contains("<th scope=\"col\">级别</th><th scope=\"col\">数量</th>"));
    assert!(h.contains("<tr><td>Ⅱ级</td><td>1</td></tr>"));
    assert!(h.contains("<th scope=\"row\">平均确认时间</th><td>12 分 5 秒</td>"));
    assert!(h.contains("<caption>事件分级</caption>"));
}

#[test]
fn an_empty_document_renders() {
    let d = Doc::default();
    assert!(doc::docx(&d).expect("docx").starts_with(b"PK"));
    assert!(doc::html(&d).contains("<title></title>"));
}

mod random {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        /// Any text (control characters, markup, lone `&`) renders: the .docx is written and
        /// the page carries none of it as markup.
        #[test]
        fn any_text_renders(texts in proptest::collection::vec(any::<String>(), 1..6)) {
            let build = |texts: &[String]| {
                let mut d = Doc::new(texts[0].clone(), texts.last().cloned().unwrap_or_default());
                d.heading(texts[0].clone()).paragraph(texts.join("\n"));
                d.table("t", &["a", "b"], vec![texts.to_vec()]);
                d
            };
            let d = build(&texts);
            prop_assert!(doc::docx(&d).expect("docx").starts_with(b"PK"));
            // Every `<` of the page is the renderer's own: the same texts with their `<`
            // taken out give a page with as many. (A text's `<` that came through raw would
            // add one; a text such as "<" may still occur inside the renderer's own tags.)
            let tags = |d: &Doc| doc::html(d).matches('<').count();
            let plain: Vec<String> = texts.iter().map(|t| t.replace('<', "_")).collect();
            prop_assert_eq!(tags(&d), tags(&build(&plain)));
        }
    }
}
