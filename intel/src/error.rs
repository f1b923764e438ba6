//! What can go wrong reading intelligence.

/// A feed, an indicator or a value that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntelError {
    /// A value that is not what its kind says (`"10.0.0.300"` as an address ...).
    #[error("{kind} value {value:?} is not valid: {reason}")]
    InvalidValue {
        kind: &'static str,
        value: String,
        reason: String,
    },
    /// A feed document that cannot be read as its format (the whole document is refused and
    /// the feed keeps its previous indicators).
    #[error("{format} feed is malformed: {reason}")]
    MalformedFeed {
        format: &'static str,
        reason: String,
    },
    /// A geo-IP database file that cannot be read as its format (a truncated file, a bad
    /// header or metadata, a pointer outside the file).
    #[error("{format} database is malformed: {reason}")]
    MalformedDatabase {
        format: &'static str,
        reason: String,
    },
}
