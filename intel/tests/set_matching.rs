//! The indicator set's matching semantics, one class of field at a time, its lifetime with
//! an injected clock, replacing one feed, and listings.

use std::sync::Arc;
use std::time::Duration;

use onewall_intel::fields::{FieldClass, MatchFields};
use onewall_intel::lifetime::{Decay, FeedPolicy};
use onewall_intel::set::{EventHit, IndicatorFilter};
use onewall_intel::{Indicator, IntelSet, Observable};
use onewall_model::{Event, FieldId, IndicatorKind, RegionCode, Source, Timestamp, Value};

fn ind(kind: IndicatorKind, v: &str) -> Indicator {
    Indicator::new(Observable::parse(kind, v).expect("value"), "test")
}

fn now() -> Timestamp {
    Timestamp::from_secs(1_750_000_000)
}

fn set_of(inds: Vec<Indicator>) -> IntelSet {
    IntelSet::default().with_feed("test", inds)
}

/// The values (as text) `text` of `class` matches, sorted.
fn matched(set: &IntelSet, class: FieldClass, text: &str) -> Vec<String> {
    let mut v: Vec<String> = set
        .lookup(class, text, now())
        .into_iter()
        .map(|h| set.get(h.handle).value.text())
        .collect();
    v.sort();
    v
}

#[test]
fn addresses_match_ips_exactly_and_every_range_holding_them_v4_and_v6() {
    use IndicatorKind::{Cidr, Ip};
    let set = set_of(vec![
        ind(Ip, "203.0.113.9"),
        ind(Cidr, "203.0.113.0/24"),
        ind(Cidr, "203.0.0.0/16"),
        ind(Cidr, "0.0.0.0/0"),
        ind(Cidr, "198.51.100.0/24"),
        ind(Ip, "2001:db8::1"),
        ind(Cidr, "2001:db8::/32"),
        ind(Cidr, "2001:db8:ffff::/48"),
    ]);
    let a = FieldClass::Address;
    assert_eq!(
        matched(&set, a, "203.0.113.9"),
        ["0.0.0.0/0", "203.0.0.0/16", "203.0.113.0/24", "203.0.113.9"]
    );
    assert_eq!(
        matched(&set, a, "203.0.114.1"),
        ["0.0.0.0/0", "203.0.0.0/16"]
    );
    assert_eq!(
        matched(&set, a, "::ffff:203.0.113.9").len(),
        4,
        "an IPv4-mapped address is its IPv4 address"
    );
    assert_eq!(
        matched(&set, a, "2001:db8::1"),
        ["2001:db8::/32", "2001:db8::1"]
    );
    assert_eq!(
        matched(&set, a, "2001:db8:ffff::5"),
        ["2001:db8::/32", "2001:db8:ffff::/48"]
    );
    assert!(matched(&set, a, "2001:db9::1").is_empty());
    assert!(matched(&set, a, "not an address").is_empty());
}

#[test]
fn domains_match_exactly_and_trees_at_label_boundaries_only() {
    use IndicatorKind::{Domain, DomainTree};
    let set = set_of(vec![
        ind(DomainTree, "example.com"),
        ind(Domain, "exact.test"),
        ind(DomainTree, "deep.a.example.org"),
    ]);
    let d = FieldClass::Domain;
    assert_eq!(matched(&set, d, "example.com"), ["example.com"]);
    assert_eq!(matched(&set, d, "A.B.Example.COM."), ["example.com"]);
    assert!(matched(&set, d, "badexample.com").is_empty());
    assert!(matched(&set, d, "example.com.evil").is_empty());
    assert_eq!(matched(&set, d, "exact.test"), ["exact.test"]);
    assert!(
        matched(&set, d, "sub.exact.test").is_empty(),
        "a plain domain is not a tree"
    );
    assert!(matched(&set, d, "a.example.org").is_empty());
    assert_eq!(
        matched(&set, d, "x.deep.a.example.org"),
        ["deep.a.example.org"]
    );
}

