//! The running side: turn the node's events ([`PlaybookFeed`], a subscriber of the node event
//! bus) into signals, signals into queued deliveries, send what is due, and run the daily
//! report on its schedule.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use onewall_model::bus::{
    Delivery, NodeEvent, NodeEventKind, NodeEvents, ReadyReport, Subscriber, SupervisionEvent,
};
use onewall_model::supervise::{Bulletin, OnDuty};
use onewall_model::{Alert, Incident, IncidentId, RegionCode, RegionTree, Timestamp};
use tokio::sync::{Notify, mpsc, watch};
use tracing::{debug, error, info, warn};

use crate::PlaybookError;
use crate::outbox::{DeliveryState, NewDelivery, Outbox, Payload, Retry};
use crate::playbook::{Action, Playbook};
use crate::report::{self, DailyReport, ReportInput, Schedule, SourceSeen};
use crate::send::{Sender, without_query};
use crate::subject::Subject;

mod mail;

pub use mail::DOCX_MEDIA_TYPE;
use mail::{mail_files, recipients};

/// What the node tells the playbooks (from its event bus, through [`PlaybookFeed`]).
#[derive(Debug, Clone)]
pub enum Signal {
    /// New alerts, as stored.
    Alerts(Vec<Alert>),
    /// An incident opened (`created`) or changed, with the alerts that did it.
    Incident {
        /// The incident as now stored.
        incident: Box<Incident>,
        /// The alerts that opened it or joined it.
        alerts: Vec<Alert>,
        /// Opened now, rather than changed.
        created: bool,
    },
    /// Sources that sent events, with the time of their latest.
    SourcesSeen(Vec<SourceSeen>),
    /// A report made on its schedule, rendered.
    Ready(Box<ReadyReport>),
    /// A bulletin arrived for this node's region (or its departments).
    Bulletin(Box<Bulletin>),
}

impl Signal {
    /// The signal an event of the node event bus makes; `None` for what the playbooks raise
    /// themselves (report due, silent sources).
    pub fn from_event(event: &NodeEvent) -> Option<Signal> {
        Some(match event {
            NodeEvent::AlertsStored { alerts, .. } => Signal::Alerts(alerts.clone()),
            NodeEvent::IncidentOpened {
                incident, alerts, ..
            } => Signal::Incident {
                incident: incident.clone(),
                alerts: alerts.clone(),
                created: true,
            },
            NodeEvent::IncidentChanged {
                incident, alerts, ..
            } => Signal::Incident {
                incident: incident.clone(),
                alerts: alerts.clone(),
                created: false,
            },
            NodeEvent::SourcesSeen(seen) => Signal::SourcesSeen(seen.clone()),
            NodeEvent::ReportDue { .. } | NodeEvent::SourceSilent { .. } => return None,
            NodeEvent::Supervision(ev) => match &**ev {
                SupervisionEvent::ReportReady(r) => Signal::Ready(r.clone()),
                SupervisionEvent::BulletinReceived { bulletin } => {
                    Signal::Bulletin(bulletin.clone())
                }
                SupervisionEvent::BulletinStep { .. } => return None,
            },
        })
    }
}

/// The playbooks' subscription to the node event bus: each event is queued as a [`Signal`]
/// for [`Playbooks::run`]. The queue is bounded, so while it is full the publisher (the
/// pipeline's alert stage, an API call) waits: a slow playbook pushes back like any stage.
#[derive(Debug, Clone)]
pub struct PlaybookFeed(pub mpsc::Sender<Signal>);

impl Subscriber for PlaybookFeed {
    fn wants(&self, kind: NodeEventKind) -> bool {
        !matches!(kind, NodeEventKind::ReportDue | NodeEventKind::SourceSilent)
    }

    fn deliver(&self, event: std::sync::Arc<NodeEvent>) -> Delivery<'_> {
        Box::pin(async move {
            let Some(signal) = Signal::from_event(&event) else {
                return;
            };
            if self.0.send(signal).await.is_err() {
                warn!("playbooks are not running; an event was not delivered");
            }
        })
    }
}

