//! The alert an indicator raises when an event holds its value, and the severity policy.
//!
//! An intelligence alert is an alert like any other: it joins incidents, reaches playbooks
//! and the parent. Its rule is `intel.<kind>` (`intel.ip`, `intel.domain-tree`, ...) so rule
//! filters and statistics group them; its `intel` part names the indicator.

use onewall_model::{
    Alert, AlertId, AlertIntel, Entity, Event, IndicatorKind, RuleRef, Severity, Timestamp,
};

use crate::Indicator;

/// The rule id an intelligence alert of `kind` carries (`intel.ip`, `intel.sha256` ...).
pub fn rule_id(kind: IndicatorKind) -> String {
    format!("intel.{}", kind.as_str())
}

/// The severity of an alert raised by an indicator of severity `severity` at confidence
/// `confidence` (after decay). The policy: confidence 80–100 keeps the indicator's severity,
/// 50–79 lowers it one level, 20–49 two levels, below 20 it is informational; never below
/// informational. So a high indicator seen at confidence 60 is a medium alert, and a stale
/// indicator whose confidence has decayed stops paging anyone before it stops matching.
pub fn severity_for(severity: Severity, confidence: u8) -> Severity {
    let down = match confidence {
        80.. => 0,
        50..=79 => 1,
        20..=49 => 2,
        _ => return Severity::Informational,
    };
    let rank = Severity::ALL
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(0);
    Severity::ALL[rank.saturating_sub(down)]
}

/// What matched: an indicator, at a confidence, on a field of an event.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    pub indicator: &'a Indicator,
    /// The indicator's confidence at the event (after decay).
    pub confidence: u8,
    /// The field that held the value.
    pub field: &'a str,
    /// The value the field held.
    pub observed: &'a str,
}

/// The alert for `sighting` in `event`, created at `created`. Its id is derived from the
/// event and the indicator, so matching the same event again (a spool replay, a second
/// retro-hunt) makes the same alert, which the stores ignore the second time. `retro` marks
/// a hit found in stored history; the alert's time is the event's either way.
pub fn intel_alert(
    sighting: Sighting<'_>,
    event: &Event,
    created: Timestamp,
    retro: bool,
) -> Alert {
    let ind = sighting.indicator;
    let kind = ind.value.kind();
    let value = ind.value.text();
    let mut tags: Vec<String> = ind
        .attack
        .iter()
        .map(|a| format!("attack.{}", a.to_ascii_lowercase()))
        .collect();
    tags.push(format!("tlp.{}", ind.tlp.as_str().to_ascii_lowercase()));
    let rule = RuleRef {
        id: rule_id(kind),
        title: format!(
            "Threat intelligence: {} {value} ({})",
            kind.as_str(),
            ind.feed
        ),
        level: ind.severity,
        status: None,
        tags,
    };
    let key = format!("{}\u{1f}{}\u{1f}{}", rule.id, ind.feed, value);
    Alert {
        target: None,
        id: AlertId::for_rule_match(event.id, &key),
        time: event.time,
        created,
        severity: severity_for(ind.severity, sighting.confidence),
        rule,
        event_ids: vec![event.id],
        entities: Entity::from_event(event),
        region: event.region,
        matched: vec![onewall_model::MatchedField {
            field: sighting.field.to_string(),
            value: sighting.observed.to_string(),
            selection: None,
        }],
        intel: Some(AlertIntel {
            indicator: ind.to_ref(sighting.confidence),
            field: sighting.field.to_string(),
            observed: sighting.observed.to_string(),
            retro,
            count: 1,
        }),
        anomaly: None,
        drill: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Observable;

    #[test]
    fn severity_follows_confidence_by_the_documented_steps() {
        assert_eq!(severity_for(Severity::High, 90), Severity::High);
        assert_eq!(severity_for(Severity::High, 60), Severity::Medium);
        assert_eq!(severity_for(Severity::High, 30), Severity::Low);
        assert_eq!(
            severity_for(Severity::Critical, 19),
            Severity::Informational
        );
        assert_eq!(severity_for(Severity::Low, 25), Severity::Informational);
    }

    #[test]
    fn the_alert_names_the_indicator_and_is_the_same_for_the_same_event() {
        let mut ind = Indicator::new(
            Observable::parse(IndicatorKind::Ip, "203.0.113.9").expect("ip"),
            "feodo",
        );
        ind.severity = Severity::High;
        ind.confidence = 85;
        ind.attack = vec!["T1071.001".into()];
        let event = Event::new(
            Timestamp::from_secs(1_700_000_000),
            onewall_model::RegionCode::HENAN,
            onewall_model::Source::new("test", None),
            b"x",
        );
        let s = Sighting {
            indicator: &ind,
            confidence: 85,
            field: "destination.ip",
            observed: "203.0.113.9",
        };
        let a = intel_alert(s, &event, Timestamp::now(), false);
        let b = intel_alert(s, &event, Timestamp::now(), true);
        assert_eq!(a.id, b.id, "same event and indicator: same alert id");
        assert_eq!(a.rule.id, "intel.ip");
        assert_eq!(a.severity, Severity::High);
        let json = serde_json::to_value(&b).expect("json");
        assert_eq!(json["intel"]["indicator"]["value"], "203.0.113.9");
        assert_eq!(json["intel"]["indicator"]["type"], "ip");
        assert_eq!(json["intel"]["indicator"]["tlp"], "AMBER");
        assert_eq!(json["intel"]["retro"], true);
        assert_eq!(json["rule"]["attack"]["techniques"][0], "T1071.001");
    }
}
