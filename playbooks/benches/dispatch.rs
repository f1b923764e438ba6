//! How fast the playbooks take signals in, and how fast the daily report is built.
//!
//! - dispatch: alerts matched against 20 playbooks; one in ten matches one playbook whose
//!   webhook action is rendered and queued in the SQLite outbox (one durable insert each).
//! - report: `report::build` over a day of 10 000 incidents and 100 000 alerts.
//!
//! Prints medians of 5 runs. No peer is named for this work, so no ratio is printed.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Incident, IncidentId, IncidentStatus, RegionCode,
    RegionTree, RuleRef, Severity, Timestamp,
};
use onewall_playbooks::report::{self, ReportInput, SourceSeen};
use onewall_playbooks::{
    NodeAccess, Outbox, Playbooks, ReportSettings, Retry, Schedule, Sender, Settings, Signal,
    async_trait, playbook,
};

#[derive(Debug)]
struct NoNode;

#[async_trait]
impl NodeAccess for NoNode {
    async fn assign_team(&self, _: IncidentId, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    async fn report_data(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<(Vec<Incident>, Vec<Alert>), String> {
        Ok((vec![], vec![]))
    }
}

fn alert(n: u128, t: Timestamp) -> Alert {
    let hit = n.is_multiple_of(10);
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n),
        time: t,
        created: t,
        rule: RuleRef {
            id: format!("rule-{}", n % 50),
            title: "SSH 暴力破解".into(),
            level: Severity::High,
            status: None,
            tags: vec![
                if hit {
                    "attack.credential_access"
                } else {
                    "attack.discovery"
                }
                .into(),
            ],
        },
        severity: if hit { Severity::High } else { Severity::Low },
        event_ids: vec![],
        entities: vec![Entity::new(
            EntityKind::SourceIp,
            format!("10.0.{}.{}", n / 256 % 256, n % 256),
        )],
        region: "410100".parse().unwrap(),
        matched: vec![],
        drill: None,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let tree = RegionTree::builtin();
    let mut books = Vec::new();
    for i in 0..19 {
        let y = format!(
            "id: other-{i}\ntriggers: [alert_created]\nwhen: {{ rule: [never-{i}] }}\nactions: [{{webhook: {{url: 'http://127.0.0.1:9/x'}}}}]\n"
        );
        books.push(playbook::parse(&y, "b.yml", &tree).unwrap().unwrap());
    }
    books.push(
        playbook::parse(
            "id: hit\ntriggers: [alert_created]\nwhen: { min_level: high, tags: [attack.credential_access], region: ['410100'] }\nactions: [{webhook: {url: 'http://127.0.0.1:9/x', format: dingtalk, secret: s, text: '{{title}} {{alert.entities}}'}}]\n",
            "hit.yml",
            &tree,
        )
        .unwrap()
        .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let n = 2000u128;
    let mut runs = Vec::new();
    for run in 0..5u128 {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("outbox.sqlite")).unwrap();
        let settings = Settings {
            node_name: "bench".into(),
            node_region: "410100".parse::<RegionCode>().unwrap(),
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
                schedule: Schedule::parse("08:00", time::UtcOffset::UTC).unwrap(),
                regions: vec![],
                silent_hours: 24,
                top_rules: 10,
            },
        };
        let p = Playbooks::new(
            settings,
            books.clone(),
            tree.clone(),
            outbox,
            Arc::new(NoNode),
        );
        let t = Timestamp::now();
        let alerts: Vec<Alert> = (0..n).map(|i| alert(run * n + i, t)).collect();
        let start = Instant::now();
        rt.block_on(p.handle(Signal::Alerts(alerts), t));
        runs.push(start.elapsed());
    }
    let m = median(runs);
    println!(
        "dispatch: {n} alerts x 20 playbooks (10% queued): median {:.1} ms, {:.1} us/alert, {:.0} alerts/s",
        m.as_secs_f64() * 1e3,
        m.as_secs_f64() * 1e6 / n as f64,
        n as f64 / m.as_secs_f64()
    );

    let to = Timestamp::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let incidents: Vec<Incident> = (0..10_000u128)
        .map(|i| {
            let at = to.add_secs(-((i as i64 * 37) % 172_800));
            Incident {
                targets: Vec::new(),
                id: IncidentId::from_u128(i),
                title: "x".into(),
                status: if i % 3 == 0 {
                    IncidentStatus::Closed
                } else {
                    IncidentStatus::New
                },
                severity: Severity::ALL[(i % 5) as usize],
                group_key: String::new(),
                region: if i % 2 == 0 { "410100" } else { "410200" }
                    .parse()
                    .unwrap(),
                regions: vec![],
                assignee: None,
                team: None,
                entities: vec![],
                alert_ids: vec![],
                rule_ids: vec![],
                first_seen: at,
                last_seen: at,
                created: at,
                updated: at,
                parent: None,
                children: vec![],
                classification: Default::default(),
                timeline: vec![],
                drill: None,
            }
        })
        .collect();
    let alerts: Vec<Alert> = (0..100_000u128)
        .map(|i| alert(i, to.add_secs(-((i as i64 * 13) % 86_400))))
        .collect();
    let sources: Vec<SourceSeen> = (0..1000)
        .map(|i| SourceSeen {
            key: format!("syslog_udp 10.1.{}.{}", i / 256, i % 256),
            region: "410100".parse().unwrap(),
            last_seen: to.add_secs(-(i as i64 * 150)),
        })
        .collect();
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let r = report::build(&ReportInput {
            region: "410000".parse().unwrap(),
            tree: &tree,
            from: to.add_secs(-86_400),
            to,
            offset: time::UtcOffset::from_hms(8, 0, 0).unwrap(),
            incidents: &incidents,
            alerts: &alerts,
            sources: &sources,
            silent_hours: 24,
            top_rules: 10,
        });
        std::hint::black_box(r.text());
        runs.push(start.elapsed());
    }
    println!(
        "report: 10000 incidents, 100000 alerts, 1000 sources: median {:.1} ms",
        median(runs).as_secs_f64() * 1e3
    );
}
