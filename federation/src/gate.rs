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
    held: Vec<AlertId>,
    open: bool,
}

/// Which remote alerts go on to the correlator. Held alerts are kept by id (they are in the
/// store); the changes of each [`Gate::admit`] are returned so the caller can keep them
/// durably and [`Gate::restore`] them after a restart.
#[derive(Debug)]
pub struct Gate {
    min_regions: usize,
    keys: HashMap<String, Key>,
}

/// What one [`Gate::admit`] decided and changed.
#[derive(Debug, Default, PartialEq)]
pub struct Admitted {
    /// Alerts to pass on, held ones first, each once.
    pub release: Vec<AlertId>,
    /// `(entity, region)` pairs seen for the first time.
    pub regions: Vec<(String, RegionCode)>,
    /// `(entity, alert)` now held.
    pub held: Vec<(String, AlertId)>,
    /// Entities that crossed the line (their held alerts are released).
    pub opened: Vec<String>,
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

    /// Rebuild from what earlier admits recorded.
    pub fn restore(
        &mut self,
        regions: impl IntoIterator<Item = (String, RegionCode)>,
        held: impl IntoIterator<Item = (String, AlertId)>,
    ) {
        for (k, r) in regions {
            if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(&k) {
                continue;
            }
            let e = self.keys.entry(k).or_default();
            if !e.regions.contains(&r) {
                e.regions.push(r);
            }
            e.open = e.regions.len() >= self.min_regions;
        }
        for (k, a) in held {
            if let Some(e) = self.keys.get_mut(&k)
                && !e.open
                && e.held.len() < MAX_HELD
            {
                e.held.push(a);
            }
        }
    }

    /// Take new remote alerts; answer the ones (held earlier or now) that go on. `via` is the
    /// child region that pushed them: an alert relayed from further down (a county's, through
    /// its city) counts for that child, so two counties of one city are one region here. `None`
    /// counts each alert's own region.
    pub fn admit(&mut self, alerts: &[Alert], via: Option<RegionCode>) -> Admitted {
        let mut out = Admitted::default();
        let mut released: HashSet<AlertId> = HashSet::new();
        for alert in alerts {
            let keys = attacker_keys(alert);
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
                let region = via.unwrap_or(alert.region);
                if !entry.regions.contains(&region) {
                    entry.regions.push(region);
                    out.regions.push((k.clone(), region));
                }
                if !entry.open && entry.regions.len() >= self.min_regions {
                    entry.open = true;
                    out.opened.push(k.clone());
                    for held in entry.held.drain(..) {
                        if released.insert(held) {
                            out.release.push(held);
                        }
                    }
                }
                open |= entry.open;
            }
            if open {
                if released.insert(alert.id) {
                    out.release.push(alert.id);
                }
            } else {
                for k in &keys {
                    if let Some(e) = self.keys.get_mut(k)
                        && e.held.len() < MAX_HELD
                    {
                        e.held.push(alert.id);
                        out.held.push((k.clone(), alert.id));
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
            target: None,
            intel: None,
            anomaly: None,
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
            drill: None,
        }
    }

    #[test]
    fn one_region_is_held_two_release_everything_once() {
        let mut g = Gate::new(2);
        let a1 = alert("410100", "203.0.113.7");
        let a2 = alert("410100", "203.0.113.7");
        let first = g.admit(&[a1.clone(), a2.clone()], None);
        assert!(first.release.is_empty());
        assert_eq!(first.held.len(), 2);
        assert_eq!(
            first.regions,
            vec![("source_ip:203.0.113.7".to_owned(), a1.region)]
        );
        // Another attacker in the other city, same user: not the same attacker.
        assert!(
            g.admit(&[alert("410200", "198.51.100.1")], None)
                .release
                .is_empty()
        );
        let b1 = alert("410200", "203.0.113.7");
        let out = g.admit(std::slice::from_ref(&b1), None);
        assert_eq!(out.release, vec![a1.id, a2.id, b1.id]);
        assert_eq!(out.opened, vec!["source_ip:203.0.113.7".to_owned()]);
        // Later alerts of the attacker go straight on, from either region.
        let a3 = alert("410100", "203.0.113.7");
        assert_eq!(g.admit(&[a3], None).release.len(), 1);
    }

    #[test]
    fn min_regions_one_releases_at_once() {
        let mut g = Gate::new(1);
        assert_eq!(
            g.admit(&[alert("410100", "192.0.2.1")], None).release.len(),
            1
        );
    }

    #[test]
    fn a_restored_gate_remembers_regions_and_held_alerts() {
        let mut g = Gate::new(2);
        let a1 = alert("410100", "203.0.113.8");
        let first = g.admit(std::slice::from_ref(&a1), None);
        let mut again = Gate::new(2);
        again.restore(first.regions, first.held);
        let b1 = alert("410200", "203.0.113.8");
        assert_eq!(
            again.admit(std::slice::from_ref(&b1), None).release,
            vec![a1.id, b1.id]
        );
    }

    #[test]
    fn alerts_relayed_by_one_child_count_for_that_child() {
        let mut g = Gate::new(2);
        let city: RegionCode = "410100".parse().unwrap();
        // Two counties of one city, relayed by the city: one child region.
        let c1 = alert("410102", "203.0.113.9");
        let c2 = alert("410103", "203.0.113.9");
        assert!(
            g.admit(std::slice::from_ref(&c1), Some(city))
                .release
                .is_empty()
        );
        let out = g.admit(std::slice::from_ref(&c2), Some(city));
        assert!(out.release.is_empty(), "{out:?}");
        assert_eq!(out.regions, vec![]);
        // The other city makes two.
        let other = alert("410200", "203.0.113.9");
        let out = g.admit(std::slice::from_ref(&other), Some(other.region));
        assert_eq!(out.release, vec![c1.id, c2.id, other.id]);
    }
}
