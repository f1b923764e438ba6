//! Correlation: alerts become incidents an analyst can work.
//!
//! Two engines, both pure state (no clock of their own, no I/O):
//!
//! - [`sigma::SigmaCorrelator`] runs Sigma correlation rules over the alert stream and raises
//!   correlation alerts, which join the stream like any other alert.
//! - [`Correlator`] groups alerts into incidents by the entities they share (source address,
//!   destination address, host, user, file hash, domain, process), each kind within its own
//!   window on event time; incidents that become linked through a new alert merge; a resolved
//!   incident reopens when its entities recur within the reopen time; the ATT&CK tactics seen
//!   raise an incident's severity; [`grading`] classifies and grades it.
//!
//! [`Correlator::updates`] takes alerts and returns [`Update`]s for the caller to apply to
//! storage: new incidents to insert, alerts to add with [`extend_incident`] inside the store's
//! atomic update (so an analyst's edit made meanwhile is never overwritten), and merges to
//! carry out with [`merge_incident`] and [`mark_merged`].

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod config;
mod correlator;
pub mod grading;
mod grouping;
mod incident;
pub mod sigma;

pub use correlator::{Correlator, Update};
pub use grading::{GradingPolicy, Importance, TacticSteps};
pub use grouping::{DEFAULT_REOPEN_SECS, DEFAULT_WINDOW_SECS, ENTITY_KINDS, GroupingConfig};
pub use incident::{
    ACTOR, MAX_TARGETS, Refused, TIMELINE_SAMPLE, apply_alerts, apply_alerts_with, extend_incident,
    grade, incident_region, mark_merged, merge_incident,
};

#[cfg(test)]
mod drill_tests;
#[cfg(test)]
mod target_tests;
#[cfg(test)]
mod tests;
