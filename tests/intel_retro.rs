//! The retro-hunt (`src/intel/retro.rs`, read here as a module of this test): events stored
//! before their indicators were known are found on each store (the embedded one always,
//! ClickHouse when `ONEWALL_CLICKHOUSE_URL` is set), raise intel alerts marked retrospective
//! at the events' own time, a second hunt raises nothing new, the budget stops a hunt early
//! and its receipt says so, and delivered alerts are stored, published and correlated.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

#[path = "../src/intel/retro.rs"]
#[allow(dead_code)]
mod retro;
mod storage;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onewall_intel::fields::MatchFields;
use onewall_intel::{Indicator, Observable};
use onewall_model::bus::{AlertOrigin, Delivery, NodeEvent, NodeEvents, Subscriber};
use onewall_model::event::names;
use onewall_model::{Alert, Event, IndicatorKind, RegionCode, Source, Timestamp, Value};
use onewall_store::{AlertQuery, ClickHouseStore, SqliteStore, Store};
use retro::{RetroBudget, deliver, retro_hunt};

/// The hunt's "now": 2026-11-28 12:00 UTC.
fn now() -> Timestamp {
    Timestamp(20_785 * Timestamp::NANOS_PER_DAY).add_secs(12 * 3600)
}

fn event(ago_secs: i64, fields: &[(&str, Value)]) -> Event {
    let time = now().add_secs(-ago_secs);
    let mut e = Event::new(
        time.add_secs(1),
        RegionCode::HENAN,
        Source::new("syslog_udp", None),
        b"retro",
    );
    e.time = time;
    for (k, v) in fields {
        e.fields.insert(k, v.clone());
    }
    e
}

fn ip(s: &str) -> Value {
    Value::Ip(s.parse().expect("address"))
}

fn indicator(kind: IndicatorKind, value: &str) -> Indicator {
    let mut i = Indicator::new(Observable::parse(kind, value).expect("value"), "taxii");
    i.confidence = 90;
    i
}

