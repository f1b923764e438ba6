//! What goes wrong in an import, named precisely: the row and column of a table, the element
//! of an XML report, the line of a lynis report.

use serde::Serialize;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Place {
    /// A table row (1-based, as a spreadsheet numbers it: the header is row 1) and, when one
    /// column is at fault, its header as written in the file.
    Row {
        row: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        column: Option<String>,
    },
    /// An XML element: its path (`nmaprun/host[3]/ports/port[2]`) and, when known, the line.
    Element {
        path: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
    },
    /// A line of a text report (1-based).
    Line { line: usize },
    /// The file as a whole.
    File,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Row { row, column: None } => write!(f, "row {row}"),
            Place::Row {
                row,
                column: Some(c),
            } => write!(f, "row {row}, column {c:?}"),
            Place::Element { path, line: None } => write!(f, "element {path}"),
            Place::Element {
                path,
                line: Some(l),
            } => write!(f, "element {path} (line {l})"),
            Place::Line { line } => write!(f, "line {line}"),
            Place::File => f.write_str("the file"),
        }
    }
}

/// One refused row (registry imports skip it and load the rest) or the reason a whole file
/// was refused (scanner imports apply nothing from a broken file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub place: Place,
    /// What was wrong: "region code 419999 is not a GB/T 2260 code", "等保级别 \"6\" is not
    /// 1–5".
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The content is none of the formats this crate reads.
    #[error("unrecognised asset file: {0}")]
    UnknownFormat(String),
    /// The file was refused whole; nothing of it was applied.
    #[error("{format}: {refusal}")]
    Refused {
        format: &'static str,
        refusal: Refusal,
    },
    /// A lifecycle change that is not allowed (fixing a fixed finding, accepting a risk
    /// without a reason ...).
    #[error("{0}")]
    Invalid(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
}

impl AssetError {
    /// The error code the API maps to an HTTP status.
    pub fn code(&self) -> onewall_model::ErrorCode {
        match self {
            AssetError::NotFound { .. } => onewall_model::ErrorCode::NotFound,
            AssetError::Invalid(_) => onewall_model::ErrorCode::Conflict,
            _ => onewall_model::ErrorCode::InvalidArgument,
        }
    }

    /// A whole-file refusal at `place`.
    pub fn refused(format: &'static str, place: Place, reason: impl Into<String>) -> Self {
        AssetError::Refused {
            format,
            refusal: Refusal {
                place,
                reason: reason.into(),
            },
        }
    }
}
