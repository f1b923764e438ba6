//! What a supervision call answers when it cannot do what was asked. Each variant says why in
//! words a user can act on; the API maps them to 400, 403, 404, 409 and 500.

/// A supervision error.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The request is malformed or names something invalid (a deadline in the past, an
    /// unknown region, a step the state does not allow ...). API: 400.
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (another department's copy, a review by a recipient ...).
    /// API: 403.
    #[error("{0}")]
    Forbidden(String),
    /// No such bulletin, period, shift, handover or drill (or not in the caller's scope).
    /// API: 404.
    #[error("{0}")]
    NotFound(String),
    /// The step does not fit the copy's state (signing twice, reviewing what was not
    /// submitted). API: 409.
    #[error("{0}")]
    Conflict(String),
    /// A file is larger than allowed. API: 413.
    #[error("{0}")]
    TooLarge(String),
    /// The node failed (database, files, audit log). API: 500.
    #[error("{0}")]
    Internal(String),
}

impl From<rusqlite::Error> for SuperviseError {
    fn from(e: rusqlite::Error) -> Self {
        SuperviseError::Internal(format!("supervise.sqlite: {e}"))
    }
}

impl From<onewall_localdb::Error> for SuperviseError {
    fn from(e: onewall_localdb::Error) -> Self {
        SuperviseError::Internal(format!("supervise.sqlite: {e}"))
    }
}

impl From<std::io::Error> for SuperviseError {
    fn from(e: std::io::Error) -> Self {
        SuperviseError::Internal(format!("supervise files: {e}"))
    }
}

impl From<onewall_store::StoreError> for SuperviseError {
    fn from(e: onewall_store::StoreError) -> Self {
        SuperviseError::Internal(format!("store: {e}"))
    }
}
