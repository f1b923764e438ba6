use onewall_model::{RegionCode, Severity};
use onewall_rules::correlation::load_correlations;
use onewall_rules::{Engine, RuleSource};

use super::*;

const BASE: &str = r#"
title: failed login
id: fail
name: failed_login
detection: {sel: {event.outcome: failure}, condition: sel}
---
title: successful login
id: ok
name: successful_login
detection: {sel: {event.outcome: success}, condition: sel}
---
title: transfer
id: xfer
detection: {sel: {event.action: transfer}, condition: sel}
"#;

fn engine(corr: &str, config: SigmaConfig) -> SigmaCorrelator {
    let src = vec![RuleSource::new("t.yml", format!("{BASE}\n---\n{corr}"))];
    let (set, report) = load_correlations(&src);
    assert!(report.is_clean(), "{:?}", report.errors);
    let (rules, _) = Engine::compile(src);
    let (resolved, errors) = set.resolve(rules.rules());
    assert!(errors.is_empty(), "{errors:?}");
    SigmaCorrelator::new(resolved, config)
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn alert(rule: &str, at: i64, fields: &[(&str, &str)]) -> Alert {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(u128::from(n)),
        time: t(at),
        created: t(at),
        rule: RuleRef {
            id: rule.into(),
            title: rule.into(),
            level: Severity::Low,
            status: None,
            tags: vec![],
        },
        severity: Severity::Low,
        event_ids: vec![EventId::from_u128(u128::from(n))],
        entities: vec![],
        region: RegionCode::HENAN,
        matched: fields
            .iter()
            .map(|(f, v)| MatchedField {
                field: (*f).into(),
                value: (*v).into(),
                selection: None,
            })
            .collect(),
        drill: None,
    }
}

fn run(c: &mut SigmaCorrelator, alerts: &[Alert]) -> Vec<Alert> {
    c.process(alerts, &NoEvents, t(100_000))
}

fn value(a: &Alert, field: &str) -> String {
    a.matched
        .iter()
        .find(|m| m.field == field)
        .map(|m| m.value.clone())
        .unwrap_or_default()
}

const COUNT: &str = r#"
title: many failures
id: many
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [source.ip]
    timespan: 60s
    condition: {gte: 3}
"#;

#[test]
fn event_count_window_edges() {
    let mut c = engine(COUNT, SigmaConfig::default());
    let ip = [("source.ip", "10.0.0.1")];
    // 0, 30, 61: the first falls out of the window ending at 61 (61 - 60 = 1 > 0).
    assert!(run(&mut c, &[alert("fail", 0, &ip), alert("fail", 30, &ip)]).is_empty());
    assert!(run(&mut c, &[alert("fail", 61, &ip)]).is_empty());
    // 90: window [30, 90] holds 30, 61, 90: fires exactly at the edge of the span.
    let fired = run(&mut c, &[alert("fail", 90, &ip)]);
    assert_eq!(fired.len(), 1);
    let a = &fired[0];
    assert_eq!(a.rule.id, "many");
    assert_eq!(a.rule.level, Severity::High, "level defaults to high");
    assert_eq!(a.time, t(90));
    assert_eq!(value(a, "source.ip"), "10.0.0.1");
    assert_eq!(value(a, MEASURED_VALUE), "3");
    assert_eq!(a.event_ids.len(), 3);
    let listed = a
        .matched
        .iter()
        .filter(|m| m.field == CONTRIBUTING_ALERT)
        .count();
    assert_eq!(listed, 3);
    assert!(
        a.entities
            .contains(&Entity::new(EntityKind::SourceIp, "10.0.0.1"))
    );
    // Window boundary is inclusive on both ends: [0, 60] holds 0 and 60.
    let mut c = engine(COUNT, SigmaConfig::default());
    let out = run(
        &mut c,
        &[
            alert("fail", 0, &ip),
            alert("fail", 59, &ip),
            alert("fail", 60, &ip),
        ],
    );
    assert_eq!(out.len(), 1);
}

#[test]
fn groups_are_separate_and_missing_fields_are_counted() {
    let mut c = engine(COUNT, SigmaConfig::default());
    let a = [("source.ip", "10.0.0.1")];
    let b = [("source.ip", "10.0.0.2")];
    let out = run(
        &mut c,
        &[
            alert("fail", 0, &a),
            alert("fail", 1, &b),
            alert("fail", 2, &a),
            alert("fail", 3, &b),
            alert("fail", 4, &[]),
        ],
    );
    assert!(out.is_empty());
    assert_eq!(c.stats().missing_field, 1);
    assert_eq!(c.keys(), 2);
    assert_eq!(run(&mut c, &[alert("fail", 5, &b)]).len(), 1);
}