#[test]
fn urls_match_in_their_compared_form_and_their_hosts_as_domains_and_addresses() {
    use IndicatorKind::{DomainTree, Ip, Url};
    let set = set_of(vec![
        ind(Url, "http://Evil.Example.com/Payload.exe"),
        ind(DomainTree, "bad.test"),
        ind(Ip, "192.0.2.7"),
    ]);
    let u = FieldClass::Url;
    assert_eq!(
        matched(&set, u, "HTTP://evil.example.COM:80/Payload.exe#x"),
        ["http://Evil.Example.com/Payload.exe"]
    );
    assert!(
        matched(&set, u, "http://evil.example.com/payload.exe").is_empty(),
        "paths are case-sensitive"
    );
    assert_eq!(matched(&set, u, "https://cdn.bad.test/x?y=1"), ["bad.test"]);
    assert_eq!(
        matched(&set, u, "http://u:p@192.0.2.7:8080/"),
        ["192.0.2.7"]
    );
}

#[test]
fn hashes_match_the_kinds_of_their_length_and_emails_match_exactly() {
    use IndicatorKind::{Email, Md5, Sha1, Sha256, Sm3};
    let h64 = "a".repeat(64);
    let set = set_of(vec![
        ind(Md5, &"1".repeat(32)),
        ind(Sha1, &"2".repeat(40)),
        ind(Sha256, &h64),
        ind(Sm3, &h64),
        ind(Email, "Phish@Example.com"),
    ]);
    let h = FieldClass::Hash;
    assert_eq!(matched(&set, h, &"1".repeat(32)).len(), 1);
    assert_eq!(matched(&set, h, &"2".repeat(40)).len(), 1);
    let both = set.lookup(h, &h64.to_uppercase(), now());
    let mut kinds: Vec<IndicatorKind> = both
        .iter()
        .map(|x| set.get(x.handle).value.kind())
        .collect();
    kinds.sort();
    assert_eq!(kinds, [IndicatorKind::Sha256, IndicatorKind::Sm3]);
    assert!(matched(&set, h, &"1".repeat(31)).is_empty());
    assert!(matched(&set, h, &"z".repeat(32)).is_empty());
    assert_eq!(
        matched(&set, FieldClass::Email, " PHISH@example.COM"),
        ["phish@example.com"]
    );
}

#[test]
fn expiry_and_decay_follow_the_injected_clock() {
    let day = 86_400;
    let mut a = ind(IndicatorKind::Ip, "192.0.2.1");
    a.valid_until = Some(now().add_secs(day));
    a.confidence = 90;
    let mut b = ind(IndicatorKind::Ip, "192.0.2.2");
    b.valid_from = Some(now());
    b.confidence = 100;
    let policy = FeedPolicy {
        lifetime: Some(Duration::from_secs(10 * day as u64)),
        decay: Decay::Linear { floor: 0 },
    };
    let set = IntelSet::default().with_feed_policy("f", vec![a, b], policy, now());
    let at = |secs: i64, addr: &str| {
        set.lookup(FieldClass::Address, addr, now().add_secs(secs))
            .first()
            .map(|h| h.confidence)
    };
    assert_eq!(at(0, "192.0.2.1"), Some(90));
    assert_eq!(
        at(day / 2, "192.0.2.1"),
        Some(45),
        "decays to 0 over its own window"
    );
    assert_eq!(at(day, "192.0.2.1"), None, "past valid_until");
    assert_eq!(at(-1, "192.0.2.2"), None, "before valid_from");
    assert_eq!(at(5 * day, "192.0.2.2"), Some(50));
    assert_eq!(at(10 * day, "192.0.2.2"), None, "past the feed's lifetime");
    let counts = set.lifetime_counts(now().add_secs(2 * day));
    assert_eq!((counts.active, counts.decayed, counts.expired), (1, 1, 1));
}

#[test]
fn with_feed_replaces_only_that_feed_and_shares_the_others() {
    let big = set_of(vec![ind(IndicatorKind::Ip, "192.0.2.1")]);
    let one = big.with_feed("local", vec![ind(IndicatorKind::Ip, "192.0.2.9")]);
    let two = one.with_feed("local", vec![ind(IndicatorKind::Domain, "x.test")]);
    assert_eq!(
        two.feed_counts(),
        [("local".to_string(), 1), ("test".to_string(), 1)]
    );
    assert_eq!(
        matched(&two, FieldClass::Address, "192.0.2.1"),
        ["192.0.2.1"]
    );
    assert!(matched(&two, FieldClass::Address, "192.0.2.9").is_empty());
    assert_eq!(
        matched(&one, FieldClass::Address, "192.0.2.9"),
        ["192.0.2.9"],
        "old sets stay"
    );
    let hit = two.lookup(FieldClass::Domain, "x.test", now());
    assert_eq!(two.get(hit[0].handle).feed, "local");
    let gone = two.without_feed("test");
    assert_eq!(gone.len(), 1);
    assert!(matched(&gone, FieldClass::Address, "192.0.2.1").is_empty());
    // The set crosses threads whole.
    let shared = Arc::new(two);
    let t = std::thread::spawn(move || shared.len());
    assert_eq!(t.join().expect("thread"), 2);
}

