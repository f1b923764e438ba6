//! Correlator throughput, state size and latency with 100 000 active group keys, one thread.
//!
//! Figures (medians of the runs):
//! 1. alerts/s through the Sigma correlation engine (an `event_count` rule grouped by
//!    `source.ip`, 100k keys live), and bytes of state per key;
//! 2. alert-to-incident latency: batches of 100 alerts through the Sigma engine and incident
//!    grouping (100k entity links live), p50 and p99 of the batch time (every alert of a batch
//!    has its incident change when the batch returns; storage not included);
//! 3. the peer, rsigma-eval's `CorrelationEngine`, on the same stream as events (it runs its
//!    own detection), against ours doing detection (`Engine::match_batch`) plus correlation,
//!    and the ratio.
//!
//! Run: `cargo bench -p onewall-correlate --bench correlate`. With
//! `CORRELATE_BENCH_OURS_ONLY=1` only our side of figure 3 runs (for a profiler).

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use onewall_correlate::sigma::{NoEvents, SigmaConfig, SigmaCorrelator};
use onewall_correlate::{Correlator, DEFAULT_WINDOW_SECS};
use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Event, EventId, MatchedField, RegionCode, RuleRef,
    Severity, Source, Timestamp, Value,
};
use onewall_rules::correlation::load_correlations;
use onewall_rules::{Engine, RuleSource};

const KEYS: usize = 100_000;
const RUNS: usize = 7;
const T0: i64 = 1_800_000_000;

const RULES: &str = r#"
title: failed login
id: fail
name: failed_login
logsource: {product: linux, service: sshd}
detection:
    selection:
        event.outcome: failure
    condition: selection
level: low
---
title: many failures
id: many
correlation:
    type: event_count
    rules: [fail]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 1000}
level: high
"#;

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

fn sigma() -> (Engine, SigmaCorrelator) {
    let src = vec![RuleSource::new("bench.yml", RULES)];
    let (set, _) = load_correlations(&src);
    let (engine, _) = Engine::compile(src);
    let (resolved, errors) = set.resolve(engine.rules());
    assert!(errors.is_empty(), "{errors:?}");
    let config = SigmaConfig {
        max_keys_per_rule: 2 * KEYS,
        ..Default::default()
    };
    (engine, SigmaCorrelator::new(resolved, config))
}

fn alert(n: usize, key: usize, at: i64) -> Alert {
    let id = AlertId::from_u128(n as u128 + 1);
    let addr = ip(key);
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id,
        time: Timestamp::from_secs(at),
        created: Timestamp::from_secs(at),
        rule: RuleRef {
            id: "fail".into(),
            title: "failed login".into(),
            level: Severity::Low,
            status: None,
            tags: vec!["attack.credential_access".into()],
        },
        severity: Severity::Low,
        event_ids: vec![EventId::from_u128(n as u128 + 1)],
        entities: vec![
            Entity::new(EntityKind::SourceIp, addr.clone()),
            Entity::new(EntityKind::Host, format!("h{}", key % 1000)),
        ],
        region: RegionCode::HENAN,
        matched: vec![MatchedField {
            field: "source.ip".into(),
            value: addr,
            selection: None,
        }],
        drill: None,
    }
}

