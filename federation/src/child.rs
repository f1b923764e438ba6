//! The child side: queue alerts and incident changes, push them to the parent with retry
//! and backoff, and apply what the parent sends back (dispatches, status changes, comments).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use metrics::{counter, gauge};
use onewall_model::bus::NodeEvent;
use onewall_model::federation::{
    Down, DownMessage, IncidentSnapshot, PUSH_PATH, PushReply, PushRequest, Up, is_remote_actor,
    remote_actor,
};
use onewall_model::{
    Classification, Incident, IncidentId, IncidentStatus, RegionCode, TimelineEntry, TimelineKind,
    Timestamp,
};
use tokio::sync::watch;
use tracing::{info, warn};

use super::Federation;
use super::db::{get_kv, outbox, set_kv, uplinks};
use crate::config::ParentLink;

impl Federation {
    /// Queue stored alerts for the parent.
    pub(super) async fn queue_alerts(&self, alerts: &[onewall_model::Alert]) {
        let items: Vec<Up> = alerts
            .iter()
            .map(|a| Up::Alert {
                alert: Box::new(a.clone()),
            })
            .collect();
        let n = items.len() as u64;
        let now = Timestamp::now();
        match self.db.call(move |c| outbox::enqueue(c, &items, now)).await {
            Ok(_) => {
                counter!("onewall_federation_queued_total", "kind" => "alert").increment(n);
                self.queued.notify_one();
            }
            Err(e) => {
                counter!("onewall_federation_queue_errors_total").increment(1);
                warn!(alerts = n, error = %e, "federation: alerts not queued for the parent");
            }
        }
    }

    /// Queue an incident's snapshot and, when linked, its new local timeline entries.
    pub(super) async fn child_incident_changed(&self, inc: &Incident) -> anyhow::Result<()> {
        // The snapshot carries the alerts that joined since the last one (all of them the
        // first time after a start): the parent only links each to this incident.
        let start = self
            .snapshot_progress
            .lock()
            .map(|p| p.start(inc))
            .unwrap_or(0);
        let mut snapshot = IncidentSnapshot::of(inc, None);
        snapshot.alert_ids.drain(..start);
        let inc_id = inc.id;
        let timeline = inc.timeline.clone();
        let now = Timestamp::now();
        self.db
            .call(move |c| {
                let link = uplinks::get(c, inc_id)?;
                snapshot.parent = link.as_ref().map(|l| l.parent);
                // What the local people did comes before the snapshot, so the parent notes a
                // status change on its incident before the snapshot makes its incident follow.
                let mut items = Vec::new();
                if let Some(link) = &link {
                    for e in timeline.iter().skip(link.sent) {
                        if is_remote_actor(&e.actor) {
                            continue;
                        }
                        match &e.change {
                            TimelineKind::StatusChanged { from, to } => items.push(Up::Status {
                                incident: inc_id,
                                parent: link.parent,
                                from: *from,
                                to: *to,
                                by: e.actor.clone(),
                                at: e.at,
                            }),
                            TimelineKind::Comment { text } => items.push(Up::Comment {
                                incident: inc_id,
                                parent: link.parent,
                                text: text.clone(),
                                by: e.actor.clone(),
                                at: e.at,
                            }),
                            _ => {}
                        }
                    }
                    uplinks::set_sent(c, inc_id, timeline.len())?;
                }
                items.push(Up::Incident {
                    incident: Box::new(snapshot),
                });
                outbox::enqueue(c, &items, now)
            })
            .await?;
        if let Ok(mut p) = self.snapshot_progress.lock() {
            p.taken(inc);
        }
        self.queued.notify_one();
        Ok(())
    }

    /// The child's link to its parent, for `GET /api/v1/federation/status`.
    pub async fn uplink_status(&self) -> anyhow::Result<serde_json::Value> {
        let url = self.cfg.parent.as_ref().map(|p| p.url.clone());
        let parent = self.parent_seen.lock().ok().and_then(|p| p.clone());
        let (depth, kv) = self
            .db
            .call(|c| {
                let d = outbox::depth(c)?;
                let mut kv = Vec::new();
                for k in ["last_success", "last_error", "last_error_at", "ack_down"] {
                    kv.push(get_kv(c, k)?);
                }
                Ok((d, kv))
            })
            .await?;
        let ts = |v: &Option<String>| {
            v.as_deref()
                .and_then(|s| s.parse::<i64>().ok())
                .map(Timestamp)
        };
        Ok(serde_json::json!({
            "node": self.node,
            "region": self.region,
            "parent_url": url,
            "parent_region": parent.as_ref().map(|p| p.0),
            "parent_node": parent.as_ref().map(|p| p.1.clone()),
            "last_success": ts(&kv[0]),
            "last_error": kv[1],
            "last_error_at": ts(&kv[2]),
            "ack_down": kv[3].as_deref().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
            "outbox_depth": depth.messages,
            "oldest_queued": depth.oldest,
        }))
    }

