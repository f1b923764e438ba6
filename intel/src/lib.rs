//! Threat intelligence, pure: indicators and their lifetime, the feed formats (STIX 2.1
//! bundles and patterns, MISP feeds, plain and CSV lists), the matcher that checks every
//! event against a set of indicators, and geo-IP lookup (MaxMind MMDB, ip2region xdb).
//! No tokio and no I/O beyond reading the bytes it is given: the node pulls the feeds, holds
//! the current set and wires matching into its pipeline.

pub mod alert;
pub mod config;
pub mod error;
pub mod feed;
pub mod fields;
pub mod geo;
pub mod indicator;
pub mod lifetime;
pub mod set;

pub use config::IntelConfig;
pub use error::IntelError;
pub use indicator::{Indicator, Observable};
pub use set::IntelSet;
