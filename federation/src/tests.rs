//! The parent's side of a push over the real embedded store: sequences applied once, alerts
//! once, the gate, epochs, child incident links and the downlink.

use std::sync::Arc;
use std::time::Duration;

use onewall_model::federation::{Down, IncidentSnapshot, PushReply, PushRequest, Up, UpMessage};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Incident, IncidentId, IncidentStatus, RegionCode, RuleRef,
    Severity, Timestamp,
};
use onewall_store::{SqliteStore, Store};
use tokio::sync::mpsc;

use super::Federation;
use super::db::Db;
use crate::config::FederationResolved;

fn cfg() -> FederationResolved {
    FederationResolved {
        organisation: String::new(),
        parent: None,
        batch_size: 100,
        push_interval: Duration::from_millis(100),
        heartbeat: Duration::from_secs(1),
        retry_min: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
        min_regions: 2,
        children: vec!["410100".parse().unwrap()],
    }
}

fn alert(region: &str, ip: &str) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::now(),
        time: Timestamp::now(),
        created: Timestamp::now(),
        rule: RuleRef {
            id: "ssh-fail".into(),
            title: "SSH failure".into(),
            level: Severity::Medium,
            status: None,
            tags: vec![],
        },
        severity: Severity::Medium,
        event_ids: vec![],
        entities: vec![Entity {
            kind: EntityKind::SourceIp,
            value: ip.into(),
        }],
        region: region.parse().unwrap(),
        matched: vec![],
        drill: None,
    }
}

fn push(region: &str, epoch: &str, ack_down: u64, messages: Vec<(u64, Up)>) -> PushRequest {
    PushRequest {
        organisation: None,
        intel: None,
        node: format!("node-{region}"),
        region: region.parse().unwrap(),
        epoch: epoch.into(),
        sent: Timestamp::now(),
        outbox_depth: 0,
        oldest_queued: None,
        ack_down,
        messages: messages
            .into_iter()
            .map(|(seq, body)| UpMessage { seq, body })
            .collect(),
    }
}

fn up(a: &Alert) -> Up {
    Up::Alert {
        alert: Box::new(a.clone()),
    }
}

async fn stored(store: &Arc<dyn Store>, a: &Alert) -> bool {
    store.get_alert(a.id).await.unwrap().is_some()
}

fn released(rx: &mut mpsc::Receiver<Vec<Alert>>) -> Vec<AlertId> {
    let mut out = Vec::new();
    while let Ok(batch) = rx.try_recv() {
        out.extend(batch.into_iter().map(|a| a.id));
    }
    out
}

