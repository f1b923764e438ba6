//! Property: matching an event (in passes: every probe gathered, then every filter word read,
//! then the tables walked) gives exactly the hits, in the same order, that looking up each
//! checked field's values one by one gives — over several feeds, every kind, lists, fields
//! set in any order, and the events too large for the passes (matched value by value).

use std::net::IpAddr;

use onewall_intel::fields::{FieldClass, MatchFields};
use onewall_intel::set::EventHit;
use onewall_intel::{Indicator, IntelSet, Observable};
use onewall_model::{Event, IndicatorKind, RegionCode, Source, Timestamp, Value};
use proptest::prelude::*;

const NOW: i64 = 1_750_000_000;

fn now() -> Timestamp {
    Timestamp::from_secs(NOW)
}

/// The hits of `event`, field by configured field, value by value, through the set's
/// one-value lookups; an indicator counts once, on the first field and value it matched.
fn one_by_one(set: &IntelSet, event: &Event, fields: &MatchFields) -> Vec<EventHit> {
    fn visit(
        set: &IntelSet,
        v: &Value,
        class: FieldClass,
        field: onewall_model::FieldId,
        out: &mut Vec<EventHit>,
    ) {
        let (hits, observed) = match v {
            Value::Str(s) => (set.lookup(class, s, now()), s.trim().to_string()),
            Value::Ip(a) if class == FieldClass::Address => {
                let mut hits = Vec::new();
                set.lookup_ip(*a, now(), &mut hits);
                (hits, a.to_string())
            }
            Value::List(items) => {
                for item in items {
                    visit(set, item, class, field, out);
                }
                return;
            }
            _ => return,
        };
        for h in hits {
            if !out.iter().any(|x| x.handle == h.handle) {
                out.push(EventHit {
                    handle: h.handle,
                    confidence: h.confidence,
                    field,
                    observed: observed.clone(),
                });
            }
        }
    }
    let mut out = Vec::new();
    for &(id, class) in fields.fields() {
        if let Some(v) = event.fields.get_id(id) {
            visit(set, v, class, id, &mut out);
        }
    }
    out
}

fn matched(set: &IntelSet, event: &Event, fields: &MatchFields) -> Vec<EventHit> {
    let mut out = Vec::new();
    set.match_event(event, fields, now(), &mut out);
    out
}

fn v4(rng: u8) -> String {
    format!("10.0.{}.{}", rng % 3, rng % 5)
}

fn observable() -> impl Strategy<Value = Observable> {
    let name = prop::collection::vec(prop::sample::select(vec!["a", "b", "ab"]), 1..4)
        .prop_map(|l| format!("{}.test", l.join(".")));
    prop_oneof![
        any::<u8>().prop_map(|r| Observable::parse(IndicatorKind::Ip, &v4(r)).expect("ip")),
        (any::<u8>(), 0u8..=32).prop_map(|(r, p)| Observable::parse(
            IndicatorKind::Cidr,
            &format!("{}/{p}", v4(r))
        )
        .expect("cidr")),
        (0u16..3, 0u8..=128).prop_map(|(a, p)| Observable::parse(
            IndicatorKind::Cidr,
            &format!("2001:db8::{a}/{p}")
        )
        .expect("cidr6")),
        (0u16..3).prop_map(|a| Observable::Ip(IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, a]))),
        name.clone().prop_map(Observable::Domain),
        name.clone().prop_map(Observable::DomainTree),
        (name.clone(), 0u8..2).prop_map(|(n, p)| Observable::Url(format!("http://{n}/p{p}"))),
        (0usize..4, prop::sample::select(vec!['0', 'a'])).prop_map(|(k, c)| {
            let (kind, len) = [
                (IndicatorKind::Md5, 32),
                (IndicatorKind::Sha1, 40),
                (IndicatorKind::Sha256, 64),
                (IndicatorKind::Sm3, 64),
            ][k];
            Observable::parse(kind, &c.to_string().repeat(len)).expect("hash")
        }),
        name.prop_map(|n| Observable::Email(format!("x@{n}"))),
    ]
}

/// Values of every shape the fields may hold: indicators' own, other cases, trailing dots,
/// IPv4-mapped IPv6, URLs with ports and upper case, lists, and things of no shape at all.
fn value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        any::<u8>().prop_map(v4),
        any::<u8>().prop_map(|r| format!("::ffff:{}", v4(r))),
        (0u16..3).prop_map(|a| format!("2001:db8::{a}")),
        prop::sample::select(vec![
            "A.test",
            "ab.a.TEST.",
            "b.ab.a.test",
            "http://A.test:80/p0",
            "https://b.a.test/p1#x",
            "http://10.0.1.1/p0",
            "http://[2001:db8::1]/x",
            "x@AB.test",
            "X@a.test",
            "",
            "  a.test  ",
            "not an address",
        ])
        .prop_map(str::to_string),
        (
            prop::sample::select(vec!['0', 'a', 'A']),
            prop::sample::select(vec![32, 40, 64])
        )
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ];
    let one = prop_oneof![
        4 => text.clone().prop_map(Value::str),
        1 => any::<u8>().prop_map(|r| Value::Ip(v4(r).parse().expect("ip"))),
        1 => any::<u8>().prop_map(|r| Value::Ip(
            format!("::ffff:{}", v4(r)).parse().expect("mapped")
        )),
        1 => Just(Value::Int(7)),
    ];
    prop_oneof![
        4 => one.clone(),
        1 => prop::collection::vec(one, 0..4).prop_map(Value::List),
    ]
}

