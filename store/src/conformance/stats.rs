//! Statistics: histograms, top values and sources, in scope (regions, department, source)
//! and under retention. Ranges are whole hours, so backends that count events by minute or
//! by hour agree with those that count them one by one.

use onewall_model::event::names;
use onewall_model::{Entity, EntityKind, Event, RegionCode, Severity, Source, Timestamp};

use super::{alert, day0, event, incident, region, write};
use crate::Store;
use crate::StoreError;
use crate::stats::{Histogram, SourceStat, StatsKind, StatsQuery, Top, TopField};

const MIN: i64 = 60;

fn at(min: i64) -> Timestamp {
    day0().add_secs(10 * 3600 + min * MIN)
}

/// A top's items as (value, count).
fn pairs(top: &Top) -> Vec<(&str, u64)> {
    top.items
        .iter()
        .map(|i| (i.value.as_str(), i.count))
        .collect()
}

/// An event at minute `min` after 10:00 of day 0 in `reg`, from `peer`, of department
/// `dept`, with `src` and `user` as its source address and user.
fn ev(min: i64, reg: u32, peer: &str, dept: Option<&str>, src: &str, user: &str) -> Event {
    let mut e = event(at(min).add_secs(7), &format!("login {user} from {src}"));
    e.region = region(reg);
    e.source = Source::new("syslog_udp", peer.parse().ok());
    e.fields.insert(names::SOURCE_IP, src);
    e.fields.insert(names::USER_NAME, user);
    if let Some(d) = dept {
        e.fields.insert(crate::stats::DEPARTMENT_FIELD, d);
    }
    e
}

/// 410100 (Zhengzhou): 3 events in minute 0 (one a parse error), 2 in minute 5, department
/// `edu` for three of them; 410300 (Luoyang): 4 events in minute 65 from another peer.
fn sample() -> Vec<Event> {
    let mut broken = ev(0, 410100, "192.0.2.7:514", Some("edu"), "10.0.0.1", "alice");
    broken.parse_error = Some("bad header".into());
    vec![
        broken,
        ev(0, 410100, "192.0.2.7:514", Some("edu"), "10.0.0.1", "alice"),
        ev(0, 410100, "192.0.2.7:514", None, "10.0.0.2", "bob"),
        ev(5, 410100, "192.0.2.7:514", Some("edu"), "10.0.0.1", "bob"),
        ev(5, 410100, "192.0.2.7:514", None, "10.0.0.3", "alice"),
        ev(65, 410300, "192.0.2.9:514", None, "10.9.9.9", "carol"),
        ev(65, 410300, "192.0.2.9:514", None, "10.9.9.9", "carol"),
        ev(65, 410300, "192.0.2.9:514", None, "10.9.9.9", "dave"),
        ev(65, 410300, "192.0.2.9:514", None, "10.9.9.8", "carol"),
    ]
}

fn q(kind: StatsKind) -> StatsQuery {
    StatsQuery::new(kind, at(0), at(120))
}

fn zz() -> Vec<RegionCode> {
    vec![region(410100)]
}

/// The store's histogram, or the test fails naming the error.
async fn read_histogram(store: &dyn Store, q: StatsQuery, interval_secs: i64) -> Histogram {
    store
        .stats_histogram(q, interval_secs)
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"))
}

/// The store's top values, or the test fails naming the error.
async fn read_top(store: &dyn Store, q: StatsQuery, field: TopField, limit: usize) -> Top {
    store
        .stats_top(q, field, limit)
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"))
}

/// The store's sources, or the test fails naming the error.
async fn read_sources(store: &dyn Store, q: StatsQuery) -> Vec<SourceStat> {
    store
        .stats_sources(q)
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"))
}

