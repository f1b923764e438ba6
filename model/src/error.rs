//! The model's one error type, and the error codes every crate's errors carry.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What kind of failure an error is, stable and machine-readable: the `code` of an API error
/// body. Each crate's error says its code; the API maps codes to HTTP statuses in one place,
/// so a caller's mistake is a 4xx wherever it is found and only the node's own failures are
/// 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or names something impossible (400).
    InvalidArgument,
    /// No valid credentials (401).
    Unauthenticated,
    /// The caller may not do this (403).
    Forbidden,
    /// A state-changing request without the session's CSRF token (403).
    Csrf,
    /// No such thing, or not in the caller's regions (404).
    NotFound,
    /// The change conflicts with the current state (409).
    Conflict,
    /// The body is over the limit (413).
    PayloadTooLarge,
    /// The body's content type is not accepted (415).
    UnsupportedMediaType,
    /// Too many requests; try again later (429).
    RateLimited,
    /// A dependency is down or overloaded; try again later (503).
    Unavailable,
    /// The node failed (500); the detail is for its log.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidArgument,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::Csrf,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code as written in error bodies: `invalid_argument`, `not_found` ...
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Csrf => "csrf",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status an error of this code answers with: the one mapping of codes to
    /// statuses (the API's responses, the audit records of the command line's changes).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::Csrf => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// What kind of error it is: every model error is about its input, so a caller's mistake
    /// (a transition the lifecycle forbids is a conflict).
    pub fn code(&self) -> ErrorCode {
        match self {
            ModelError::Id { .. }
            | ModelError::Timestamp { .. }
            | ModelError::RegionCode { .. }
            | ModelError::RegionTree { .. }
            | ModelError::UnknownName { .. } => ErrorCode::InvalidArgument,
            ModelError::Transition { .. } => ErrorCode::Conflict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_written_as_serde_writes_them() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
        }
    }

    #[test]
    fn a_bad_region_tree_is_the_input_s_fault() {
        let e = ModelError::RegionTree {
            code: "110000".into(),
            reason: "no parent".into(),
        };
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
    }
}