const NAMES: [&str; 12] = [
    "source.ip",
    "destination.ip",
    "client.ip",
    "dns.question.name",
    "url.domain",
    "url.original",
    "file.hash.md5",
    "file.hash.sha256",
    "process.hash.sha1",
    "user.email",
    "email.to.address",
    "message",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn an_event_matched_in_passes_matches_as_its_values_one_by_one(
        inds in prop::collection::vec((observable(), 0usize..3, prop::option::of(-3i64..3)), 0..40),
        fields in prop::collection::vec((0usize..NAMES.len(), value()), 0..10),
    ) {
        let mut set = IntelSet::default();
        for feed in 0..3 {
            let of_feed: Vec<Indicator> = inds
                .iter()
                .filter(|(_, f, _)| *f == feed)
                .map(|(o, _, until)| {
                    let mut i = Indicator::new(o.clone(), "f");
                    i.valid_until = until.map(|d| Timestamp::from_secs(NOW + d));
                    i
                })
                .collect();
            if !of_feed.is_empty() {
                set = set.with_feed(&format!("feed{feed}"), of_feed);
            }
        }
        let mut ev = Event::new(now(), RegionCode::HENAN, Source::new("t", None), b"x");
        for (n, v) in &fields {
            ev.fields.insert(NAMES[*n], v.clone());
        }
        let all = MatchFields::default();
        prop_assert_eq!(matched(&set, &ev, &all), one_by_one(&set, &ev, &all));
        let some = MatchFields::from_names(&["url.original", "source.ip", "message:domain"])
            .expect("fields");
        prop_assert_eq!(matched(&set, &ev, &some), one_by_one(&set, &ev, &some));
    }
}

fn set_of(values: &[(IndicatorKind, &str)]) -> IntelSet {
    let inds = values
        .iter()
        .map(|(k, v)| Indicator::new(Observable::parse(*k, v).expect("value"), "f"))
        .collect();
    IntelSet::default().with_feed("f", inds)
}

fn texts(set: &IntelSet, hits: &[EventHit]) -> Vec<String> {
    hits.iter()
        .map(|h| format!("{}={}", h.field.name(), set.get(h.handle).value.text()))
        .collect()
}

#[test]
fn events_too_large_for_the_passes_match_the_same() {
    let set = set_of(&[
        (IndicatorKind::Ip, "10.0.0.7"),
        (IndicatorKind::Cidr, "10.0.0.0/32"),
        (IndicatorKind::Cidr, "0.0.0.0/0"),
        (IndicatorKind::Cidr, "::/0"),
        (IndicatorKind::DomainTree, "a.test"),
        (
            IndicatorKind::Url,
            &format!("http://a.test/{}", "p".repeat(3000)),
        ),
    ]);
    let fields = MatchFields::default();
    // A list of a hundred addresses: more probes than one pass holds.
    let many: Vec<Value> = (0..100)
        .map(|i| Value::str(format!("10.0.{}.{}", i / 50, i % 50)))
        .collect();
    // A URL longer than the passes' scratch bytes.
    let long = format!("HTTP://A.test/{}", "p".repeat(3000));
    // An event of many fields (past the scan of its own fields).
    let mut wide = Event::new(now(), RegionCode::HENAN, Source::new("t", None), b"x");
    for i in 0..100 {
        wide.fields.insert(&format!("vendor.f{i}"), Value::Int(i));
    }
    wide.fields.insert("destination.ip", Value::str("10.0.0.7"));
    for (name, v) in [
        ("source.ip", Value::List(many)),
        ("url.original", Value::str(long)),
    ] {
        let mut ev = Event::new(now(), RegionCode::HENAN, Source::new("t", None), b"x");
        ev.fields.insert(name, v);
        let got = matched(&set, &ev, &fields);
        assert_eq!(got, one_by_one(&set, &ev, &fields), "{name}");
        assert!(!got.is_empty(), "{name}");
    }
    let got = matched(&set, &wide, &fields);
    assert_eq!(got, one_by_one(&set, &wide, &fields));
    assert_eq!(
        texts(&set, &got),
        ["destination.ip=10.0.0.7", "destination.ip=0.0.0.0/0"]
    );
    // More feeds than the passes' feed bits: matched value by value.
    let mut feeds = IntelSet::default();
    for i in 0..70 {
        let ind = Indicator::new(
            Observable::parse(IndicatorKind::Ip, "10.0.0.7").expect("ip"),
            "f",
        );
        feeds = feeds.with_feed(&format!("feed{i:02}"), vec![ind]);
    }
    let got = matched(&feeds, &wide, &fields);
    assert_eq!(got.len(), 70);
    assert_eq!(got, one_by_one(&feeds, &wide, &fields));
}

