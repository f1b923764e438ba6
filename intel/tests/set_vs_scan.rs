//! Property: the set's lookups find exactly the indicators a naive linear scan over the same
//! indicators finds, for addresses (v4 and v6, ranges of every prefix), domains and domain
//! trees, URLs, hashes and email addresses, with validity windows and several feeds.

use std::net::IpAddr;

use onewall_intel::fields::{FieldClass, MatchFields};
use onewall_intel::{Indicator, IntelSet, Observable};
use onewall_model::{Event, IndicatorKind, RegionCode, Source, Timestamp, Value};
use proptest::prelude::*;

const NOW: i64 = 1_750_000_000;

fn addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u8..4, 0u8..8).prop_map(|(c, d)| IpAddr::from([10, 0, c, d])),
        (0u16..4, 0u16..8).prop_map(|(a, b)| IpAddr::from([0x2001, 0xdb8, 0, a, 0, 0, 0, b])),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "ab", "ba"]), 1..4)
        .prop_map(|labels| format!("{}.test", labels.join(".")))
}

fn hash() -> impl Strategy<Value = (IndicatorKind, String)> {
    (0usize..4, prop::sample::select(vec!['0', '7', 'f'])).prop_map(|(k, c)| {
        let (kind, len) = [
            (IndicatorKind::Md5, 32),
            (IndicatorKind::Sha1, 40),
            (IndicatorKind::Sha256, 64),
            (IndicatorKind::Sm3, 64),
        ][k];
        (kind, c.to_string().repeat(len))
    })
}

fn observable() -> impl Strategy<Value = Observable> {
    prop_oneof![
        addr().prop_map(Observable::Ip),
        (addr(), 0u8..=128).prop_map(|(a, p)| {
            let p = if a.is_ipv4() { p % 33 } else { p };
            Observable::parse(IndicatorKind::Cidr, &format!("{a}/{p}")).expect("cidr")
        }),
        name().prop_map(Observable::Domain),
        name().prop_map(Observable::DomainTree),
        (name(), 0u8..3).prop_map(|(n, p)| Observable::Url(format!("http://{n}/p{p}"))),
        hash().prop_map(|(k, h)| Observable::parse(k, &h).expect("hash")),
        name().prop_map(|n| Observable::Email(format!("x@{n}"))),
    ]
}

fn indicator() -> impl Strategy<Value = (Indicator, bool)> {
    (
        observable(),
        prop::option::of(-5i64..5),
        prop::option::of(-5i64..5),
        any::<bool>(),
    )
        .prop_map(|(v, from, until, second_feed)| {
            let mut i = Indicator::new(v, "f");
            i.valid_from = from.map(|d| Timestamp::from_secs(NOW + d));
            i.valid_until = until.map(|d| Timestamp::from_secs(NOW + d));
            (i, second_feed)
        })
}

fn contains(net: IpAddr, p: u8, a: IpAddr) -> bool {
    match (net, a) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

fn name_hits(v: &Observable, q: &str) -> bool {
    match v {
        Observable::Domain(d) => d == q,
        Observable::DomainTree(d) => q == d || q.ends_with(&format!(".{d}")),
        _ => false,
    }
}

/// The naive answer: does `v` match the query `q` of `class`.
fn naive(v: &Observable, class: FieldClass, q: &str) -> bool {
    match class {
        FieldClass::Address => {
            let Ok(a) = q.parse::<IpAddr>() else {
                return false;
            };
            match v {
                Observable::Ip(x) => *x == a,
                Observable::Cidr(n, p) => contains(*n, *p, a),
                _ => false,
            }
        }
        FieldClass::Domain => name_hits(v, q),
        FieldClass::Url => {
            let host = q
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or("");
            matches!(v, Observable::Url(u) if u == q) || name_hits(v, host)
        }
        FieldClass::Hash => match v {
            Observable::Md5(h)
            | Observable::Sha1(h)
            | Observable::Sha256(h)
            | Observable::Sm3(h) => h == q,
            _ => false,
        },
        FieldClass::Email => matches!(v, Observable::Email(e) if e == q),
    }
}

fn query() -> impl Strategy<Value = (FieldClass, String)> {
    prop_oneof![
        addr().prop_map(|a| (FieldClass::Address, a.to_string())),
        name().prop_map(|n| (FieldClass::Domain, n)),
        (name(), 0u8..3).prop_map(|(n, p)| (FieldClass::Url, format!("http://{n}/p{p}"))),
        hash().prop_map(|(_, h)| (FieldClass::Hash, h)),
        name().prop_map(|n| (FieldClass::Email, format!("x@{n}"))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lookups_agree_with_a_linear_scan(
        inds in prop::collection::vec(indicator(), 0..60),
        queries in prop::collection::vec(query(), 1..30),
        at in -6i64..6,
        many_ranges in any::<bool>(),
    ) {
        let now = Timestamp::from_secs(NOW + at);
        let mut inds = inds;
        if many_ranges {
            // Enough IPv4 ranges that the feed keeps its prefix lengths per /16.
            for n in 0..300u32 {
                let v = Observable::parse(IndicatorKind::Cidr, &format!("172.16.{}.0/24", n % 256))
                    .expect("cidr");
                inds.push((Indicator::new(v, "f"), false));
            }
        }
        let tag = |n: usize| format!("i{n}");
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for (n, (mut i, in_second)) in inds.iter().cloned().enumerate() {
            i.id = Some(tag(n));
            if in_second { second.push(i) } else { first.push(i) }
        }
        let set = IntelSet::default().with_feed("one", first).with_feed("two", second);
        prop_assert_eq!(set.len(), inds.len());
        for (class, q) in &queries {
            let mut got: Vec<String> = set
                .lookup(*class, q, now)
                .into_iter()
                .filter_map(|h| set.get(h.handle).id)
                .collect();
            got.sort();
            let mut want: Vec<String> = inds
                .iter()
                .enumerate()
                .filter(|(_, (i, _))| {
                    i.valid_from.is_none_or(|f| now >= f)
                        && i.valid_until.is_none_or(|u| now < u)
                        && naive(&i.value, *class, q)
                })
                .map(|(n, _)| tag(n))
                .collect();
            want.sort();
            prop_assert_eq!(got, want, "{:?} {}", class, q);
        }
        // Matching a whole event (two passes, and past 64 probes) finds what the lookups of
        // its values find, each indicator once.
        let mut ev = Event::new(now, RegionCode::HENAN, Source::new("t", None), b"x");
        for (class, name) in [
            (FieldClass::Address, "source.ip"),
            (FieldClass::Domain, "dns.question.name"),
            (FieldClass::Url, "url.original"),
            (FieldClass::Hash, "file.hash.sha256"),
            (FieldClass::Email, "user.email"),
        ] {
            let values: Vec<Value> = queries
                .iter()
                .filter(|(c, _)| *c == class)
                .map(|(_, q)| Value::str(q.clone()))
                .collect();
            ev.fields.insert(name, Value::List(values));
        }
        let mut hits = Vec::new();
        set.match_event(&ev, &MatchFields::default(), now, &mut hits);
        let mut got: Vec<_> = hits.iter().map(|h| h.handle).collect();
        got.sort();
        let mut want: Vec<_> = queries
            .iter()
            .flat_map(|(class, q)| set.lookup(*class, q, now))
            .map(|h| h.handle)
            .collect();
        want.sort();
        want.dedup();
        prop_assert_eq!(got, want);
    }
}
