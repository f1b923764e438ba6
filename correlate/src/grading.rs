//! Incident classification and grading.
//!
//! - **Category** (GB/T 20986-2023): a rule carries its category as a tag
//!   `gbt20986.<CODE>` and, optionally, its subcategory as `gbt20986.<CODE>.<n>` (the `n`th
//!   subcategory of that category in the standard's table), e.g. `gbt20986.NA.1`. Codes:
//!   `MP` 恶意程序, `NA` 网络攻击, `DS` 数据安全, `IC` 信息内容安全, `DE` 设备设施故障,
//!   `RO` 违规操作, `SHE` 安全隐患, `AB` 异常行为, `FOC` 不可抗力, `OTH` 其他. Case does not
//!   matter; an unknown code is ignored. An incident takes the category of its most severe
//!   alert that has one (the first such alert on a tie).
//! - **Tactics**: tags `attack.<tactic>` naming one of the fourteen ATT&CK enterprise tactics.
//!   The set of tactics an incident has seen raises its severity as an attack progresses
//!   ([`TacticSteps`]; by default two tactics make it at least `medium`, three `high`, four
//!   `critical`).
//! - **Importance** of what the incident hit ([`GradingPolicy::importance`]), the most
//!   important of:
//!   - each registered target (`Incident::targets`, from `Alert::target`): 关键信息基础设施 →
//!     critical (特别重要), 等保 level 3 or more → important (重要), level 1–2 or none →
//!     general (一般);
//!   - the `[correlate] assets` map, which overrides the registry for the values it names (a
//!     target whose address or host name it names takes the map's importance instead) and
//!     names other host names and addresses among the incident's entities;
//!   - nothing of either: `default_importance`.
//! - **Exposure** ([`GradingPolicy::weight`]): when the incident's source addresses include
//!   one from outside (not private, loopback, link-local, CGNAT, unspecified, broadcast,
//!   documentation or multicast; IPv6: not loopback, unique-local, link-local, multicast or
//!   unspecified, an IPv4-mapped address judged as IPv4) and its targets include an
//!   internet-facing one, that target weighs one importance step more. The weight is the
//!   importance as a number (1 general, 2 important, 3 critical), plus that step: up to 4.
//!   The same attack on an internal host weighs its importance alone, so it grades lower.
//! - **Grade** Ⅰ–Ⅳ ([`GradingPolicy`]): the weight times the impact (the incident's severity:
//!   informational 0, low 1, medium 2, high 3, critical 4) gives a score; score ≥ 9 is Ⅰ,
//!   ≥ 6 Ⅱ, ≥ 3 Ⅲ, else Ⅳ. Each threshold in `region_steps` the number of affected regions
//!   reaches raises the grade one step (defaults: 2 and 4 regions).
//! - **Vulnerable target** (in the correlator): an alert whose target has an open finding for
//!   a CVE the alert's rule names raises the incident's severity to one step above the
//!   alert's ([`raise_one`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use onewall_model::asset::{AlertTarget, Exposure};
use onewall_model::{Alert, EntityKind, Grade, Incident, Severity};

/// The GB/T 20986-2023 category codes.
pub const CATEGORIES: [&str; 10] = [
    "MP", "NA", "DS", "IC", "DE", "RO", "SHE", "AB", "FOC", "OTH",
];

/// The fourteen ATT&CK enterprise tactics, as tag suffixes.
pub const TACTICS: [&str; 14] = [
    "reconnaissance",
    "resource_development",
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
];

/// The category and subcategory a rule's tags give: (`NA`, `Some("NA.1")`).
pub fn category_of(tags: &[String]) -> Option<(String, Option<String>)> {
    tags.iter().find_map(|t| {
        let rest = t
            .strip_prefix("gbt20986.")
            .or_else(|| t.strip_prefix("GBT20986."))?;
        let mut parts = rest.splitn(2, '.');
        let code = parts.next()?.to_ascii_uppercase();
        if !CATEGORIES.contains(&code.as_str()) {
            return None;
        }
        let sub = parts
            .next()
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(|n| format!("{code}.{n}"));
        Some((code, sub))
    })
}

