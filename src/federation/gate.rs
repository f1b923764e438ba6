//! The parent's gate in front of its correlator: an alert from a child reaches the correlator
//! only once one of its attacker entities (source address, domain, file hash) has been seen in
//! at least `min_regions` child regions. Until then its alerts are held (stored and searchable
//! all the same); when the attacker crosses the line, the held alerts are released with it.
//!
//! Hosts and users are not attacker entities here: `root` or `web01` in two cities are not the
//! same attacker. The gate is bounded: at most [`MAX_KEYS`] entities and [`MAX_HELD`] held
//! alerts each; past that, new entities are not tracked (counted as
//! `onewall_federation_gate_full_total`).

use std::collections::{HashMap, HashSet};

use metrics::counter;
use onewall_model::{Alert, AlertId, EntityKind, RegionCode};

/// Entities tracked at most.
pub const MAX_KEYS: usize = 100_000;
/// Alerts held per entity at most.
pub const MAX_HELD: usize = 256;

#[derive(Debug, Default)]
struct Key {
    regions: Vec<RegionCode>,
    held: Vec<Alert>,
    open: bool,
}

/// Which remote alerts go on to the correlator.
#[derive(Debug)]
pub struct Gate {
    min_regions: usize,
    keys: HashMap<String, Key>,
}

fn attacker_keys(a: &Alert) -> Vec<String> {
    a.entities
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EntityKind::SourceIp | EntityKind::Domain | EntityKind::Hash
            )
        })
        .map(|e| format!("{}:{}", e.kind.as_str(), e.value))
        .collect()
}

impl Gate {
    pub fn new(min_regions: usize) -> Gate {
        Gate {
            min_regions: min_regions.max(1),
            keys: HashMap::new(),
        }
    }

    /// Take new remote alerts; answer the ones (held earlier or now) that go on.
    pub fn admit(&mut self, alerts: Vec<Alert>) -> Vec<Alert> {
        let mut out = Vec::new();
        let mut released: HashSet<AlertId> = HashSet::new();
        for alert in alerts {
            let keys = attacker_keys(&alert);
            let mut open = false;
            for k in &keys {
                let full = self.keys.len() >= MAX_KEYS;
                let entry = match self.keys.get_mut(k) {
                    Some(e) => e,
                    None if full => {
                        counter!("onewall_federation_gate_full_total").increment(1);
                        continue;
                    }
                    None => self.keys.entry(k.clone()).or_default(),
                };
                if !entry.regions.contains(&alert.region) {
                    entry.regions.push(alert.region);
                }
                if !entry.open && entry.regions.len() >= self.min_regions {
                    entry.open = true;
                    for held in entry.held.drain(..) {
                        if released.insert(held.id) {
                            out.push(held);
                        }
                    }
                }
                open |= entry.open;
            }
            if open {
                if released.insert(alert.id) {
                    out.push(alert);
                }
            } else {
                for k in &keys {
                    if let Some(e) = self.keys.get_mut(k)
                        && e.held.len() < MAX_HELD
                    {
                        e.held.push(alert.clone());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use onewall_model::{Entity, RuleRef, Severity, Timestamp};

    use super::*;

    fn alert(region: &str, ip: &str) -> Alert {
        Alert {
            id: AlertId::now(),
            time: Timestamp(1),
            created: Timestamp(1),
            rule: RuleRef {
                id: "r".into(),
                title: "r".into(),
                level: Severity::Medium,
                status: None,
                tags: vec![],
            },
            severity: Severity::Medium,
            event_ids: vec![],
            entities: vec![
                Entity {
                    kind: EntityKind::SourceIp,
                    value: ip.into(),
                },
                Entity {
                    kind: EntityKind::User,
                    value: "root".into(),
                },
            ],
            region: region.parse().unwrap(),
            matched: vec![],
        }
    }

    #[test]
    fn one_region_is_held_two_release_everything_once() {
        let mut g = Gate::new(2);
        let a1 = alert("410100", "203.0.113.7");
        let a2 = alert("410100", "203.0.113.7");
        assert!(g.admit(vec![a1.clone(), a2.clone()]).is_empty());
        // Another attacker in the other city, same user: not the same attacker.
        assert!(g.admit(vec![alert("410200", "198.51.100.1")]).is_empty());
        let b1 = alert("410200", "203.0.113.7");
        let out = g.admit(vec![b1.clone()]);
        let ids: Vec<_> = out.iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![a1.id, a2.id, b1.id]);
        // Later alerts of the attacker go straight on, from either region.
        let a3 = alert("410100", "203.0.113.7");
        assert_eq!(g.admit(vec![a3.clone()]).len(), 1);
    }

    #[test]
    fn min_regions_one_releases_at_once() {
        let mut g = Gate::new(1);
        assert_eq!(g.admit(vec![alert("410100", "192.0.2.1")]).len(), 1);
    }
}