/// The key of the `j`th alert of run `r`: every key, in a scattered order.
fn key_of(r: usize, j: usize) -> usize {
    (j * 7919 + r * 104_729) % KEYS
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn main() {
    if std::env::var_os("CORRELATE_BENCH_OURS_ONLY").is_some() {
        let (engine, mut ours) = sigma();
        let events = events();
        for r in 0..RUNS {
            black_box(detect_and_correlate(&engine, &mut ours, &events, r));
        }
        return;
    }
    // 1. Alerts/s with 100k live keys.
    let (_, mut corr) = sigma();
    let fill: Vec<Alert> = (0..KEYS).map(|k| alert(k, k, T0)).collect();
    corr.process(&fill, &NoEvents, Timestamp::from_secs(T0));
    assert_eq!(corr.keys(), KEYS);
    let mut rates = Vec::new();
    let mut n = KEYS;
    for r in 0..RUNS {
        let batch: Vec<Alert> = (0..KEYS)
            .map(|j| {
                n += 1;
                alert(n, key_of(r, j), T0 + 1 + r as i64)
            })
            .collect();
        let start = Instant::now();
        for chunk in batch.chunks(1000) {
            black_box(corr.process(chunk, &NoEvents, Timestamp::from_secs(T0)));
        }
        rates.push(KEYS as f64 / start.elapsed().as_secs_f64());
    }
    assert_eq!(corr.keys(), KEYS, "every key still live");
    let per_key = corr.state_bytes() as f64 / corr.keys() as f64;
    let entries = (RUNS + 1) as f64;
    println!(
        "sigma correlator, {KEYS} live keys, one thread: median {:.0} alerts/s; state {:.0} bytes per key ({entries} alerts held per key)",
        median(rates),
        per_key
    );

    // 2. Alert-to-incident latency under that load.
    let mut grouping = Correlator::new(DEFAULT_WINDOW_SECS);
    let now = Timestamp::from_secs(T0 + 100);
    for chunk in fill.chunks(1000) {
        grouping.updates(chunk, now);
    }
    let mut lat = Vec::new();
    for r in 0..RUNS {
        let batch: Vec<Alert> = (0..20_000)
            .map(|j| {
                n += 1;
                alert(n, key_of(r + 100, j), T0 + 10 + r as i64)
            })
            .collect();
        for chunk in batch.chunks(100) {
            let start = Instant::now();
            let raised = corr.process(chunk, &NoEvents, now);
            black_box(grouping.updates(chunk, now));
            black_box(grouping.updates(&raised, now));
            lat.push(start.elapsed());
        }
    }
    let p50 = pct(&mut lat, 0.50);
    let p99 = pct(&mut lat, 0.99);
    println!(
        "alert to incident change, batches of 100, {} links and {KEYS} sigma keys live: p50 {:?}, p99 {:?} (storage not included)",
        grouping.len(),
        p50,
        p99
    );

    // 3. Against rsigma-eval on the same stream as events (detection + correlation).
    let (engine, mut ours) = sigma();
    let events = events();
    let json: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "event.outcome": "failure",
                "source.ip": e.get("source.ip").and_then(|v| v.as_str()).unwrap_or(""),
            })
        })
        .collect();
    let mut peer = rsigma_eval::CorrelationEngine::new(rsigma_eval::CorrelationConfig {
        max_state_entries: 4 * KEYS,
        ..Default::default()
    });
    let collection = rsigma_parser::parse_sigma_yaml(RULES).expect("peer parses the rules");
    peer.add_collection(&collection)
        .expect("peer loads the rules");
    let mut ours_rates = Vec::new();
    let mut peer_rates = Vec::new();
    for r in 0..RUNS {
        let base = T0 + 1000 * r as i64;
        ours_rates.push(detect_and_correlate(&engine, &mut ours, &events, r));
        let start = Instant::now();
        for (j, v) in json.iter().enumerate() {
            let ev = rsigma_eval::JsonEvent::borrow(v);
            black_box(peer.process_event_at(&ev, base + (j / 1000) as i64));
        }
        peer_rates.push(KEYS as f64 / start.elapsed().as_secs_f64());
    }
    let (o, p) = (median(ours_rates), median(peer_rates));
    println!(
        "events to correlation (detection + event_count, {KEYS} keys): onewall median {o:.0} events/s, rsigma-eval {p:.0} events/s, ratio {:.2}; peer state entries {}",
        o / p,
        peer.state_count()
    );
}

/// The detection + correlation stream: one failed login per key, 1000 per second.
fn events() -> Vec<Event> {
    (0..KEYS)
        .map(|j| {
            let at = Timestamp::from_secs(T0 + (j / 1000) as i64);
            let mut e = Event::new(at, RegionCode::HENAN, Source::new("bench", None), b"x");
            e.time = at;
            e.fields.insert("event.outcome", Value::str("failure"));
            e.fields.insert("source.ip", Value::str(ip(key_of(0, j))));
            e
        })
        .collect()
}

/// Run `r` of our side of figure 3: detection then correlation in batches of 1000, the
/// stream shifted `1000 * r` seconds on. Returns events/s.
fn detect_and_correlate(
    engine: &Engine,
    ours: &mut SigmaCorrelator,
    events: &[Event],
    r: usize,
) -> f64 {
    let base = T0 + 1000 * r as i64;
    let start = Instant::now();
    for chunk in events.chunks(1000) {
        let mut alerts = Vec::with_capacity(chunk.len());
        engine.match_batch(chunk, Timestamp::from_secs(base), &mut alerts);
        let by_id: HashMap<EventId, &Event> = chunk.iter().map(|e| (e.id, e)).collect();
        for a in &mut alerts {
            a.time = Timestamp(
                a.time.0 + base * Timestamp::NANOS_PER_SEC - T0 * Timestamp::NANOS_PER_SEC,
            );
        }
        black_box(ours.process(&alerts, &by_id, Timestamp::from_secs(base)));
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}
