//! A finding turned into an alert.

use onewall_model::anomaly::GroupField;
use onewall_model::{
    Alert, AlertAnomaly, AlertId, Entity, EntityKind, Event, MatchedField, RuleRef, Timestamp,
};

use super::Detector;
use super::groups::{Group, SEP};
use crate::explain::{Lang, Reason, Who};
use crate::kind::Finding;

/// What suppression and alert ids tell findings apart by: the kind of finding, and the value
/// for findings about a value.
pub(crate) fn reason_key(reason: &Reason) -> String {
    match reason {
        Reason::Spike { .. } => "spike".into(),
        Reason::Drop { .. } => "drop".into(),
        Reason::Silent { .. } => "silent".into(),
        Reason::FirstSeen { value, .. } => format!("first_seen{SEP}{value}"),
        Reason::Rare { value, .. } => format!("rare{SEP}{value}"),
        Reason::Outlier { field, .. } => format!("outlier{SEP}{field}"),
        Reason::OffHours { .. } => "off_hours".into(),
    }
}

/// The alert for `finding` in `group`: the detector is the rule, the id is derived from the
/// finding's time, the detector, the group and the reason (a replay makes the same id).
pub(crate) fn build_alert(
    det: &Detector,
    group: &Group,
    finding: Finding,
    event: Option<&Event>,
    reason_key: &str,
    now: Timestamp,
) -> Alert {
    let doc = &det.doc;
    let fields: Vec<GroupField> = doc
        .group_by
        .iter()
        .zip(group.values.iter())
        .map(|(f, v)| GroupField {
            field: f.clone(),
            value: v.to_string(),
        })
        .collect();
    let who = Who {
        title: &doc.title,
        group: &fields,
    };
    let explanation = finding.reason.sentence(&who, Lang::En);
    let explanation_zh = finding.reason.sentence(&who, Lang::Zh);
    let joined = group.values.join("\u{1f}");
    let id = AlertId::derive(
        finding.time,
        b"alert/anomaly/v1",
        &[doc.id.as_bytes(), joined.as_bytes(), reason_key.as_bytes()],
    );
    let entities = match event {
        Some(e) => Entity::from_event(e),
        None => fields
            .iter()
            .filter(|g| !g.value.is_empty())
            .filter_map(|g| {
                EntityKind::of_field(&g.field).map(|kind| Entity {
                    kind,
                    value: g.value.clone(),
                })
            })
            .collect(),
    };
    let matched = fields
        .iter()
        .map(|g| MatchedField {
            field: g.field.clone(),
            value: g.value.clone(),
            selection: None,
        })
        .collect();
    Alert {
        target: None,
        id,
        time: finding.time,
        created: now,
        rule: RuleRef {
            id: doc.id.clone(),
            title: doc.title.clone(),
            level: doc.level,
            status: None,
            tags: doc.tags.clone(),
        },
        severity: doc.level,
        event_ids: event.map(|e| vec![e.id]).unwrap_or_default(),
        entities,
        region: event.map_or(group.region, |e| e.region),
        matched,
        intel: None,
        anomaly: Some(AlertAnomaly {
            detector: doc.id.clone(),
            kind: doc.kind,
            group: fields,
            observed: finding.observed,
            observed_value: finding.observed_value,
            expected: finding.expected,
            expected_low: finding.expected_low,
            expected_high: finding.expected_high,
            score: finding.score,
            baseline_secs: finding.baseline_secs,
            explanation,
            explanation_zh,
        }),
        drill: None,
    }
}