#[test]
fn late_events_within_lateness_count_and_beyond_are_dropped() {
    let config = SigmaConfig {
        allowed_lateness_secs: 30,
        ..Default::default()
    };
    let mut c = engine(COUNT, config);
    let ip = [("source.ip", "10.0.0.1")];
    assert!(run(&mut c, &[alert("fail", 100, &ip), alert("fail", 150, &ip)]).is_empty());
    // 20 s late (watermark 150, lateness 30): accepted, and completes the window [90, 150].
    let out = run(&mut c, &[alert("fail", 130, &ip)]);
    assert_eq!(out.len(), 1, "a late event completes a window");
    assert_eq!(out[0].time, t(150), "the window ends at the latest entry");
    // 31 s behind the watermark: dropped.
    assert!(run(&mut c, &[alert("fail", 119, &ip)]).is_empty());
    assert_eq!(c.stats().late, 1);
}

#[test]
fn suppression_after_firing() {
    let mut c = engine(COUNT, SigmaConfig::default());
    let ip = [("source.ip", "10.0.0.1")];
    let burst: Vec<Alert> = (0..9).map(|i| alert("fail", i, &ip)).collect();
    // Nine in ten seconds: fires once (the window is consumed, then quiet for the timespan).
    assert_eq!(run(&mut c, &burst).len(), 1);
    // Three more after the quiet time (fired at 2, quiet until 62): fires again.
    let later: Vec<Alert> = (70..73).map(|i| alert("fail", i, &ip)).collect();
    assert_eq!(run(&mut c, &later).len(), 1);

    // With suppression off, every completed window fires: 9 alerts, 3 windows.
    let config = SigmaConfig {
        suppress_secs: Some(0),
        ..Default::default()
    };
    let mut c = engine(COUNT, config);
    let burst: Vec<Alert> = (0..9).map(|i| alert("fail", i, &ip)).collect();
    assert_eq!(run(&mut c, &burst).len(), 3);

    // A rule's own `suppress` wins over the default.
    let own = COUNT.replace("timespan: 60s", "timespan: 60s\n    suppress: 1h");
    let mut c = engine(&own, SigmaConfig::default());
    let burst: Vec<Alert> = (0..3)
        .chain(100..103)
        .map(|i| alert("fail", i, &ip))
        .collect();
    assert_eq!(run(&mut c, &burst).len(), 1, "quiet for an hour");
}

#[test]
fn value_count_distinct_users_per_source() {
    let rule = r#"
title: spraying
id: spray
correlation:
    type: value_count
    rules: [fail]
    group-by: [source.ip]
    timespan: 5m
    condition: {field: user.name, gte: 3}
"#;
    let mut c = engine(rule, SigmaConfig::default());
    let f = |at, user| {
        alert(
            "fail",
            at,
            &[("source.ip", "10.0.0.9"), ("user.name", user)],
        )
    };
    assert!(
        run(
            &mut c,
            &[f(0, "alice"), f(1, "alice"), f(2, "bob"), f(3, "bob")]
        )
        .is_empty()
    );
    let out = run(&mut c, &[f(4, "carol")]);
    assert_eq!(out.len(), 1);
    assert_eq!(value(&out[0], MEASURED_VALUE), "3");
}

#[test]
fn temporal_any_order_and_ordered() {
    let any = r#"
title: both
id: both
correlation:
    type: temporal
    rules: [successful_login, failed_login]
    group-by: [user.name]
    timespan: 10m
"#;
    let mut c = engine(any, SigmaConfig::default());
    let u = [("user.name", "root")];
    let out = run(&mut c, &[alert("ok", 0, &u), alert("fail", 60, &u)]);
    assert_eq!(out.len(), 1, "temporal: any order");

    let ordered = any.replace("type: temporal", "type: temporal_ordered");
    let mut c = engine(&ordered, SigmaConfig::default());
    // Failure first, then success: wrong order for [successful_login, failed_login].
    assert!(run(&mut c, &[alert("fail", 0, &u), alert("ok", 60, &u)]).is_empty());
    // A failure after the success completes the order.
    assert_eq!(run(&mut c, &[alert("fail", 120, &u)]).len(), 1);
    // Out of the window: success at 1000, failure at 1601.
    let mut c = engine(&ordered, SigmaConfig::default());
    assert!(run(&mut c, &[alert("ok", 1000, &u), alert("fail", 1601, &u)]).is_empty());
}

