//! The node event bus: one typed fan-out for what happens on a node, so every alert and every
//! incident change, whatever raised it, reaches the same subscribers.
//!
//! ```text
//! publishers                                   subscribers
//!  pipeline (alerts stored, sources seen) ─┐
//!  correlation (incidents opened/changed) ─┤    ┌─► playbooks (a bounded queue)
//!  API workflow handlers (with the actor) ─┼─► NodeEvents ─► federation uplink (the outbox)
//!  SLA and missing-report checks (alerts) ─┤    └─► the console's live stream (later)
//!  federation (changes from the other side)┤
//!  daily report (report due, silent sources)┘
//! ```
//!
//! The bus is a value ([`NodeEvents`], cheap to clone) handed to each publisher and subscriber
//! when the node starts; there is no global. [`NodeEvents::publish`] awaits each subscriber's
//! delivery in the order they subscribed: a subscriber that queues into a bounded channel makes
//! the publisher wait while the queue is full (back-pressure, as between pipeline stages), and
//! a subscriber that writes durably (the federation outbox) has written when `publish`
//! returns, so the pipeline may commit its spool afterwards without losing anything on a
//! crash. This module is pure std: no async runtime.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::{Alert, Incident, RegionCode, Timestamp};

/// The last time a source sent anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSeen {
    /// The source: collector and sending address, e.g. `syslog_udp 10.1.2.3`.
    pub key: String,
    /// The region its events belong to.
    pub region: RegionCode,
    /// When its last event was received.
    pub last_seen: Timestamp,
}

/// What raised stored alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOrigin {
    /// The pipeline: detection rules and Sigma correlations over received events.
    Detection,
    /// The SLA check: an incident not acknowledged in time (`onewall-sla-breach`).
    SlaBreach,
    /// The missing-report check: a child's daily report did not arrive
    /// (`onewall-report-missing`).
    MissingReport,
    /// The retro-hunt: stored events holding indicators that arrived after them (intel
    /// alerts marked `intel.retro`, at the events' own time).
    RetroHunt,
    /// The asset check: a finding past its deadline (`onewall-asset-overdue`).
    AssetOverdue,
    /// Supervision: a bulletin deadline missed (`onewall-bulletin-overdue`), a 重保 slot
    /// report missing (`onewall-period-report-missing`), nobody on duty in a 重保 period
    /// (`onewall-duty-missing`).
    Supervision,
}

/// Something that happened on this node.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// Alerts were written to the store.
    AlertsStored {
        /// The alerts, as stored.
        alerts: Vec<Alert>,
        /// What raised them.
        origin: AlertOrigin,
    },
    /// An incident was opened (and stored) from `alerts`.
    IncidentOpened {
        /// The incident as stored.
        incident: Box<Incident>,
        /// The alerts that opened it.
        alerts: Vec<Alert>,
        /// Who opened it (the correlator's name for the pipeline's incidents).
        actor: String,
    },
    /// A stored incident changed.
    IncidentChanged {
        /// The incident as stored after the change.
        incident: Box<Incident>,
        /// The alerts that did it (that joined it, or, for a change made by a person, the
        /// alerts it holds, up to a bound), so conditions on tags and rules hold.
        alerts: Vec<Alert>,
        /// Who changed it: the correlator, a user, `system`, or `remote:REGION/USER` for a
        /// change applied from another federation level.
        actor: String,
    },
    /// Sources sent events that were stored, with the time of each one's latest.
    SourcesSeen(Vec<SourceSeen>),
    /// A region's daily report fell due and was built: the zero report (零报告), sent even
    /// when nothing happened.
    ReportDue {
        /// The region reported on.
        region: RegionCode,
        /// The report's date (`YYYY-MM-DD`, local to the report's offset).
        date: String,
        /// When it fell due (the end of the period it covers).
        due: Timestamp,
        /// The report as its recipients get it (JSON).
        report: serde_json::Value,
    },
    /// A source sent nothing for the configured number of hours (found when the daily
    /// report is built).
    SourceSilent {
        /// The source, with the time it last sent something.
        source: SourceSeen,
        /// Whole hours of silence at `at`.
        silent_hours: i64,
        /// When the silence was found.
        at: Timestamp,
    },
    /// Supervision: a bulletin arrived or changed, a periodic report is ready.
    Supervision(Box<SupervisionEvent>),
}

/// What supervision tells the node's subscribers (the playbooks notify whoever is on duty).
#[derive(Debug, Clone)]
pub enum SupervisionEvent {
    /// A bulletin arrived for recipients on this node (or was issued to this node's
    /// departments).
    BulletinReceived {
        bulletin: Box<crate::supervise::Bulletin>,
    },
    /// A step was taken on a bulletin this node holds (here or on another level).
    BulletinStep {
        bulletin: Box<crate::supervise::Bulletin>,
        step: Box<crate::supervise::Step>,
    },
    /// A report was made on its schedule (weekly, monthly, annual, a period's 复盘, a
    /// drill's): its title, text summary, and the rendered files.
    ReportReady(Box<ReadyReport>),
}

/// A rendered report handed to the playbooks.
#[derive(Debug, Clone)]
pub struct ReadyReport {
    /// `weekly`, `monthly`, `annual`, `period_review`, `drill`.
    pub kind: String,
    /// The region it covers, and the department when it covers one.
    pub region: RegionCode,
    pub department: Option<String>,
    /// The period it covers, as labelled (`2026-W49`, `2026-12`, `2026`, a period's name).
    pub label: String,
    pub title: String,
    /// A few lines of text for a chat robot or a mail's body.
    pub summary: String,
    /// The report as an HTML document.
    pub html: Arc<String>,
    /// The report as a Word document (.docx).
    pub docx: Arc<Vec<u8>>,
    /// Where the API serves it (path and query, without the host).
    pub path: String,
}