    /// Push one batch and apply the answer. Returns whether more is queued.
    async fn push_once(&self, link: &ParentLink) -> anyhow::Result<bool> {
        let limit = self.cfg.batch_size;
        let (messages, depth, ack_down, epoch) = self
            .db
            .call(move |c| {
                Ok((
                    outbox::batch(c, limit)?,
                    outbox::depth(c)?,
                    outbox::ack_down(c)?,
                    outbox::epoch(c)?,
                ))
            })
            .await?;
        let sent_n = messages.len() as u64;
        // The parent's acknowledgement covers at most what this push carried: a reply reaching
        // further never drops messages queued since.
        let sent_max = messages.last().map_or(0, |m| m.seq);
        let req = PushRequest {
            organisation: Some(self.organisation()),
            intel: self.intel_sync(),
            node: self.node.clone(),
            region: self.region,
            epoch,
            sent: Timestamp::now(),
            outbox_depth: depth.messages.saturating_sub(sent_n),
            oldest_queued: depth.oldest,
            ack_down,
            messages,
        };
        let url = format!("{}{PUSH_PATH}", link.url);
        let token = link.token.clone();
        let mut reply: PushReply = tokio::task::spawn_blocking(move || post(&url, &token, &req))
            .await
            .context("push task")??;
        let more_intel = self.intel_received(reply.intel.take());
        let acked = reply.acked_up.min(sent_max);
        let now = Timestamp::now();
        self.db
            .call(move |c| {
                outbox::ack(c, acked)?;
                set_kv(c, "last_success", &now.nanos().to_string())?;
                set_kv(c, "last_error", "")?;
                Ok(())
            })
            .await?;
        if let (Some(region), Ok(mut seen)) = (reply.region, self.parent_seen.lock()) {
            *seen = Some((region, reply.node.clone()));
        }
        counter!("onewall_federation_pushes_total", "result" => "ok").increment(1);
        let parent_region = reply.region.unwrap_or(self.region);
        let mut applied = false;
        for m in reply.messages {
            if m.seq <= ack_down {
                continue;
            }
            let seq = m.seq;
            self.apply_down(m, parent_region, &reply.node).await?;
            self.db.call(move |c| outbox::set_ack_down(c, seq)).await?;
            applied = true;
        }
        let left = self.db.call(|c| outbox::depth(c)).await?;
        gauge!("onewall_federation_outbox_depth").set(left.messages as f64);
        Ok(applied || more_intel || sent_n as usize >= limit && left.messages > 0)
    }

    /// Apply one downlink message to the local incidents.
    async fn apply_down(
        &self,
        m: DownMessage,
        parent_region: RegionCode,
        parent_node: &str,
    ) -> anyhow::Result<()> {
        match m.body {
            d @ Down::Dispatch { .. } => self.apply_dispatch(d, parent_region, parent_node).await?,
            d @ Down::Status { .. } => self.apply_status(d, parent_region).await?,
            d @ Down::Comment { .. } => self.apply_comment(d, parent_region).await?,
            Down::Supervise { msg } => {
                self.apply_supervise_down(*msg, parent_region, parent_node)
                    .await?
            }
        }
        counter!("onewall_federation_downlink_applied_total").increment(1);
        Ok(())
    }

