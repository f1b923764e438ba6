//! Hosts seen in the node's events: senders of logs (the peer address of a syslog sender, the
//! `host.name` / `host.ip` of an event) and addresses inside the internal networks that
//! appear in flows. Bounded (the least recently seen go first), snapshotted by the node.
//! Against the registry it gives the unknown hosts (seen, not registered) and the silent
//! ones (registered, no logs for the threshold).
//!
//! Silence is about logs: a registered host that only appears in flows is up, but it sends
//! nothing to the node, which is the gap the check is for.
//!
//! A fresh table does not call every registered host silent: the table remembers when it
//! began collecting (`since`, its first note), and a host it never saw is silent only once
//! the table has collected for the whole threshold. A node that has received nothing at all
//! reports no silent host (its sources are not connected yet; the node's health says so).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use onewall_model::asset::{ExposedHost, ExposureReport};
use onewall_model::hash::FxMap;
use onewall_model::{RegionCode, Timestamp};
use serde::{Deserialize, Serialize};

use crate::book::AssetBook;

/// How a host was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenBy {
    /// It sent events.
    Log,
    /// It appeared in flows.
    Flow,
}

impl SeenBy {
    /// `log` or `flow`.
    pub fn as_str(self) -> &'static str {
        match self {
            SeenBy::Log => "log",
            SeenBy::Flow => "flow",
        }
    }
}

/// What the table holds of one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenHost {
    /// The region of the latest event or flow it was seen in.
    pub region: RegionCode,
    /// When it was last seen, by either means.
    pub last: Timestamp,
    /// `Log` once it has sent events, else `Flow`.
    pub by: SeenBy,
    /// When it last sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_log: Option<Timestamp>,
}

/// The seen-host table.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Seen {
    hosts: HashMap<String, SeenHost>,
    /// At most this many hosts (0: no bound).
    max: usize,
    /// When the table began collecting: its first note.
    #[serde(default)]
    since: Option<Timestamp>,
    /// Hosts dropped to stay within `max`.
    #[serde(default)]
    evicted: u64,
}

impl Seen {
    /// An empty table of at most `max` hosts (0: no bound).
    pub fn new(max: usize) -> Seen {
        Seen {
            max,
            ..Seen::default()
        }
    }

    /// `key` (an address as text or a lower-case host name) was seen at `at`. Allocates
    /// only for a host not in the table.
    pub fn note(&mut self, key: &str, region: RegionCode, by: SeenBy, at: Timestamp) {
        if self.since.is_none_or(|s| at < s) {
            self.since = Some(at);
        }
        let log = (by == SeenBy::Log).then_some(at);
        if let Some(h) = self.hosts.get_mut(key) {
            if at >= h.last {
                h.last = at;
                h.region = region;
            }
            if by == SeenBy::Log {
                h.by = SeenBy::Log;
                h.last_log = h.last_log.max(log);
            }
            return;
        }
        if self.max > 0 && self.hosts.len() >= self.max {
            self.evict();
        }
        self.hosts.insert(
            key.to_owned(),
            SeenHost {
                region,
                last: at,
                by,
                last_log: log,
            },
        );
    }

    /// Drop the least recently seen sixteenth (at least one). Ties are broken by key, so
    /// the same hosts go whatever the map's order.
    fn evict(&mut self) {
        let drop_n = (self.max / 16).clamp(1, self.hosts.len().max(1));
        let mut order: Vec<(Timestamp, &str)> = self
            .hosts
            .iter()
            .map(|(k, h)| (h.last, k.as_str()))
            .collect();
        if order.is_empty() {
            return;
        }
        let (_, cutoff, _) = order.select_nth_unstable(drop_n - 1);
        let (t, k) = (cutoff.0, cutoff.1.to_owned());
        let before = self.hosts.len();
        self.hosts
            .retain(|key, h| (h.last, key.as_str()) > (t, k.as_str()));
        self.evicted += (before - self.hosts.len()) as u64;
    }

    /// What the table holds of `key`.
    pub fn get(&self, key: &str) -> Option<&SeenHost> {
        self.hosts.get(key)
    }

