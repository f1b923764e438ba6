//! Hosts seen in the node's events: senders of logs (the peer address of a syslog sender, the
//! `host.name` / `host.ip` of an event) and addresses inside the internal networks that
//! appear in flows. Bounded (the least recently seen go first), snapshotted by the node.
//! Against the registry it gives the unknown hosts (seen, not registered) and the silent
//! ones (registered, nothing for the threshold).

use onewall_model::asset::ExposureReport;
use onewall_model::{RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::book::AssetBook;

/// How a host was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenBy {
    Log,
    Flow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenHost {
    pub region: RegionCode,
    pub last: Timestamp,
    pub by: SeenBy,
}

/// The seen-host table.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Seen {
    hosts: std::collections::HashMap<String, SeenHost>,
    max: usize,
}

impl Seen {
    pub fn new(max: usize) -> Seen {
        Seen {
            hosts: Default::default(),
            max,
        }
    }

    /// `key` (an address as text or a lower-case host name) was seen at `at`.
    pub fn note(&mut self, key: &str, region: RegionCode, by: SeenBy, at: Timestamp) {
        let _ = (key, region, by, at);
        todo!("issue 21")
    }

    pub fn get(&self, key: &str) -> Option<&SeenHost> {
        self.hosts.get(key)
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Unknown and silent hosts at `now`.
    pub fn report(&self, book: &AssetBook, silent_hours: u32, now: Timestamp) -> ExposureReport {
        let _ = (book, silent_hours, now);
        todo!("issue 21")
    }
}