#[test]
fn edge_cases_of_the_probes() {
    let set = set_of(&[
        (IndicatorKind::Cidr, "192.0.2.1/32"),
        (IndicatorKind::Cidr, "0.0.0.0/0"),
        (IndicatorKind::Cidr, "2001:db8::/128"),
        (IndicatorKind::Ip, "192.0.2.9"),
        (IndicatorKind::Domain, "Case.Test"),
        (IndicatorKind::DomainTree, "test"),
        (IndicatorKind::Md5, &"AB".repeat(16)),
        (IndicatorKind::Sm3, &"cd".repeat(32)),
        (IndicatorKind::Sha256, &"CD".repeat(32)),
    ]);
    let fields = MatchFields::default();
    let ev = |pairs: &[(&str, Value)]| {
        let mut e = Event::new(now(), RegionCode::HENAN, Source::new("t", None), b"x");
        for (n, v) in pairs {
            e.fields.insert(n, v.clone());
        }
        e
    };
    let md5 = format!("file.hash.md5={}", "ab".repeat(16));
    let sha = format!("file.hash.sha256={}", "cd".repeat(32));
    let cases: Vec<(Event, Vec<&str>)> = vec![
        // An IPv4-mapped IPv6 address is its IPv4 address: /32, /0 and the address.
        (
            ev(&[(
                "source.ip",
                Value::Ip("::ffff:192.0.2.9".parse().expect("ip")),
            )]),
            vec!["source.ip=192.0.2.9", "source.ip=0.0.0.0/0"],
        ),
        (
            ev(&[("client.ip", Value::str("192.0.2.1"))]),
            vec!["client.ip=0.0.0.0/0", "client.ip=192.0.2.1/32"],
        ),
        (
            ev(&[("client.ip", Value::str("2001:db8::"))]),
            vec!["client.ip=2001:db8::/128"],
        ),
        // Domains and hashes in any case; a tree of one label holds every name under it.
        (
            ev(&[("url.domain", Value::str("CASE.test."))]),
            vec!["url.domain=case.test", "url.domain=test"],
        ),
        (
            ev(&[("file.hash.md5", Value::str("ab".repeat(16)))]),
            vec![&md5],
        ),
        // SHA-256 and SM3 of the same bytes both match, SHA-256 first.
        (
            ev(&[("file.hash.sha256", Value::str("Cd".repeat(32)))]),
            vec![&sha, &sha],
        ),
        // The same indicator on two fields counts once, on the first configured.
        (
            ev(&[
                ("destination.ip", Value::str("192.0.2.9")),
                ("source.ip", Value::str("192.0.2.9")),
            ]),
            vec!["source.ip=192.0.2.9", "source.ip=0.0.0.0/0"],
        ),
    ];
    for (e, want) in cases {
        let got = matched(&set, &e, &fields);
        assert_eq!(got, one_by_one(&set, &e, &fields));
        assert_eq!(texts(&set, &got), want);
    }
    let hits = matched(
        &set,
        &ev(&[("source.ip", Value::str("192.0.2.9"))]),
        &fields,
    );
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.observed == "192.0.2.9"));
    // An empty set matches nothing, and so does a set of no addresses.
    let e = ev(&[("source.ip", Value::str("192.0.2.9"))]);
    assert!(matched(&IntelSet::default(), &e, &fields).is_empty());
    let names = set_of(&[(IndicatorKind::Domain, "a.test")]);
    assert!(matched(&names, &e, &fields).is_empty());
}

#[test]
fn a_feeds_indicators_read_back_by_position_as_given() {
    let mut given: Vec<Indicator> = [
        (IndicatorKind::Ip, "192.0.2.1"),
        (IndicatorKind::Url, "HTTP://A.test:80/X"),
        (IndicatorKind::Sha256, &"ab".repeat(32)),
        (IndicatorKind::DomainTree, "a.test"),
    ]
    .iter()
    .map(|(k, v)| Indicator::new(Observable::parse(*k, v).expect("value"), "f"))
    .collect();
    given[1].confidence = 90;
    given[2].valid_until = Some(Timestamp::from_secs(NOW + 60));
    given[3].description = Some("why".into());
    let set = IntelSet::default().with_feed("f", given.clone());
    assert_eq!(
        set.feed_indicators("f", &[3, 1]),
        [given[3].clone(), given[1].clone()]
    );
    assert_eq!(set.feed_indicators("f", &[0, 1, 2, 3]), given);
    assert!(
        set.feed_indicators("f", &[4]).is_empty(),
        "no such position"
    );
    assert!(set.feed_indicators("g", &[0]).is_empty(), "no such feed");
}
