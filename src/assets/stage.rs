//! The asset step of the detect thread, after the rules, threat intelligence and anomaly
//! detection: every alert without a target gets one when its destination (or host) is
//! registered ([`onewall_assets::weigh::Targets::target_of`]), and the hosts the batch shows
//! are noted as seen: the sender's address and the `host.name` / `host.ip` of log events, and
//! the flow endpoints inside `[assets] internal_networks`. The batch's hosts are gathered in a
//! small map first and noted under one lock.
//!
//! With nothing registered, the lookup is skipped; the seen hosts are still noted (they are
//! what the unknown-host report is made of).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use metrics::counter;
use onewall_assets::registry::Net;
use onewall_assets::seen::{Seen, SeenBy};
use onewall_model::hash::FxMap;
use onewall_model::{Alert, Event, RegionCode, Timestamp};

use super::TargetsHandle;
use crate::config::assets::in_nets;

/// The stage's state, owned by the detect thread.
#[derive(Debug)]
pub struct AssetStage {
    targets: TargetsHandle,
    seen: Arc<Mutex<Seen>>,
    internal: Vec<Net>,
    /// The batch's hosts: key → (region, how).
    batch: FxMap<String, (RegionCode, SeenBy)>,
}

impl AssetStage {
    pub fn new(assets: &super::Assets) -> AssetStage {
        AssetStage {
            targets: assets.targets(),
            seen: assets.seen(),
            internal: assets.settings.config.internal_networks.clone(),
            batch: FxMap::default(),
        }
    }

    /// Fill the targets of `alerts` and note the hosts of `batch` as seen at `now`.
    pub fn run(&mut self, batch: &[Event], now: Timestamp, alerts: &mut [Alert]) {
        if !alerts.is_empty() {
            let targets = self.targets.current();
            if !targets.lookup().is_empty() {
                let mut hit = 0u64;
                for a in alerts.iter_mut().filter(|a| a.target.is_none()) {
                    a.target = targets.target_of(a);
                    hit += u64::from(a.target.is_some());
                }
                counter!("onewall_assets_alert_targets_total").increment(hit);
            }
        }
        self.note_seen(batch, now);
    }

    fn note_seen(&mut self, batch: &[Event], now: Timestamp) {
        self.batch.clear();
        let mut last_peer: Option<IpAddr> = None;
        for e in batch {
            if matches!(e.format, onewall_model::event::Format::Flow) {
                for field in ["source.ip", "destination.ip"] {
                    if let Some(ip) = ip_of(e, field)
                        && in_nets(&self.internal, ip)
                    {
                        self.add(ip.to_string(), e.region, SeenBy::Flow);
                    }
                }
                continue;
            }
            // Most batches come from one sender: its address is noted once.
            if let Some(peer) = e.source.peer.map(|p| p.ip())
                && last_peer != Some(peer)
            {
                last_peer = Some(peer);
                self.add(peer.to_canonical().to_string(), e.region, SeenBy::Log);
            }
            if let Some(ip) = ip_of(e, "host.ip") {
                self.add(ip.to_string(), e.region, SeenBy::Log);
            }
            if let Some(name) = e.get("host.name").and_then(|v| v.to_text()) {
                let name = name.trim();
                if !name.is_empty() && name.len() <= 253 {
                    self.add(name.to_lowercase(), e.region, SeenBy::Log);
                }
            }
        }
        if self.batch.is_empty() {
            return;
        }
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (key, (region, by)) in self.batch.drain() {
            seen.note(&key, region, by, now);
        }
    }

    fn add(&mut self, key: String, region: RegionCode, by: SeenBy) {
        // A host seen sending logs is recorded as such even when flows show it too.
        match self.batch.get_mut(&key) {
            Some(v) if by == SeenBy::Log => v.1 = SeenBy::Log,
            Some(_) => {}
            None => {
                self.batch.insert(key, (region, by));
            }
        }
    }
}

/// The address in `field` of `e` (typed, or text that parses).
fn ip_of(e: &Event, field: &str) -> Option<IpAddr> {
    match e.get(field)? {
        onewall_model::Value::Ip(ip) => Some(*ip),
        v => v.as_str()?.trim().parse().ok(),
    }
}