#[tokio::test]
async fn pushes_apply_once_gate_by_regions_reset_on_a_new_epoch_and_carry_dispatches() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let province: RegionCode = "410000".parse().unwrap();
    let (fed, mut rx) = Federation::new(
        Db::open(dir.path()).unwrap(),
        store.clone(),
        "henan".into(),
        province,
        cfg(),
    )
    .unwrap();

    // 410100: an alert and the city's incident holding it.
    let a1 = alert("410100", "203.0.113.5");
    let c1 = IncidentId::now();
    let snapshot = IncidentSnapshot {
        id: c1,
        title: "ssh".into(),
        status: IncidentStatus::New,
        severity: Severity::Medium,
        grade: None,
        region: "410100".parse().unwrap(),
        alert_ids: vec![a1.id],
        entities: a1.entities.clone(),
        parent: None,
        updated: Timestamp::now(),
    };
    let first = push(
        "410100",
        "e1",
        0,
        vec![
            (1, up(&a1)),
            (
                2,
                Up::Incident {
                    incident: Box::new(snapshot),
                },
            ),
        ],
    );
    let reply: PushReply = fed.apply_push(first.clone()).await.unwrap();
    assert_eq!(reply.acked_up, 2);
    assert_eq!(reply.region, Some(province));
    assert!(stored(&store, &a1).await);
    assert!(released(&mut rx).is_empty(), "one region: held");

    // The same push again: applied once.
    assert_eq!(fed.apply_push(first).await.unwrap().acked_up, 2);
    let health = fed.children_health().await.unwrap();
    let zz = health.iter().find(|c| c["region"] == "410100").unwrap();
    assert_eq!(zz["alerts_received"], 1);
    assert_eq!(zz["last_seq"], 2);

    // The same attacker in 410200: both alerts go on to the correlator.
    let b1 = alert("410200", "203.0.113.5");
    fed.apply_push(push("410200", "k1", 0, vec![(1, up(&b1))]))
        .await
        .unwrap();
    assert_eq!(released(&mut rx), vec![a1.id, b1.id]);

    // A sequence already applied is skipped; a new epoch (a wiped child) starts again.
    let a2 = alert("410100", "198.51.100.9");
    fed.apply_push(push("410100", "e1", 0, vec![(1, up(&a2))]))
        .await
        .unwrap();
    assert!(
        !stored(&store, &a2).await,
        "seq 1 of the old outbox was applied"
    );
    let r = fed
        .apply_push(push("410100", "e2", 0, vec![(1, up(&a2))]))
        .await
        .unwrap();
    assert_eq!(r.acked_up, 1);
    assert!(stored(&store, &a2).await);

    // A parent incident holding both alerts links the city incident; a dispatch names it.
    let now = Timestamp::now();
    let parent = Incident {
        targets: Vec::new(),
        id: IncidentId::now(),
        title: "one attacker, two cities".into(),
        status: IncidentStatus::New,
        severity: Severity::High,
        group_key: "source_ip:203.0.113.5".into(),
        region: "410100".parse().unwrap(),
        regions: vec!["410100".parse().unwrap(), "410200".parse().unwrap()],
        assignee: None,
        team: None,
        entities: a1.entities.clone(),
        alert_ids: vec![a1.id, b1.id],
        rule_ids: vec!["ssh-fail".into()],
        first_seen: now,
        last_seen: now,
        created: now,
        updated: now,
        parent: None,
        children: vec![],
        timeline: vec![],
        classification: Default::default(),
        drill: None,
    };
    store.upsert_incidents(vec![parent.clone()]).await.unwrap();
    fed.parent_incident_changed(&parent).await.unwrap();
    let (children, _) = fed.parent_links(parent.id).await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["incident"], c1.to_string());
    assert_eq!(children[0]["node"], "node-410100");

    let zz: RegionCode = "410100".parse().unwrap();
    assert!(fed.is_child(zz).await.unwrap());
    fed.queue_dispatch(
        parent.clone(),
        zz,
        "block it".into(),
        Some("zz-soc".into()),
        "alice".into(),
    )
    .await
    .unwrap();
    let r = fed
        .apply_push(push("410100", "e2", 0, vec![]))
        .await
        .unwrap();
    assert_eq!(r.messages.len(), 1);
    let seq = r.messages[0].seq;
    match &r.messages[0].body {
        Down::Dispatch {
            incident,
            child_incidents,
            alert_ids,
            team,
            ..
        } => {
            assert_eq!(*incident, parent.id);
            assert_eq!(child_incidents, &vec![c1]);
            assert_eq!(alert_ids, &vec![a1.id]);
            assert_eq!(team.as_deref(), Some("zz-soc"));
        }
        other => panic!("{other:?}"),
    }
    // Acknowledged: not sent again.
    let r = fed
        .apply_push(push("410100", "e2", seq, vec![]))
        .await
        .unwrap();
    assert!(r.messages.is_empty());
    // The city's comment lands on the parent incident; from the other city it is ignored.
    let comment = |text: &str| Up::Comment {
        incident: c1,
        parent: parent.id,
        text: text.into(),
        by: "bob".into(),
        at: Timestamp::now(),
    };
    fed.apply_push(push("410100", "e2", seq, vec![(2, comment("on it"))]))
        .await
        .unwrap();
    fed.apply_push(push("410200", "k1", 0, vec![(2, comment("not mine"))]))
        .await
        .unwrap();
    let texts: Vec<(String, String)> = store
        .get_incident(parent.id)
        .await
        .unwrap()
        .unwrap()
        .timeline
        .into_iter()
        .filter_map(|e| match e.change {
            onewall_model::TimelineKind::Comment { text } => Some((e.actor, text)),
            _ => None,
        })
        .collect();
    assert!(
        texts
            .iter()
            .any(|(a, t)| a == "remote:410100/bob" && t.ends_with("on it")),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|(_, t)| t.contains("not mine")),
        "{texts:?}"
    );
    // The dispatch is on the parent incident's timeline and in its links.
    let (_, dispatches) = fed.parent_links(parent.id).await.unwrap();
    assert_eq!(dispatches[0]["region"], "410100");
    assert_eq!(dispatches[0]["by"], "alice");
}