#[test]
fn group_by_with_aliases() {
    let rule = r#"
title: failure then success, same address seen as source and as client
id: alias
correlation:
    type: temporal_ordered
    rules: [failed_login, successful_login]
    group-by: [attacker]
    timespan: 10m
    aliases:
        attacker:
            failed_login: source.ip
            successful_login: client.ip
"#;
    let mut c = engine(rule, SigmaConfig::default());
    let out = run(
        &mut c,
        &[
            alert("fail", 0, &[("source.ip", "203.0.113.5")]),
            alert("ok", 5, &[("client.ip", "198.51.100.1")]),
        ],
    );
    assert!(out.is_empty(), "different addresses");
    let out = run(&mut c, &[alert("ok", 9, &[("client.ip", "203.0.113.5")])]);
    assert_eq!(out.len(), 1);
    assert_eq!(value(&out[0], "attacker"), "203.0.113.5");
}

#[test]
fn numeric_value_types() {
    let sum = r#"
title: exfil
id: exfil
correlation:
    type: value_sum
    rules: [xfer]
    group-by: [host.name]
    timespan: 1h
    condition: {field: bytes, gt: 1000}
"#;
    let b = |at, n: &str| alert("xfer", at, &[("host.name", "db01"), ("bytes", n)]);
    let mut c = engine(sum, SigmaConfig::default());
    assert!(
        run(&mut c, &[b(0, "400"), b(10, "600")]).is_empty(),
        "1000 is not > 1000"
    );
    assert!(run(&mut c, &[b(20, "not a number")]).is_empty());
    assert_eq!(c.stats().missing_field, 1);
    let out = run(&mut c, &[b(30, "1")]);
    assert_eq!(value(&out[0], MEASURED_VALUE), "1001");

    let avg = sum
        .replace("value_sum", "value_avg")
        .replace("gt: 1000", "gte: 500, lt: 600");
    let mut c = engine(&avg, SigmaConfig::default());
    assert!(run(&mut c, &[b(0, "100")]).is_empty());
    let out = run(&mut c, &[b(1, "1000")]);
    assert_eq!(
        value(&out[0], MEASURED_VALUE),
        "550",
        "a range: 500 <= avg < 600"
    );

    let pct = sum
        .replace("value_sum", "value_percentile")
        .replace("gt: 1000", "percentile: 90, gte: 900");
    let mut c = engine(&pct, SigmaConfig::default());
    let small: Vec<Alert> = (0..9).map(|i| b(i, "10")).collect();
    assert!(run(&mut c, &small).is_empty());
    // Ten values, nine of 10 and one of 950: the 90th percentile (nearest rank 9) is 10.
    assert!(run(&mut c, &[b(20, "950")]).is_empty());
    // Eleven: rank ceil(9.9) = 10 is 950.
    assert_eq!(run(&mut c, &[b(21, "960")]).len(), 1);
}

#[test]
fn chained_correlations() {
    let chain = r#"
title: brute force then success
id: chain
correlation:
    type: temporal_ordered
    rules: [bursts, successful_login]
    group-by: [source.ip]
    timespan: 10m
---
title: bursts of failures
id: bursts
name: bursts
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [source.ip]
    timespan: 1m
    condition: {gte: 3}
"#;
    let mut c = engine(chain, SigmaConfig::default());
    assert_eq!(c.rule_count(), 2);
    let ip = [("source.ip", "203.0.113.7")];
    let mut batch: Vec<Alert> = (0..3).map(|i| alert("fail", i, &ip)).collect();
    batch.push(alert("ok", 30, &ip));
    let out = run(&mut c, &batch);
    let ids: Vec<&str> = out.iter().map(|a| a.rule.id.as_str()).collect();
    assert_eq!(ids, ["bursts", "chain"]);
    // The chained alert lists the inner correlation alert and the success as contributors.
    let contributors: Vec<String> = out[1]
        .matched
        .iter()
        .filter(|m| m.field == CONTRIBUTING_ALERT)
        .map(|m| m.value.clone())
        .collect();
    assert!(contributors.contains(&out[0].id.to_string()));
    assert_eq!(contributors.len(), 2);
    // A success without the burst before it: nothing.
    let mut c = engine(chain, SigmaConfig::default());
    assert!(run(&mut c, &[alert("ok", 0, &ip)]).is_empty());
}

