//! Response playbooks: YAML playbooks that react to alerts, incidents and the daily report by
//! sending email (lettre), posting webhooks (generic signed JSON, DingTalk, WeCom, Feishu
//! robots), escalating to the parent node and assigning teams — every delivery through a
//! durable SQLite outbox with retries and backoff.
//!
//! The crate depends on `model` only: it subscribes to the node event bus ([`PlaybookFeed`],
//! turning events into [`Signal`]s) and the node gives it what
//! it needs from the store through [`NodeAccess`].
//!
//! - [`playbook`]: the YAML format, loading and matching.
//! - [`outbox`]: the durable outbox and delivery log.
//! - [`send`]: one delivery attempt (SMTP, HTTP).
//! - [`report`]: the daily (zero) report, a pure function of its input, and its schedule.
//! - [`received`]: on a parent node, the children's daily reports as they arrive.
//! - [`runtime`]: the tasks that tie these together.

pub mod config;
mod error;
pub mod outbox;
pub mod playbook;
pub mod received;
pub mod report;
pub mod runtime;
pub mod send;
pub mod sign;
pub mod subject;
pub mod template;

/// The attribute [`NodeAccess`] implementations are written with.
pub use async_trait::async_trait;
pub use error::PlaybookError;
pub use outbox::{DeliveryQuery, DeliveryRecord, DeliveryState, Outbox, Retry};
pub use playbook::{Playbook, load_dir};
pub use received::{ReceivedReport, ReportBook};
pub use report::{DailyReport, Schedule, SourceSeen};
pub use runtime::{NodeAccess, PlaybookFeed, Playbooks, ReportSettings, Settings, Signal};
pub use send::{EscalateSettings, Sender, SmtpSettings, SmtpTls};
pub use subject::{Subject, Trigger, grade_of, incident_grade};