/// The new indicators: an address, a range, a domain tree, a hash, an email address, a URL.
fn indicators() -> Vec<Indicator> {
    vec![
        indicator(IndicatorKind::Ip, "203.0.113.9"),
        indicator(IndicatorKind::Cidr, "198.51.100.0/24"),
        indicator(IndicatorKind::DomainTree, "evil.example"),
        indicator(
            IndicatorKind::Sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
        indicator(IndicatorKind::Email, "boss@phish.example"),
        indicator(IndicatorKind::Url, "http://bad.example/payload"),
    ]
}

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// The history: eight events the hunt must find (newest first), and five it must not.
fn history() -> (Vec<Event>, Vec<Event>) {
    let hits = vec![
        event(HOUR, &[(names::SOURCE_IP, ip("203.0.113.9"))]),
        event(
            3 * HOUR,
            &[(names::DESTINATION_IP, ip("::ffff:198.51.100.77"))],
        ),
        event(2 * DAY, &[("dns.question.name", "cdn.Evil.Example".into())]),
        event(
            5 * DAY,
            &[(
                "file.hash.sha256",
                "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08".into(),
            )],
        ),
        event(
            9 * DAY,
            &[("email.from.address", "Boss@Phish.Example".into())],
        ),
        // A URL's host under the domain tree; a URL as the indicator's in another spelling.
        event(
            12 * DAY,
            &[("url.original", "https://x.evil.example/path".into())],
        ),
        event(
            15 * DAY,
            &[("url.original", "HTTP://BAD.example:80/payload#frag".into())],
        ),
        event(29 * DAY, &[("client.ip", "203.0.113.9".into())]),
    ];
    let misses = vec![
        // Past the look-back.
        event(31 * DAY, &[(names::SOURCE_IP, ip("203.0.113.9"))]),
        // After `now` (stored since; the hunt looks back from now).
        event(-HOUR, &[(names::SOURCE_IP, ip("203.0.113.9"))]),
        // Near misses.
        event(
            2 * HOUR,
            &[
                (names::SOURCE_IP, ip("198.51.101.1")),
                ("dns.question.name", "notevil.example".into()),
            ],
        ),
        // The value on a field that is not checked.
        event(4 * HOUR, &[("message", "203.0.113.9".into())]),
        // Another path on the URL indicator's host.
        event(
            5 * HOUR,
            &[("url.original", "http://bad.example/other".into())],
        ),
    ];
    (hits, misses)
}

/// A store to run on: its name, what keeps it alive (a directory, a scratch database), itself.
type Backend = (&'static str, Box<dyn std::any::Any>, Arc<dyn Store>);

/// The stores to run on: the embedded one, and ClickHouse when configured.
async fn stores() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
    let mut out: Vec<Backend> = vec![("embedded", Box::new(dir), sqlite)];
    if let Some(url) = storage::clickhouse_url() {
        let database = storage::scratch_name("onewall_retro");
        let scratch = storage::Scratch {
            url: url.clone(),
            database: database.clone(),
        };
        let ch = ClickHouseStore::connect(&url, &database, "default", "")
            .await
            .expect("connect to ClickHouse");
        out.push(("clickhouse", Box::new(scratch), Arc::new(ch)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_history_is_hunted_once_on_every_store() {
    for (name, _guard, store) in stores().await {
        let (hits, misses) = history();
        let mut all = hits.clone();
        all.extend(misses);
        store.write_events(all).await.expect("write");
        let fields = MatchFields::default();
        let (alerts, receipt) = retro_hunt(
            &*store,
            &indicators(),
            &fields,
            30,
            RetroBudget::default(),
            now(),
        )
        .await;
        assert_eq!(receipt.error, None, "{name}");
        let got: Vec<_> = alerts.iter().map(|a| a.event_ids[0]).collect();
        let want: Vec<_> = hits.iter().map(|e| e.id).collect();
        assert_eq!(got, want, "{name}: one alert per event found, newest first");
        for (a, e) in alerts.iter().zip(&hits) {
            let intel = a.intel.as_ref().expect("an intel alert");
            assert!(intel.retro, "{name}: marked retrospective");
            assert_eq!(a.time, e.time, "{name}: at the event's own time");
            assert_eq!(a.created, now(), "{name}");
            assert_eq!(intel.indicator.feed, "taxii");
        }
        let rules: Vec<&str> = alerts.iter().map(|a| a.rule.id.as_str()).collect();
        assert_eq!(
            rules,
            [
                "intel.ip",
                "intel.cidr",
                "intel.domain-tree",
                "intel.sha256",
                "intel.email",
                "intel.domain-tree",
                "intel.url",
                "intel.ip"
            ],
            "{name}"
        );
        assert_eq!(receipt.indicators, 6);
        assert_eq!(receipt.days, 30);
        assert_eq!((receipt.hits, receipt.alerts), (8, 8), "{name}");
        assert!(receipt.events_read >= 8, "{name}: {receipt:?}");
        assert!(!receipt.truncated, "{name}");
        assert_eq!(receipt.searched_from, now().add_secs(-30 * DAY));
        // Thirteen events stored, one past the look-back and one after now.
        assert_eq!(receipt.events_searched, 11, "{name}: {receipt:?}");
        let json = serde_json::to_value(&receipt).expect("json");
        assert_eq!(json["truncated"], false);

        let bus = NodeEvents::new();
        deliver(&*store, &bus, None, alerts.clone())
            .await
            .expect("deliver");
        let stored = store
            .search_alerts(AlertQuery::default())
            .await
            .expect("alerts")
            .items;
        assert_eq!(stored.len(), 8, "{name}");
        // A second hunt finds the same events and makes no new alert.
        let (again, receipt) = retro_hunt(
            &*store,
            &indicators(),
            &fields,
            30,
            RetroBudget::default(),
            now().add_secs(60),
        )
        .await;
        assert!(again.is_empty(), "{name}: {again:?}");
        assert_eq!((receipt.hits, receipt.alerts), (8, 0), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_stops_a_hunt_and_the_receipt_says_so() {
    for (name, _guard, store) in stores().await {
        let (hits, misses) = history();
        let mut all = hits.clone();
        all.extend(misses);
        store.write_events(all).await.expect("write");
        let fields = MatchFields::default();
        let budget = RetroBudget {
            max_events: 2,
            max_time: Duration::from_secs(60),
        };
        let (alerts, receipt) =
            retro_hunt(&*store, &indicators(), &fields, 30, budget, now()).await;
        assert!(receipt.truncated, "{name}: {receipt:?}");
        assert_eq!(receipt.events_read, 2, "{name}");
        let got: Vec<_> = alerts.iter().map(|a| a.event_ids[0]).collect();
        assert_eq!(
            got,
            vec![hits[0].id, hits[1].id],
            "{name}: the newest first"
        );
        assert_eq!(receipt.searched_from, hits[1].time, "{name}");
        let json = serde_json::to_value(&receipt).expect("json");
        assert_eq!(json["truncated"], true);

        let out_of_time = RetroBudget {
            max_events: 1000,
            max_time: Duration::ZERO,
        };
        let (alerts, receipt) =
            retro_hunt(&*store, &indicators(), &fields, 30, out_of_time, now()).await;
        assert!(
            alerts.is_empty() && receipt.truncated,
            "{name}: {receipt:?}"
        );
        assert_eq!(receipt.events_read, 0);
    }
}

/// Hears the alerts published on the bus.
#[derive(Debug, Default)]
struct Heard(Mutex<Vec<(AlertOrigin, usize)>>);

impl Subscriber for Heard {
    fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
        Box::pin(async move {
            if let NodeEvent::AlertsStored { alerts, origin } = &*event {
                self.0.lock().unwrap().push((*origin, alerts.len()));
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_alerts_are_stored_published_and_sent_to_the_correlator() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path()).expect("open");
    let (hits, _) = history();
    store.write_events(hits.clone()).await.expect("write");
    let (alerts, _) = retro_hunt(
        &store,
        &indicators(),
        &MatchFields::default(),
        30,
        RetroBudget::default(),
        now(),
    )
    .await;
    assert_eq!(alerts.len(), 8);
    let bus = NodeEvents::new();
    let heard = Arc::new(Heard::default());
    bus.subscribe(heard.clone());
    // The pipeline's correlator channel, fed by the federation and the retro-hunt.
    let (federation_tx, federation_rx) = tokio::sync::mpsc::channel::<Vec<Alert>>(4);
    let (retro_tx, mut correlator) = retro::correlator_feed(federation_rx);
    deliver(&store, &bus, Some(&retro_tx), alerts.clone())
        .await
        .expect("deliver");
    for a in &alerts {
        assert!(store.get_alert(a.id).await.expect("get").is_some());
    }
    assert_eq!(
        *heard.0.lock().unwrap(),
        vec![(AlertOrigin::RetroHunt, 8)],
        "published once, as the retro-hunt's"
    );
    let got = correlator.recv().await.expect("to the correlator");
    assert_eq!(got.len(), 8);
    // The federation's released alerts still reach the correlator through the same channel.
    federation_tx
        .send(vec![alerts[0].clone()])
        .await
        .expect("send");
    let got = correlator.recv().await.expect("federation's alerts");
    assert_eq!(got[0].id, alerts[0].id);
    // Nothing to deliver: nothing published.
    deliver(&store, &bus, Some(&retro_tx), Vec::new())
        .await
        .expect("deliver nothing");
    assert_eq!(heard.0.lock().unwrap().len(), 1);
}
