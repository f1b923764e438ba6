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
//! - **Grade** Ⅰ–Ⅳ ([`GradingPolicy`]): the importance of the affected asset (1 general,
//!   2 important, 3 critical; by host name or address, else the default) times the impact
//!   (the incident's severity: informational 0, low 1, medium 2, high 3, critical 4) gives a
//!   score; score ≥ 9 is Ⅰ, ≥ 6 Ⅱ, ≥ 3 Ⅲ, else Ⅳ. Each threshold in `region_steps` the number of
//!   affected regions reaches raises the grade one step (defaults: 2 and 4 regions).

use std::collections::HashMap;

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
    /// Importance of an asset not listed in `assets`.
    pub default_importance: Importance,
    /// Host names and addresses → importance.
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

impl GradingPolicy {
    /// The importance of the most important asset the incident names.
    pub fn importance(&self, inc: &Incident) -> Importance {
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
            .unwrap_or(self.default_importance)
    }

    /// The incident's grade under this policy.
    pub fn grade(&self, inc: &Incident) -> Grade {
        let score = self.importance(inc) as u32 * impact(inc.severity);
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