#[test]
fn indicators_read_back_whole() {
    let mut i = ind(IndicatorKind::Cidr, "2001:db8::/32");
    i.id = Some("indicator--1".into());
    i.confidence = 77;
    i.labels = vec!["c2".into()];
    i.attack = vec!["T1071".into()];
    i.description = Some("a range".into());
    i.valid_from = Some(now());
    let mut j = ind(IndicatorKind::Sha1, &"ab".repeat(20));
    j.feed = "other".into();
    let set = set_of(vec![i.clone(), j.clone()]);
    let mut got: Vec<Indicator> = set
        .page(&IndicatorFilter::default(), 0, 10)
        .indicators
        .into_iter()
        .map(|(_, x)| x)
        .collect();
    j.feed = "test".into();
    got.sort_by_key(|x| x.value.clone());
    let mut want = vec![i, j];
    want.sort_by_key(|x| x.value.clone());
    assert_eq!(got, want);
}

#[test]
fn pages_filter_by_kind_feed_and_prefix() {
    let set = set_of(
        (0..30)
            .map(|n| ind(IndicatorKind::Ip, &format!("10.0.0.{n}")))
            .chain([ind(IndicatorKind::Domain, "a.test")])
            .collect(),
    )
    .with_feed("local", vec![ind(IndicatorKind::Ip, "10.0.0.1")]);
    let f = IndicatorFilter {
        kind: Some(IndicatorKind::Ip),
        feed: None,
        prefix: Some("10.0.0.1".into()),
    };
    let p = set.page(&f, 0, 5);
    assert_eq!(
        p.total, 12,
        "10.0.0.1 and 10.0.0.10-19 in test, 10.0.0.1 in local"
    );
    assert_eq!(p.indicators.len(), 5);
    let rest = set.page(&f, 10, 5);
    assert_eq!(rest.indicators.len(), 2);
    let local = IndicatorFilter {
        feed: Some("local".into()),
        ..Default::default()
    };
    assert_eq!(set.page(&local, 0, 100).total, 1);
    assert_eq!(set.values_of("test").len(), 31);
    assert!(set.values_of("nope").is_empty());
}

fn event(fields: &[(&str, Value)]) -> Event {
    let mut e = Event::new(now(), RegionCode::HENAN, Source::new("test", None), b"x");
    for (n, v) in fields {
        e.fields.insert(n, v.clone());
    }
    e
}

#[test]
fn events_match_on_their_checked_fields_once_per_indicator() {
    let set = set_of(vec![
        ind(IndicatorKind::Cidr, "192.0.2.0/24"),
        ind(IndicatorKind::DomainTree, "bad.test"),
        ind(IndicatorKind::Sha256, &"c".repeat(64)),
        ind(IndicatorKind::Email, "x@bad.test"),
    ]);
    let ev = event(&[
        ("source.ip", Value::Ip("192.0.2.5".parse().expect("ip"))),
        ("destination.ip", Value::str("192.0.2.6")),
        ("dns.question.name", Value::str("WWW.bad.test")),
        ("file.hash.sha256", Value::str("c".repeat(64))),
        (
            "email.to.address",
            Value::List(vec![Value::str("y@good.test"), Value::str("X@bad.test")]),
        ),
        ("message", Value::str("192.0.2.7 bad.test")),
    ]);
    let mut out: Vec<EventHit> = Vec::new();
    set.match_event(&ev, &MatchFields::default(), now(), &mut out);
    let mut got: Vec<(String, String)> = out
        .iter()
        .map(|h| (h.field.name().to_string(), h.observed.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("dns.question.name".into(), "WWW.bad.test".into()),
            ("email.to.address".into(), "X@bad.test".into()),
            ("file.hash.sha256".into(), "c".repeat(64)),
            ("source.ip".into(), "192.0.2.5".into()),
        ]
    );
    // Fields not configured are not checked.
    let only = MatchFields::from_names(&["destination.ip"]).expect("fields");
    out.clear();
    set.match_event(&ev, &only, now(), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].field, FieldId::lookup("destination.ip").expect("id"));
    assert_eq!(set.get(out[0].handle).value.text(), "192.0.2.0/24");
}

