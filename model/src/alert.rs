//! Alerts: a rule fired.

use serde::{Deserialize, Serialize};

use crate::{AlertId, Entity, EventId, RegionCode, Severity, Timestamp};

/// The rule that fired, as the alert keeps it (the rule may change or vanish later).
///
/// Serialized with its fields plus `attack` ([`Attack`], parsed from the tags) when the tags
/// name any ATT&CK tactic, technique, group or software; `attack` is ignored when read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub level: Severity,
    /// Sigma status (`stable`, `test`, `experimental` ...), when the rule gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tags as written, e.g. `attack.t1110.001`, `attack.credential_access`.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl RuleRef {
    /// The ATT&CK tactics, techniques, groups and software the rule's tags name.
    pub fn attack(&self) -> Attack {
        Attack::from_tags(&self.tags)
    }
}

impl Serialize for RuleRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let attack = self.attack();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("title", &self.title)?;
        m.serialize_entry("level", &self.level)?;
        if let Some(status) = &self.status {
            m.serialize_entry("status", status)?;
        }
        m.serialize_entry("tags", &self.tags)?;
        if !attack.is_empty() {
            m.serialize_entry("attack", &attack)?;
        }
        m.end()
    }
}

/// The ATT&CK tactics (by short name), techniques (`T1059.001`), groups (`G0032`) and
/// software (`S0002`) named by a rule's `attack.*` tags, in tag order, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attack {
    /// Tactic short names as ATT&CK spells them: `execution`, `credential-access` ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub techniques: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub software: Vec<String>,
}

/// The enterprise ATT&CK tactics' short names.
const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

impl Attack {
    /// Parse `attack.*` tags: `attack.t1059.001` is technique `T1059.001`,
    /// `attack.execution` (or `attack.credential_access`) a tactic, `attack.g0032` a group,
    /// `attack.s0002` software. Other tags are left out.
    pub fn from_tags(tags: &[String]) -> Attack {
        let mut a = Attack::default();
        let push = |list: &mut Vec<String>, v: String| {
            if !list.contains(&v) {
                list.push(v);
            }
        };
        for tag in tags {
            let lower = tag.trim().to_ascii_lowercase();
            let Some(rest) = lower.strip_prefix("attack.") else {
                continue;
            };
            let coded = |prefix: char| -> Option<String> {
                let digits = rest.strip_prefix(prefix)?;
                let (main, sub) = match digits.split_once('.') {
                    Some((m, s)) => (m, Some(s)),
                    None => (digits, None),
                };
                let ok = main.len() == 4
                    && main.bytes().all(|b| b.is_ascii_digit())
                    && sub.is_none_or(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()));
                ok.then(|| format!("{}{digits}", prefix.to_ascii_uppercase()))
            };
            if let Some(t) = coded('t') {
                push(&mut a.techniques, t);
            } else if let Some(g) = coded('g') {
                push(&mut a.groups, g);
            } else if let Some(s) = coded('s') {
                push(&mut a.software, s);
            } else {
                let tactic = rest.replace('_', "-");
                if TACTICS.contains(&tactic.as_str()) {
                    push(&mut a.tactics, tactic);
                }
            }
        }
        a
    }

    /// True when no tag named anything ATT&CK.
    pub fn is_empty(&self) -> bool {
        self.tactics.is_empty()
            && self.techniques.is_empty()
            && self.groups.is_empty()
            && self.software.is_empty()
    }
}

/// A field value that made a selection match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedField {
    pub field: String,
    pub value: String,
    /// The rule's search identifier (Sigma selection, e.g. `selection_img`) the value
    /// satisfied; `None` for values that come from elsewhere (a correlation's group-by values,
    /// alerts stored before selections were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    /// Event time of the (last) event that fired the rule.
    pub time: Timestamp,
    /// When this node raised the alert.
    pub created: Timestamp,
    pub rule: RuleRef,
    /// The alert's severity: the rule's level unless an overlay changed it.
    pub severity: Severity,
    pub event_ids: Vec<EventId>,
    pub entities: Vec<Entity>,
    pub region: RegionCode,
    /// Selections that matched and the field values that made them match, when known.
    #[serde(default)]
    pub matched: Vec<MatchedField>,
    /// For an alert raised by threat intelligence: the indicator, the field that matched,
    /// whether a retro-hunt found it, and the sightings folded into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<crate::intel::AlertIntel>,
    /// For an alert raised by an anomaly detector: the group, what was observed against what
    /// was expected, the score and the sentence that explains it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<crate::anomaly::AlertAnomaly>,
    /// What the alert hit, when its target (destination address or host) is registered: the
    /// system, who answers for it, its 等保 level, CII flag, exposure, and the open CVEs the
    /// alert's tags name. Filled by the node after detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<crate::asset::AlertTarget>,
    /// For an alert raised inside a drill (演练): the drill and the planned action. Such
    /// alerts are kept out of the real statistics and reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::supervise::DrillMark>,
}

impl Alert {
    /// The first entity of `kind`.
    pub fn entity(&self, kind: crate::EntityKind) -> Option<&str> {
        self.entities
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn attack_tags_are_parsed_into_tactics_techniques_groups_and_software() {
        let a = Attack::from_tags(&tags(&[
            "attack.execution",
            "attack.t1059.001",
            "attack.T1059",
            "attack.credential_access",
            "attack.credential-access",
            "attack.g0032",
            "attack.s0002",
            "cve.2021-44228",
            "attack.t105",
            "attack.not-a-tactic",
            "detection.threat-hunting",
        ]));
        assert_eq!(a.tactics, ["execution", "credential-access"]);
        assert_eq!(a.techniques, ["T1059.001", "T1059"]);
        assert_eq!(a.groups, ["G0032"]);
        assert_eq!(a.software, ["S0002"]);
        assert!(Attack::from_tags(&tags(&["cve.2021-44228"])).is_empty());
    }

    #[test]
    fn matched_fields_name_their_selection_and_old_ones_still_load() {
        let m = MatchedField {
            field: "user.name".into(),
            value: "root".into(),
            selection: Some("selection_user".into()),
        };
        let json = serde_json::to_value(&m).expect("json");
        assert_eq!(json["selection"], "selection_user");
        let old: MatchedField =
            serde_json::from_str(r#"{"field":"user.name","value":"root"}"#).expect("old shape");
        assert_eq!(old.selection, None);
        let plain = serde_json::to_value(&old).expect("json");
        assert!(plain.get("selection").is_none(), "absent, not null");
    }

    #[test]
    fn rule_refs_serialize_their_attack_references_and_read_back() {
        let r = RuleRef {
            id: "x".into(),
            title: "t".into(),
            level: Severity::High,
            status: Some("test".into()),
            tags: tags(&["attack.execution", "attack.t1059.001"]),
        };
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["attack"]["tactics"][0], "execution");
        assert_eq!(json["attack"]["techniques"][0], "T1059.001");
        assert_eq!(json["status"], "test");
        let back: RuleRef = serde_json::from_value(json).expect("back");
        assert_eq!(back, r);
        let plain = RuleRef {
            tags: Vec::new(),
            status: None,
            ..r
        };
        let json = serde_json::to_value(&plain).expect("json");
        assert!(json.get("attack").is_none() && json.get("status").is_none());
    }
}