    /// A dispatch: comment on (and assign the team of) the local incidents it names, or open
    /// one holding the parent's alerts from this node; link them to the parent incident.
    async fn apply_dispatch(
        &self,
        d: Down,
        parent_region: RegionCode,
        parent_node: &str,
    ) -> anyhow::Result<()> {
        let Down::Dispatch {
            incident,
            title,
            severity,
            note,
            team,
            by,
            at,
            child_incidents,
            alert_ids,
        } = d
        else {
            return Ok(());
        };

        let actor = remote_actor(parent_region, &by);
        let text =
            format!("dispatched by {parent_region} ({parent_node}), incident {incident}: {note}");
        let mut linked = Vec::new();
        for id in child_incidents {
            if self.store.get_incident(id).await?.is_none() {
                continue;
            }
            let (actor, text, team) = (actor.clone(), text.clone(), team.clone());
            let inc = self
                .store
                .update_incident(
                    id,
                    Box::new(move |i: &mut Incident| {
                        let now = Timestamp::now();
                        push(i, &actor, now, TimelineKind::Comment { text });
                        if let Some(team) = team {
                            i.team = Some(team.clone());
                            push(
                                i,
                                &actor,
                                now,
                                TimelineKind::Assigned {
                                    assignee: i.assignee.clone(),
                                    team: Some(team),
                                },
                            );
                        }
                        i.updated = now;
                        Ok(())
                    }),
                )
                .await?;
            linked.push(inc);
        }
        let opened = linked.is_empty();
        if opened {
            let now = Timestamp::now();
            let mut inc = Incident {
                targets: Vec::new(),
                id: IncidentId::new(now),
                title: format!("{title} (dispatched by {parent_region})"),
                status: IncidentStatus::New,
                severity,
                group_key: format!("federation:{incident}"),
                region: self.region,
                regions: vec![self.region],
                assignee: None,
                team: team.clone(),
                entities: Vec::new(),
                alert_ids: Vec::new(),
                rule_ids: Vec::new(),
                first_seen: at,
                last_seen: at,
                created: now,
                updated: now,
                parent: None,
                children: Vec::new(),
                timeline: Vec::new(),
                classification: Classification::default(),
                drill: None,
            };
            // The parent's alerts from this node that are here join it.
            for a in alert_ids {
                if let Some(alert) = self.store.get_alert(a).await? {
                    inc.alert_ids.push(alert.id);
                    for e in alert.entities {
                        if !inc.entities.contains(&e) {
                            inc.entities.push(e);
                        }
                    }
                }
            }
            push(&mut inc, &actor, now, TimelineKind::Created);
            push(&mut inc, &actor, now, TimelineKind::Comment { text });
            self.store.upsert_incidents(vec![inc.clone()]).await?;
            linked.push(inc);
        }
        let node = parent_node.to_owned();
        let rows: Vec<(IncidentId, usize)> =
            linked.iter().map(|i| (i.id, i.timeline.len())).collect();
        self.db
            .call(move |c| {
                for (id, len) in rows {
                    uplinks::link(c, id, incident, parent_region, &node, at, len)?;
                }
                Ok(())
            })
            .await?;
        info!(parent_incident = %incident, linked = linked.len(), "federation: dispatch applied");
        for inc in &linked {
            self.child_incident_changed(inc).await?;
            self.publish_applied(inc, &actor, opened).await;
        }
        Ok(())
    }

    /// A status change of the parent incident, on the local incidents linked to it.
    async fn apply_status(&self, d: Down, parent_region: RegionCode) -> anyhow::Result<()> {
        let Down::Status {
            incident,
            from,
            to,
            by,
            at: _,
        } = d
        else {
            return Ok(());
        };

        let actor = remote_actor(parent_region, &by);
        // The parent hears the status the local incident has now.
        self.edit_linked(incident, &actor, true, move |i, who, now| {
            if i.status.can_become(to) {
                i.set_status(to, who, now)?;
            } else {
                let text = format!(
                    "the parent incident went {from} → {to}; not applied here (this incident \
                     is {})",
                    i.status
                );
                push(i, who, now, TimelineKind::Comment { text });
                i.updated = now;
            }
            Ok(())
        })
        .await
    }

    /// A comment on the parent incident, on the local incidents linked to it.
    async fn apply_comment(&self, d: Down, parent_region: RegionCode) -> anyhow::Result<()> {
        let Down::Comment {
            incident,
            text,
            by,
            at: _,
        } = d
        else {
            return Ok(());
        };

        let actor = remote_actor(parent_region, &by);
        self.edit_linked(incident, &actor, false, move |i, who, now| {
            push(i, who, now, TimelineKind::Comment { text: text.clone() });
            i.updated = now;
            Ok(())
        })
        .await
    }

    /// Apply `edit` (with the actor and the time) to each local incident linked to parent
    /// incident `parent`; tell the node's subscribers what each became, and with
    /// `tell_parent` the parent too.
    async fn edit_linked<F>(
        &self,
        parent: IncidentId,
        actor: &str,
        tell_parent: bool,
        edit: F,
    ) -> anyhow::Result<()>
    where
        F: Fn(&mut Incident, &str, Timestamp) -> onewall_store::Result<()> + Clone + Send + 'static,
    {
        for id in self.linked_to(parent).await? {
            let (who, edit) = (actor.to_owned(), edit.clone());
            let changed = self
                .store
                .update_incident(
                    id,
                    Box::new(move |i: &mut Incident| edit(i, &who, Timestamp::now())),
                )
                .await;
            if let Some(inc) = settled(id, changed)? {
                if tell_parent {
                    self.child_incident_changed(&inc).await?;
                }
                self.publish_applied(&inc, actor, false).await;
            }
        }
        Ok(())
    }