#[test]
fn a_feed_of_many_ranges_still_finds_every_range_holding_an_address() {
    // Past a few hundred IPv4 ranges the feed keeps the prefix lengths per /16: ranges of
    // every length, nested and not, must all still be found.
    let mut inds: Vec<Indicator> = (0..600)
        .map(|n| {
            ind(
                IndicatorKind::Cidr,
                &format!("10.{}.{}.0/24", n / 256, n % 256),
            )
        })
        .collect();
    inds.push(ind(IndicatorKind::Cidr, "10.0.0.0/8"));
    inds.push(ind(IndicatorKind::Cidr, "10.0.7.128/25"));
    inds.push(ind(IndicatorKind::Cidr, "0.0.0.0/0"));
    inds.push(ind(IndicatorKind::Cidr, "172.16.0.0/12"));
    let set = set_of(inds);
    let a = FieldClass::Address;
    assert_eq!(
        matched(&set, a, "10.0.7.200"),
        ["0.0.0.0/0", "10.0.0.0/8", "10.0.7.0/24", "10.0.7.128/25"]
    );
    assert_eq!(matched(&set, a, "10.9.0.1"), ["0.0.0.0/0", "10.0.0.0/8"]);
    assert_eq!(
        matched(&set, a, "172.31.255.255"),
        ["0.0.0.0/0", "172.16.0.0/12"]
    );
    assert_eq!(matched(&set, a, "172.32.0.0"), ["0.0.0.0/0"]);
}

#[test]
fn domain_trees_of_different_depths_match_under_a_name_of_any_depth() {
    use IndicatorKind::DomainTree;
    let set = set_of(vec![
        ind(DomainTree, "com"),
        ind(DomainTree, "a.b.c.d.example.net"),
    ]);
    let d = FieldClass::Domain;
    assert_eq!(matched(&set, d, "x.y.z.com"), ["com"]);
    assert_eq!(
        matched(&set, d, "q.a.b.c.d.example.net"),
        ["a.b.c.d.example.net"]
    );
    assert!(matched(&set, d, "b.c.d.example.net").is_empty());
}

#[test]
fn a_set_holds_mixed_indicators_in_well_under_200_bytes_each() {
    let n = 20_000;
    let inds: Vec<Indicator> = (0..n)
        .map(|i| match i % 5 {
            0 => ind(
                IndicatorKind::Ip,
                &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            ),
            1 => ind(IndicatorKind::Domain, &format!("host{i}.example.com")),
            2 => ind(
                IndicatorKind::Url,
                &format!("http://h{i}.example.org/path/{i}.php"),
            ),
            3 => ind(IndicatorKind::Sha256, &format!("{i:064x}")),
            _ => ind(
                IndicatorKind::Cidr,
                &format!("172.{}.{}.0/24", 16 + (i >> 16), (i >> 8) & 255),
            ),
        })
        .collect();
    let set = set_of(inds);
    let per = set.heap_bytes() / set.len();
    assert!(per < 200, "{per} bytes per indicator");
    assert!(
        per > 20,
        "{per} bytes per indicator: the count misses something"
    );
}

#[test]
fn lifetime_counts_are_per_feed_too_and_the_policy_reads_back() {
    let mut old = ind(IndicatorKind::Ip, "192.0.2.1");
    old.valid_until = Some(now());
    let fresh = ind(IndicatorKind::Ip, "192.0.2.2");
    let policy = FeedPolicy::lifetime(Duration::from_secs(3600));
    let set = IntelSet::default()
        .with_feed_policy("a", vec![old, fresh], policy, now())
        .with_feed("b", vec![ind(IndicatorKind::Ip, "192.0.2.3")]);
    let a = set.feed_lifetime_counts("a", now());
    assert_eq!((a.active, a.expired), (1, 1));
    let all = set.lifetime_counts(now().add_secs(7200));
    assert_eq!(
        (all.active, all.expired),
        (1, 2),
        "the feed lifetime ended the fresh one"
    );
    assert_eq!(set.feed_policy("a"), Some((policy, now())));
    assert_eq!(set.feed_policy("c"), None);
}
