//! The parent side: apply children's pushes (store their alerts, gate them into the
//! correlator, keep their incidents and link them to parent incidents), queue dispatches and
//! changes for children, and report each child's health.

use std::collections::HashSet;

use super::Federation;
use super::db::children::{self, Contact, queue_down};
use super::db::{dispatches, gate, links};
use metrics::counter;
use onewall_model::federation::{
    Down, IncidentSnapshot, PushReply, PushRequest, Up, UpMessage, is_remote_actor, remote_actor,
};
use onewall_model::{
    Alert, AlertId, Incident, IncidentId, IncidentStatus, RegionCode, TimelineEntry, TimelineKind,
    Timestamp,
};

/// Downlink messages per reply at most.
const MAX_DOWN: i64 = 500;

/// How far past the last sequence applied for a child's epoch a push may reach. The child's
/// outbox numbers its messages one by one; a gap only comes from incident snapshots replaced
/// while unsent, so a push reaching further is a bug or a forgery, and is refused rather than
/// acknowledged (the child would drop what was never stored).
pub(super) const MAX_AHEAD: u64 = 1 << 20;

/// A push whose sequences cannot be applied; answered 409 naming the expected sequence.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SequenceRefused(pub String);

/// The pushed sequences increase, and none reaches past `last + MAX_AHEAD` (nor past what
/// SQLite stores). A new epoch has `last` 0: its sequences must start from the beginning.
fn check_sequences(
    region: RegionCode,
    epoch: &str,
    last: u64,
    messages: &[UpMessage],
) -> Result<(), SequenceRefused> {
    for w in messages.windows(2) {
        if w[1].seq <= w[0].seq {
            return Err(SequenceRefused(format!(
                "messages: seq {} follows seq {}; sequences must increase",
                w[1].seq, w[0].seq
            )));
        }
    }
    let limit = last.saturating_add(MAX_AHEAD).min(i64::MAX as u64);
    match messages.iter().find(|m| m.seq > limit) {
        Some(m) => Err(SequenceRefused(format!(
            "messages: seq {} is too far ahead for region {region} epoch {epoch:?}: expected \
             seq {} next (at most {limit})",
            m.seq,
            last.saturating_add(1)
        ))),
        None => Ok(()),
    }
}

impl Federation {
    /// Apply a child's push (scope already checked) and answer it.
    pub async fn apply_push(&self, req: PushRequest) -> anyhow::Result<PushReply> {
        let region = req.region;
        let epoch = req.epoch.clone();
        let state = self
            .db
            .call(move |c| children::state(c, region, &epoch))
            .await?;
        check_sequences(region, &req.epoch, state.last_seq, &req.messages)?;
        if state.epoch.as_ref().is_some_and(|e| *e != req.epoch) {
            // Another outbox at the child (its data was wiped): its sequences are its own.
            tracing::warn!(%region, node = %req.node, "federation: a child pushes from another outbox epoch");
        }
        let fresh: Vec<_> = req
            .messages
            .into_iter()
            .filter(|m| m.seq > state.last_seq)
            .collect();
        let last_seq = fresh.iter().map(|m| m.seq).max().unwrap_or(state.last_seq);
        let mut alerts = Vec::new();
        let mut rest = Vec::new();
        for m in fresh {
            match m.body {
                Up::Alert { alert } => alerts.push(*alert),
                other => rest.push(other),
            }
        }
        let received = self.receive_alerts(alerts, region).await?;
        for m in rest {
            match m {
                Up::Incident { incident } => self.child_incident(&req.node, *incident).await?,
                Up::Status {
                    parent,
                    incident,
                    from,
                    to,
                    by,
                    ..
                } => {
                    let text = format!(
                        "{region} ({}) incident {incident}: {from} → {to} by {by}",
                        req.node
                    );
                    self.note_on(parent, region, &by, text).await?;
                }
                Up::Comment {
                    parent,
                    incident,
                    text,
                    by,
                    ..
                } => {
                    let text = format!("{region} ({}) incident {incident}: {text}", req.node);
                    self.note_on(parent, region, &by, text).await?;
                }
                Up::Sightings { sightings } => self.intel_sightings(region, sightings),
                Up::AssetRollup { rollup } => self.asset_rollup(&req.node, region, *rollup)?,
                Up::Supervise { msg } => self.apply_supervise_up(region, &req.node, *msg).await?,
                Up::Alert { .. } => {}
            }
        }
        let contact = Contact {
            region,
            node: req.node.clone(),
            epoch: req.epoch.clone(),
            at: Timestamp::now(),
            oldest_queued: req.oldest_queued,
            outbox_depth: req.outbox_depth,
            alerts: received,
            last_seq,
            ack_down: req.ack_down,
        };
        let messages = self
            .db
            .call(move |c| {
                children::record_contact(c, &contact)?;
                children::downlink_after(c, region, contact.ack_down, MAX_DOWN)
            })
            .await?;
        Ok(PushReply {
            intel: self.intel_page(req.intel, req.organisation.as_deref(), region),
            node: self.node.clone(),
            region: Some(self.region),
            acked_up: last_seq,
            messages,
        })
    }