/// What the playbooks need from the node, beyond signals: the node implements it over its
/// store (this crate knows nothing of storage).
#[async_trait]
pub trait NodeAccess: Send + Sync + fmt::Debug {
    /// Set an incident's team, with `actor` on its timeline.
    async fn assign_team(
        &self,
        incident: IncidentId,
        team: &str,
        actor: &str,
    ) -> Result<(), String>;
    /// Incidents created or updated at or after `from`, and alerts raised in `[from, to)`.
    async fn report_data(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<Incident>, Vec<Alert>), String>;
    /// Unknown and silent hosts at `at`, when the node keeps assets (the daily report lists
    /// them per region).
    async fn exposure(&self, at: Timestamp) -> Option<crate::report::ExposureReport> {
        let _ = at;
        None
    }
    /// Who is on duty (值班) for `region` at `at`: the people `to: [on_duty]` mails and
    /// `mention: on_duty` robots mention. None without a duty roster.
    async fn on_duty(&self, region: RegionCode, at: Timestamp) -> Vec<OnDuty> {
        let _ = (region, at);
        Vec::new()
    }
}

/// The daily report's settings.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// When it runs.
    pub schedule: Schedule,
    /// Regions reported on, each one report.
    pub regions: Vec<RegionCode>,
    /// Hours without events after which a source counts as silent.
    pub silent_hours: u32,
    /// Rules listed.
    pub top_rules: usize,
}

/// Everything the runtime is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This node's name.
    pub node_name: String,
    /// This node's region.
    pub node_region: RegionCode,
    /// Retry policy of the outbox.
    pub retry: Retry,
    /// How deliveries are made.
    pub sender: Sender,
    /// The daily report.
    pub report: ReportSettings,
}

/// The playbooks of a node, ready to run.
#[derive(Debug)]
pub struct Playbooks {
    settings: Settings,
    playbooks: Vec<Playbook>,
    tree: RegionTree,
    outbox: Outbox,
    node: Arc<dyn NodeAccess>,
    wake: Notify,
    /// Where the daily report says it fell due and which sources went silent.
    bus: NodeEvents,
}

const REPORT_MARK: &str = "daily_report_last_due";

impl Playbooks {
    /// Put the parts together.
    pub fn new(
        settings: Settings,
        playbooks: Vec<Playbook>,
        tree: RegionTree,
        outbox: Outbox,
        node: Arc<dyn NodeAccess>,
    ) -> Playbooks {
        Playbooks {
            settings,
            playbooks,
            tree,
            outbox,
            node,
            wake: Notify::new(),
            bus: NodeEvents::new(),
        }
    }

    /// Publish on `bus` when a daily report falls due and which sources it finds silent.
    pub fn with_bus(mut self, bus: NodeEvents) -> Playbooks {
        self.bus = bus;
        self
    }