#[test]
fn generate_false_makes_base_rules_quiet() {
    let mut c = engine(COUNT, SigmaConfig::default());
    assert!(c.is_quiet("fail"));
    assert!(!c.is_quiet("ok"));
    let loud = COUNT.replace("timespan: 60s", "timespan: 60s\n    generate: true");
    c = engine(&loud, SigmaConfig::default());
    assert!(!c.is_quiet("fail"));
}

#[test]
fn state_stays_within_the_key_bound_under_a_flood_of_unique_keys() {
    let config = SigmaConfig {
        max_keys_per_rule: 1000,
        ..Default::default()
    };
    let mut c = engine(COUNT, config);
    let mut peak_bytes = 0;
    for round in 0..50 {
        let batch: Vec<Alert> = (0..2000)
            .map(|i| {
                let ip = format!("10.{}.{}.{}", round, i / 256, i % 256);
                alert("fail", round, &[("source.ip", ip.as_str())])
            })
            .collect();
        run(&mut c, &batch);
        assert!(c.keys() <= 1000, "round {round}: {} keys", c.keys());
        peak_bytes = peak_bytes.max(c.state_bytes());
    }
    assert_eq!(c.stats().evicted, 50 * 2000 - 1000);
    // 1000 keys of one entry each: far below a megabyte; a leak of the touch queue or of
    // evicted groups would grow with the 100 000 keys seen.
    assert!(peak_bytes < 1_000_000, "{peak_bytes} bytes");
    // The most recent keys survived: one more failure of a recent key is counted with it.
    let recent = [("source.ip", "10.49.7.207")];
    assert!(run(&mut c, &[alert("fail", 49, &recent)]).is_empty());
    assert_eq!(run(&mut c, &[alert("fail", 49, &recent)]).len(), 1);
}

#[test]
fn snapshot_survives_a_restart() {
    let mut c = engine(COUNT, SigmaConfig::default());
    let ip = [("source.ip", "10.0.0.1")];
    run(&mut c, &[alert("fail", 0, &ip), alert("fail", 1, &ip)]);
    let bytes = c.snapshot().to_bytes();

    let mut after = engine(COUNT, SigmaConfig::default());
    let snap = Snapshot::from_bytes(&bytes).expect("snapshot");
    assert_eq!(after.restore(snap), 1);
    assert_eq!(run(&mut after, &[alert("fail", 2, &ip)]).len(), 1);
    // The watermark came back too: an event far behind it is late.
    assert!(run(&mut after, &[alert("fail", -1000, &ip)]).is_empty());
    assert_eq!(after.stats().late, 1);

    let err = Snapshot::from_bytes(b"{\"version\":9,\"rules\":[]}").unwrap_err();
    assert!(err.to_string().contains("version 9"), "{err}");
    assert!(Snapshot::from_bytes(b"garbage").is_err());
}

fn resolved(corr: &str) -> Vec<ResolvedCorrelation> {
    let src = vec![RuleSource::new("t.yml", format!("{BASE}\n---\n{corr}"))];
    let (set, _) = load_correlations(&src);
    let (rules, _) = Engine::compile(src);
    set.resolve(rules.rules()).0
}

const DISTINCT_USERS: &str = r#"
title: spraying
id: spray
correlation:
    type: value_count
    rules: [failed_login]
    group-by: [source.ip]
    timespan: 60s
    condition: {field: user.name, gte: 3}
"#;

