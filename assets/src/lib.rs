//! Assets for onewall, pure (no tokio, no I/O beyond the bytes it is given): the registry of
//! information systems and their hosts (the 安全责任清单: who uses a system, who runs it, its
//! 等级保护 level and filing number, whether it is 关键信息基础设施, how exposed it is, its
//! addresses and host names), the scanner and baseline results kept per host (Nmap, Greenbone
//! / OpenVAS, a generic findings CSV, OpenSCAP XCCDF/ARF, lynis) and their lifecycle, the
//! lookup of an alert's target, what is seen against what is registered, and the roll-up a
//! node reports to its parent.
//!
//! - [`registry`]: systems and hosts ([`registry::System`], [`registry::Registry`]) and the
//!   compiled target lookup ([`registry::Lookup`]: addresses, CIDRs, host names).
//! - [`import`]: every import format, detected from the content ([`import::detect`]), parsed
//!   whole before anything is applied ([`import::parse`]): registry rows (CSV in UTF-8 or GBK,
//!   .xlsx, Chinese or English headers) and scans ([`scan::Scan`]).
//! - [`export`]: the registry as CSV or .xlsx, in the same columns the import reads.
//! - [`scan`]: what a scanner reported, host by host.
//! - [`finding`]: a finding and its lifecycle (open → fixing → fixed, or risk accepted).
//! - [`book`]: the node's assets ([`book::AssetBook`]): the registry, hosts with their open
//!   ports, findings; applying an import; the lookup snapshot the pipeline uses.
//! - [`seen`]: hosts seen in logs and flows, for unknown and silent hosts.
//! - [`weigh`]: an alert's target ([`onewall_model::AlertTarget`]) from the lookup.
//! - [`rollup`]: figures per region and department for the parent.
//! - [`config`]: the resolved `[assets]` settings (deadlines by severity, silence, networks).

// Functions stay under one screen of thought (`too-many-lines-threshold` in clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod book;
pub mod config;
pub mod error;
pub mod export;
pub mod finding;
pub mod import;
pub mod registry;
pub mod rollup;
pub mod scan;
pub mod seen;
pub mod weigh;

pub use book::AssetBook;
pub use config::AssetsConfig;
pub use error::{AssetError, Refusal};
pub use finding::{Finding, FindingStatus};
pub use registry::{Lookup, Registry, System};
pub use scan::Scan;
