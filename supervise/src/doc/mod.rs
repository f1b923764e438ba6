//! One document model for every report (periodic, 复盘, drill), rendered as a self-contained
//! HTML page (escaped, inline style, nothing loaded from elsewhere: [`html`]) and as a Word
//! document (.docx, [`docx`]) whose tables hold the same figures, cell for cell.

use serde::Serialize;

use crate::Result;

mod html;
mod word;

/// A report as a document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Doc {
    /// The document's title (the HTML `<title>` and first heading; the .docx Title paragraph).
    pub title: String,
    /// Under the title: the period and region covered, when it was made.
    pub subtitle: String,
    /// The body, in order.
    pub blocks: Vec<Block>,
}

/// A part of a document, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A section heading.
    Heading {
        /// The heading's text.
        text: String,
    },
    /// A paragraph of text (a `\n` breaks the line).
    Paragraph {
        /// The paragraph's text.
        text: String,
    },
    /// Label and value pairs (key figures), shown as a two-column table.
    Figures {
        /// (label, value) pairs, in order.
        items: Vec<(String, String)>,
    },
    /// A table with a header row.
    Table(Table),
}

/// A table: a caption, a header row and rows of cells.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    /// Shown above the table (left out when empty).
    pub caption: String,
    /// The header row's cells.
    pub header: Vec<String>,
    /// The body rows; a row shorter than the header is padded with empty cells.
    pub rows: Vec<Vec<String>>,
}

impl Doc {
    /// A document with `title` and `subtitle` and no body yet.
    pub fn new(title: impl Into<String>, subtitle: impl Into<String>) -> Doc {
        Doc {
            title: title.into(),
            subtitle: subtitle.into(),
            blocks: Vec::new(),
        }
    }

    /// Add a heading.
    pub fn heading(&mut self, text: impl Into<String>) -> &mut Doc {
        self.blocks.push(Block::Heading { text: text.into() });
        self
    }

    /// Add a paragraph.
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Doc {
        self.blocks.push(Block::Paragraph { text: text.into() });
        self
    }

    /// Add key figures (label, value).
    pub fn figures(&mut self, items: Vec<(String, String)>) -> &mut Doc {
        self.blocks.push(Block::Figures { items });
        self
    }

    /// Add a table; `rows` empty adds the header and one row saying there is nothing.
    pub fn table(
        &mut self,
        caption: impl Into<String>,
        header: &[&str],
        rows: Vec<Vec<String>>,
    ) -> &mut Doc {
        self.blocks.push(Block::Table(Table {
            caption: caption.into(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows,
        }));
        self
    }
}

impl Table {
    /// The number of columns: the widest of the header and the rows (at least 1).
    pub fn columns(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(self.header.len()))
            .max()
            .unwrap_or(0)
            .max(1)
    }
}

/// `doc` as one HTML page (UTF-8, `lang="zh-CN"`, inline style, printable).
pub fn html(doc: &Doc) -> String {
    html::render(doc)
}

/// `doc` as a .docx file (East Asian font 宋体 on every run, so Chinese text shows in
/// readers without a theme font for it).
pub fn docx(doc: &Doc) -> Result<Vec<u8>> {
    word::render(doc)
}

/// Characters XML 1.0 cannot carry (control characters other than tab, line feed and
/// carriage return, and U+FFFE/U+FFFF) are dropped: a report must render whatever text an event held.
pub(crate) fn xml_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let ok = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if s.chars().all(ok) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|&c| ok(c)).collect())
    }
}