#[test]
fn reload_keeps_unchanged_state_and_drops_changed_and_removed() {
    let mut c = engine(
        &format!("{COUNT}\n---\n{DISTINCT_USERS}"),
        SigmaConfig::default(),
    );
    let ip = [("source.ip", "10.0.0.1"), ("user.name", "a")];
    run(&mut c, &[alert("fail", 0, &ip), alert("fail", 1, &ip)]);
    assert_eq!(c.keys(), 2);

    // The same definitions, read from another file: nothing is lost.
    let same = resolved(&format!("{COUNT}\n---\n{DISTINCT_USERS}"));
    let out = c.reload(same);
    assert_eq!((out.kept, out.dropped_groups), (2, 0), "{out:?}");
    assert_eq!(c.keys(), 2);

    // `many` unchanged (its window holds two failures), `spray` changed, a new one added.
    let changed = DISTINCT_USERS.replace("gte: 3", "gte: 2");
    let added = COUNT
        .replace("id: many", "id: more")
        .replace("gte: 3", "gte: 1");
    let out = c.reload(resolved(&format!("{COUNT}\n---\n{changed}\n---\n{added}")));
    assert_eq!(out.kept, 1, "{out:?}");
    assert_eq!(out.changed, vec!["spray".to_string()]);
    assert_eq!(out.added, vec!["more".to_string()]);
    assert_eq!(out.dropped_groups, 1);
    // The third failure completes `many` (two kept + one); `spray` starts over, so one more
    // user is not two distinct ones; `more` fires on its first alert.
    let fired = run(
        &mut c,
        &[alert(
            "fail",
            2,
            &[("source.ip", "10.0.0.1"), ("user.name", "a")],
        )],
    );
    let mut ids: Vec<&str> = fired.iter().map(|a| a.rule.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["many", "more"]);

    // Removed: its state goes, counted.
    run(&mut c, &[alert("fail", 3, &ip)]);
    let out = c.reload(resolved(COUNT));
    assert_eq!(out.removed, vec!["more".to_string(), "spray".to_string()]);
    assert!(out.dropped_groups >= 1, "{out:?}");
    assert_eq!(c.rule_count(), 1);
}

#[test]
fn a_snapshot_of_a_changed_definition_is_not_restored() {
    let mut c = engine(COUNT, SigmaConfig::default());
    let ip = [("source.ip", "10.0.0.1")];
    run(&mut c, &[alert("fail", 0, &ip)]);
    let snap = c.snapshot();
    let mut changed = engine(&COUNT.replace("60s", "120s"), SigmaConfig::default());
    assert_eq!(changed.restore(snap.clone()), 0);
    let mut same = engine(COUNT, SigmaConfig::default());
    assert_eq!(same.restore(snap), 1);
}

#[test]
fn an_alert_delivered_again_counts_once_and_the_window_fires_with_the_same_id() {
    let ip = [("source.ip", "10.0.0.9")];
    let first = [alert("fail", 0, &ip), alert("fail", 10, &ip)];
    let mut c = engine(COUNT, SigmaConfig::default());
    assert!(run(&mut c, &first).is_empty());
    // A replay delivers both again: still two alerts in the window, nothing fires.
    assert!(run(&mut c, &first).is_empty(), "a repeat counted again");
    assert_eq!(c.stats().accepted, 2);
    let third = alert("fail", 20, &ip);
    let fired = run(&mut c, std::slice::from_ref(&third));
    assert_eq!(fired.len(), 1);
    // Another engine fed the same alerts (a restart that replays them) raises the same id.
    let mut again = engine(COUNT, SigmaConfig::default());
    let refired = run(&mut again, &[first[0].clone(), first[1].clone(), third]);
    assert_eq!(refired.len(), 1);
    assert_eq!(refired[0].id, fired[0].id);
}

#[test]
fn eviction_stays_least_recently_touched_after_the_touch_queue_is_compacted() {
    let rule = COUNT.replace("{gte: 3}", "{gte: 100000}");
    let config = SigmaConfig {
        max_keys_per_rule: 2,
        ..Default::default()
    };
    let mut c = engine(&rule, config);
    let a = [("source.ip", "10.0.0.1")];
    let b = [("source.ip", "10.0.0.2")];
    run(&mut c, &[alert("fail", 0, &a), alert("fail", 1, &b)]);
    // 1100 more touches of A: the queue passes 2 × keys + 1024 pairs and is compacted.
    for i in 0..1100 {
        run(&mut c, &[alert("fail", 2 + i / 100, &a)]);
    }
    let order = &c.rules[0].order;
    assert!(
        order.len() < 1028,
        "queue not compacted: {} pairs",
        order.len()
    );
    // B's one pair is kept, first; A's stale pairs from before the compaction are gone.
    assert_eq!(&*order[0].0, "10.0.0.2");
    assert_eq!(order.iter().filter(|(k, _)| &**k == "10.0.0.2").count(), 1);
    assert!(order.len() < 100, "{} pairs", order.len());
    // A new key evicts B, the least recently touched, not A.
    run(&mut c, &[alert("fail", 20, &[("source.ip", "10.0.0.3")])]);
    assert_eq!(c.stats().evicted, 1);
    let groups = &c.rules[0].groups;
    assert!(groups.contains_key("10.0.0.1") && groups.contains_key("10.0.0.3"));
    assert!(!groups.contains_key("10.0.0.2"));
    assert_eq!(groups["10.0.0.1"].entries.len(), 1101);
}
