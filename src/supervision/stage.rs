//! The drill step of the detect thread, after the rules, threat intelligence, anomaly
//! detection and assets: every alert raised on a replayed scenario's events (they carry
//! `onewall.drill.id`) or, in a live drill, naming a red-team address in the drill's regions
//! and window, gets its drill mark ([`onewall_supervise::drill::Marker`]), which keeps it out
//! of the real statistics and reports and out of real incidents.
//!
//! The marker is taken again from the supervision service when its cache changed (a drill
//! planned, received or started): one atomic load a batch; with no drill held the step is one
//! branch more.
//!
//! Only the replay may mark events with a drill's fields: an event from a listener carrying
//! `onewall.drill.id` is not taken as the drill's (else anyone who learnt a drill's id could
//! hide a real attack in it), though a live drill still marks its alert by the red team's
//! addresses.

use std::sync::Arc;

use metrics::counter;
use onewall_model::hash::FxMap;
use onewall_model::supervise::DRILL_ID_FIELD;
use onewall_model::{Alert, Event, EventId};
use onewall_supervise::Supervision;
use onewall_supervise::drill::Marker;

/// The step's state, owned by the detect thread.
#[derive(Debug)]
pub struct DrillStage {
    sup: Arc<Supervision>,
    marker: Marker,
    /// The cache generation the marker was built from.
    generation: u64,
    /// The batch's events by id (reused between batches).
    index: FxMap<EventId, usize>,
}

impl DrillStage {
    /// The step over the drills `sup` holds.
    pub fn new(sup: Arc<Supervision>) -> DrillStage {
        let generation = sup.cache_generation();
        let marker = sup.marker();
        DrillStage {
            sup,
            marker,
            generation,
            index: FxMap::default(),
        }
    }

    /// Mark the drill alerts among `alerts`, raised on `batch`.
    pub fn run(&mut self, batch: &[Event], alerts: &mut [Alert]) {
        let generation = self.sup.cache_generation();
        if generation != self.generation {
            self.marker = self.sup.marker();
            self.generation = generation;
        }
        if self.marker.is_empty() || alerts.is_empty() {
            return;
        }
        mark(&self.marker, &mut self.index, batch, alerts);
    }
}

/// Mark `alerts` with `marker`, each judged on its own events of `batch` (found through
/// `index`, rebuilt here).
pub fn mark(
    marker: &Marker,
    index: &mut FxMap<EventId, usize>,
    batch: &[Event],
    alerts: &mut [Alert],
) {
    index.clear();
    index.extend(batch.iter().enumerate().map(|(i, e)| (e.id, i)));
    let mut marked = 0u64;
    let mut own: Vec<&Event> = Vec::new();
    for a in alerts.iter_mut().filter(|a| a.drill.is_none()) {
        own.clear();
        own.extend(
            a.event_ids
                .iter()
                .filter_map(|id| index.get(id).and_then(|i| batch.get(*i)))
                .filter(|e| replayed(e) || e.get(DRILL_ID_FIELD).is_none()),
        );
        if let Some(m) = marker.mark(a, &own) {
            a.drill = Some(m);
            marked += 1;
        }
    }
    counter!("onewall_supervise_drill_alerts_total").increment(marked);
}

/// Did the node's own replay make `e` (not a listener)?
fn replayed(e: &Event) -> bool {
    e.source.peer.is_none() && e.source.collector.as_ref() == super::replay::COLLECTOR
}

#[cfg(test)]
mod tests {
    use onewall_model::id::DrillId;
    use onewall_model::supervise::{
        DRILL_ACTION_FIELD, DRILL_ID_FIELD, Drill, DrillMode, Expect, PlannedAction,
    };
    use onewall_model::{
        AlertId, Event, EventId, RegionCode, RuleRef, Severity, Source, Timestamp,
    };

    use super::*;

    fn drill(id: DrillId) -> Drill {
        let now = Timestamp::now();
        Drill {
            id,
            name: "演练".into(),
            regions: vec![RegionCode::HENAN],
            start: now.add_secs(-60),
            end: now.add_secs(3600),
            mode: DrillMode::Scenario,
            red_team: vec![],
            actions: vec![PlannedAction {
                id: "brute".into(),
                name: "SSH 暴力破解".into(),
                at_secs: 0,
                technique: None,
                expect: Expect::default(),
                region: None,
                events: vec![],
            }],
            issuer: RegionCode::HENAN,
            by: "admin".into(),
            created: now,
            started: Some(now),
        }
    }

    fn event(n: u128, drill: Option<DrillId>) -> Event {
        let mut e = Event::new(
            Timestamp::now(),
            RegionCode::HENAN,
            Source::new(crate::supervision::replay::COLLECTOR, None),
            b"x",
        );
        e.id = EventId::from_u128(n);
        if let Some(d) = drill {
            e.fields.insert(DRILL_ID_FIELD, d.to_string());
            e.fields.insert(DRILL_ACTION_FIELD, "brute");
        }
        e
    }

    fn alert(n: u128, events: &[u128]) -> Alert {
        Alert {
            target: None,
            intel: None,
            anomaly: None,
            id: AlertId::from_u128(n),
            time: Timestamp::now(),
            created: Timestamp::now(),
            rule: RuleRef {
                id: "r".into(),
                title: "r".into(),
                level: Severity::High,
                status: None,
                tags: vec![],
            },
            severity: Severity::High,
            event_ids: events.iter().map(|e| EventId::from_u128(*e)).collect(),
            entities: vec![],
            region: RegionCode::HENAN,
            matched: vec![],
            drill: None,
        }
    }

    #[test]
    fn only_alerts_on_a_held_drills_events_are_marked() {
        let held = DrillId::from_u128(1);
        let unknown = DrillId::from_u128(2);
        let marker = Marker::new(vec![drill(held)]);
        let batch = [
            event(10, Some(held)),
            event(11, None),
            event(12, Some(unknown)),
        ];
        let mut alerts = [
            alert(1, &[10]),
            alert(2, &[11]),
            alert(3, &[12]),
            alert(4, &[11, 10]),
        ];
        let mut index = FxMap::default();
        mark(&marker, &mut index, &batch, &mut alerts);
        let m = alerts[0]
            .drill
            .as_ref()
            .expect("the drill's event marks its alert");
        assert_eq!((m.drill, m.action.as_deref()), (held, Some("brute")));
        assert_eq!(alerts[1].drill, None, "a real event");
        assert_eq!(alerts[2].drill, None, "a drill this node does not hold");
        assert!(
            alerts[3].drill.is_some(),
            "one of its events is the drill's"
        );
    }
}