/// Event histograms count every event once (a duplicate id does not count), in every
/// interval of the range, and follow region, department, source, text and field filters.
pub async fn stats_event_histogram_in_scope(store: &dyn Store) {
    let events = sample();
    write(store, events.clone()).await;
    write(store, events[..2].to_vec()).await;
    let h = read_histogram(store, q(StatsKind::Events), 60 * MIN).await;
    assert_eq!(h.buckets, vec![5, 4], "per hour: {h:?}");
    assert_eq!(h.start, at(0));
    let h = read_histogram(store, q(StatsKind::Events), 5 * MIN).await;
    assert_eq!(h.buckets.len(), 24);
    assert_eq!((h.buckets[0], h.buckets[1], h.buckets[13]), (3, 2, 4));
    assert_eq!(h.total(), 9);

    // A range across an hour's edge, in minutes: 10:05 to 11:06.
    let edges = StatsQuery::new(StatsKind::Events, at(5), at(66));
    let h = read_histogram(store, edges.clone(), 60 * MIN).await;
    assert_eq!(h.buckets, vec![2, 4], "10:05 to 11:06: {h:?}");
    let sources = read_sources(store, edges).await;
    let counts: Vec<u64> = sources.iter().map(|s| s.count).collect();
    assert_eq!(counts, [2, 4], "sources from 10:05 to 11:06: {sources:?}");

    let scoped = StatsQuery {
        regions: zz(),
        ..q(StatsKind::Events)
    };
    let h = read_histogram(store, scoped.clone(), 60 * MIN).await;
    assert_eq!(h.buckets, vec![5, 0], "Zhengzhou only: {h:?}");
    let dept = StatsQuery {
        department: Some("edu".into()),
        ..scoped.clone()
    };
    let h = read_histogram(store, dept, 60 * MIN).await;
    assert_eq!(h.buckets, vec![3, 0], "department edu: {h:?}");
    let by_source = StatsQuery {
        source: Some("syslog_udp 192.0.2.9".into()),
        ..q(StatsKind::Events)
    };
    let h = read_histogram(store, by_source, 60 * MIN).await;
    assert_eq!(h.buckets, vec![0, 4], "one source: {h:?}");
    let text = StatsQuery {
        text: Some("carol".into()),
        ..q(StatsKind::Events)
    };
    let h = read_histogram(store, text, 60 * MIN).await;
    assert_eq!(h.buckets, vec![0, 3], "text carol: {h:?}");
    let filtered = StatsQuery {
        filters: vec![("user.name".into(), "alice".into())],
        ..scoped
    };
    let h = read_histogram(store, filtered, 60 * MIN).await;
    assert_eq!(h.buckets, vec![3, 0], "user.name alice: {h:?}");
}

/// Top values of events: counts, distinct values and the rest, in scope.
pub async fn stats_event_top_in_scope(store: &dyn Store) {
    write(store, sample()).await;
    let top = read_top(store, q(StatsKind::Events), TopField::SourceIp, 2).await;
    let items = pairs(&top);
    assert_eq!(items, [("10.0.0.1", 3), ("10.9.9.9", 3)], "{top:?}");
    assert_eq!((top.distinct, top.other), (5, 3), "{top:?}");

    let scoped = StatsQuery {
        regions: zz(),
        ..q(StatsKind::Events)
    };
    let top = read_top(store, scoped.clone(), TopField::UserName, 10).await;
    let items = pairs(&top);
    assert_eq!(
        items,
        [("alice", 3), ("bob", 2)],
        "Zhengzhou's users: {top:?}"
    );
    let dept = StatsQuery {
        department: Some("edu".into()),
        ..scoped
    };
    let top = read_top(store, dept, TopField::UserName, 10).await;
    let items = pairs(&top);
    assert_eq!(items, [("alice", 2), ("bob", 1)], "department edu: {top:?}");

    let top = read_top(store, q(StatsKind::Events), TopField::Region, 10).await;
    let items = pairs(&top);
    assert_eq!(items, [("410100", 5), ("410300", 4)], "{top:?}");
    let top = read_top(store, q(StatsKind::Events), TopField::Source, 10).await;
    assert_eq!(top.items[0].value, "syslog_udp 192.0.2.7", "{top:?}");
    let top = read_top(store, q(StatsKind::Events), TopField::Rule, 10).await;
    assert!(top.items.is_empty(), "events have no rule: {top:?}");
}