/// The ATT&CK tactics named by tags (`attack.credential_access`; `-` is read as `_`).
pub fn tactics_of(tags: &[String]) -> impl Iterator<Item = String> + '_ {
    tags.iter().filter_map(|t| {
        let name = t
            .strip_prefix("attack.")?
            .to_ascii_lowercase()
            .replace('-', "_");
        TACTICS.contains(&name.as_str()).then_some(name)
    })
}

/// Severity floors by number of distinct tactics seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacticSteps(pub Vec<(usize, Severity)>);

impl Default for TacticSteps {
    fn default() -> Self {
        TacticSteps(vec![
            (2, Severity::Medium),
            (3, Severity::High),
            (4, Severity::Critical),
        ])
    }
}

impl TacticSteps {
    /// The least severity an incident with `n` tactics has.
    pub fn floor(&self, n: usize) -> Option<Severity> {
        self.0
            .iter()
            .filter(|(k, _)| n >= *k)
            .map(|(_, s)| *s)
            .max()
    }
}

/// How important an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Importance {
    /// 一般: 1.
    General = 1,
    /// 重要: 2.
    Important = 2,
    /// 特别重要: 3.
    Critical = 3,
}

impl Importance {
    /// `general`, `important` or `critical`.
    pub fn parse(s: &str) -> Option<Importance> {
        match s.to_ascii_lowercase().as_str() {
            "general" | "一般" => Some(Importance::General),
            "important" | "重要" => Some(Importance::Important),
            "critical" | "特别重要" => Some(Importance::Critical),
            _ => None,
        }
    }
}

/// How incidents are graded. See the module documentation for the default policy.
#[derive(Debug, Clone, PartialEq)]
pub struct GradingPolicy {
    /// Importance of an incident with no registered target and no asset in `assets`.
    pub default_importance: Importance,
    /// Host names and addresses → importance; overrides the registry for what it names.
    pub assets: HashMap<String, Importance>,
    /// Minimum scores for Ⅰ, Ⅱ and Ⅲ (below the last: Ⅳ).
    pub thresholds: [u32; 3],
    /// Each of these numbers of regions reached raises the grade one step.
    pub region_steps: Vec<usize>,
}

impl Default for GradingPolicy {
    fn default() -> Self {
        GradingPolicy {
            default_importance: Importance::General,
            assets: HashMap::new(),
            thresholds: [9, 6, 3],
            region_steps: vec![2, 4],
        }
    }
}

fn impact(s: Severity) -> u32 {
    match s {
        Severity::Informational => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

impl Importance {
    /// What the registry says of a target: CII → critical, 等保 level 3 or more → important,
    /// else general.
    pub fn of_target(t: &AlertTarget) -> Importance {
        if t.cii {
            Importance::Critical
        } else if t.level.is_some_and(|l| l >= 3) {
            Importance::Important
        } else {
            Importance::General
        }
    }
}

impl GradingPolicy {
    /// The map's importance for a target it names (by the looked-up value or host name).
    fn overridden(&self, t: &AlertTarget) -> Option<Importance> {
        self.assets
            .get(&t.value)
            .or_else(|| t.host.as_ref().and_then(|h| self.assets.get(h)))
            .copied()
    }

    /// A target's importance: the map's when it names the target, else the registry's.
    fn target_importance(&self, t: &AlertTarget) -> Importance {
        self.overridden(t)
            .unwrap_or_else(|| Importance::of_target(t))
    }

    /// The importance the map gives the incident's host names and addresses.
    fn entity_importance(&self, inc: &Incident) -> Option<Importance> {
        if self.assets.is_empty() {
            return None;
        }
        inc.entities
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EntityKind::Host | EntityKind::DestinationIp | EntityKind::SourceIp
                )
            })
            .filter_map(|e| self.assets.get(&e.value).copied())
            .max()
    }

    /// The importance of the most important asset the incident hit: its registered targets
    /// (the map overriding what it names), the map's entries for its entities, else the
    /// default.
    pub fn importance(&self, inc: &Incident) -> Importance {
        inc.targets
            .iter()
            .map(|t| self.target_importance(t))
            .chain(self.entity_importance(inc))
            .max()
            .unwrap_or(self.default_importance)
    }

    /// The weight the score multiplies the impact by: the importance (1–3), one more for an
    /// internet-facing target when a source address is outside (see the module doc).
    pub fn weight(&self, inc: &Incident) -> u32 {
        let base = self.importance(inc) as u32;
        // The targets (at most 32) first: only an incident with an internet-facing target
        // that would weigh more looks through its source addresses.
        let exposed = inc
            .targets
            .iter()
            .filter(|t| t.exposure == Exposure::Internet)
            .map(|t| self.target_importance(t) as u32 + 1)
            .max();
        match exposed {
            Some(w) if w > base => {
                let outside = inc
                    .entities
                    .iter()
                    .filter(|e| e.kind == EntityKind::SourceIp)
                    .any(|e| is_outside(&e.value));
                if outside { w } else { base }
            }
            _ => base,
        }
    }

    /// The incident's grade under this policy.
    pub fn grade(&self, inc: &Incident) -> Grade {
        let score = self.weight(inc) * impact(inc.severity);
        let [one, two, three] = self.thresholds;
        let base = if score >= one {
            Grade::I
        } else if score >= two {
            Grade::II
        } else if score >= three {
            Grade::III
        } else {
            Grade::IV
        };
        let regions = inc.regions.len();
        let raise = self.region_steps.iter().filter(|n| regions >= **n).count();
        Grade::from_rank(base.rank().saturating_add(raise as u8))
    }
}

