//! The crate's one error type.

/// What went wrong in the playbooks crate; each variant names its culprit.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// A playbook file could not be read or is not a valid playbook.
    #[error("{file}: {reason}")]
    Load {
        /// The file (or `dir/file`) at fault.
        file: String,
        /// Why, naming the key where known.
        reason: String,
    },
    /// The outbox database failed.
    #[error("outbox {path}: {source}")]
    Outbox {
        /// The outbox file.
        path: String,
        /// The database's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The outbox (or received reports) database did not open.
    #[error("outbox {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// Why (the opener names the step: the file, its pragmas, a migration).
        #[source]
        source: Box<onewall_localdb::Error>,
    },
    /// A delivery could not be made (this attempt); it is retried.
    #[error("{0}")]
    Delivery(String),
    /// The settings are unusable (e.g. a malformed address), naming the key.
    #[error("{key}: {reason}")]
    Settings {
        /// The configuration key at fault.
        key: String,
        /// Why.
        reason: String,
    },
}

impl PlaybookError {
    /// A short stable code for the kind of error, for the API to map to a status.
    pub fn code(&self) -> &'static str {
        match self {
            PlaybookError::Load { .. } => "playbook_invalid",
            PlaybookError::Outbox { .. } | PlaybookError::Open { .. } => "outbox_unavailable",
            PlaybookError::Delivery(_) => "delivery_failed",
            PlaybookError::Settings { .. } => "settings_invalid",
        }
    }
}