/// Each source's events, parse errors and latest event, in scope.
pub async fn stats_event_sources(store: &dyn Store) {
    write(store, sample()).await;
    let sources = read_sources(store, q(StatsKind::Events)).await;
    assert_eq!(sources.len(), 2, "{sources:?}");
    let zz = &sources[0];
    assert_eq!(zz.source, "syslog_udp 192.0.2.7");
    assert_eq!((zz.count, zz.parse_errors), (5, 1), "{zz:?}");
    assert_eq!(zz.region, region(410100));
    assert_eq!(zz.last_seen, at(5).add_secs(7));
    let ly = &sources[1];
    assert_eq!((ly.source.as_str(), ly.count), ("syslog_udp 192.0.2.9", 4));
    assert_eq!(ly.region, region(410300));

    let scoped = StatsQuery {
        regions: vec![region(410300)],
        ..q(StatsKind::Events)
    };
    let sources = read_sources(store, scoped).await;
    assert_eq!(sources.len(), 1, "Luoyang only: {sources:?}");
    let dept = StatsQuery {
        department: Some("edu".into()),
        ..q(StatsKind::Events)
    };
    let sources = read_sources(store, dept).await;
    assert_eq!((sources.len(), sources[0].count), (1, 3), "{sources:?}");

    // Ranges of whole hours and minutes at their edges: 10:03 to 12:00 (10:05's two events
    // and the hour of 11:00), 10:00 to 11:06 (the hour of 10:00 and 11:05's four events).
    let late_start = StatsQuery::new(StatsKind::Events, at(3), at(120));
    let sources = read_sources(store, late_start).await;
    let counts: Vec<_> = sources.iter().map(|s| (s.count, s.parse_errors)).collect();
    assert_eq!(counts, [(2, 0), (4, 0)], "{sources:?}");
    assert_eq!(sources[0].last_seen, at(5).add_secs(7));
    let early_end = StatsQuery::new(StatsKind::Events, at(0), at(66));
    let sources = read_sources(store, early_end).await;
    let counts: Vec<_> = sources.iter().map(|s| (s.count, s.parse_errors)).collect();
    assert_eq!(counts, [(5, 1), (4, 0)], "{sources:?}");
    assert_eq!(sources[1].region, region(410300));
}

/// The alerts of [`stats_alerts_in_scope`] over a range of a whole hour and two partial ones
/// (10:02 to 12:10): the alerts of 10:02 and 11:10 count, that of 10:01 does not.
async fn ragged_alert_tops(store: &dyn Store) {
    let ragged = StatsQuery {
        from: at(2),
        to: at(130),
        ..q(StatsKind::Alerts)
    };
    let top = read_top(store, ragged.clone(), TopField::SourceIp, 5).await;
    let items = pairs(&top);
    assert_eq!(
        items,
        [("198.51.100.1", 1), ("203.0.113.5", 1)],
        "10:02 to 12:10: {top:?}"
    );
    let top = read_top(store, ragged.clone(), TopField::Severity, 5).await;
    assert_eq!((top.distinct, top.items.len()), (2, 2), "{top:?}");
    let high = StatsQuery {
        min_severity: Some(Severity::Medium),
        ..ragged.clone()
    };
    let top = read_top(store, high, TopField::Region, 5).await;
    assert_eq!(
        (
            top.items.len(),
            top.items[0].value.as_str(),
            top.items[0].count
        ),
        (1, "410100", 1),
        "medium and above, 10:02 to 12:10: {top:?}"
    );
    let luoyang = StatsQuery {
        regions: vec![region(410300)],
        ..ragged
    };
    let top = read_top(store, luoyang, TopField::Rule, 5).await;
    assert_eq!(
        (
            top.items.len(),
            top.items[0].value.as_str(),
            top.items[0].count
        ),
        (1, "web-scan", 1),
        "Luoyang, 10:02 to 12:10: {top:?}"
    );
}

