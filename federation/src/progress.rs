//! How far into each incident's evidence a federation step has got, so that an incident
//! change costs the alerts that joined since the last one, not every alert it holds.
//!
//! The correlator only appends to `alert_ids` (a merge appends the other incident's); a
//! change that did anything else (an alert unlinked by hand) no longer ends where the mark
//! was, and the whole list is taken again. The marks live in memory: after a restart each
//! incident's next change takes its whole list once.

use std::collections::HashMap;

use onewall_model::{AlertId, Incident, IncidentId};

/// Marks kept at most; when full the map starts again (the next change of each incident then
/// takes its whole list, which is always correct).
const CAPACITY: usize = 8_192;

/// The evidence each incident has had taken, per incident.
#[derive(Debug, Default)]
pub struct Progress {
    marks: HashMap<IncidentId, (usize, AlertId)>,
}

impl Progress {
    /// Where the alerts not yet taken begin in `inc.alert_ids`.
    pub fn start(&self, inc: &Incident) -> usize {
        match self.marks.get(&inc.id) {
            Some((n, last))
                if n.checked_sub(1).and_then(|i| inc.alert_ids.get(i)) == Some(last) =>
            {
                *n
            }
            _ => 0,
        }
    }

    /// Everything in `inc.alert_ids` has been taken.
    pub fn taken(&mut self, inc: &Incident) {
        let Some(last) = inc.alert_ids.last() else {
            self.marks.remove(&inc.id);
            return;
        };
        if self.marks.len() >= CAPACITY && !self.marks.contains_key(&inc.id) {
            self.marks.clear();
        }
        self.marks.insert(inc.id, (inc.alert_ids.len(), *last));
    }
}

#[cfg(test)]
mod tests {
    use onewall_model::Timestamp;

    use super::*;

    fn incident(ids: &[u128]) -> Incident {
        let now = Timestamp::from_secs(1_800_000_000);
        Incident {
            targets: Vec::new(),
            id: IncidentId::from_u128(7),
            title: String::new(),
            status: onewall_model::IncidentStatus::New,
            severity: onewall_model::Severity::Low,
            group_key: String::new(),
            region: onewall_model::RegionCode::HENAN,
            regions: vec![],
            assignee: None,
            team: None,
            entities: vec![],
            alert_ids: ids.iter().map(|n| AlertId::from_u128(*n)).collect(),
            rule_ids: vec![],
            first_seen: now,
            last_seen: now,
            created: now,
            updated: now,
            parent: None,
            children: vec![],
            timeline: vec![],
            classification: Default::default(),
            drill: None,
        }
    }

    #[test]
    fn appended_alerts_start_at_the_mark_anything_else_starts_again() {
        let mut p = Progress::default();
        let first = incident(&[1, 2, 3]);
        assert_eq!(p.start(&first), 0, "never seen");
        p.taken(&first);
        assert_eq!(p.start(&incident(&[1, 2, 3, 4, 5])), 3, "appended");
        assert_eq!(p.start(&incident(&[1, 2, 3])), 3, "unchanged");
        assert_eq!(p.start(&incident(&[1, 3, 4])), 0, "one unlinked");
        assert_eq!(p.start(&incident(&[1, 2])), 0, "shorter");
        p.taken(&incident(&[]));
        assert_eq!(
            p.start(&incident(&[1, 2, 3, 4])),
            0,
            "emptied, then refilled"
        );
    }
}
