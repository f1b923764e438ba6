//! onewall's core types. Pure data: no I/O, no async runtime.
//!
//! - [`Event`]: one received record, its raw bytes and its parsed, typed fields.
//! - [`FieldId`]: interned field names, so compiled rules look fields up by a small integer.
//! - [`Alert`]: a rule fired on one or more events.
//! - [`Incident`]: alerts grouped for an analyst to work, with a status lifecycle and a timeline.
//! - [`RegionCode`] and [`RegionTree`]: GB/T 2260 administrative codes, the tree loaded from data.
//! - [`Timestamp`] and [`Id`]: UTC nanoseconds, and time-ordered 128-bit ids.
//! - [`bus`]: the node event bus's events and fan-out (pure std; the node runs it).

pub mod alert;
pub mod anomaly;
pub mod asset;
pub mod bus;
pub mod config;
pub mod entity;
pub mod error;
pub mod event;
pub mod federation;
pub mod field;
pub mod halves;
pub mod hash;
pub mod health;
pub mod id;
pub mod incident;
pub mod intel;
pub mod region;
pub mod severity;
pub mod supervise;
pub mod text;
pub mod timestamp;
pub mod value;

pub use alert::{Alert, MatchedField, RuleRef};
pub use anomaly::{AlertAnomaly, AnomalyKind};
pub use asset::{AlertTarget, AssetRollup, Exposure};
pub use entity::{Entity, EntityKind};
pub use error::{ErrorCode, ModelError};
pub use event::{Event, EventBatch, Format, Source};
pub use field::{FieldId, Fields};
pub use id::{AlertId, EventId, Id, IncidentId};
pub use incident::{Classification, Incident, IncidentStatus, TimelineEntry, TimelineKind};
pub use intel::{AlertIntel, IndicatorKind, IndicatorRef, Tlp};
pub use region::{Region, RegionCode, RegionLevel, RegionTree};
pub use severity::{Grade, Severity};
pub use text::Text;
pub use timestamp::Timestamp;
pub use value::Value;