/// Alert histograms and top values (rule with title, severity, region, entities, tactics),
/// with severity, rule and region conditions.
pub async fn stats_alerts_in_scope(store: &dyn Store) {
    let mut a1 = alert(at(1), "ssh-brute", Severity::High, region(410100));
    a1.rule.tags = vec!["attack.credential_access".into(), "attack.t1110".into()];
    a1.entities = vec![
        Entity::new(EntityKind::SourceIp, "203.0.113.5"),
        Entity::new(EntityKind::Host, "web01"),
        Entity::new(EntityKind::User, "110105194912310025"),
    ];
    let mut a2 = alert(at(2), "ssh-brute", Severity::High, region(410100));
    a2.entities = vec![Entity::new(EntityKind::SourceIp, "203.0.113.5")];
    let mut a3 = alert(at(70), "web-scan", Severity::Low, region(410300));
    a3.rule.tags = vec!["attack.reconnaissance".into()];
    a3.entities = vec![Entity::new(EntityKind::SourceIp, "198.51.100.1")];
    let old = alert(at(-30), "ssh-brute", Severity::Critical, region(410100));
    store
        .write_alerts(vec![a1.clone(), a2, a3, old])
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"));
    store
        .write_alerts(vec![a1])
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"));

    let h = read_histogram(store, q(StatsKind::Alerts), 60 * MIN).await;
    assert_eq!(h.buckets, vec![2, 1], "{h:?}");
    let high = StatsQuery {
        min_severity: Some(Severity::Medium),
        ..q(StatsKind::Alerts)
    };
    let h = read_histogram(store, high, 60 * MIN).await;
    assert_eq!(h.buckets, vec![2, 0], "medium and above: {h:?}");
    let scoped = StatsQuery {
        regions: vec![region(410300)],
        ..q(StatsKind::Alerts)
    };
    let h = read_histogram(store, scoped.clone(), 60 * MIN).await;
    assert_eq!(h.buckets, vec![0, 1], "Luoyang: {h:?}");

    let top = read_top(store, q(StatsKind::Alerts), TopField::Rule, 10).await;
    assert_eq!(top.items[0].value, "ssh-brute");
    assert_eq!(top.items[0].count, 2);
    assert_eq!(top.items[0].title.as_deref(), Some("rule ssh-brute"));
    assert_eq!(top.distinct, 2);
    let top = read_top(store, q(StatsKind::Alerts), TopField::SourceIp, 1).await;
    assert_eq!(
        (top.items[0].value.as_str(), top.items[0].count, top.other),
        ("203.0.113.5", 2, 1),
        "{top:?}"
    );
    let top = read_top(store, q(StatsKind::Alerts), TopField::UserName, 5).await;
    assert_eq!(top.items[0].value, "110105194912310025");
    let top = read_top(store, q(StatsKind::Alerts), TopField::Tactic, 5).await;
    let items = pairs(&top);
    assert_eq!(
        items,
        [("credential-access", 1), ("reconnaissance", 1)],
        "{top:?}"
    );
    let top = read_top(store, q(StatsKind::Alerts), TopField::Severity, 5).await;
    let items = pairs(&top);
    assert_eq!(items, [("high", 2), ("low", 1)], "{top:?}");
    let top = read_top(store, scoped, TopField::SourceIp, 5).await;
    assert_eq!(top.items.len(), 1, "Luoyang's attackers: {top:?}");
    assert_eq!(top.items[0].value, "198.51.100.1");
    let by_rule = StatsQuery {
        rule_id: Some("web-scan".into()),
        ..q(StatsKind::Alerts)
    };
    let top = read_top(store, by_rule, TopField::Region, 5).await;
    assert_eq!(top.items[0].value, "410300", "{top:?}");

    ragged_alert_tops(store).await;

    // A month later (ClickHouse drops alerts by the month): none of them counts.
    store
        .drop_alerts_before(day0().add_secs(40 * 86_400))
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"));
    let top = read_top(store, q(StatsKind::Alerts), TopField::SourceIp, 5).await;
    assert!(
        top.items.is_empty(),
        "dropped alerts count no more: {top:?}"
    );
}

