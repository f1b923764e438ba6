//! The model's one error type.

use thiserror::Error;

/// What went wrong turning outside text into a model value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    #[error("invalid id {input:?}: {reason}")]
    Id { input: String, reason: &'static str },
    #[error("invalid timestamp {input:?}: {reason}")]
    Timestamp { input: String, reason: String },
    #[error("invalid region code {input:?}: {reason}")]
    RegionCode { input: String, reason: &'static str },
    #[error("region {code}: {reason}")]
    RegionTree { code: String, reason: String },
    #[error("unknown {what} {input:?}; expected one of: {expected}")]
    UnknownName {
        what: &'static str,
        input: String,
        expected: &'static str,
    },
    #[error("incident status cannot go from {from} to {to}")]
    Transition {
        from: &'static str,
        to: &'static str,
    },
}

impl ModelError {
    /// A stable machine-readable code; `ui-api` maps codes to HTTP statuses.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Id { .. }
            | ModelError::Timestamp { .. }
            | ModelError::RegionCode { .. }
            | ModelError::UnknownName { .. } => "invalid_argument",
            ModelError::RegionTree { .. } => "invalid_region",
            ModelError::Transition { .. } => "conflict",
        }
    }
}
