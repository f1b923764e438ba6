//! Conformance checks for [`Store::find_events`]: exact values however an address is spelled,
//! address ranges, domain suffixes at label boundaries, parts of values, time bounds and paging, on common
//! fields and on the others alike.

use std::net::IpAddr;

use onewall_model::event::names;
use onewall_model::{Event, EventId, Value};

use super::{day0, event, event_ids, newest_first, write};
use crate::{Page, Store, StoreError, ValueQuery};

fn ip(s: &str) -> Value {
    Value::Ip(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Every event `q` finds, following cursors, checking each page's size.
async fn found(store: &dyn Store, mut q: ValueQuery) -> Vec<Event> {
    let mut out = Vec::new();
    for _ in 0..super::MAX_PAGES {
        let Page { items, next_cursor } = store
            .find_events(q.clone())
            .await
            .unwrap_or_else(|e| panic!("find_events {q:?}: {e}"));
        assert!(items.len() <= crate::effective_limit(q.limit));
        out.extend(items);
        match next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("find_events never stopped returning cursors")
}

fn exact(field: &str, values: &[&str]) -> ValueQuery {
    ValueQuery {
        exact: vec![(
            field.to_owned(),
            values.iter().map(|v| (*v).to_owned()).collect(),
        )],
        ..ValueQuery::default()
    }
}

/// Eight events of one hour, each with a field or two the checks look for.
async fn written(store: &dyn Store) -> Vec<Event> {
    let t = day0().add_secs(5 * 3600);
    let mut events: Vec<Event> = (0..11)
        .map(|k| event(t.add_secs(k), &format!("f{k}")))
        .collect();
    let mut set = |k: usize, name: &str, v: Value| events[k].fields.insert(name, v);
    set(0, names::SOURCE_IP, ip("10.0.0.1"));
    set(1, names::DESTINATION_IP, ip("::ffff:10.0.0.1"));
    set(2, "client.ip", ip("2001:db8::1"));
    set(3, "client.ip", "10.0.0.1".into());
    set(4, "file.hash.sha256", "ABCDEF0123".into());
    set(5, "dns.question.name", "www.Example.COM".into());
    set(6, "dns.question.name", "badexample.com".into());
    set(6, names::HOST_NAME, "example.com".into());
    set(7, "dns.question.name", "example.com.evil".into());
    set(7, "client.ip", ip("192.168.10.20"));
    set(8, "tags", Value::List(vec!["10.0.0.1".into()]));
    set(8, names::SOURCE_IP, ip("192.168.255.255"));
    set(9, "note", "10.0.0.1 said hello".into());
    set(9, names::SOURCE_IP, ip("172.16.0.1"));
    set(
        10,
        "url.original",
        "http://CDN.evil.example:8080/a?b=10.0.0.1".into(),
    );
    write(store, events.clone()).await;
    events
}

fn ids(events: &[Event], ks: &[usize]) -> Vec<EventId> {
    let mut picked: Vec<Event> = ks.iter().map(|&k| events[k].clone()).collect();
    picked = newest_first(picked);
    event_ids(&picked)
}

/// Exact values: any spelling of an address, any ASCII case, the named fields only.
pub async fn find_events_by_exact_values(store: &dyn Store) {
    let events = written(store).await;
    let both_ips = |v: &[&str]| {
        let mut q = exact(names::SOURCE_IP, v);
        q.exact.push((
            names::DESTINATION_IP.to_owned(),
            v.iter().map(|s| (*s).to_owned()).collect(),
        ));
        q.exact.push((
            "client.ip".to_owned(),
            v.iter().map(|s| (*s).to_owned()).collect(),
        ));
        q
    };
    let cases: Vec<(&str, ValueQuery, &[usize])> = vec![
        ("an IPv4 address", both_ips(&["10.0.0.1"]), &[0, 1, 3]),
        (
            "its mapped spelling",
            both_ips(&["::FFFF:10.0.0.1"]),
            &[0, 1, 3],
        ),
        ("an IPv6 address", both_ips(&["2001:DB8:0::1"]), &[2]),
        ("no such address", both_ips(&["10.0.0.2"]), &[]),
        (
            "a hash in another case",
            exact("file.hash.sha256", &["abcdef0123"]),
            &[4],
        ),
        (
            "a part of a value",
            exact("file.hash.sha256", &["abcdef"]),
            &[],
        ),
        (
            "a name",
            exact("dns.question.name", &["WWW.example.com"]),
            &[5],
        ),
        (
            "a common field's name",
            exact(names::HOST_NAME, &["Example.com"]),
            &[6],
        ),
        ("a list holds nothing", exact("tags", &["10.0.0.1"]), &[]),
        ("another field", exact("note", &["10.0.0.1"]), &[]),
        (
            "an unknown field",
            exact("no.such.field", &["10.0.0.1"]),
            &[],
        ),
    ];
    for (what, q, want) in cases {
        let got = found(store, q).await;
        assert_eq!(event_ids(&got), ids(&events, want), "{what}");
    }
    // Several conditions: any one selects the event.
    let mut q = exact("file.hash.sha256", &["ABCDEF0123"]);
    q.exact
        .push(("client.ip".into(), vec!["2001:db8::1".into()]));
    let got = found(store, q).await;
    assert_eq!(
        event_ids(&got),
        ids(&events, &[2, 4]),
        "conditions are OR-ed"
    );
    let got = found(store, ValueQuery::default()).await;
    assert!(got.is_empty(), "a query without conditions finds nothing");
}

/// Address ranges (inclusive, mapped addresses as IPv4) and domain suffixes at label
/// boundaries.
pub async fn find_events_by_ranges_and_suffixes(store: &dyn Store) {
    let events = written(store).await;
    let fields = [names::SOURCE_IP, names::DESTINATION_IP, "client.ip", "note"];
    let range = |lo: &str, hi: &str| ValueQuery {
        ip_ranges: fields
            .iter()
            .map(|f| ((*f).to_owned(), addr(lo), addr(hi)))
            .collect(),
        ..ValueQuery::default()
    };
    let cases: Vec<(&str, ValueQuery, &[usize])> = vec![
        (
            "10.0.0.0/8",
            range("10.0.0.0", "10.255.255.255"),
            &[0, 1, 3],
        ),
        ("one address", range("10.0.0.1", "10.0.0.1"), &[0, 1, 3]),
        (
            "192.168.0.0/16",
            range("192.168.0.0", "192.168.255.255"),
            &[7, 8],
        ),
        (
            "the bounds are inclusive",
            range("192.168.10.20", "192.168.255.255"),
            &[7, 8],
        ),
        ("just past", range("192.168.10.21", "192.168.255.254"), &[]),
        (
            "mapped bounds",
            range("::ffff:172.16.0.0", "::ffff:172.31.255.255"),
            &[9],
        ),
        ("an IPv6 range", range("2001:db8::", "2001:db8::ffff"), &[2]),
        (
            "everything IPv4",
            range("0.0.0.0", "255.255.255.255"),
            &[0, 1, 3, 7, 8, 9],
        ),
        (
            "everything IPv6",
            range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            &[2],
        ),
    ];
    for (what, q, want) in cases {
        let got = found(store, q).await;
        assert_eq!(event_ids(&got), ids(&events, want), "range {what}");
    }
    let suffix = |s: &str| ValueQuery {
        suffixes: vec![
            ("dns.question.name".to_owned(), vec![s.to_owned()]),
            (names::HOST_NAME.to_owned(), vec![s.to_owned()]),
        ],
        ..ValueQuery::default()
    };
    let cases: Vec<(&str, &[usize])> = vec![
        ("example.com", &[5, 6]),
        ("EXAMPLE.COM.", &[5, 6]),
        ("*.example.com", &[5, 6]),
        ("com", &[5, 6]),
        ("www.example.com", &[5]),
        ("ample.com", &[]),
        ("evil", &[7]),
        ("example", &[]),
    ];
    for (s, want) in cases {
        let got = found(store, suffix(s)).await;
        assert_eq!(event_ids(&got), ids(&events, want), "suffix {s}");
    }
    let part = |p: &str| ValueQuery {
        contains: vec![(
            "url.original".to_owned(),
            vec![p.to_owned(), "never".to_owned()],
        )],
        ..ValueQuery::default()
    };
    for (p, want) in [
        ("evil.example", &[10][..]),
        ("cdn.EVIL", &[10]),
        ("10.0.0.1", &[10]),
        ("evil.example.com", &[]),
    ] {
        let got = found(store, part(p)).await;
        assert_eq!(event_ids(&got), ids(&events, want), "part {p}");
    }
    for bad in [
        part(""),
        ValueQuery {
            ip_ranges: vec![("client.ip".into(), addr("10.0.0.9"), addr("10.0.0.1"))],
            ..ValueQuery::default()
        },
        ValueQuery {
            ip_ranges: vec![("client.ip".into(), addr("10.0.0.1"), addr("::1"))],
            ..ValueQuery::default()
        },
        suffix(""),
        exact("a\"b", &["x"]),
    ] {
        match store.find_events(bad.clone()).await {
            Err(StoreError::InvalidQuery(_)) => {}
            other => panic!("{bad:?}: expected an invalid query, got {other:?}"),
        }
    }
}

/// Time bounds and pages over several days, through the common fields alone (which the
/// embedded store answers from its posting lists) and through the others.
pub async fn find_events_pages_and_time_bounds(store: &dyn Store) {
    let mut events = Vec::new();
    for k in 0..45i64 {
        // Three days, some events at the same instant.
        let t = day0()
            .add_secs(k / 3 * 3 * 3600 + (k % 2))
            .add_secs(-86_400);
        let mut e = event(t, &format!("p{k}"));
        match k % 3 {
            0 => e.fields.insert(names::SOURCE_IP, ip("203.0.113.7")),
            1 => e.fields.insert(names::DESTINATION_IP, ip("203.0.113.200")),
            _ => e.fields.insert("url.domain", "cdn.bad.example"),
        }
        e.fields.insert(names::HOST_NAME, "web01");
        events.push(e);
    }
    // Noise the queries never find.
    for k in 0..20i64 {
        let mut e = event(day0().add_secs(k * 600), &format!("n{k}"));
        e.fields.insert(names::SOURCE_IP, ip("198.51.100.1"));
        events.push(e);
    }
    write(store, events.clone()).await;
    let hits = |ks: &dyn Fn(usize) -> bool| {
        let picked: Vec<Event> = events[..45]
            .iter()
            .enumerate()
            .filter(|(k, _)| ks(*k))
            .map(|(_, e)| e.clone())
            .collect();
        event_ids(&newest_first(picked))
    };
    let common = ValueQuery {
        ip_ranges: vec![
            (
                names::SOURCE_IP.into(),
                addr("203.0.113.0"),
                addr("203.0.113.255"),
            ),
            (
                names::DESTINATION_IP.into(),
                addr("203.0.113.0"),
                addr("203.0.113.255"),
            ),
        ],
        ..ValueQuery::default()
    };
    let mut mixed = common.clone();
    mixed
        .suffixes
        .push(("url.domain".into(), vec!["bad.example".into()]));
    for limit in [1, 4, 7, 100] {
        let q = ValueQuery {
            limit,
            ..common.clone()
        };
        let got = found(store, q).await;
        assert_eq!(
            event_ids(&got),
            hits(&|k| k % 3 != 2),
            "common, limit {limit}"
        );
        let q = ValueQuery {
            limit,
            ..mixed.clone()
        };
        let got = found(store, q).await;
        assert_eq!(event_ids(&got), hits(&|_| true), "mixed, limit {limit}");
    }
    // From the second day's start to its 6 o'clock.
    let (from, to) = (day0(), day0().add_secs(6 * 3600));
    let within = |k: usize| events[k].time >= from && events[k].time < to;
    for (q, want) in [
        (common.clone(), hits(&|k| k % 3 != 2 && within(k))),
        (mixed.clone(), hits(&|k| within(k))),
    ] {
        assert!(!want.is_empty() && want.len() < 45);
        let q = ValueQuery {
            from: Some(from),
            to: Some(to),
            limit: 2,
            ..q
        };
        let got = found(store, q).await;
        assert_eq!(event_ids(&got), want, "time bounds");
    }
    let bad = ValueQuery {
        cursor: Some("nope".into()),
        ..common
    };
    super::assert_invalid_cursor("find_events", store.find_events(bad).await);
}
