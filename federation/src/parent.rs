//! The parent side: apply children's pushes (store their alerts, gate them into the
//! correlator, keep their incidents and link them to parent incidents), queue dispatches and
//! changes for children, and report each child's health.

use std::collections::HashSet;

use metrics::counter;
use onewall_model::federation::{
    Down, DownMessage, IncidentSnapshot, PushReply, PushRequest, Up, UpMessage, is_remote_actor,
    remote_actor,
};
use onewall_model::{
    Alert, AlertId, Incident, IncidentId, IncidentStatus, RegionCode, TimelineEntry, TimelineKind,
    Timestamp,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::Federation;

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

/// What the parent knows of a child region, as far as a push needs it: the last sequence
/// applied for the pushed epoch (0 for an epoch never seen) and the epoch it last heard.
#[derive(Debug, Default, Clone)]
struct ChildState {
    last_seq: u64,
    epoch: Option<String>,
}

/// A stored sequence; a negative one (written by an older version) counts as none.
fn stored_seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn child_state(c: &Connection, region: RegionCode, epoch: &str) -> rusqlite::Result<ChildState> {
    let r = region.to_string();
    let last_seq = c
        .query_row(
            "SELECT last_seq FROM child_epochs WHERE region = ?1 AND epoch = ?2",
            params![r, epoch],
            |row| row.get::<_, i64>(0),
        )
        .optional()?
        .map(stored_seq)
        .unwrap_or(0);
    let current = c
        .query_row(
            "SELECT epoch FROM children WHERE region = ?1 AND last_contact > 0",
            [&r],
            |row| row.get(0),
        )
        .optional()?;
    Ok(ChildState {
        last_seq,
        epoch: current,
    })
}

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

/// Queue a downlink message for `region`; answers its sequence.
fn queue_down(c: &Connection, region: RegionCode, body: &Down) -> rusqlite::Result<u64> {
    let r = region.to_string();
    c.execute(
        "INSERT INTO children (region, node, last_contact, oldest_queued, outbox_depth, alerts, \
         last_seq, ack_down, next_down) VALUES (?1, '', 0, NULL, 0, 0, 0, 0, 1) \
         ON CONFLICT (region) DO NOTHING",
        [&r],
    )?;
    let seq: i64 = c.query_row(
        "UPDATE children SET next_down = next_down + 1 WHERE region = ?1 RETURNING next_down - 1",
        [&r],
        |row| row.get(0),
    )?;
    let text = serde_json::to_string(body)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    c.execute(
        "INSERT INTO downlink (region, seq, body) VALUES (?1, ?2, ?3)",
        params![r, seq, text],
    )?;
    Ok(seq as u64)
}

fn parse_id<T>(s: Option<String>) -> Option<onewall_model::Id<T>> {
    s.and_then(|s| s.parse().ok())
}

impl Federation {
    /// Apply a child's push (scope already checked) and answer it.
    pub async fn apply_push(&self, req: PushRequest) -> anyhow::Result<PushReply> {
        let region = req.region;
        let epoch = req.epoch.clone();
        let state = self
            .db
            .call(move |c| child_state(c, region, &epoch))
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
                Up::Alert { .. } => {}
            }
        }
        let node = req.node.clone();
        let (oldest, depth, ack_down) = (req.oldest_queued, req.outbox_depth, req.ack_down);
        let epoch = req.epoch.clone();
        let now = Timestamp::now();
        let messages = self
            .db
            .call(move |c| {
                let r = region.to_string();
                c.execute(
                    "INSERT INTO children (region, node, last_contact, oldest_queued, \
                     outbox_depth, alerts, last_seq, ack_down, next_down, epoch) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9) \
                     ON CONFLICT (region) DO UPDATE SET node = excluded.node, \
                     last_contact = excluded.last_contact, oldest_queued = excluded.oldest_queued, \
                     outbox_depth = excluded.outbox_depth, alerts = alerts + excluded.alerts, \
                     last_seq = excluded.last_seq, ack_down = excluded.ack_down, \
                     epoch = excluded.epoch",
                    params![
                        r,
                        node,
                        now.nanos(),
                        oldest.map(|t| t.nanos()),
                        depth as i64,
                        received as i64,
                        last_seq as i64,
                        ack_down as i64,
                        epoch
                    ],
                )?;
                c.execute(
                    "INSERT INTO child_epochs (region, epoch, last_seq) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (region, epoch) DO UPDATE \
                     SET last_seq = MAX(last_seq, excluded.last_seq)",
                    params![r, epoch, last_seq as i64],
                )?;
                c.execute(
                    "DELETE FROM downlink WHERE region = ?1 AND seq <= ?2",
                    params![r, ack_down as i64],
                )?;
                let mut stmt = c.prepare_cached(
                    "SELECT seq, body FROM downlink WHERE region = ?1 AND seq > ?2 \
                     ORDER BY seq LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![r, ack_down as i64, MAX_DOWN], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (seq, body) = row?;
                    if let Ok(body) = serde_json::from_str::<Down>(&body) {
                        out.push(DownMessage {
                            seq: seq as u64,
                            body,
                        });
                    }
                }
                Ok(out)
            })
            .await?;
        Ok(PushReply {
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
        let ids: Vec<String> = alerts.iter().map(|a| a.id.to_string()).collect();
        let known: HashSet<String> = self
            .db
            .call(move |c| {
                let mut stmt = c.prepare_cached("SELECT 1 FROM remote_alerts WHERE alert = ?1")?;
                let mut known = HashSet::new();
                for id in ids {
                    if stmt.exists([&id])? {
                        known.insert(id);
                    }
                }
                Ok(known)
            })
            .await?;
        let mut seen = HashSet::new();
        let new: Vec<Alert> = alerts
            .into_iter()
            .filter(|a| !known.contains(&a.id.to_string()) && seen.insert(a.id))
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
        let rows: Vec<(String, String)> = new
            .iter()
            .map(|a| (a.id.to_string(), a.region.to_string()))
            .collect();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO remote_alerts (alert, region) VALUES (?1, ?2) \
                         ON CONFLICT (alert) DO NOTHING",
                    )?;
                    for (id, region) in &rows {
                        stmt.execute(params![id, region])?;
                    }
                }
                tx.commit()
            })
            .await?;
        let n = new.len();
        counter!("onewall_federation_alerts_received_total").increment(n as u64);
        let admitted = match self.gate.lock() {
            Ok(mut g) => g.admit(&new, Some(via)),
            Err(_) => anyhow::bail!("federation gate lock poisoned"),
        };
        let release = admitted.release.clone();
        // What the gate learned is kept, so a restart of this node forgets no attacker.
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                {
                    let mut reg = tx.prepare_cached(
                        "INSERT INTO gate_regions (key, region) VALUES (?1, ?2) \
                         ON CONFLICT DO NOTHING",
                    )?;
                    for (k, r) in &admitted.regions {
                        reg.execute(params![k, r.to_string()])?;
                    }
                    let mut held = tx.prepare_cached(
                        "INSERT INTO gate_held (key, alert) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    )?;
                    for (k, a) in &admitted.held {
                        held.execute(params![k, a.to_string()])?;
                    }
                    let mut open = tx.prepare_cached("DELETE FROM gate_held WHERE key = ?1")?;
                    for k in &admitted.opened {
                        open.execute([k])?;
                    }
                }
                tx.commit()
            })
            .await?;
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
                let (id, region) = (snap.id.to_string(), snap.region.to_string());
                c.execute(
                    "INSERT INTO child_incidents (region, incident, node, status, title, parent) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (region, incident) DO UPDATE \
                     SET node = excluded.node, status = excluded.status, title = excluded.title, \
                     parent = excluded.parent",
                    params![
                        region,
                        id,
                        node,
                        snap.status.as_str(),
                        snap.title,
                        snap.parent.map(|p| p.to_string())
                    ],
                )?;
                let mut stmt = c.prepare_cached(
                    "UPDATE remote_alerts SET child_incident = ?1 WHERE alert = ?2",
                )?;
                for a in &snap.alert_ids {
                    stmt.execute(params![id, a.to_string()])?;
                }
                // A dispatched parent incident hears the child's status.
                let mut follow = None;
                if let Some(parent) = snap.parent {
                    let n = c.execute(
                        "UPDATE dispatches SET status = ?3 WHERE incident = ?1 AND region = ?2",
                        params![parent.to_string(), region, snap.status.as_str()],
                    )?;
                    if n > 0 {
                        follow = Some(parent);
                    }
                }
                Ok(follow)
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
        let statuses: Vec<Option<String>> = self
            .db
            .call(move |c| {
                let mut stmt =
                    c.prepare_cached("SELECT status FROM dispatches WHERE incident = ?1")?;
                let rows = stmt.query_map([parent.to_string()], |r| r.get(0))?;
                rows.collect()
            })
            .await?;
        let statuses: Vec<IncidentStatus> = statuses
            .into_iter()
            .filter_map(|s| s.and_then(|s| s.parse().ok()))
            .collect();
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
            .call(move |c| {
                c.query_row(
                    "SELECT 1 FROM dispatches WHERE incident = ?1 AND region = ?2",
                    params![parent.to_string(), region.to_string()],
                    |_| Ok(()),
                )
                .optional()
            })
            .await?;
        if dispatched.is_none() {
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
        let alert_ids: Vec<String> = inc.alert_ids[start..]
            .iter()
            .map(|a| a.to_string())
            .collect();
        let timeline = inc.timeline.clone();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                {
                    let mut stmt = tx.prepare_cached(
                        "UPDATE remote_alerts SET parent_incident = ?1 WHERE alert = ?2",
                    )?;
                    for a in &alert_ids {
                        stmt.execute(params![id.to_string(), a])?;
                    }
                    let regions: Vec<String> = {
                        let mut q =
                            tx.prepare_cached("SELECT region FROM dispatches WHERE incident = ?1")?;
                        let rows = q.query_map([id.to_string()], |r| r.get(0))?;
                        rows.collect::<rusqlite::Result<_>>()?
                    };
                    if !regions.is_empty() {
                        let sent: i64 = tx
                            .query_row(
                                "SELECT sent FROM downsent WHERE incident = ?1",
                                [id.to_string()],
                                |r| r.get(0),
                            )
                            .optional()?
                            .unwrap_or(timeline.len() as i64);
                        for e in timeline.iter().skip(sent as usize) {
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
                            for r in &regions {
                                if let Ok(region) = r.parse() {
                                    queue_down(&tx, region, &down)?;
                                }
                            }
                        }
                        tx.execute(
                            "INSERT INTO downsent (incident, sent) VALUES (?1, ?2) \
                             ON CONFLICT (incident) DO UPDATE SET sent = excluded.sent",
                            params![id.to_string(), timeline.len() as i64],
                        )?;
                    }
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
                let r = region.to_string();
                let (child_incidents, alerts) = {
                    let mut q = tx.prepare_cached(
                        "SELECT alert, child_incident FROM remote_alerts \
                         WHERE parent_incident = ?1 AND region = ?2",
                    )?;
                    let rows = q.query_map(params![id.to_string(), r], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
                    })?;
                    let mut incs: Vec<IncidentId> = Vec::new();
                    let mut alerts: Vec<AlertId> = Vec::new();
                    for row in rows {
                        let (a, ci) = row?;
                        if let Some(ci) = parse_id(ci)
                            && !incs.contains(&ci)
                        {
                            incs.push(ci);
                        }
                        if let Ok(a) = a.parse() {
                            alerts.push(a);
                        }
                    }
                    (incs, alerts)
                };
                let alerts: Vec<AlertId> = alerts
                    .into_iter()
                    .filter(|a| alert_ids.contains(a))
                    .collect();
                tx.execute(
                    "INSERT INTO dispatches (incident, region, at, by_, note, team, status) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL) ON CONFLICT (incident, region) DO \
                     UPDATE SET at = excluded.at, by_ = excluded.by_, note = excluded.note, \
                     team = excluded.team",
                    params![id.to_string(), r, now.nanos(), by, note, team],
                )?;
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
                tx.execute(
                    "INSERT INTO downsent (incident, sent) VALUES (?1, ?2) \
                     ON CONFLICT (incident) DO UPDATE SET sent = excluded.sent",
                    params![id.to_string(), len as i64],
                )?;
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
