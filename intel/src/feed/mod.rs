//! Feed formats: each reads a document into indicators and, for what it could not take, a
//! reason per item. A document that cannot be read at all is an [`IntelError`](crate::IntelError)
//! and the feed keeps its previous indicators.

use crate::Indicator;

/// What one feed document gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedRead {
    pub indicators: Vec<Indicator>,
    /// Items that were not taken, each with its reason (an unsupported STIX pattern, a MISP
    /// attribute of a type onewall does not match, a list line that is not a value ...).
    pub rejected: Vec<Rejected>,
}

/// One item a feed document held that did not become an indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The item's id in its source (a STIX id, a MISP uuid, `line 12`), when it has one.
    pub item: String,
    pub reason: String,
}

pub mod misp;
pub mod stix;
