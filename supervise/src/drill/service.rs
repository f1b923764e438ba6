//! The drill service: plan, receive from the parent, start, list, mark, report.

use std::collections::HashSet;

use onewall_model::id::DrillId;
use onewall_model::supervise::{Drill, DrillMode, SuperviseDown};
use onewall_model::{RegionCode, Timestamp};
use onewall_store::{AlertQuery, IncidentQuery};

use super::{DrillReport, Marker, Scenario, began, drill_end, score};
use crate::{Actor, Result, SuperviseError, Supervision, db};

impl Supervision {
    /// Plan a drill from a scenario (regions within this node's subtree); stored, sent to the
    /// child nodes it covers, audited `drill.plan`.
    pub async fn plan_drill(&self, actor: &Actor, scenario: Scenario) -> Result<Drill> {
        scenario
            .check()
            .map_err(|m| SuperviseError::Invalid(format!("drill scenario: {m}")))?;
        for r in &scenario.regions {
            if !self.tree.contains(*r) {
                return Err(SuperviseError::Invalid(format!(
                    "drill: unknown region {r}"
                )));
            }
            if !self.covers(self.node.region, *r) || !self.covers(actor.scope, *r) {
                return Err(SuperviseError::Forbidden(format!(
                    "drill: region {r} is outside your scope"
                )));
            }
        }
        let now = Timestamp::now();
        let drill = Drill {
            id: DrillId::new(now),
            name: scenario.name,
            regions: scenario.regions,
            start: scenario.start,
            end: scenario.end,
            mode: scenario.mode,
            red_team: scenario.red_team,
            actions: scenario.actions,
            issuer: self.node.region,
            by: actor.name.clone(),
            created: now,
            started: None,
        };
        let d = drill.clone();
        self.db.call(move |c| db::drills::put(c, &d)).await?;
        self.reload_cache()?;
        self.audit(actor.audit_record(
            "drill.plan",
            format!("drill/{}", drill.id),
            format!("{} ({} actions)", drill.name, drill.actions.len()),
        ))?;
        self.send_drill_down(&drill)?;
        Ok(drill)
    }

    /// Queue `drill` for every child node whose region it covers (or that covers one of its
    /// regions).
    fn send_drill_down(&self, drill: &Drill) -> Result<()> {
        let msgs = self
            .courier
            .children()
            .into_iter()
            .filter(|child| {
                drill
                    .regions
                    .iter()
                    .any(|r| self.covers(*r, *child) || self.covers(*child, *r))
            })
            .map(|child| {
                let drill = Box::new(drill.clone());
                (child, SuperviseDown::Drill { drill })
            })
            .collect();
        self.courier.down_all(msgs).map_err(|e| {
            SuperviseError::Internal(format!("drill: queueing for its child nodes: {e}"))
        })
    }

    /// Child: a drill from the parent (idempotent: the same drill again changes nothing; a
    /// changed one, such as its start, replaces it). Passed on to this node's children.
    pub async fn receive_drill(&self, parent: RegionCode, drill: Drill) -> Result<()> {
        let d = drill.clone();
        let changed = self.db.call(move |c| db::drills::put(c, &d)).await?;
        if !changed {
            return Ok(());
        }
        self.reload_cache()?;
        let action = if drill.started.is_some() {
            "drill.start"
        } else {
            "drill.plan"
        };
        self.audit(Actor::remote(parent, &drill.by).audit_record(
            action,
            format!("drill/{}", drill.id),
            format!("{} (from {parent})", drill.name),
        ))?;
        self.send_drill_down(&drill)
    }

    /// Mark a scenario drill started at `at` (the node's replay runs its actions from then);
    /// audited `drill.start`. Refused when started already or not a scenario.
    pub async fn start_drill(&self, actor: &Actor, id: DrillId, at: Timestamp) -> Result<Drill> {
        let mut drill = self
            .drill(id)
            .filter(|d| d.regions.iter().any(|r| self.covers(actor.scope, *r)))
            .ok_or_else(|| SuperviseError::NotFound(format!("no drill {id}")))?;
        if drill.mode != DrillMode::Scenario {
            return Err(SuperviseError::Conflict(format!(
                "drill {id} is a live exercise: there is nothing to replay"
            )));
        }
        if let Some(s) = drill.started {
            return Err(SuperviseError::Conflict(format!(
                "drill {id} was started already at {}",
                s.to_rfc3339()
            )));
        }
        if at >= drill.end {
            return Err(SuperviseError::Conflict(format!(
                "drill {id} ended at {}",
                drill.end.to_rfc3339()
            )));
        }
        drill.started = Some(at);
        let d = drill.clone();
        self.db.call(move |c| db::drills::put(c, &d)).await?;
        self.reload_cache()?;
        self.audit(actor.audit_record("drill.start", format!("drill/{id}"), drill.name.clone()))?;
        self.send_drill_down(&drill)?;
        Ok(drill)
    }

    /// Every drill held, newest start first.
    pub fn drills(&self) -> Vec<Drill> {
        let mut d = self.cached().drills;
        d.sort_by(|a, b| b.start.cmp(&a.start).then(b.id.cmp(&a.id)));
        d
    }

    /// One drill.
    pub fn drill(&self, id: DrillId) -> Option<Drill> {
        self.cached().drills.into_iter().find(|d| d.id == id)
    }

    /// The marker over the drills held (for the detect stage).
    pub fn marker(&self) -> Marker {
        Marker::new(self.cached().drills)
    }

    /// The drill's report now: its alerts (by mark) and their incidents from the store.
    /// Alerts are read from the drill's window (from the earlier of its start and its
    /// replay's start, to the later of its end and now), every page.
    pub async fn drill_report(&self, id: DrillId, now: Timestamp) -> Result<DrillReport> {
        let drill = self
            .drill(id)
            .ok_or_else(|| SuperviseError::NotFound(format!("no drill {id}")))?;
        let from = drill.start.min(began(&drill));
        let to = drill_end(&drill).max(now).add_secs(1);
        let mut alerts = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .search_alerts(AlertQuery {
                    from: Some(from),
                    to: Some(to),
                    limit: onewall_store::MAX_LIMIT,
                    cursor,
                    ..AlertQuery::default()
                })
                .await?;
            alerts.extend(
                page.items
                    .into_iter()
                    .filter(|a| a.drill.as_ref().is_some_and(|m| m.drill == id)),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let ids: HashSet<_> = alerts.iter().map(|a| a.id).collect();
        let mut incidents = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .search_incidents(IncidentQuery {
                    since: Some(from),
                    limit: onewall_store::MAX_LIMIT,
                    cursor,
                    ..IncidentQuery::default()
                })
                .await?;
            incidents.extend(
                page.items
                    .into_iter()
                    .filter(|i| i.drill == Some(id) || i.alert_ids.iter().any(|a| ids.contains(a))),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(score(&drill, &alerts, &incidents, now))
    }
}
