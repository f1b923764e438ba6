//! Conformance checks for events: writes, lookups, searches, pages, retention, stats.

use std::collections::HashSet;

use onewall_model::event::names;
use onewall_model::{Event, EventId, Format, RegionCode, Severity, Source, Timestamp, Value};

use super::{
    alert, all_events, assert_invalid_cursor, day0, event, event_ids, incident, newest_first,
    region, write,
};
use crate::{AlertQuery, EventQuery, IncidentQuery, Store};

fn ip(s: &str) -> Value {
    Value::Ip(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
}

async fn search(store: &dyn Store, q: EventQuery) -> Vec<Event> {
    all_events(store, q).await.0
}

async fn filtered(store: &dyn Store, filters: &[(&str, &str)]) -> Vec<Event> {
    let q = EventQuery {
        filters: filters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..EventQuery::default()
    };
    search(store, q).await
}

/// Events come back from `get_event` exactly as written: every value kind, every format,
/// raw bytes that are not UTF-8, parse errors, peers or none, the order of fields.
pub async fn events_round_trip_every_value_kind(store: &dyn Store) {
    assert_eq!(day0().yyyymmdd(), 20261128, "the suite's clock");
    let t = day0().add_secs(3600);
    let mut events = Vec::new();
    for (i, format) in Format::ALL.iter().enumerate() {
        let mut e = event(t.add_secs(i as i64), "<13>Nov 28 01:00:00 web01 app: hello");
        e.format = *format;
        events.push(e);
    }
    let mut rich = event(t, "unused");
    rich.raw = b"<13>Nov 28 01:00:00 web01 \xff\xfe not utf-8 \xe7\x99\xbb"
        .to_vec()
        .into_boxed_slice();
    rich.source = Source::new("syslog_tcp", None);
    rich.parse_error = Some("truncated structured data at byte 27".into());
    rich.region = region(410102);
    let f = &mut rich.fields;
    f.insert("zz.first.inserted", "order is kept");
    f.insert(names::MESSAGE, "登录失败 for root");
    f.insert("flag.true", true);
    f.insert("flag.false", false);
    f.insert("count", -42i64);
    f.insert("count.max", i64::MAX);
    f.insert("ratio", Value::Float(0.25));
    f.insert("nothing", Value::Null);
    f.insert(names::SOURCE_IP, ip("10.0.0.1"));
    f.insert("client.ip", ip("2001:db8::7"));
    f.insert("seen", Value::Time(Timestamp(1_764_300_000_123_456_789)));
    f.insert(
        "list",
        Value::List(vec![
            "a".into(),
            Value::Int(1),
            ip("192.0.2.1"),
            Value::Time(Timestamp(-5)),
            Value::List(vec![Value::Null, Value::Bool(false)]),
        ]),
    );
    f.insert("vendor key with spaces.and.dots", "x");
    f.insert(names::HOST_NAME, "web01");
    events.push(rich);
    write(store, events.clone()).await;
    for e in &events {
        let got = store
            .get_event(e.id)
            .await
            .unwrap_or_else(|err| panic!("get_event {}: {err}", e.id));
        assert_eq!(got.as_ref(), Some(e), "event {} round trip", e.id);
    }
    let missing = store
        .get_event(EventId::new(t))
        .await
        .unwrap_or_else(|e| panic!("get_event: {e}"));
    assert_eq!(missing, None, "an id never written");
}

/// A second write of an id is ignored, within a batch and across batches.
pub async fn duplicate_event_ids_are_ignored(store: &dyn Store) {
    let first = event(day0().add_secs(60), "first version");
    let mut again = first.clone();
    again.raw = b"second version".to_vec().into_boxed_slice();
    write(store, vec![first.clone(), again.clone()]).await;
    write(store, vec![again]).await;
    let got = store.get_event(first.id).await.ok().flatten();
    assert_eq!(got.as_ref(), Some(&first), "the first write wins");
    let all = search(store, EventQuery::default()).await;
    assert_eq!(event_ids(&all), vec![first.id], "stored once");
    let stats = store.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!(stats.events, 1, "duplicates are not counted");
}

/// `from` is inclusive, `to` exclusive; results are newest first, ties broken by id.
pub async fn search_events_by_time_range(store: &dyn Store) {
    let at = |k: i64| day0().add_secs(600 * k);
    let mut events: Vec<Event> = (0..10)
        .map(|k| event(at(k), &format!("event {k}")))
        .collect();
    // A tie on time: ordered by id, descending.
    events.push(event(at(5), "event 5 again"));
    events.push(event(day0().add_secs(86_400), "next day"));
    write(store, events.clone()).await;

    let q = |from: Option<Timestamp>, to: Option<Timestamp>| EventQuery {
        from,
        to,
        ..EventQuery::default()
    };
    let expect = |keep: &dyn Fn(&Event) -> bool| {
        event_ids(&newest_first(
            events.iter().filter(|e| keep(e)).cloned().collect(),
        ))
    };

    let got = search(store, q(Some(at(3)), Some(at(7)))).await;
    assert_eq!(
        event_ids(&got),
        expect(&|e| e.time >= at(3) && e.time < at(7)),
        "from inclusive, to exclusive, newest first"
    );
    assert_eq!(got.len(), 5);
    let got = search(store, q(Some(at(8)), None)).await;
    assert_eq!(event_ids(&got), expect(&|e| e.time >= at(8)), "from only");
    let got = search(store, q(None, Some(at(2)))).await;
    assert_eq!(event_ids(&got), expect(&|e| e.time < at(2)), "to only");
    let got = search(store, q(None, None)).await;
    assert_eq!(event_ids(&got), expect(&|_| true), "everything");
    let got = search(store, q(Some(at(4)), Some(at(4)))).await;
    assert!(got.is_empty(), "an empty range");
    let got = search(store, q(Some(at(7)), Some(at(3)))).await;
    assert!(got.is_empty(), "a reversed range");
}

/// `text` is a case-sensitive substring of the raw bytes.
pub async fn search_events_by_text(store: &dyn Store) {
    let t = day0().add_secs(7200);
    let events = vec![
        event(t, "sshd[1]: Failed password for root from 10.0.0.1"),
        event(t.add_secs(1), "sshd[2]: Accepted publickey for alice"),
        event(
            t.add_secs(2),
            "sshd[3]: Failed password for bob from 10.0.0.2",
        ),
        event(t.add_secs(3), "app: 登录失败 user=张三"),
    ];
    write(store, events.clone()).await;
    let text = |s: &str| EventQuery {
        text: Some(s.to_owned()),
        ..EventQuery::default()
    };
    let got = search(store, text("Failed password")).await;
    assert_eq!(event_ids(&got), vec![events[2].id, events[0].id]);
    assert!(
        search(store, text("failed password")).await.is_empty(),
        "case-sensitive"
    );
    let got = search(store, text("登录失败")).await;
    assert_eq!(event_ids(&got), vec![events[3].id], "non-ASCII text");
    let got = search(
        store,
        EventQuery {
            text: Some("Failed".to_owned()),
            from: Some(t.add_secs(1)),
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(
        event_ids(&got),
        vec![events[2].id],
        "text and time together"
    );
}

/// Text search finds Chinese text in records that arrived in GB18030 (GBK): the raw bytes
/// hold GBK, the fields the decoded text. A GBK byte match that straddles two characters is
/// not a match.
pub async fn search_events_by_text_in_gbk_records(store: &dyn Store) {
    let gbk = |s: &str| encoding_rs::GB18030.encode(s).0.into_owned();
    let decoded = |b: &[u8]| encoding_rs::GB18030.decode(b).0.into_owned();
    let t = day0().add_secs(9000);
    let gbk_event = |at: Timestamp, raw: Vec<u8>| {
        let mut e = event(at, "");
        e.fields.insert(names::MESSAGE, decoded(&raw));
        e.raw = raw.into_boxed_slice();
        e
    };
    let line = "<23>May 25 11:11:56 localhost fwlog: 日志类型:WAF应用防护日志, 用户:张三, 登录失败";
    let straddling = [0xB0, 0xB5, 0xC7, 0xA1];
    assert!(
        !decoded(&straddling).contains('登'),
        "the two characters are not 登"
    );
    assert_eq!(gbk("登"), [0xB5, 0xC7]);
    let events = vec![
        gbk_event(t, gbk(line)),
        event(t.add_secs(1), "app: 登录失败 user=李四"),
        // B0B5 C7A1: the middle bytes are 登's, but the text holds neither.
        gbk_event(t.add_secs(2), straddling.to_vec()),
        gbk_event(
            t.add_secs(3),
            gbk("fwlog: 日志类型:用户认证, 用户:王五, 注销"),
        ),
    ];
    assert_ne!(&*events[0].raw, line.as_bytes(), "the raw bytes are GBK");
    write(store, events.clone()).await;
    let text = |s: &str| EventQuery {
        text: Some(s.to_owned()),
        ..EventQuery::default()
    };
    let got = search(store, text("登录失败")).await;
    assert_eq!(
        event_ids(&got),
        vec![events[1].id, events[0].id],
        "GBK and UTF-8 records with the text"
    );
    let got = search(store, text("登")).await;
    assert_eq!(
        event_ids(&got),
        vec![events[1].id, events[0].id],
        "a byte match across two GBK characters is not the text"
    );
    let got = search(store, text("日志类型:用户认证")).await;
    assert_eq!(event_ids(&got), vec![events[3].id], "mixed text");
    let got = search(store, text("fwlog")).await;
    assert_eq!(
        event_ids(&got),
        vec![events[3].id, events[0].id],
        "ASCII text"
    );
}

/// Filters on the common (indexed) fields, alone and together.
pub async fn search_events_by_common_field(store: &dyn Store) {
    let t = day0().add_secs(3 * 3600);
    let mk = |k: i64, host: &str, src: &str, user: Value, action: &str| {
        let mut e = event(t.add_secs(k), &format!("event {k}"));
        e.fields.insert(names::HOST_NAME, host);
        e.fields.insert(names::SOURCE_IP, ip(src));
        e.fields.insert(names::USER_NAME, user);
        e.fields.insert(names::EVENT_ACTION, action);
        e.fields.insert(names::PROCESS_NAME, "sshd");
        e.fields.insert(names::DESTINATION_IP, ip("2001:db8::1"));
        e
    };
    let events = vec![
        mk(0, "web01", "10.0.0.1", "root".into(), "login"),
        mk(1, "web02", "10.0.0.1", "alice".into(), "login"),
        mk(2, "web01", "10.0.0.2", "root".into(), "logout"),
        mk(3, "db01", "10.0.0.3", Value::Int(1000), "login"),
        event(t.add_secs(4), "no fields at all"),
    ];
    write(store, events.clone()).await;
    let ids = |ks: &[usize]| ks.iter().map(|&k| events[k].id).collect::<Vec<_>>();

    let got = filtered(store, &[(names::HOST_NAME, "web01")]).await;
    assert_eq!(event_ids(&got), ids(&[2, 0]), "host.name");
    let got = filtered(store, &[(names::SOURCE_IP, "10.0.0.1")]).await;
    assert_eq!(
        event_ids(&got),
        ids(&[1, 0]),
        "source.ip holding an address"
    );
    let got = filtered(
        store,
        &[(names::HOST_NAME, "web01"), (names::USER_NAME, "root")],
    )
    .await;
    assert_eq!(event_ids(&got), ids(&[2, 0]), "two filters");
    let got = filtered(
        store,
        &[(names::HOST_NAME, "web01"), (names::EVENT_ACTION, "login")],
    )
    .await;
    assert_eq!(event_ids(&got), ids(&[0]), "filters are AND-ed");
    let got = filtered(store, &[(names::USER_NAME, "1000")]).await;
    assert_eq!(event_ids(&got), ids(&[3]), "an integer in a common field");
    let got = filtered(store, &[(names::DESTINATION_IP, "2001:DB8:0::1")]).await;
    assert_eq!(got.len(), 4, "an address however it is spelled");
    let got = filtered(store, &[(names::PROCESS_NAME, "sshd")]).await;
    assert_eq!(got.len(), 4, "process.name");
    assert!(
        filtered(store, &[(names::HOST_NAME, "WEB01")])
            .await
            .is_empty(),
        "exact text"
    );
    assert!(
        filtered(store, &[(names::HOST_NAME, "web")])
            .await
            .is_empty(),
        "whole value"
    );
}

/// Filters on fields without a column of their own: text, addresses, integers (with
/// integer/text coercion), reals, booleans, times; nulls and lists never match.
pub async fn search_events_by_other_field(store: &dyn Store) {
    let t = day0().add_secs(4 * 3600);
    let mut events: Vec<Event> = (0..8)
        .map(|k| event(t.add_secs(k), &format!("e{k}")))
        .collect();
    let set = |e: &mut Event, name: &str, v: Value| e.fields.insert(name, v);
    set(&mut events[0], "client.ip", ip("192.168.1.5"));
    set(&mut events[1], names::PROCESS_PID, Value::Int(1234));
    set(&mut events[2], names::PROCESS_PID, "1234".into());
    set(&mut events[3], "fw.rule", "allow-ssh".into());
    set(&mut events[3], "tls.established", Value::Bool(true));
    set(&mut events[4], "duration", Value::Float(0.5));
    set(&mut events[4], "tls.established", Value::Bool(false));
    set(
        &mut events[5],
        "file.created",
        Value::Time(day0().add_secs(30)),
    );
    set(&mut events[5], "note", "10.0.0.9".into());
    set(&mut events[6], "nothing", Value::Null);
    set(
        &mut events[6],
        "tags",
        Value::List(vec!["a".into(), "b".into()]),
    );
    set(&mut events[7], "vendor key.with dots", "v".into());
    set(&mut events[7], "client.ip", ip("fe80::1"));
    write(store, events.clone()).await;
    let ids = |ks: &[usize]| ks.iter().map(|&k| events[k].id).collect::<Vec<_>>();
    let cases: &[(&str, &str, &[usize])] = &[
        ("client.ip", "192.168.1.5", &[0]),
        ("client.ip", "FE80:0::1", &[7]),
        ("client.ip", "192.168.1.50", &[]),
        (names::PROCESS_PID, "1234", &[2, 1]),
        (names::PROCESS_PID, "123", &[]),
        (names::PROCESS_PID, "01234", &[]),
        ("fw.rule", "allow-ssh", &[3]),
        ("fw.rule", "allow", &[]),
        ("tls.established", "true", &[3]),
        ("tls.established", "false", &[4]),
        ("duration", "0.5", &[4]),
        ("file.created", "2026-11-28T00:00:30Z", &[5]),
        ("file.created", "2026-11-28T08:00:30+08:00", &[5]),
        ("note", "10.0.0.9", &[5]),
        ("nothing", "null", &[]),
        ("tags", "a", &[]),
        ("vendor key.with dots", "v", &[7]),
        ("no.such.field", "x", &[]),
    ];
    for (name, value, want) in cases {
        let got = filtered(store, &[(name, value)]).await;
        assert_eq!(event_ids(&got), ids(want), "filter {name}:{value}");
    }
    let got = filtered(
        store,
        &[(names::PROCESS_PID, "1234"), ("fw.rule", "allow-ssh")],
    )
    .await;
    assert!(got.is_empty(), "filters on other fields are AND-ed");
    let got = search(
        store,
        EventQuery {
            text: Some("e1".to_owned()),
            filters: vec![(names::PROCESS_PID.to_owned(), "1234".to_owned())],
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(event_ids(&got), ids(&[1]), "text and a filter together");
}

/// `regions` keeps events of the listed regions; empty keeps all.
pub async fn search_events_by_region(store: &dyn Store) {
    let t = day0().add_secs(5 * 3600);
    let codes = [410100, 410200, 410000, 410102];
    let events: Vec<Event> = codes
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let mut e = event(t.add_secs(k as i64), "regional");
            e.region = region(c);
            e
        })
        .collect();
    write(store, events.clone()).await;
    let by = |rs: &[u32]| EventQuery {
        regions: rs.iter().map(|&c| region(c)).collect(),
        ..EventQuery::default()
    };
    assert_eq!(
        event_ids(&search(store, by(&[410100])).await),
        vec![events[0].id]
    );
    assert_eq!(
        event_ids(&search(store, by(&[410100, 410200])).await),
        vec![events[1].id, events[0].id]
    );
    assert_eq!(search(store, by(&[])).await.len(), 4, "no regions: all");
    assert!(
        search(store, by(&[419001])).await.is_empty(),
        "a region with none"
    );
}

/// Cursors walk every matching event exactly once, across pages and day tables, with ties on
/// time and on page boundaries; the last page has no cursor.
pub async fn search_events_pages_across_days(store: &dyn Store) {
    let mut events = Vec::new();
    for day in 0..3i64 {
        let start = day0().add_secs(86_400 * day);
        for k in 0..40i64 {
            // Every fifth event shares the time of the one before it; some sit a
            // nanosecond from midnight.
            let mut t = start.add_secs(1800 * (k - k % 5 / 4));
            if k == 39 {
                t = Timestamp(start.0 + Timestamp::NANOS_PER_DAY - 1);
            }
            let mut e = event(t, &format!("day {day} event {k}"));
            e.fields
                .insert(names::HOST_NAME, if k % 3 == 0 { "web01" } else { "web02" });
            events.push(e);
        }
    }
    // Written out of order, in several batches.
    for chunk in events.rchunks(17) {
        write(store, chunk.to_vec()).await;
    }
    let everything = event_ids(&newest_first(events.clone()));

    let (got, pages) = all_events(
        store,
        EventQuery {
            limit: 12,
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(
        event_ids(&got),
        everything,
        "pages of 12 tile the whole set"
    );
    assert_eq!(pages, 10, "120 events make exactly 10 pages of 12");
    let (got, pages) = all_events(
        store,
        EventQuery {
            limit: 7,
            ..EventQuery::default()
        },
    )
    .await;
    assert_eq!(event_ids(&got), everything, "pages of 7");
    assert_eq!(pages, 18);
    let unique: HashSet<EventId> = got.iter().map(|e| e.id).collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");

    let from = day0().add_secs(86_400 - 3600);
    let to = day0().add_secs(2 * 86_400 + 3600);
    let q = EventQuery {
        from: Some(from),
        to: Some(to),
        filters: vec![(names::HOST_NAME.to_owned(), "web01".to_owned())],
        limit: 3,
        ..EventQuery::default()
    };
    let (got, pages) = all_events(store, q).await;
    let want = newest_first(
        events
            .iter()
            .filter(|e| {
                e.time >= from
                    && e.time < to
                    && e.get(names::HOST_NAME) == Some(&Value::from("web01"))
            })
            .cloned()
            .collect(),
    );
    assert_eq!(
        event_ids(&got),
        event_ids(&want),
        "a filtered range across two days"
    );
    assert!(pages > 2, "more than two pages");
}

/// Searches by common fields over many write batches whose times interleave, with many
/// events sharing a time: every page in order, none missed or repeated, with a second field,
/// a time range, text and a cursor narrowing the same field.
pub async fn search_events_by_common_field_over_interleaved_batches(store: &dyn Store) {
    let mut events = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for k in 0..300i64 {
        // A fixed pseudo-random walk: times over two days in 40 distinct seconds, so each
        // time is shared by several events and every batch spans both days.
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let slot = ((x >> 33) % 40) as i64;
        let t = day0().add_secs(86_400 - 600 + slot * 30);
        let mut e = event(
            t,
            &format!("event {k} {}", if k % 2 == 1 { "odd" } else { "even" }),
        );
        e.fields.insert(names::HOST_NAME, format!("web{}", k % 3));
        e.fields.insert(names::USER_NAME, format!("u{}", k % 4));
        e.fields
            .insert(names::SOURCE_IP, ip(&format!("10.0.0.{}", k % 5)));
        events.push(e);
    }
    // Later batches first, so the order events are stored in is not their ids' order.
    for chunk in events.rchunks(23) {
        write(store, chunk.to_vec()).await;
    }
    let has = |e: &Event, name: &str, value: &str| e.get(name) == Some(&Value::from(value));
    let expect = |keep: &dyn Fn(&Event) -> bool| {
        event_ids(&newest_first(
            events.iter().filter(|e| keep(e)).cloned().collect(),
        ))
    };
    let query = |filters: &[(&str, &str)], limit: usize| EventQuery {
        filters: filters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        limit,
        ..EventQuery::default()
    };

    for limit in [1, 7, 100] {
        let (got, _) = all_events(store, query(&[(names::HOST_NAME, "web1")], limit)).await;
        assert_eq!(
            event_ids(&got),
            expect(&|e| has(e, names::HOST_NAME, "web1")),
            "host.name in pages of {limit}"
        );
    }
    let (got, _) = all_events(
        store,
        query(&[(names::HOST_NAME, "web1"), (names::USER_NAME, "u2")], 4),
    )
    .await;
    let want = expect(&|e| has(e, names::HOST_NAME, "web1") && has(e, names::USER_NAME, "u2"));
    assert!(!want.is_empty());
    assert_eq!(event_ids(&got), want, "two common fields");

    let (got, _) = all_events(store, query(&[(names::SOURCE_IP, "10.0.0.3")], 9)).await;
    let addr = ip("10.0.0.3");
    assert_eq!(
        event_ids(&got),
        expect(&|e| e.get(names::SOURCE_IP) == Some(&addr)),
        "source.ip"
    );

    let from = day0().add_secs(86_400 - 300);
    let to = day0().add_secs(86_400 + 240);
    let mut q = query(&[(names::USER_NAME, "u1")], 5);
    q.from = Some(from);
    q.to = Some(to);
    q.text = Some("odd".to_owned());
    let (got, pages) = all_events(store, q).await;
    let want = expect(&|e| {
        has(e, names::USER_NAME, "u1")
            && e.time >= from
            && e.time < to
            && String::from_utf8_lossy(&e.raw).contains("odd")
    });
    assert!(want.len() > 5, "the range holds more than a page");
    assert_eq!(event_ids(&got), want, "a field, a range and text");
    assert!(pages > 1);
}

/// `limit` 0 means the default, and no page is larger than the maximum.
pub async fn search_events_limit_is_clamped(store: &dyn Store) {
    let t = day0().add_secs(6 * 3600);
    let events: Vec<Event> = (0..crate::MAX_LIMIT as i64 + 5)
        .map(|k| event(Timestamp(t.0 + k * 1000), "many"))
        .collect();
    write(store, events).await;
    let page = |limit: usize| EventQuery {
        limit,
        ..EventQuery::default()
    };
    for (limit, want) in [
        (0, crate::DEFAULT_LIMIT),
        (1, 1),
        (crate::MAX_LIMIT + 1_000, crate::MAX_LIMIT),
    ] {
        let got = store
            .search_events(page(limit))
            .await
            .unwrap_or_else(|e| panic!("search_events: {e}"));
        assert_eq!(got.items.len(), want, "limit {limit}");
        assert!(got.next_cursor.is_some(), "limit {limit}: more follow");
    }
}

/// Malformed cursors, and cursors of another kind of search, are invalid queries.
pub async fn bad_cursors_are_refused(store: &dyn Store) {
    let t = day0().add_secs(7 * 3600);
    write(store, vec![event(t, "a"), event(t.add_secs(1), "b")]).await;
    let a = |k: i64| alert(t.add_secs(k), "r1", Severity::High, RegionCode::HENAN);
    store
        .write_alerts(vec![a(0), a(1)])
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    let good_event = store
        .search_events(EventQuery {
            limit: 1,
            ..EventQuery::default()
        })
        .await
        .ok()
        .and_then(|p| p.next_cursor)
        .unwrap_or_else(|| panic!("two events, limit 1: a cursor"));
    let good_alert = store
        .search_alerts(AlertQuery {
            limit: 1,
            ..AlertQuery::default()
        })
        .await
        .ok()
        .and_then(|p| p.next_cursor)
        .unwrap_or_else(|| panic!("two alerts, limit 1: a cursor"));
    let mut bad = vec![
        String::new(),
        "garbage".to_owned(),
        "1764288000000000000".to_owned(),
        format!("{good_event}x"),
        good_event[..good_event.len() - 1].to_owned(),
        format!("{}~", &good_event[..good_event.len() - 1]),
        good_alert.clone(),
    ];
    bad.push("€".repeat(good_event.len()));
    for c in &bad {
        let q = EventQuery {
            cursor: Some(c.clone()),
            ..EventQuery::default()
        };
        assert_invalid_cursor(&format!("event cursor {c:?}"), store.search_events(q).await);
    }
    let q = AlertQuery {
        cursor: Some(good_event.clone()),
        ..AlertQuery::default()
    };
    assert_invalid_cursor("an event cursor for alerts", store.search_alerts(q).await);
    let q = AlertQuery {
        cursor: Some("nope".to_owned()),
        ..AlertQuery::default()
    };
    assert_invalid_cursor("alert cursor", store.search_alerts(q).await);
    let q = IncidentQuery {
        cursor: Some(good_alert),
        ..IncidentQuery::default()
    };
    assert_invalid_cursor(
        "an alert cursor for incidents",
        store.search_incidents(q).await,
    );
    let q = IncidentQuery {
        cursor: Some("nope".to_owned()),
        ..IncidentQuery::default()
    };
    assert_invalid_cursor("incident cursor", store.search_incidents(q).await);
}

/// Retention drops whole days before the cutoff's day, keeps that day and later, keeps
/// alerts and incidents, and returns how many days it dropped.
pub async fn drop_events_before_drops_old_days_only(store: &dyn Store) {
    let days: Vec<Timestamp> = (-2..=1)
        .map(|d| day0().add_secs(86_400 * d + 3600))
        .collect();
    let events: Vec<Event> = days.iter().map(|&t| event(t, "kept or not")).collect();
    write(store, events.clone()).await;
    let a = alert(days[0], "old-rule", Severity::Low, RegionCode::HENAN);
    store
        .write_alerts(vec![a.clone()])
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    let i = incident(days[0], Severity::Low, RegionCode::HENAN);
    store
        .upsert_incidents(vec![i.clone()])
        .await
        .unwrap_or_else(|e| panic!("upsert: {e}"));

    // Late in day0: day0 itself stays.
    let cutoff = day0().add_secs(86_000);
    let dropped = store
        .drop_events_before(cutoff)
        .await
        .unwrap_or_else(|e| panic!("drop: {e}"));
    assert_eq!(dropped, 2, "two days before the cutoff's day");
    for e in &events[..2] {
        assert_eq!(
            store.get_event(e.id).await.ok().flatten(),
            None,
            "dropped {}",
            e.time
        );
    }
    for e in &events[2..] {
        assert!(
            store.get_event(e.id).await.ok().flatten().is_some(),
            "kept {}",
            e.time
        );
    }
    let left = search(store, EventQuery::default()).await;
    assert_eq!(event_ids(&left), vec![events[3].id, events[2].id]);
    let stats = store.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!(stats.event_days, vec![20261128, 20261129]);
    assert_eq!(stats.events, 2);
    assert_eq!(
        store.get_alert(a.id).await.ok().flatten(),
        Some(a),
        "alerts are kept"
    );
    assert_eq!(
        store.get_incident(i.id).await.ok().flatten(),
        Some(i),
        "incidents are kept"
    );
    let again = store
        .drop_events_before(cutoff)
        .await
        .unwrap_or_else(|e| panic!("drop: {e}"));
    assert_eq!(again, 0, "nothing left to drop");

    // A late event for a dropped day is stored again.
    write(store, vec![events[0].clone()]).await;
    assert!(
        store.get_event(events[0].id).await.ok().flatten().is_some(),
        "rewritten"
    );
}

/// Stats count events (not duplicates), alerts, incidents, and list the days oldest first.
pub async fn stats_count_everything(store: &dyn Store) {
    let empty = store.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!((empty.events, empty.alerts, empty.incidents), (0, 0, 0));
    assert!(empty.event_days.is_empty());
    let e1 = event(day0().add_secs(86_400 + 5), "later day first");
    let e2 = event(day0().add_secs(5), "day0");
    let e3 = event(day0().add_secs(6), "day0 again");
    write(store, vec![e1, e2.clone(), e3]).await;
    write(store, vec![e2]).await;
    let a = |k| alert(day0().add_secs(k), "r", Severity::Medium, RegionCode::HENAN);
    store
        .write_alerts(vec![a(1), a(2)])
        .await
        .unwrap_or_else(|e| panic!("write_alerts: {e}"));
    let i = incident(day0().add_secs(9), Severity::High, RegionCode::HENAN);
    store
        .upsert_incidents(vec![i.clone(), i])
        .await
        .unwrap_or_else(|e| panic!("upsert: {e}"));
    let s = store.stats().await.unwrap_or_else(|e| panic!("stats: {e}"));
    assert_eq!((s.events, s.alerts, s.incidents), (3, 2, 1));
    assert_eq!(s.event_days, vec![20261128, 20261129], "oldest first");
}
