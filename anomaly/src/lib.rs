//! Anomaly detection for onewall: streaming, bounded baselines that explain every alert in one
//! sentence. Pure (no tokio, no I/O): the node feeds it the events of each batch after the
//! rules and stores its snapshot.
//!
//! A detector is a YAML document in the same files, folders and packs as Sigma rules and
//! correlations. It has `title`, `id`, `level`, `tags`, a Sigma `logsource` and `detection`
//! (the events it looks at, compiled by `onewall-rules`, so pack pipelines apply), and an
//! `anomaly:` map with its `kind` and parameters:
//!
//! ```yaml
//! title: User logged in from a network new for them
//! id: anomaly-ssh-new-network
//! level: medium
//! logsource: {product: linux, service: sshd}
//! detection:
//!   selection: {event.action: ssh_login, event.outcome: success}
//!   condition: selection
//! anomaly:
//!   kind: first_seen
//!   group-by: [user.name]
//!   field: source.ip
//!   transform: net24
//!   learning: 14d
//! ```
//!
//! - [`calendar`]: working days, weekends, public holidays and make-up working days (调休), and
//!   the local time of an event (hour of week, day kind) the baselines are keyed by.
//! - [`document`]: a detector document read and checked.
//! - [`kind`]: the five kinds' state and scoring, behind one interface.
//! - [`explain`]: the sentence an anomaly alert carries, in English and Chinese.
//! - [`set`]: the compiled detectors ([`set::DetectorSet`]) and their running state
//!   ([`set::Anomalies`]): groups, bounds, learning, snapshots, reloads, alerts.

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod calendar;
pub mod document;
pub mod explain;
pub mod kind;
pub mod set;

pub use calendar::{Calendar, DayKind, LocalTime};
pub use document::DetectorDoc;
pub use explain::Reason;
pub use kind::{Finding, Observation};
pub use set::{Anomalies, AnomalyConfig, DetectorInfo, DetectorSet, DetectorStatus};