/// Whether `addr` (an address as an entity holds it) is from outside: a global unicast
/// address. Anything that does not parse as an address is not.
pub fn is_outside(addr: &str) -> bool {
    match addr.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => outside_v4(a),
        Ok(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) => outside_v4(v4),
            None => outside_v6(a),
        },
        Err(_) => false,
    }
}

fn outside_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, ..] = a.octets();
    // 100.64.0.0/10: carrier-grade NAT (RFC 6598).
    let cgnat = o0 == 100 && (o1 & 0xc0) == 64;
    // 0.0.0.0/8: "this network".
    let this_net = o0 == 0;
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_documentation()
        || a.is_multicast()
        || cgnat
        || this_net)
}

fn outside_v6(a: Ipv6Addr) -> bool {
    !(a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || a.is_unique_local()
        || a.is_unicast_link_local())
}

/// One severity step above `s` (critical stays critical).
pub fn raise_one(s: Severity) -> Severity {
    match s {
        Severity::Informational => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// Fold an alert's tags into the incident's classification: category (from the most severe
/// alert that has one) and tactics. Returns the severity floor the tactics now give.
pub(crate) fn classify(inc: &mut Incident, alert: &Alert, steps: &TacticSteps) -> Option<Severity> {
    if let Some((code, sub)) = category_of(&alert.rule.tags) {
        let take = inc.classification.category.is_none() || alert.severity > inc.severity;
        if take {
            inc.classification.category = Some(code);
            inc.classification.subcategory = sub;
        }
    }
    for t in tactics_of(&alert.rule.tags) {
        if !inc.classification.tactics.contains(&t) {
            inc.classification.tactics.push(t);
        }
    }
    steps.floor(inc.classification.tactics.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn category_tags() {
        assert_eq!(
            category_of(&tags(&["attack.t1110", "gbt20986.na.1"])),
            Some(("NA".into(), Some("NA.1".into())))
        );
        assert_eq!(
            category_of(&tags(&["gbt20986.SHE"])),
            Some(("SHE".into(), None))
        );
        assert_eq!(category_of(&tags(&["gbt20986.XX.1"])), None);
        assert_eq!(category_of(&tags(&["attack.credential_access"])), None);
    }

    #[test]
    fn tactic_tags_and_floors() {
        let t: Vec<String> = tactics_of(&tags(&[
            "attack.credential_access",
            "attack.t1110.001",
            "attack.lateral-movement",
        ]))
        .collect();
        assert_eq!(t, ["credential_access", "lateral_movement"]);
        let steps = TacticSteps::default();
        assert_eq!(steps.floor(1), None);
        assert_eq!(steps.floor(2), Some(Severity::Medium));
        assert_eq!(steps.floor(9), Some(Severity::Critical));
    }
}