impl NodeEvent {
    /// The kind of this event.
    pub fn kind(&self) -> NodeEventKind {
        match self {
            NodeEvent::AlertsStored { .. } => NodeEventKind::AlertsStored,
            NodeEvent::IncidentOpened { .. } => NodeEventKind::IncidentOpened,
            NodeEvent::IncidentChanged { .. } => NodeEventKind::IncidentChanged,
            NodeEvent::SourcesSeen(_) => NodeEventKind::SourcesSeen,
            NodeEvent::ReportDue { .. } => NodeEventKind::ReportDue,
            NodeEvent::SourceSilent { .. } => NodeEventKind::SourceSilent,
            NodeEvent::Supervision(_) => NodeEventKind::Supervision,
        }
    }
}

/// The kinds of [`NodeEvent`], for a subscriber to say what it wants (so a publisher can skip
/// building an event nobody hears).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEventKind {
    /// [`NodeEvent::AlertsStored`].
    AlertsStored,
    /// [`NodeEvent::IncidentOpened`].
    IncidentOpened,
    /// [`NodeEvent::IncidentChanged`].
    IncidentChanged,
    /// [`NodeEvent::SourcesSeen`].
    SourcesSeen,
    /// [`NodeEvent::ReportDue`].
    ReportDue,
    /// [`NodeEvent::SourceSilent`].
    SourceSilent,
    /// [`NodeEvent::Supervision`].
    Supervision,
}

/// A subscriber's delivery of one event: done when the subscriber has taken it (queued it,
/// or written what it must).
pub type Delivery<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Something that hears the node's events.
pub trait Subscriber: Send + Sync + fmt::Debug {
    /// Whether events of `kind` matter to this subscriber (every kind unless it says).
    fn wants(&self, kind: NodeEventKind) -> bool {
        let _ = kind;
        true
    }
    /// Take one event. The publisher waits for the returned future before it tells the next
    /// subscriber and before `publish` returns.
    fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_>;
}

/// The node's event bus: publishers and subscribers share one (clones share the subscribers).
#[derive(Clone, Default)]
pub struct NodeEvents {
    subscribers: Arc<RwLock<Vec<Arc<dyn Subscriber>>>>,
}

impl fmt::Debug for NodeEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeEvents")
            .field("subscribers", &self.current())
            .finish()
    }
}

impl NodeEvents {
    /// A bus nobody listens to yet.
    pub fn new() -> NodeEvents {
        NodeEvents::default()
    }

    /// Add a subscriber: it hears every event published from now on, after the subscribers
    /// added before it.
    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.subscribers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(subscriber);
    }

    /// Whether any subscriber wants events of `kind`.
    pub fn wants(&self, kind: NodeEventKind) -> bool {
        self.current().iter().any(|s| s.wants(kind))
    }

    /// Deliver `event` to every subscriber that wants it, one after the other, waiting for
    /// each delivery.
    pub async fn publish(&self, event: NodeEvent) {
        let kind = event.kind();
        let subscribers: Vec<_> = self
            .current()
            .into_iter()
            .filter(|s| s.wants(kind))
            .collect();
        if subscribers.is_empty() {
            return;
        }
        let event = Arc::new(event);
        for s in subscribers {
            s.deliver(event.clone()).await;
        }
    }

    /// The subscribers now (the lock is not held while delivering).
    fn current(&self) -> Vec<Arc<dyn Subscriber>> {
        self.subscribers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    /// Poll a future that needs no runtime to completion.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[derive(Debug)]
    struct Log {
        name: &'static str,
        only: Option<NodeEventKind>,
        heard: Arc<Mutex<Vec<String>>>,
    }

    impl Subscriber for Log {
        fn wants(&self, kind: NodeEventKind) -> bool {
            self.only.is_none_or(|k| k == kind)
        }
        fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
            Box::pin(async move {
                let what = match &*event {
                    NodeEvent::AlertsStored { alerts, origin } => {
                        format!("{}: {} alerts {origin:?}", self.name, alerts.len())
                    }
                    other => format!("{}: {:?}", self.name, other.kind()),
                };
                self.heard
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(what);
            })
        }
    }

    #[test]
    fn every_subscriber_hears_in_order_what_it_wants() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let bus = NodeEvents::new();
        assert!(!bus.wants(NodeEventKind::SourcesSeen));
        bus.subscribe(Arc::new(Log {
            name: "playbooks",
            only: None,
            heard: heard.clone(),
        }));
        // A clone shares the subscribers.
        bus.clone().subscribe(Arc::new(Log {
            name: "uplink",
            only: Some(NodeEventKind::AlertsStored),
            heard: heard.clone(),
        }));
        assert!(bus.wants(NodeEventKind::SourcesSeen));
        block_on(bus.publish(NodeEvent::AlertsStored {
            alerts: Vec::new(),
            origin: AlertOrigin::SlaBreach,
        }));
        block_on(bus.publish(NodeEvent::SourcesSeen(Vec::new())));
        let heard = heard.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(
            heard,
            [
                "playbooks: 0 alerts SlaBreach",
                "uplink: 0 alerts SlaBreach",
                "playbooks: SourcesSeen",
            ]
        );
    }
}
