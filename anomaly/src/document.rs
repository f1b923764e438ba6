//! A detector document read and checked. (Contract stub: to be written.)
//!
//! Keys of the `anomaly:` map common to every kind: `kind`, `group-by` (a field or a list;
//! absent: one group), `field` (a field or a list, a tuple), `transform`, `learning` (a
//! timespan), `max-groups`, `max-entries`, `suppress` (a timespan: how long a group stays quiet
//! after it fired). The rest are the kind's ([`crate::kind::Kind::parse`]).

use onewall_model::{AnomalyKind, Severity};

use crate::kind::Params;

/// One detector as written, checked, with its parameters parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorDoc {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub level: Severity,
    pub tags: Vec<String>,
    /// The file it came from.
    pub path: String,
    pub kind: AnomalyKind,
    pub group_by: Vec<String>,
    pub field: Vec<String>,
    pub learning_secs: i64,
    pub params: Params,
    /// A digest of the whole document: a reload keeps the state of a detector whose id and
    /// digest are unchanged.
    pub digest: u64,
}
