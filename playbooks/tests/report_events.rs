//! The daily report on the node event bus: when it falls due, every other subscriber hears
//! "report due" for each region reported on, and "source silent" for each source that sent
//! nothing for the configured hours.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use onewall_model::bus::{Delivery, NodeEvent, NodeEventKind, NodeEvents, Subscriber};
use onewall_model::{Alert, Incident, IncidentId, RegionCode, RegionTree, Timestamp};
use onewall_playbooks::{
    NodeAccess, Outbox, Playbooks, ReportSettings, Retry, Schedule, Sender, Settings, Signal,
    SourceSeen,
};

#[derive(Debug)]
struct QuietNode;

#[async_trait]
impl NodeAccess for QuietNode {
    async fn assign_team(&self, _: IncidentId, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }

    async fn report_data(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<(Vec<Incident>, Vec<Alert>), String> {
        Ok((Vec::new(), Vec::new()))
    }
}

/// Every event it hears, in order.
#[derive(Debug, Default)]
struct Heard(Mutex<Vec<Arc<NodeEvent>>>);

impl Subscriber for Heard {
    fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
        Box::pin(async move { self.0.lock().unwrap().push(event) })
    }
}

fn region(code: &str) -> RegionCode {
    code.parse().unwrap()
}

#[tokio::test]
async fn a_due_report_and_its_silent_sources_are_published_on_the_bus() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        node_name: "zz-node".into(),
        node_region: region("410100"),
        retry: Retry {
            max_attempts: 3,
            base_secs: 1,
            max_secs: 1,
        },
        sender: Sender {
            smtp: None,
            escalate: None,
            report_to: None,
            timeout: Duration::from_secs(1),
        },
        report: ReportSettings {
            schedule: Schedule::parse("08:00", time::UtcOffset::from_hms(8, 0, 0).unwrap())
                .unwrap(),
            regions: vec![region("410100"), region("410200")],
            silent_hours: 24,
            top_rules: 5,
        },
    };
    let outbox = Outbox::open(&dir.path().join("outbox.sqlite")).unwrap();
    let bus = NodeEvents::new();
    let heard = Arc::new(Heard::default());
    bus.subscribe(heard.clone());
    let playbooks = Playbooks::new(
        settings,
        Vec::new(),
        RegionTree::builtin(),
        outbox,
        Arc::new(QuietNode),
    )
    .with_bus(bus);

    let due = Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    // One source of Zhengzhou last sent two days before the report, one an hour before.
    let seen = |key: &str, hours: i64| SourceSeen {
        key: key.into(),
        region: region("410100"),
        last_seen: due.add_secs(-hours * 3600),
    };
    playbooks
        .handle(
            Signal::SourcesSeen(vec![
                seen("syslog_udp 10.0.0.9", 48),
                seen("syslog_udp 10.0.0.10", 1),
            ]),
            due,
        )
        .await;
    playbooks.run_report(due).await.unwrap();

    let heard = heard.0.lock().unwrap();
    let kinds: Vec<NodeEventKind> = heard.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == NodeEventKind::ReportDue)
            .count(),
        2,
        "{heard:?}"
    );
    let mut regions = Vec::new();
    for e in heard.iter() {
        if let NodeEvent::ReportDue {
            region,
            date,
            due: at,
            report,
        } = &**e
        {
            regions.push(region.to_string());
            assert_eq!(date, "2026-11-28", "{e:?}");
            assert_eq!(*at, due);
            assert_eq!(report["region"], region.to_string(), "{report}");
        }
    }
    regions.sort();
    assert_eq!(regions, ["410100", "410200"]);
    let silent: Vec<_> = heard
        .iter()
        .filter_map(|e| match &**e {
            NodeEvent::SourceSilent {
                source,
                silent_hours,
                at,
            } => Some((source.key.clone(), *silent_hours, *at)),
            _ => None,
        })
        .collect();
    assert_eq!(silent, [("syslog_udp 10.0.0.9".to_owned(), 48, due)]);
}