    /// Tell the node's other subscribers (the playbooks) of a change applied from the parent.
    async fn publish_applied(&self, inc: &Incident, actor: &str, opened: bool) {
        let (incident, alerts, actor) = (Box::new(inc.clone()), Vec::new(), actor.to_owned());
        self.bus
            .publish(if opened {
                NodeEvent::IncidentOpened {
                    incident,
                    alerts,
                    actor,
                }
            } else {
                NodeEvent::IncidentChanged {
                    incident,
                    alerts,
                    actor,
                }
            })
            .await;
    }

    /// Local incidents linked to parent incident `parent`.
    async fn linked_to(&self, parent: IncidentId) -> anyhow::Result<Vec<IncidentId>> {
        self.db.call(move |c| uplinks::linked_to(c, parent)).await
    }

    /// The parent link of a local incident, for its JSON.
    pub async fn uplink_json(&self, id: IncidentId) -> anyhow::Result<Option<serde_json::Value>> {
        let link = self.db.call(move |c| uplinks::get(c, id)).await?;
        Ok(link.map(|l| {
            serde_json::json!({
                "region": l.parent_region,
                "node": l.parent_node,
                "incident": l.parent,
                "dispatched_at": l.dispatched_at,
            })
        }))
    }
}

/// The outcome of applying a downlink change to local incident `id`: an incident that is gone
/// (or refused the change) is skipped with a warning, so one message cannot block the
/// downlink; a backend failure is an error (the push is retried).
fn settled(
    id: IncidentId,
    r: Result<Incident, onewall_store::StoreError>,
) -> anyhow::Result<Option<Incident>> {
    use onewall_store::StoreError;
    match r {
        Ok(inc) => Ok(Some(inc)),
        Err(e @ (StoreError::NotFound { .. } | StoreError::Conflict(_))) => {
            warn!(incident = %id, error = %e, "federation: a change from the parent was not applied");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn push(i: &mut Incident, actor: &str, at: Timestamp, change: TimelineKind) {
    i.timeline.push(TimelineEntry {
        at,
        actor: actor.to_owned(),
        change,
    });
}

/// One push over HTTP (blocking; run on the blocking pool).
fn post(url: &str, token: &str, req: &PushRequest) -> anyhow::Result<PushReply> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .max_redirects(0)
        .build()
        .into();
    let body = serde_json::to_vec(req).context("encoding the push")?;
    let mut resp = agent
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(&body[..])
        .with_context(|| format!("pushing to {url}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .with_context(|| format!("reading the answer of {url}"))?;
    if !(200..300).contains(&status) {
        anyhow::bail!(
            "{url} answered {status}: {}",
            text.chars().take(500).collect::<String>()
        );
    }
    serde_json::from_str(&text).with_context(|| format!("the answer of {url}"))
}

/// The uplink: push when something is queued (after `push_interval`), at least every
/// `heartbeat`, and retry with doubling backoff while the parent is unreachable.
pub async fn run_uplink(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    let Some(link) = fed.cfg.parent.clone() else {
        return;
    };
    info!(parent = %link.url, "federation: pushing to the parent");
    let mut backoff = fed.cfg.retry_min;
    // The first push goes at once: the parent hears of this node as it starts.
    let mut next = Instant::now();
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = fed.queued.notified() => {
                // Something was queued: push after the interval, unless a push is due sooner.
                let soon = Instant::now() + fed.cfg.push_interval;
                if soon < next {
                    next = soon;
                }
                continue;
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
                continue;
            }
        }
        if *shutdown.borrow() {
            return;
        }
        match fed.push_once(&link).await {
            Ok(more) => {
                backoff = fed.cfg.retry_min;
                let queued = fed
                    .db
                    .call(|c| outbox::depth(c))
                    .await
                    .map(|d| d.messages)
                    .unwrap_or(0);
                next = Instant::now()
                    + if more {
                        Duration::ZERO
                    } else if queued > 0 {
                        fed.cfg.push_interval
                    } else {
                        fed.cfg.heartbeat
                    };
            }
            Err(e) => {
                counter!("onewall_federation_pushes_total", "result" => "error").increment(1);
                let msg = format!("{e:#}");
                warn!(error = %msg, retry_in_ms = backoff.as_millis() as u64, "federation: push failed");
                let now = Timestamp::now();
                let _ = fed
                    .db
                    .call(move |c| {
                        set_kv(c, "last_error", &msg)?;
                        set_kv(c, "last_error_at", &now.nanos().to_string())
                    })
                    .await;
                next = Instant::now() + backoff;
                backoff = (backoff * 2).min(fed.cfg.retry_max);
            }
        }
    }
}