/// Regression: a collector token pushing a sequence far ahead (2^64−1, i64::MAX+1) made the
/// parent skip and acknowledge every later message of the region, so the real child dropped
/// alerts the parent never stored.
#[tokio::test]
async fn sequences_far_ahead_are_refused_and_the_child_drops_only_what_was_stored() {
    use super::outbox;
    use super::parent::{MAX_AHEAD, SequenceRefused};

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (fed, _rx) = Federation::new(
        Db::open(dir.path()).unwrap(),
        store.clone(),
        "henan".into(),
        "410000".parse().unwrap(),
        cfg(),
    )
    .unwrap();
    let fed = Arc::new(fed);
    // The real child's outbox.
    let child = Db::memory();
    let epoch = child.call_now(|c| outbox::epoch(c)).unwrap();
    let queue = |alerts: &[&Alert]| {
        let items: Vec<Up> = alerts.iter().map(|a| up(a)).collect();
        child
            .call_now(|c| outbox::enqueue(c, &items, Timestamp::now()))
            .unwrap();
    };
    // One push of everything queued, acknowledged as the child does it: every message it
    // drops must have been stored by the parent.
    let push_all = |fed: Arc<Federation>| {
        let child = child.clone();
        let epoch = epoch.clone();
        let store = store.clone();
        async move {
            let batch = child.call_now(|c| outbox::batch(c, 100)).unwrap();
            let mut req = push("410100", &epoch, 0, vec![]);
            req.messages = batch.clone();
            let reply = fed.apply_push(req).await.unwrap();
            child.call_now(|c| outbox::ack(c, reply.acked_up)).unwrap();
            let left = child.call_now(|c| outbox::batch(c, 100)).unwrap();
            for m in &batch {
                if left.iter().any(|l| l.seq == m.seq) {
                    continue;
                }
                if let Up::Alert { alert } = &m.body {
                    assert!(
                        store.get_alert(alert.id).await.unwrap().is_some(),
                        "seq {} dropped by the child but never stored",
                        m.seq
                    );
                }
            }
            reply
        }
    };

    let a1 = alert("410100", "203.0.113.7");
    queue(&[&a1]);
    assert_eq!(push_all(fed.clone()).await.acked_up, 1);
    assert!(stored(&store, &a1).await);

    let rogue = alert("410100", "192.0.2.1");
    for seq in [
        u64::MAX,
        i64::MAX as u64 + 1,
        i64::MAX as u64,
        2 + MAX_AHEAD,
    ] {
        for e in [epoch.as_str(), "forged"] {
            let err = fed
                .apply_push(push("410100", e, 0, vec![(seq, up(&rogue))]))
                .await
                .expect_err("a sequence far ahead is refused");
            let refused = err
                .downcast_ref::<SequenceRefused>()
                .unwrap_or_else(|| panic!("not a refusal: {err:#}"));
            let next = if e == "forged" { 1 } else { 2 };
            assert!(
                refused.0.contains(&format!("expected seq {next} next")),
                "{refused}"
            );
        }
    }
    assert!(
        !stored(&store, &rogue).await,
        "nothing of a refused push is stored"
    );
    // Sequences that do not increase are refused too.
    assert!(
        fed.apply_push(push(
            "410100",
            &epoch,
            0,
            vec![(3, up(&rogue)), (2, up(&rogue))]
        ))
        .await
        .is_err()
    );

    // A push from another epoch may not move the real child's sequence either.
    fed.apply_push(push("410100", "forged", 0, vec![(40, up(&rogue))]))
        .await
        .unwrap();

    // The real child goes on: its next alerts are stored, and acknowledged only then.
    let a2 = alert("410100", "203.0.113.8");
    let a3 = alert("410100", "203.0.113.9");
    queue(&[&a2, &a3]);
    let reply = push_all(fed.clone()).await;
    assert_eq!(reply.acked_up, 3);
    assert!(stored(&store, &a2).await && stored(&store, &a3).await);
    assert_eq!(child.call_now(|c| outbox::depth(c)).unwrap().messages, 0);
    let health = fed.children_health().await.unwrap();
    let zz = health.iter().find(|c| c["region"] == "410100").unwrap();
    assert_eq!(zz["last_seq"], 3);
}

/// A parent's shared set of two pages' worth, and what the children told it.
#[derive(Debug, Default)]
struct Exchange {
    shared: Vec<onewall_model::intel::SharedIndicator>,
    sightings: std::sync::Mutex<Vec<(RegionCode, onewall_model::intel::SightingReport)>>,
}

