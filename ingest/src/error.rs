//! The crate's error type.

use thiserror::Error;

/// Why an HTTP ingest body was refused. The whole body is refused: nothing in it is ingested.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// Nothing but whitespace.
    #[error("body is empty")]
    Empty,
    /// Not JSON where JSON was expected.
    #[error("line {line}: {reason} at column {column}")]
    Syntax {
        line: usize,
        column: usize,
        reason: String,
    },
    /// An element of a top-level array is not an object (`index` counts from 1).
    #[error("element {index} of the array is {found}, expected an object")]
    ElementNotObject { index: usize, found: &'static str },
    /// An NDJSON line holds a value that is not an object.
    #[error("line {line}: value is {found}, expected an object")]
    LineNotObject { line: usize, found: &'static str },
    /// The body is larger than the configured limit.
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
}

impl BodyError {
    /// A stable machine-readable code; `ui-api` maps codes to HTTP statuses.
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::Empty
            | BodyError::Syntax { .. }
            | BodyError::ElementNotObject { .. }
            | BodyError::LineNotObject { .. } => "invalid_argument",
            BodyError::TooLarge { .. } => "payload_too_large",
        }
    }
}

/// Trouble in a TCP byte stream that the decoder recovered from. Each is counted; the stream
/// goes on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// An LF-terminated frame longer than the maximum; discarded up to its LF.
    #[error("frame longer than the maximum of {max} bytes, discarded up to its LF")]
    LineTooLong { max: usize },
    /// An octet count above the maximum; that many bytes were skipped.
    #[error("octet count {count} above the maximum of {max} bytes, frame discarded")]
    OctetCountTooLarge { count: usize, max: usize },
    /// A frame began with a digit but not with `LEN SP`; the line was read as an LF frame.
    #[error("bad octet count {prefix:?}, line read as an LF-terminated frame")]
    BadOctetCount { prefix: String },
    /// The stream ended inside an octet-counted frame; what arrived is kept as the frame.
    #[error("octet count {count} but the stream ended after {got} bytes of the frame")]
    Truncated { count: usize, got: usize },
}

impl FrameError {
    /// The `reason` label of the metric that counts it.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::LineTooLong { .. } | FrameError::OctetCountTooLarge { .. } => {
                "frame_too_long"
            }
            FrameError::BadOctetCount { .. } => "bad_octet_count",
            FrameError::Truncated { .. } => "truncated",
        }
    }

    /// True when bytes were thrown away (rather than read another way).
    pub fn is_drop(&self) -> bool {
        !matches!(
            self,
            FrameError::BadOctetCount { .. } | FrameError::Truncated { .. }
        )
    }
}