/// Incident histograms (by first seen) and top values, in scope.
pub async fn stats_incidents_in_scope(store: &dyn Store) {
    // `incident` makes them first seen an hour before their update: minutes 0, 1 and 70.
    let i1 = incident(at(60), Severity::High, region(410100));
    let mut i2 = incident(at(61), Severity::Low, region(410300));
    i2.classification.tactics = vec!["reconnaissance".into()];
    let mut i3 = incident(at(130), Severity::Critical, region(410100));
    i3.rule_ids = vec!["web-scan".into()];
    store
        .upsert_incidents(vec![i1, i2, i3])
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"));
    let h = read_histogram(store, q(StatsKind::Incidents), 60 * MIN).await;
    assert_eq!(h.buckets, vec![2, 1], "by first seen: {h:?}");
    let scoped = StatsQuery {
        regions: zz(),
        ..q(StatsKind::Incidents)
    };
    let h = read_histogram(store, scoped.clone(), 60 * MIN).await;
    assert_eq!(h.buckets, vec![1, 1], "{h:?}");
    let top = read_top(store, scoped, TopField::Severity, 5).await;
    let items = pairs(&top);
    assert_eq!(items, [("critical", 1), ("high", 1)], "{top:?}");
    let top = read_top(store, q(StatsKind::Incidents), TopField::Rule, 5).await;
    assert_eq!(
        (top.items[0].value.as_str(), top.items[0].count),
        ("ssh-brute", 2)
    );
    let top = read_top(store, q(StatsKind::Incidents), TopField::HostName, 5).await;
    assert_eq!(
        (top.items[0].value.as_str(), top.items[0].count),
        ("web01", 3)
    );
}

/// Dropped days count no more; too many buckets or a bad interval is an invalid query.
pub async fn stats_follow_retention_and_refuse_bad_intervals(store: &dyn Store) {
    let mut events = sample();
    let mut late = ev(0, 410100, "192.0.2.7:514", None, "10.0.0.1", "alice");
    late.time = at(0).add_secs(86_400);
    events.push(late);
    write(store, events).await;
    let two_days = StatsQuery::new(StatsKind::Events, day0(), day0().add_secs(2 * 86_400));
    let h = read_histogram(store, two_days.clone(), 86_400).await;
    assert_eq!(h.buckets, vec![9, 1], "{h:?}");
    store
        .drop_events_before(day0().add_secs(86_400))
        .await
        .unwrap_or_else(|e| panic!("statistics: {e}"));
    let h = read_histogram(store, two_days.clone(), 86_400).await;
    assert_eq!(h.buckets, vec![0, 1], "day 0 was dropped: {h:?}");
    let top = read_top(store, two_days.clone(), TopField::UserName, 5).await;
    assert_eq!(top.distinct, 1, "{top:?}");
    let sources = read_sources(store, two_days.clone()).await;
    assert_eq!(sources.iter().map(|s| s.count).sum::<u64>(), 1);

    for (interval, what) in [(60, "too many buckets"), (90, "not whole minutes")] {
        let res = store.stats_histogram(two_days.clone(), interval).await;
        assert!(
            matches!(res, Err(StoreError::InvalidQuery(_))),
            "{what}: {res:?}"
        );
    }
}
