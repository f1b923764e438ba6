//! The .docx rendering through `docx-rs`: Title and Subtitle paragraphs, Heading 1 headings,
//! paragraphs, and tables with a bold shaded header row. Every run names 宋体 (SimSun) as its
//! East Asian font and the document defaults do too, so Chinese text shows in every reader.

use docx_rs::{
    AlignmentType, BreakType, Docx, Paragraph, Run, RunFonts, Shading, ShdType, Style, StyleType,
    Table as WTable, TableCell, TableLayoutType, TableRow, WidthType,
};

use super::{Block, Doc, Table, xml_safe};
use crate::{Result, SuperviseError};

/// The East Asian font of every run.
const CJK_FONT: &str = "宋体";
/// The Latin font of every run.
const LATIN_FONT: &str = "Times New Roman";
/// The text width of an A4 page with the default margins, in twentieths of a point.
const TEXT_WIDTH: usize = 9000;

fn fonts() -> RunFonts {
    RunFonts::new()
        .east_asia(CJK_FONT)
        .ascii(LATIN_FONT)
        .hi_ansi(LATIN_FONT)
}

/// A run of `text`; a `\n` becomes a line break inside the paragraph.
fn runs(mut p: Paragraph, text: &str, bold: bool) -> Paragraph {
    let text = xml_safe(text);
    for (i, line) in text.split('\n').enumerate() {
        let mut r = Run::new().fonts(fonts());
        if i > 0 {
            r = r.add_break(BreakType::TextWrapping);
        }
        r = r.add_text(line);
        if bold {
            r = r.bold();
        }
        p = p.add_run(r);
    }
    p
}

fn para(text: &str) -> Paragraph {
    runs(Paragraph::new(), text, false)
}

fn styles(d: Docx) -> Docx {
    d.default_fonts(fonts())
        .default_size(24)
        .add_style(
            Style::new("Title", StyleType::Paragraph)
                .name("Title")
                .size(36)
                .bold()
                .fonts(fonts())
                .align(AlignmentType::Center),
        )
        .add_style(
            Style::new("Subtitle", StyleType::Paragraph)
                .name("Subtitle")
                .size(24)
                .fonts(fonts())
                .align(AlignmentType::Center),
        )
        .add_style(
            Style::new("Heading1", StyleType::Paragraph)
                .name("Heading 1")
                .size(30)
                .bold()
                .fonts(fonts())
                .outline_lvl(0),
        )
        .add_style(
            Style::new("Caption", StyleType::Paragraph)
                .name("Caption")
                .size(21)
                .bold()
                .fonts(fonts()),
        )
}

fn cell(text: &str, width: usize, header: bool) -> TableCell {
    let c = TableCell::new()
        .width(width, WidthType::Dxa)
        .add_paragraph(runs(Paragraph::new(), text, header));
    if header {
        c.shading(Shading::new().shd_type(ShdType::Clear).fill("E7E6E6"))
    } else {
        c
    }
}

/// A table of `cols` columns of equal width (the figures table: 2 columns, 2:3).
fn table(header: Option<&[String]>, rows: &[Vec<String>], widths: &[usize]) -> WTable {
    let line = |cells: &[String], head: bool| {
        TableRow::new(
            widths
                .iter()
                .enumerate()
                .map(|(i, w)| cell(cells.get(i).map_or("", String::as_str), *w, head))
                .collect(),
        )
    };
    let mut out = Vec::with_capacity(rows.len() + 1);
    if let Some(h) = header {
        out.push(line(h, true));
    }
    out.extend(rows.iter().map(|r| line(r, false)));
    WTable::new(out)
        .set_grid(widths.to_vec())
        .layout(TableLayoutType::Fixed)
        .width(TEXT_WIDTH, WidthType::Dxa)
}

fn data_table(t: &Table) -> WTable {
    let cols = t.columns();
    let w = TEXT_WIDTH / cols;
    table(Some(&t.header), &t.rows, &vec![w; cols])
}

pub(super) fn render(doc: &Doc) -> Result<Vec<u8>> {
    let mut d = styles(Docx::new()).add_paragraph(para(&doc.title).style("Title"));
    if !doc.subtitle.is_empty() {
        d = d.add_paragraph(para(&doc.subtitle).style("Subtitle"));
    }
    for b in &doc.blocks {
        d = match b {
            Block::Heading { text } => d.add_paragraph(para(text).style("Heading1")),
            Block::Paragraph { text } => d.add_paragraph(para(text)),
            Block::Figures { items } => {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect();
                d.add_table(table(
                    None,
                    &rows,
                    &[TEXT_WIDTH * 2 / 5, TEXT_WIDTH * 3 / 5],
                ))
                .add_paragraph(Paragraph::new())
            }
            Block::Table(t) => {
                if !t.caption.is_empty() {
                    d = d.add_paragraph(para(&t.caption).style("Caption"));
                }
                // An empty paragraph after each table: Word joins adjacent tables otherwise.
                d.add_table(data_table(t)).add_paragraph(Paragraph::new())
            }
        };
    }
    let mut out = std::io::Cursor::new(Vec::with_capacity(16 * 1024));
    d.build()
        .pack(&mut out)
        .map_err(|e| SuperviseError::Internal(format!("writing the .docx: {e}")))?;
    Ok(out.into_inner())
}
