//! What registered targets add to folding alerts into incidents: the same alerts applied with
//! and without `Alert::target` (an internet-facing 三级 system, half of them with an open CVE
//! the rule names, attacked from outside), so the target list, the vulnerable-target note and
//! the exposure-weighted grade are all exercised.
//!
//! Run: `cargo bench -p onewall-correlate --bench targets` (without `--bench`, as
//! `cargo test --all-targets` runs it, one small round).

use std::hint::black_box;
use std::time::Instant;

use onewall_correlate::{GroupingConfig, apply_alerts_with};
use onewall_model::asset::{AlertTarget, Exposure};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, Incident, IncidentId, IncidentStatus, RegionCode,
    RuleRef, Severity, Timestamp,
};

const T0: i64 = 1_800_000_000;

fn alert(n: usize, incident: usize, target: bool) -> Alert {
    let dst = format!("10.1.{}.{}", (incident >> 8) & 255, incident & 255);
    let target = target.then(|| AlertTarget {
        value: dst.clone(),
        host: Some(format!("web{incident}")),
        system_id: format!("410100/门户{incident}"),
        system: format!("门户{incident}"),
        region: RegionCode::HENAN,
        department: "大数据局".into(),
        ops_unit: "运维公司".into(),
        level: Some(3),
        cii: false,
        exposure: Exposure::Internet,
        open_cves: if n.is_multiple_of(2) {
            vec!["CVE-2021-44228".into()]
        } else {
            vec![]
        },
    });
    Alert {
        target,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(n as u128 + 1),
        time: Timestamp::from_secs(T0 + n as i64 / 1000),
        created: Timestamp::from_secs(T0),
        rule: RuleRef {
            id: "log4shell".into(),
            title: "Log4Shell".into(),
            level: Severity::Medium,
            status: None,
            tags: vec!["attack.initial_access".into(), "cve.2021-44228".into()],
        },
        severity: Severity::Medium,
        event_ids: vec![EventId::from_u128(n as u128 + 1)],
        entities: vec![
            Entity::new(
                EntityKind::SourceIp,
                format!("45.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
            ),
            Entity::new(EntityKind::DestinationIp, dst),
        ],
        region: RegionCode::HENAN,
        matched: vec![],
        drill: None,
    }
}

fn incident(i: usize) -> Incident {
    let now = Timestamp::from_secs(T0);
    Incident {
        targets: Vec::new(),
        id: IncidentId::from_u128(i as u128 + 1),
        title: String::new(),
        status: IncidentStatus::New,
        severity: Severity::Low,
        group_key: String::new(),
        region: RegionCode::HENAN,
        regions: Vec::new(),
        assignee: None,
        team: None,
        entities: Vec::new(),
        alert_ids: Vec::new(),
        rule_ids: Vec::new(),
        first_seen: now,
        last_seen: now,
        created: now,
        updated: now,
        parent: None,
        children: Vec::new(),
        timeline: Vec::new(),
        classification: Default::default(),
        drill: None,
    }
}

/// Alerts per second folding `alerts` into `incidents` incidents, batches of 100 per incident.
fn rate(alerts: &[Alert], incidents: usize, config: &GroupingConfig) -> f64 {
    let mut held: Vec<Incident> = (0..incidents).map(incident).collect();
    let now = Timestamp::from_secs(T0 + 10);
    let start = Instant::now();
    for chunk in alerts.chunks(100) {
        let i = (chunk[0].id.as_u128() as usize / 100) % incidents;
        apply_alerts_with(&mut held[i], chunk, config, now);
    }
    black_box(&held);
    alerts.len() as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n, incidents, runs) = if full {
        (200_000, 1_000, 7)
    } else {
        (2_000, 10, 1)
    };
    let config = GroupingConfig::default();
    // Each chunk of 100 goes to one incident; its alerts name that incident's target.
    let of = |j: usize| (j / 100) % incidents;
    let plain: Vec<Alert> = (0..n).map(|j| alert(j, of(j), false)).collect();
    let targeted: Vec<Alert> = (0..n).map(|j| alert(j, of(j), true)).collect();
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        without.push(rate(&plain, incidents, &config));
        with.push(rate(&targeted, incidents, &config));
    }
    let (a, b) = (median(without), median(with));
    println!(
        "alerts folded into {incidents} incidents, batches of 100: without targets {a:.0} alerts/s, \
         with targets {b:.0} alerts/s; added {:.0} ns per alert",
        (1e9 / b - 1e9 / a).max(0.0)
    );
}