    /// The outbox (for the delivery log).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Run until `stop`: take signals, send what is due, run the daily report. Signals still
    /// queued when `stop` comes are handled first (stop it after the pipeline has drained);
    /// a delivery in flight is finished.
    pub async fn run(
        self: Arc<Self>,
        mut signals: mpsc::Receiver<Signal>,
        mut stop: watch::Receiver<bool>,
    ) {
        let sender = tokio::spawn(self.clone().send_loop(stop.clone()));
        let reporter = tokio::spawn(self.clone().report_loop(stop.clone()));
        loop {
            tokio::select! {
                signal = signals.recv() => match signal {
                    Some(s) => self.handle(s, Timestamp::now()).await,
                    None => break,
                },
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    while let Ok(s) = signals.try_recv() {
                        self.handle(s, Timestamp::now()).await;
                    }
                    break;
                }
            }
        }
        let _ = sender.await;
        reporter.abort();
    }

    /// Act on one signal: queue what the matching playbooks do.
    pub async fn handle(&self, signal: Signal, now: Timestamp) {
        match signal {
            Signal::Alerts(alerts) => {
                let mut queue = Vec::new();
                for a in &alerts {
                    self.collect(&Subject::Alert(a), now, &mut queue).await;
                }
                self.enqueue(queue, now).await;
            }
            Signal::Incident {
                incident,
                alerts,
                created,
            } => {
                let s = Subject::Incident {
                    incident: &incident,
                    alerts: &alerts,
                    created,
                };
                self.dispatch(&s, now).await;
            }
            Signal::SourcesSeen(seen) => {
                let ob = self.outbox.clone();
                if let Err(e) = run_blocking(move || ob.sources_seen(&seen)).await {
                    warn!(error = %e, "recording source activity failed");
                }
            }
            Signal::Ready(r) => {
                self.dispatch(&Subject::Ready(&r), now).await;
            }
            Signal::Bulletin(b) => {
                let s = Subject::Bulletin {
                    bulletin: &b,
                    region: self.settings.node_region,
                };
                self.dispatch(&s, now).await;
            }
        }
    }

    /// Run every matching playbook for `subject`. Returns how many ran.
    pub async fn dispatch(&self, subject: &Subject<'_>, now: Timestamp) -> usize {
        let mut queue = Vec::new();
        let ran = self.collect(subject, now, &mut queue).await;
        self.enqueue(queue, now).await;
        ran
    }

    /// Queue deliveries in one transaction (one durable write for a whole batch of alerts).
    async fn enqueue(&self, queue: Vec<NewDelivery>, now: Timestamp) {
        if queue.is_empty() {
            return;
        }
        let n = queue.len();
        let ob = self.outbox.clone();
        match run_blocking(move || ob.enqueue_all(&queue, now)).await {
            Ok(0) => debug!(deliveries = n, "already queued"),
            Ok(_) => self.wake.notify_one(),
            Err(e) => {
                error!(deliveries = n, error = %e, "queuing deliveries failed; they are lost")
            }
        }
    }

    /// Whether `pb`'s throttle holds back this run of it (recorded as a throttled delivery
    /// when it does). A failed check runs the playbook.
    async fn throttled(
        &self,
        pb: &Playbook,
        vars: &crate::template::Vars,
        occurrence: &str,
        region: RegionCode,
        now: Timestamp,
    ) -> bool {
        let Some(t) = &pb.throttle else {
            return false;
        };
        let key = format!("{}/{}", pb.id, t.key.render(vars));
        let ob = self.outbox.clone();
        let secs = t.seconds;
        match run_blocking(move || ob.throttle(&key, now, secs)).await {
            Ok(true) => false,
            Ok(false) => {
                metrics_throttled();
                let d = NewDelivery {
                    key: format!("{}/throttled/{occurrence}", pb.id),
                    playbook: pb.id.clone(),
                    action: "throttled".into(),
                    subject: occurrence.to_owned(),
                    region,
                    target: String::new(),
                    payload: Payload::Escalate {
                        json: serde_json::Value::Null,
                    },
                };
                let ob = self.outbox.clone();
                let _ =
                    run_blocking(move || ob.record(&d, DeliveryState::Throttled, now, None)).await;
                debug!(playbook = %pb.id, subject = %occurrence, "throttled");
                true
            }
            Err(e) => {
                error!(playbook = %pb.id, error = %e, "throttle check failed; running anyway");
                false
            }
        }
    }

    /// Run every matching playbook for `subject`, adding what it sends to `queue` (assignments
    /// and throttled runs are recorded at once). Returns how many playbooks ran.
    async fn collect(
        &self,
        subject: &Subject<'_>,
        now: Timestamp,
        queue: &mut Vec<NewDelivery>,
    ) -> usize {
        let mut ran = 0;
        let mut vars = None;
        for pb in &self.playbooks {
            if !pb.matches(subject, &self.tree) {
                continue;
            }
            let vars = vars.get_or_insert_with(|| {
                subject.vars(
                    &self.settings.node_name,
                    self.settings.node_region,
                    &self.tree,
                )
            });
            let occurrence = subject.occurrence();
            if self
                .throttled(pb, vars, &occurrence, subject.region(), now)
                .await
            {
                continue;
            }
            ran += 1;
            let on_duty = if pb.wants_on_duty() {
                self.node.on_duty(subject.region(), now).await
            } else {
                Vec::new()
            };
            for (i, action) in pb.actions.iter().enumerate() {
                let key = format!("{}/{i}/{occurrence}", pb.id);
                let mut d = NewDelivery {
                    key,
                    playbook: pb.id.clone(),
                    action: action.kind().into(),
                    subject: occurrence.clone(),
                    region: subject.region(),
                    target: String::new(),
                    payload: Payload::Escalate {
                        json: serde_json::Value::Null,
                    },
                };
                match action {
                    Action::Email(e) => {
                        let to = recipients(&e.to, &on_duty);
                        d.target = to
                            .iter()
                            .chain(&e.cc)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ");
                        if to.is_empty() {
                            self.nobody_on_duty(d, now).await;
                            continue;
                        }
                        let (html, attachments) = mail_files(subject);
                        d.payload = Payload::Email {
                            to,
                            cc: e.cc.clone(),
                            subject: e.subject.render(vars),
                            body: e.body.render(vars),
                            html,
                            attachments,
                        };
                    }
                    Action::Webhook(w) => {
                        d.target = format!("{} {}", w.format.as_str(), without_query(&w.url));
                        let mention: Vec<String> = if w.mention_on_duty {
                            on_duty
                                .iter()
                                .filter(|p| !p.phone.is_empty())
                                .map(|p| p.phone.clone())
                                .collect()
                        } else {
                            Vec::new()
                        };
                        d.payload = Payload::Webhook {
                            url: w.url.clone(),
                            format: w.format,
                            secret: w.secret.clone(),
                            text: w.text.render(vars),
                            json: self.subject_json(subject, Some(&pb.id)),
                            mention,
                        };
                    }
                    Action::Escalate => {
                        d.target = self
                            .settings
                            .sender
                            .escalate
                            .as_ref()
                            .map(|e| without_query(&e.url).to_owned())
                            .unwrap_or_else(|| "parent (not configured)".into());
                        d.payload = Payload::Escalate {
                            json: self.subject_json(subject, None),
                        };
                    }
                    Action::Assign { team } => {
                        d.target = team.clone();
                        self.assign(subject, team, &pb.id, d, now).await;
                        continue;
                    }
                }
                queue.push(d);
            }
        }
        ran
    }

    /// Record a mail meant only for whoever is on duty when nobody is: failed, with the
    /// reason, so the delivery log shows the gap in the roster.
    async fn nobody_on_duty(&self, d: NewDelivery, now: Timestamp) {
        warn!(playbook = %d.playbook, region = %d.region, "nobody is on duty: the mail has no recipient");
        let why = format!("nobody is on duty in region {} (no recipient)", d.region);
        let ob = self.outbox.clone();
        let _ = run_blocking(move || ob.record(&d, DeliveryState::Failed, now, Some(&why))).await;
    }

    async fn assign(
        &self,
        subject: &Subject<'_>,
        team: &str,
        playbook: &str,
        d: NewDelivery,
        now: Timestamp,
    ) {
        let Subject::Incident { incident, .. } = subject else {
            return;
        };
        if incident.team.as_deref() == Some(team) {
            return;
        }
        let actor = format!("playbook:{playbook}");
        let result = self.node.assign_team(incident.id, team, &actor).await;
        let (state, err) = match &result {
            Ok(()) => (DeliveryState::Done, None),
            Err(e) => {
                warn!(incident = %incident.id, team, error = %e, "assigning a team failed");
                (DeliveryState::Failed, Some(e.clone()))
            }
        };
        let ob = self.outbox.clone();
        let _ = run_blocking(move || ob.record(&d, state, now, err.as_deref())).await;
    }

    fn subject_json(&self, subject: &Subject<'_>, playbook: Option<&str>) -> serde_json::Value {
        let mut v = serde_json::json!({
            "kind": subject.trigger().as_str(),
            "node": {"name": self.settings.node_name, "region": self.settings.node_region},
        });
        if let Some(p) = playbook {
            v["playbook"] = p.into();
        }
        match subject {
            Subject::Alert(a) => v["alert"] = serde_json::to_value(a).unwrap_or_default(),
            Subject::Incident {
                incident, alerts, ..
            } => {
                v["incident"] = serde_json::to_value(incident).unwrap_or_default();
                v["alerts"] = serde_json::to_value(alerts).unwrap_or_default();
            }
            Subject::Report(r) => {
                v["report"] = serde_json::to_value(r).unwrap_or_default();
                v["text"] = r.text().into();
            }
            Subject::Ready(r) => {
                v["report"] = serde_json::json!({
                    "kind": r.kind,
                    "label": r.label,
                    "title": r.title,
                    "region": r.region,
                    "department": r.department,
                    "path": r.path,
                });
                v["text"] = r.summary.clone().into();
            }
            Subject::Bulletin { bulletin, region } => {
                v["bulletin"] = serde_json::to_value(bulletin).unwrap_or_default();
                v["region"] = serde_json::to_value(region).unwrap_or_default();
            }
        }
        v
    }

    /// Make one attempt at each delivery due at `now`. Returns how many were tried.
    pub async fn deliver_due(&self, now: Timestamp) -> Result<usize, PlaybookError> {
        let ob = self.outbox.clone();
        let due = run_blocking(move || ob.due(now, 32)).await?;
        for d in &due {
            let result = self.settings.sender.send(&d.payload).await;
            let ob = self.outbox.clone();
            let retry = self.settings.retry;
            let id = d.id;
            let at = Timestamp::now();
            match result {
                Ok(()) => {
                    run_blocking(move || ob.mark_done(id, at)).await?;
                    metrics::counter!("onewall_playbooks_deliveries_total", "result" => "done")
                        .increment(1);
                    info!(delivery = id, playbook = %d.playbook, "delivered");
                }
                Err(e) => {
                    let msg = e.clone();
                    let state = run_blocking(move || ob.mark_failed(id, at, &msg, &retry)).await?;
                    if state == DeliveryState::Failed {
                        metrics::counter!("onewall_playbooks_deliveries_total", "result" => "failed").increment(1);
                        error!(delivery = id, playbook = %d.playbook, error = %e, attempts = d.attempts + 1, "delivery failed; giving up");
                    } else {
                        metrics::counter!("onewall_playbooks_deliveries_total", "result" => "retry").increment(1);
                        warn!(delivery = id, playbook = %d.playbook, error = %e, attempts = d.attempts + 1, "delivery failed; will retry");
                    }
                }
            }
        }
        Ok(due.len())
    }

    async fn send_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let tried = match self.deliver_due(Timestamp::now()).await {
                Ok(n) => n,
                Err(e) => {
                    error!(error = %e, "outbox unavailable");
                    0
                }
            };
            if tried >= 32 {
                continue;
            }
            let ob = self.outbox.clone();
            let next = run_blocking(move || ob.next_due()).await.ok().flatten();
            let wait = match next {
                Some(t) => {
                    let ms = (t.millis() - Timestamp::now().millis()).clamp(0, 5_000);
                    Duration::from_millis(ms as u64)
                }
                None => Duration::from_secs(5),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    async fn report_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let schedule = self.settings.report.schedule;
        let ob = self.outbox.clone();
        let mut last = match run_blocking(move || ob.get_time(REPORT_MARK)).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                // First start: the first report is the next one due, not one for the past.
                let t = schedule.last_due(Timestamp::now());
                let ob = self.outbox.clone();
                if let Err(e) = run_blocking(move || ob.set_time(REPORT_MARK, t)).await {
                    error!(error = %e, "daily report: cannot record the schedule");
                }
                t
            }
            Err(e) => {
                error!(error = %e, "daily report: outbox unavailable; no reports");
                return;
            }
        };
        loop {
            let now = Timestamp::now();
            let due = schedule.last_due(now);
            if due > last {
                match self.run_report(due).await {
                    Ok(n) => {
                        info!(regions = n, due = %due, "daily report sent");
                        let ob = self.outbox.clone();
                        if let Err(e) = run_blocking(move || ob.set_time(REPORT_MARK, due)).await {
                            error!(error = %e, "daily report: cannot record that it ran");
                        }
                        last = due;
                    }
                    Err(e) => error!(error = %e, "daily report failed; retrying in a minute"),
                }
            }
            let next = schedule.next_after(Timestamp::now());
            let ms = (next.millis() - Timestamp::now().millis()).clamp(200, 60_000);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms as u64)) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    /// Build and dispatch the reports of the period ending at `due`. Returns the regions
    /// reported on.
    pub async fn run_report(&self, due: Timestamp) -> Result<usize, String> {
        let from = due.add_secs(-86_400);
        let (incidents, alerts) = self.node.report_data(from, due).await?;
        let ob = self.outbox.clone();
        let sources = run_blocking(move || ob.sources())
            .await
            .map_err(|e| e.to_string())?;
        let mut reports = self.reports(due, &incidents, &alerts, &sources);
        if let Some(e) = self.node.exposure(due).await {
            for r in &mut reports {
                r.exposure = Some(report::ReportExposure::of(&e, r.region, &self.tree));
            }
        }
        self.publish_reports(due, &reports).await;
        for r in &reports {
            let n = self.dispatch(&Subject::Report(r), Timestamp::now()).await;
            let to_parent = self.report_to_parent(r, Timestamp::now()).await;
            if n == 0 && !to_parent {
                warn!(region = %r.region, "daily report: no playbook has a daily_report trigger for this region");
            }
        }
        Ok(reports.len())
    }

    /// Tell the node's other subscribers that these reports fell due, and of each silent
    /// source they list (once, though a source may appear in several regions' reports).
    async fn publish_reports(&self, due: Timestamp, reports: &[DailyReport]) {
        let mut silent = std::collections::HashSet::new();
        for r in reports {
            if self.bus.wants(NodeEventKind::ReportDue) {
                self.bus
                    .publish(NodeEvent::ReportDue {
                        region: r.region,
                        date: r.date.clone(),
                        due,
                        report: serde_json::to_value(r).unwrap_or_default(),
                    })
                    .await;
            }
            for s in &r.silent_sources {
                if silent.insert(s.key.clone()) {
                    self.bus
                        .publish(NodeEvent::SourceSilent {
                            source: SourceSeen {
                                key: s.key.clone(),
                                region: s.region,
                                last_seen: s.last_seen,
                            },
                            silent_hours: s.silent_hours,
                            at: due,
                        })
                        .await;
                }
            }
        }
    }

    /// Queue `r` for the parent node's `POST /api/v1/reports`, when this node reports to a
    /// parent. Once per region and date, however often the report runs.
    async fn report_to_parent(&self, r: &DailyReport, now: Timestamp) -> bool {
        let Some(to) = &self.settings.sender.report_to else {
            return false;
        };
        let d = NewDelivery {
            key: format!("report_to_parent/{}/{}", r.region, r.date),
            playbook: "report_to_parent".into(),
            action: "report".into(),
            subject: format!("report:{}:{}", r.region, r.date),
            region: r.region,
            target: without_query(&to.url).to_owned(),
            payload: Payload::Report {
                json: serde_json::json!({
                    "node": self.settings.node_name,
                    "report": r,
                    "text": r.text(),
                }),
            },
        };
        self.enqueue(vec![d], now).await;
        true
    }

    /// The reports of every configured region for the period ending at `due`.
    pub fn reports(
        &self,
        due: Timestamp,
        incidents: &[Incident],
        alerts: &[Alert],
        sources: &[SourceSeen],
    ) -> Vec<DailyReport> {
        let s = &self.settings.report;
        s.regions
            .iter()
            .map(|region| {
                report::build(&ReportInput {
                    region: *region,
                    tree: &self.tree,
                    from: due.add_secs(-86_400),
                    to: due,
                    offset: s.schedule.offset,
                    incidents,
                    alerts,
                    sources,
                    silent_hours: s.silent_hours,
                    top_rules: s.top_rules,
                })
            })
            .collect()
    }
}

fn metrics_throttled() {
    metrics::counter!("onewall_playbooks_deliveries_total", "result" => "throttled").increment(1);
}

async fn run_blocking<T, F>(f: F) -> Result<T, PlaybookError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, PlaybookError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PlaybookError::Delivery(format!("outbox task failed: {e}")))?
}
