use onewall_model::ErrorCode;
use thiserror::Error;

/// What went wrong in a store.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    /// The caller asked for something malformed (a bad cursor, an unknown filter).
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The change was refused (e.g. an incident status transition the lifecycle forbids).
    #[error("{0}")]
    Conflict(String),
    /// The backend failed (disk, database, network); the detail is for the log, not the user.
    #[error("storage backend {backend}: {detail}")]
    Backend {
        backend: &'static str,
        detail: String,
    },
}

impl StoreError {
    /// What kind of error it is; `ui-api` answers with the code's HTTP status.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::InvalidQuery(_) => ErrorCode::InvalidArgument,
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Backend { .. } => ErrorCode::Internal,
        }
    }
}

impl From<onewall_model::ModelError> for StoreError {
    fn from(e: onewall_model::ModelError) -> Self {
        match e.code() {
            ErrorCode::Conflict => StoreError::Conflict(e.to_string()),
            _ => StoreError::InvalidQuery(e.to_string()),
        }
    }
}