    /// How many hosts it holds.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// When it began collecting.
    pub fn since(&self) -> Option<Timestamp> {
        self.since
    }

    /// Hosts dropped to stay within the bound, since the table was made.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The latest log of each short name among the names seen (`web01` for
    /// `web01.example.gov.cn`).
    fn logs_by_short_name(&self) -> FxMap<&str, Timestamp> {
        let mut out: FxMap<&str, Timestamp> = FxMap::default();
        for (k, h) in &self.hosts {
            if let Some(t) = h.last_log
                && k.parse::<IpAddr>().is_err()
                && let Some((short, _)) = k.split_once('.')
                && !short.is_empty()
            {
                let e = out.entry(short).or_insert(t);
                *e = (*e).max(t);
            }
        }
        out
    }

    /// When `key` last sent logs: as seen under that key, or for a name, under its
    /// fully qualified or its short form (a registry may list `web01` for a host whose
    /// events say `web01.example.gov.cn`, or the other way round).
    fn last_log(&self, key: &str, by_short: &FxMap<&str, Timestamp>) -> Option<Timestamp> {
        let own = self.hosts.get(key).and_then(|h| h.last_log);
        if key.parse::<IpAddr>().is_ok() {
            return own;
        }
        let other = match key.split_once('.') {
            Some((short, _)) => self.hosts.get(short).and_then(|h| h.last_log),
            None => by_short.get(key).copied(),
        };
        own.max(other)
    }

    /// Unknown and silent hosts at `now`, each list ordered by region then address.
    ///
    /// Unknown: a seen key (address or name) the registry does not hold, in the region it
    /// was seen in. Silent: a registered host ([`AssetBook::registered_hosts`]) whose key,
    /// address and names sent no logs for `silent_hours`; never seen counts as silent once
    /// the table has collected for that long.
    pub fn report(&self, book: &AssetBook, silent_hours: u32, now: Timestamp) -> ExposureReport {
        let threshold = now.add_secs(-i64::from(silent_hours) * 3_600);
        let collecting = self.since.is_some_and(|s| s <= threshold);
        // Every key a registered host goes by: its key, address and names.
        let mut known: HashSet<String> = HashSet::new();
        let by_short = self.logs_by_short_name();
        let mut silent = Vec::new();
        for h in book.registered() {
            let mut keys = vec![h.key.clone()];
            keys.extend(h.address.map(|a| a.to_string()));
            keys.extend(h.names.iter().cloned());
            let last_log = keys
                .iter()
                .filter_map(|k| self.last_log(k, &by_short))
                .max();
            known.extend(keys);
            let quiet = match last_log {
                Some(t) => t < threshold,
                None => collecting,
            };
            if quiet {
                silent.push(ExposedHost {
                    host: h.names.first().filter(|n| **n != h.key).cloned(),
                    address: h.key,
                    system: Some(h.system.name.clone()),
                    region: h.system.region,
                    last_seen: last_log,
                    seen_by: last_log.map(|_| SeenBy::Log.as_str().to_owned()),
                });
            }
        }
        let targets = book.targets();
        let lookup = targets.lookup();
        let mut unknown: Vec<ExposedHost> = self
            .hosts
            .iter()
            .filter(|(k, _)| !known.contains(*k) && (lookup.is_empty() || lookup.find(k).is_none()))
            .map(|(k, h)| ExposedHost {
                address: k.clone(),
                host: book
                    .host(k)
                    .and_then(|r| r.names.first().filter(|n| *n != k).cloned()),
                system: None,
                region: h.region,
                last_seen: Some(h.last),
                seen_by: Some(h.by.as_str().to_owned()),
            })
            .collect();
        let order =
            |a: &ExposedHost, b: &ExposedHost| (a.region, &a.address).cmp(&(b.region, &b.address));
        unknown.sort_by(order);
        silent.sort_by(order);
        ExposureReport {
            at: Some(now),
            unknown,
            silent,
            silent_hours,
        }
    }
}
