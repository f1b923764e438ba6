//! What adding alerts to an incident costs as the incident grows: one incident takes batches
//! of 100 alerts through the store's `update_incident` with the correlator's own change
//! (`extend_incident`), as the node's store stage does during a long attack, until it holds
//! `ONEWALL_GROWTH_ALERTS` (default 100,000 under `cargo bench`, 2,000 under `cargo test`).
//! Prints the median time per update while the incident holds about 1k, 10k and 100k alerts,
//! on the embedded store and, when `ONEWALL_CLICKHOUSE_URL` is set, on ClickHouse.
//!
//! Then the other shape of a busy store batch: many incidents growing at once. 50 incidents
//! each take 10 alerts per round, once through 50 `update_incident` calls and once through
//! one `update_incidents` batch (what the node's store stage does), same run; the median
//! round of each is printed, with their ratio.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench fails loudly

use std::time::{Duration, Instant};

use onewall_correlate::{GroupingConfig, extend_incident};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, EventId, Incident, IncidentId, IncidentStatus, RegionCode,
    RuleRef, Severity, TimelineEntry, TimelineKind, Timestamp,
};
use onewall_store::{ClickHouseStore, SqliteStore, Store};

const PER_UPDATE: usize = 100;

fn alert(n: u64, at: Timestamp) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(u128::from(n) + 1),
        time: at,
        created: at,
        rule: RuleRef {
            id: "ssh-brute".into(),
            title: "SSH brute force".into(),
            level: Severity::Medium,
            status: None,
            tags: vec!["attack.credential_access".into()],
        },
        severity: Severity::Medium,
        event_ids: vec![EventId::from_u128(u128::from(n) + 1)],
        entities: vec![
            Entity::new(EntityKind::SourceIp, "203.0.113.7"),
            Entity::new(EntityKind::Host, format!("web{:02}", n % 40)),
        ],
        region: RegionCode::HENAN,
        matched: vec![],
        drill: None,
    }
}

fn incident(at: Timestamp) -> Incident {
    Incident {
        targets: Vec::new(),
        id: IncidentId::new(at),
        title: "SSH brute force on 203.0.113.7".into(),
        status: IncidentStatus::New,
        severity: Severity::Medium,
        group_key: "source.ip=203.0.113.7".into(),
        region: RegionCode::HENAN,
        regions: vec![RegionCode::HENAN],
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
        timeline: vec![TimelineEntry {
            at,
            actor: "correlator".into(),
            change: TimelineKind::Created,
        }],
        classification: Default::default(),
        drill: None,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

async fn grow(name: &str, store: &dyn Store, total: usize) {
    let base = Timestamp::now();
    let inc = incident(base);
    store.upsert_incidents(vec![inc.clone()]).await.unwrap();
    let marks = [1_000usize, 10_000, 100_000];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); marks.len()];
    let config = GroupingConfig::default();
    let started = Instant::now();
    let mut n = 0u64;
    while (n as usize) < total {
        let now = Timestamp(base.0 + n as i64 * 1_000_000);
        let alerts: Vec<Alert> = (0..PER_UPDATE as u64).map(|k| alert(n + k, now)).collect();
        n += PER_UPDATE as u64;
        let cfg = config.clone();
        let t = Instant::now();
        store
            .update_incident(
                inc.id,
                Box::new(move |i| {
                    extend_incident(i, &alerts, true, &cfg, now).unwrap();
                    Ok(())
                }),
            )
            .await
            .unwrap();
        let took = t.elapsed();
        // The updates around each mark (within 20% below it).
        for (k, m) in marks.iter().enumerate() {
            if (n as usize) <= *m && (n as usize) > m * 8 / 10 {
                times[k].push(took);
            }
        }
    }
    let held = store.get_incident(inc.id).await.unwrap().unwrap();
    assert_eq!(held.alert_ids.len(), total, "every alert held");
    let figures: Vec<String> = marks
        .iter()
        .zip(times)
        .filter(|(_, t)| !t.is_empty())
        .map(|(m, t)| {
            format!(
                "{}k held: {:.2} ms",
                m / 1000,
                median(t).as_secs_f64() * 1e3
            )
        })
        .collect();
    println!(
        "incident_growth: {name}: {PER_UPDATE} alerts per update, median per update at {} \
         (timeline {} entries; {total} alerts in {:.1} s)",
        figures.join(", "),
        held.timeline.len(),
        started.elapsed().as_secs_f64()
    );
}

/// 50 incidents, 10 alerts each per round: one `update_incident` each against one
/// `update_incidents` batch.
async fn spread(name: &str, store: &dyn Store) {
    const INCIDENTS: usize = 50;
    const ROUNDS: usize = 15;
    let base = Timestamp::now();
    let incidents: Vec<Incident> = (0..INCIDENTS)
        .map(|k| incident(Timestamp(base.0 + k as i64)))
        .collect();
    store.upsert_incidents(incidents.clone()).await.unwrap();
    let config = GroupingConfig::default();
    let mut n = 10_000_000u64;
    let mut round = |batched: bool| {
        let now = Timestamp(base.0 + n as i64 * 1_000);
        let changes: Vec<(IncidentId, onewall_store::IncidentChange)> = incidents
            .iter()
            .map(|inc| {
                let alerts: Vec<Alert> = (0..10u64).map(|k| alert(n + k, now)).collect();
                n += 10;
                let cfg = config.clone();
                let change: onewall_store::IncidentChange = Box::new(move |i| {
                    extend_incident(i, &alerts, true, &cfg, now).unwrap();
                    Ok(())
                });
                (inc.id, change)
            })
            .collect();
        async move {
            let t = Instant::now();
            if batched {
                for r in store.update_incidents(changes).await {
                    r.unwrap();
                }
            } else {
                for (id, change) in changes {
                    store.update_incident(id, change).await.unwrap();
                }
            }
            t.elapsed()
        }
    };
    let (mut one_by_one, mut batch) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        one_by_one.push(round(false).await);
        batch.push(round(true).await);
    }
    let (a, b) = (median(one_by_one), median(batch));
    println!(
        "incident_growth: {name}: {INCIDENTS} incidents growing by 10 alerts each, median per \
         round: one by one {:.1} ms, one batch {:.1} ms ({:.1}x)",
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        a.as_secs_f64() / b.as_secs_f64().max(1e-9)
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let total = std::env::var("ONEWALL_GROWTH_ALERTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100_000 } else { 2_000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        grow("embedded", &store, total).await;
        spread("embedded", &store).await;
        match std::env::var("ONEWALL_CLICKHOUSE_URL") {
            Ok(url) => {
                let database = format!("onewall_growth_{}", std::process::id());
                let store = ClickHouseStore::connect(&url, &database, "default", "")
                    .await
                    .unwrap();
                grow("clickhouse", &store, total).await;
                spread("clickhouse", &store).await;
                let _ = ureq::post(&url).send(format!("DROP DATABASE IF EXISTS {database}"));
            }
            Err(_) => {
                println!("incident_growth: clickhouse not run (ONEWALL_CLICKHOUSE_URL is not set)")
            }
        }
    });
}