    /// Store new remote alerts (a repeated id is ignored), relay them to this node's own parent
    /// when it has one (a city passes its counties' alerts on to the province), and pass the
    /// gate's release to the correlator. `via` is the child region that pushed them. Answers
    /// how many were new.
    async fn receive_alerts(&self, alerts: Vec<Alert>, via: RegionCode) -> anyhow::Result<usize> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let ids: Vec<AlertId> = alerts.iter().map(|a| a.id).collect();
        let known: HashSet<AlertId> = self.db.call(move |c| links::known_alerts(c, &ids)).await?;
        let mut seen = HashSet::new();
        let new: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| !known.contains(&a.id) && seen.insert(a.id))
            .collect();
        if new.is_empty() {
            return Ok(0);
        }
        self.store.write_alerts(new.clone()).await?;
        // Queued up before they are marked as received: a crash in between makes the child
        // push them again, and they are queued again (the grandparent skips the repeat), never
        // lost.
        if self.has_parent() {
            self.queue_alerts(&new).await;
            counter!("onewall_federation_relayed_total").increment(new.len() as u64);
        }
        let rows: Vec<(AlertId, RegionCode)> = new.iter().map(|a| (a.id, a.region)).collect();
        self.db
            .call(move |c| links::insert_alerts(c, &rows))
            .await?;
        let n = new.len();
        counter!("onewall_federation_alerts_received_total").increment(n as u64);
        let admitted = match self.gate.lock() {
            Ok(mut g) => g.admit(&new, Some(via)),
            Err(_) => anyhow::bail!("federation gate lock poisoned"),
        };
        let release = admitted.release.clone();
        // What the gate learned is kept, so a restart of this node forgets no attacker.
        self.db.call(move |c| gate::remember(c, &admitted)).await?;
        let mut by_id: std::collections::HashMap<AlertId, Alert> =
            new.into_iter().map(|a| (a.id, a)).collect();
        let mut released = Vec::with_capacity(release.len());
        for id in release {
            match by_id.remove(&id) {
                Some(a) => released.push(a),
                // Held from an earlier push: it is in the store.
                None => released.extend(self.store.get_alert(id).await?),
            }
        }
        if !released.is_empty() && self.to_correlator.send(released).await.is_err() {
            tracing::warn!("federation: the correlator is not running; remote alerts not grouped");
        }
        Ok(n)
    }

    /// A child's incident snapshot: keep it, link it to the parent incidents holding its
    /// alerts, and follow its status on a dispatched parent incident.
    async fn child_incident(&self, node: &str, s: IncidentSnapshot) -> anyhow::Result<()> {
        let node = node.to_owned();
        let snap = s.clone();
        let follow = self
            .db
            .call(move |c| {
                links::upsert_child_incident(c, &node, &snap)?;
                // A dispatched parent incident hears the child's status.
                Ok(match snap.parent {
                    Some(parent)
                        if dispatches::set_status(c, parent, snap.region, snap.status)? =>
                    {
                        Some(parent)
                    }
                    _ => None,
                })
            })
            .await?;
        if let Some(parent) = follow {
            self.follow_children(parent, s.region).await?;
        }
        Ok(())
    }

    /// When every child a parent incident was dispatched to has finished (resolved, closed,
    /// false positive), the parent incident follows: closed when all closed (or false
    /// positive), else resolved, where its lifecycle allows.
    async fn follow_children(&self, parent: IncidentId, region: RegionCode) -> anyhow::Result<()> {
        let statuses = self
            .db
            .call(move |c| dispatches::statuses(c, parent))
            .await?;
        use IncidentStatus::*;
        if statuses.is_empty() || statuses.iter().any(|s| s.is_open()) {
            return Ok(());
        }
        let target = if statuses.iter().all(|s| matches!(s, Closed | FalsePositive)) {
            Closed
        } else {
            Resolved
        };
        let actor = remote_actor(region, "federation");
        let result = self
            .store
            .update_incident(
                parent,
                Box::new(move |i: &mut Incident| {
                    if i.status.can_become(target) {
                        i.set_status(target, &actor, Timestamp::now())?;
                    }
                    Ok(())
                }),
            )
            .await;
        if let Err(e) = result {
            tracing::warn!(incident = %parent, error = %e, "federation: parent status not followed");
        }
        Ok(())
    }

    /// A timeline note on parent incident `parent` from a child it was dispatched to.
    async fn note_on(
        &self,
        parent: IncidentId,
        region: RegionCode,
        by: &str,
        text: String,
    ) -> anyhow::Result<()> {
        // Only an incident dispatched to this child hears from it.
        let dispatched = self
            .db
            .call(move |c| dispatches::is_dispatched(c, parent, region))
            .await?;
        if !dispatched {
            tracing::warn!(incident = %parent, %region,
                "federation: a child wrote about a parent incident not dispatched to it; ignored");
            return Ok(());
        }
        let actor = remote_actor(region, by);
        let r = self
            .store
            .update_incident(
                parent,
                Box::new(move |i: &mut Incident| {
                    let now = Timestamp::now();
                    i.timeline.push(TimelineEntry {
                        at: now,
                        actor,
                        change: TimelineKind::Comment { text },
                    });
                    i.updated = now;
                    Ok(())
                }),
            )
            .await;
        match r {
            Ok(_) | Err(onewall_store::StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A parent incident changed: note which remote alerts it holds (linking the child
    /// incidents that hold them) and send its new timeline entries to the children it was
    /// dispatched to.
    pub(super) async fn parent_incident_changed(&self, inc: &Incident) -> anyhow::Result<()> {
        let id = inc.id;
        // Only the alerts that joined since the last change (see `progress`).
        let start = self.link_progress.lock().map(|p| p.start(inc)).unwrap_or(0);
        let alert_ids: Vec<AlertId> = inc.alert_ids[start..].to_vec();
        let timeline = inc.timeline.clone();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                links::set_parent_incident(&tx, id, &alert_ids)?;
                let regions = dispatches::regions(&tx, id)?;
                if !regions.is_empty() {
                    let sent = dispatches::downsent(&tx, id)?.unwrap_or(timeline.len());
                    for e in timeline.iter().skip(sent) {
                        if is_remote_actor(&e.actor) {
                            continue;
                        }
                        let down = match &e.change {
                            TimelineKind::StatusChanged { from, to } => Down::Status {
                                incident: id,
                                from: *from,
                                to: *to,
                                by: e.actor.clone(),
                                at: e.at,
                            },
                            TimelineKind::Comment { text } => Down::Comment {
                                incident: id,
                                text: text.clone(),
                                by: e.actor.clone(),
                                at: e.at,
                            },
                            _ => continue,
                        };
                        for region in &regions {
                            queue_down(&tx, *region, &down)?;
                        }
                    }
                    dispatches::set_downsent(&tx, id, timeline.len())?;
                }
                tx.commit()
            })
            .await?;
        if let Ok(mut p) = self.link_progress.lock() {
            p.taken(inc);
        }
        Ok(())
    }

    /// Queue a dispatch of `inc` to `region`.
    pub async fn queue_dispatch(
        &self,
        inc: Incident,
        region: RegionCode,
        note: String,
        team: Option<String>,
        by: String,
    ) -> anyhow::Result<serde_json::Value> {
        let now = Timestamp::now();
        let id = inc.id;
        // Record it on the parent incident first; its timeline length then marks what went.
        let text = format!("dispatched to {region}: {note}");
        let actor = by.clone();
        let updated = self
            .store
            .update_incident(
                id,
                Box::new(move |i: &mut Incident| {
                    i.timeline.push(TimelineEntry {
                        at: now,
                        actor,
                        change: TimelineKind::Comment { text },
                    });
                    i.updated = now;
                    Ok(())
                }),
            )
            .await?;
        let record = serde_json::json!({
            "incident": id, "region": region, "at": now, "by": by, "note": note, "team": team,
        });
        let (title, severity, len) = (updated.title, updated.severity, updated.timeline.len());
        let alert_ids = updated.alert_ids;
        let seq = self
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let (child_incidents, alerts) = links::remote_of(&tx, id, region)?;
                let alerts: Vec<AlertId> = alerts
                    .into_iter()
                    .filter(|a| alert_ids.contains(a))
                    .collect();
                let dispatch = dispatches::Dispatch {
                    region: region.to_string(),
                    at: now,
                    by: by.clone(),
                    note: note.clone(),
                    team: team.clone(),
                    status: None,
                };
                dispatches::upsert(&tx, id, region, &dispatch)?;
                let down = Down::Dispatch {
                    incident: id,
                    title,
                    severity,
                    note,
                    team,
                    by,
                    at: now,
                    child_incidents,
                    alert_ids: alerts,
                };
                let seq = queue_down(&tx, region, &down)?;
                dispatches::set_downsent(&tx, id, len)?;
                tx.commit()?;
                Ok(seq)
            })
            .await?;
        counter!("onewall_federation_dispatches_total").increment(1);
        let mut record = record;
        record["seq"] = serde_json::json!(seq);
        Ok(record)
    }
}
