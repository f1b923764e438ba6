//! One document model for every report (periodic, 复盘, drill), rendered as a self-contained
//! HTML page (escaped, inline style, nothing loaded from elsewhere) and as a Word document
//! (.docx) whose tables hold the same figures. (Helper h3.)

use serde::Serialize;

use crate::Result;

/// A report as a document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Doc {
    pub title: String,
    /// Under the title: the period and region covered, when it was made.
    pub subtitle: String,
    pub blocks: Vec<Block>,
}

/// A part of a document, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Heading {
        text: String,
    },
    Paragraph {
        text: String,
    },
    /// Label and value pairs (key figures).
    Figures {
        items: Vec<(String, String)>,
    },
    Table(Table),
}

/// A table: a caption, a header row and rows of cells.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// `doc` as one HTML page (UTF-8, `lang="zh-CN"`).
pub fn html(doc: &Doc) -> String {
    let _ = doc;
    todo!("h3")
}

/// `doc` as a .docx file.
pub fn docx(doc: &Doc) -> Result<Vec<u8>> {
    let _ = doc;
    todo!("h3")
}
