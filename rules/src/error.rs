//! What can go wrong loading rules: one rule's problem ([`RuleError`], collected in a
//! [`LoadReport`]) or a rule directory that cannot be read at all ([`RulesError`]).

use std::fmt;

/// Why one rule document (or one rule file) was not compiled. The engine skips it and goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file (or other source) the rule came from, as given in [`crate::RuleSource::path`].
    pub path: String,
    /// The rule's `id`, when the document had one.
    pub rule_id: Option<String>,
    /// What is wrong, lowercase, naming the culprit (modifier, identifier, key).
    pub reason: String,
}

impl RuleError {
    pub(crate) fn new(path: &str, rule_id: Option<&str>, reason: impl Into<String>) -> Self {
        RuleError {
            path: path.to_owned(),
            rule_id: rule_id.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "{}: {}: {}", self.path, id, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

impl std::error::Error for RuleError {}

/// What a load did: how many rule documents were seen, how many compiled, and why the others
/// did not. Always `total == compiled + errors.len()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Rule documents seen. A file that cannot be read or parsed as YAML counts as one.
    pub total: usize,
    /// Rules compiled into the engine.
    pub compiled: usize,
    /// One entry per document (or unreadable file) that was skipped.
    pub errors: Vec<RuleError>,
}

impl LoadReport {
    /// True when every document compiled.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Add `other`'s counts and errors to this report.
    pub fn merge(&mut self, other: LoadReport) {
        self.total += other.total;
        self.compiled += other.compiled;
        self.errors.extend(other.errors);
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "compiled {} of {} rules, {} skipped",
            self.compiled,
            self.total,
            self.errors.len()
        )
    }
}

/// The crate's error: a rule directory that could not be walked. Problems with single files or
/// rules never fail a load; they are reported in [`LoadReport::errors`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// Reading a rule directory (or listing one of its subdirectories) failed.
    #[error("{path}: cannot read rule directory: {source}")]
    Io {
        /// The directory that could not be read.
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl RulesError {
    /// A stable, machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            RulesError::Io { .. } => "rules_dir_unreadable",
        }
    }
}