impl crate::intel::IntelExchange for Exchange {
    fn page_for(
        &self,
        sync: onewall_model::intel::IntelSync,
        same_organisation: bool,
        limit: usize,
    ) -> Option<onewall_model::intel::IntelPage> {
        let shared: Vec<_> = self
            .shared
            .iter()
            .filter(|i| onewall_model::intel::may_share_down(i.tlp, same_organisation))
            .cloned()
            .collect();
        let from = if sync.version == 7 { sync.next } else { 0 };
        (from < shared.len() as u64 || sync.version != 7).then(|| onewall_model::intel::IntelPage {
            version: 7,
            from,
            total: shared.len() as u64,
            indicators: shared.into_iter().skip(from as usize).take(limit).collect(),
        })
    }
    fn sync(&self) -> onewall_model::intel::IntelSync {
        onewall_model::intel::IntelSync::default()
    }
    fn received(&self, _: onewall_model::intel::IntelPage) {}
    fn sightings(&self, via: RegionCode, reports: Vec<onewall_model::intel::SightingReport>) {
        let mut s = self.sightings.lock().unwrap();
        s.extend(reports.into_iter().map(|r| (via, r)));
    }
}

fn shared(value: &str, tlp: onewall_model::Tlp) -> onewall_model::intel::SharedIndicator {
    onewall_model::intel::SharedIndicator {
        value: value.into(),
        kind: onewall_model::IndicatorKind::Ip,
        feed: "province".into(),
        id: None,
        confidence: 80,
        severity: Severity::High,
        tlp,
        valid_from: None,
        valid_until: None,
        labels: vec![],
        attack: vec![],
        description: None,
    }
}

#[tokio::test]
async fn a_push_reply_carries_the_shared_indicators_tlp_allows_and_sightings_reach_the_exchange() {
    use onewall_model::Tlp;
    use onewall_model::intel::{IntelSync, SightingReport};
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (fed, _rx) = Federation::new(
        Db::open(dir.path()).unwrap(),
        store,
        "henan".into(),
        "410000".parse().unwrap(),
        cfg(),
    )
    .unwrap();
    let exchange = Arc::new(Exchange {
        shared: vec![
            shared("203.0.113.1", Tlp::Amber),
            shared("203.0.113.2", Tlp::Red),
            shared("203.0.113.3", Tlp::AmberStrict),
            shared("203.0.113.4", Tlp::Green),
        ],
        ..Exchange::default()
    });
    // Without an exchange set, nothing is shared.
    let mut req = push("410100", "e", 0, vec![]);
    req.intel = Some(IntelSync::default());
    assert!(fed.apply_push(req.clone()).await.unwrap().intel.is_none());
    fed.set_intel(exchange.clone());

    // Another organisation (the city's own region code): AMBER and GREEN, no RED, no
    // AMBER+STRICT.
    let page = fed
        .apply_push(req.clone())
        .await
        .unwrap()
        .intel
        .expect("a page");
    let values: Vec<_> = page.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["203.0.113.1", "203.0.113.4"]);
    // The same organisation as the province: AMBER+STRICT too, never RED.
    req.organisation = Some("410000".into());
    let page = fed
        .apply_push(req.clone())
        .await
        .unwrap()
        .intel
        .expect("a page");
    let values: Vec<_> = page.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["203.0.113.1", "203.0.113.3", "203.0.113.4"]);
    // A child holding the whole version gets no page.
    req.intel = Some(IntelSync {
        version: 7,
        next: 3,
    });
    assert!(fed.apply_push(req.clone()).await.unwrap().intel.is_none());

    // Sightings pushed up reach the exchange with the pushing child's region.
    let seen = SightingReport {
        value: "203.0.113.1".into(),
        kind: onewall_model::IndicatorKind::Ip,
        feed: "province".into(),
        region: "410102".parse().unwrap(),
        count: 4,
        first_seen: Timestamp::from_secs(1_700_000_000),
        last_seen: Timestamp::from_secs(1_700_000_060),
    };
    let req = push(
        "410100",
        "e",
        0,
        vec![(
            1,
            Up::Sightings {
                sightings: vec![seen.clone()],
            },
        )],
    );
    fed.apply_push(req).await.unwrap();
    let got = exchange.sightings.lock().unwrap().clone();
    assert_eq!(got, vec![("410100".parse().unwrap(), seen)]);
}
