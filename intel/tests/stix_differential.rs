//! STIX patterns of the supported shape match what the reference matcher (PyPI
//! `stix2-matcher`, driven by `stix_matcher.py` beside this file) matches, over a generated,
//! seeded set of patterns and observed-data events; patterns of other shapes, valid STIX to
//! the reference, are reported unsupported with their reason.
//!
//! onewall's indicators are values, not object paths, and a CIDR value is a range; so each
//! comparison is put to the reference in the words that say the same:
//! - an address comparison (`ipv4-addr:value`, `network-traffic:src_ref.value`,
//!   `network-traffic:dst_ref.value`) is asked on all three paths, since an address
//!   indicator matches the address in any address field of an event;
//! - a CIDR value is asked with `ISSUBSET` (the address is inside the range), since STIX
//!   `=` compares the text.
//!
//! The generated values are written the way the reference compares them (lower case, IPv6
//! in its canonical form): onewall also matches other spellings of the same value, which the
//! reference, comparing text, would not. The reference's `ISSUBSET` is IPv4 only, so IPv6
//! values are single addresses here (IPv6 ranges are in the parser's own tests).
//!
//! Ours is checked twice: the pattern's values under the values' semantics (an address equal
//! or inside the range, a domain exactly, the rest equal), and the whole chain, the patterns
//! read as a bundle's indicators into an [`IntelSet`] and each event value looked up in it.
//! URL hosts and the hashes of each kind are drawn apart from the other values, since the
//! set also matches a URL's host as a domain or an address, and a hash by its length.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use onewall_intel::feed::stix::pattern::observables;
use onewall_intel::feed::stix::read_bundle;
use onewall_intel::fields::FieldClass;
use onewall_intel::{IntelSet, Observable};
use onewall_model::Timestamp;
use serde_json::{Value, json};

/// splitmix64: a seeded, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }
}

/// The paths of the supported shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    V4,
    NetSrc,
    NetDst,
    V6,
    Domain,
    Url,
    Md5,
    Sha1,
    Sha256,
    Sm3,
    Email,
}

const PATHS: [Path; 11] = [
    Path::V4,
    Path::NetSrc,
    Path::NetDst,
    Path::V6,
    Path::Domain,
    Path::Url,
    Path::Md5,
    Path::Sha1,
    Path::Sha256,
    Path::Sm3,
    Path::Email,
];

/// The address paths a comparison is asked on at the reference.
const ADDRESS_PATHS: [&str; 3] = [
    "ipv4-addr:value",
    "network-traffic:src_ref.value",
    "network-traffic:dst_ref.value",
];

impl Path {
    /// The path as written, with the hash names quoted or not (both are valid).
    fn text(self, quote: bool) -> String {
        let key = |k: &str| {
            if quote {
                format!("'{k}'")
            } else {
                k.to_string()
            }
        };
        match self {
            Path::V4 => "ipv4-addr:value".into(),
            Path::NetSrc => "network-traffic:src_ref.value".into(),
            Path::NetDst => "network-traffic:dst_ref.value".into(),
            Path::V6 => "ipv6-addr:value".into(),
            Path::Domain => "domain-name:value".into(),
            Path::Url => "url:value".into(),
            Path::Md5 => format!("file:hashes.{}", key("MD5")),
            Path::Sha1 => "file:hashes.'SHA-1'".into(),
            Path::Sha256 => "file:hashes.'SHA-256'".into(),
            Path::Sm3 => format!("file:hashes.{}", key("SM3")),
            Path::Email => "email-addr:value".into(),
        }
    }

    fn is_v4(self) -> bool {
        matches!(self, Path::V4 | Path::NetSrc | Path::NetDst)
    }
}

/// The values patterns and events draw from, so that they meet often.
struct Pools {
    v4: Vec<String>,
    cidr: Vec<String>,
    v6: Vec<String>,
    domains: Vec<String>,
    urls: Vec<String>,
    md5: Vec<String>,
    sha1: Vec<String>,
    sha256: Vec<String>,
    sm3: Vec<String>,
    emails: Vec<String>,
}

fn pools(rng: &mut Rng) -> Pools {
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut v4 = strs(&[
        "10.0.0.1",
        "10.1.2.3",
        "192.0.2.1",
        "192.0.2.130",
        "198.51.100.7",
    ]);
    for _ in 0..15 {
        let net = *rng.pick(&[[10, 1], [192, 0], [198, 51], [203, 0]]);
        let c = if net[0] == 10 {
            rng.below(4)
        } else {
            [2, 100, 113][rng.below(3)]
        };
        v4.push(format!("{}.{}.{c}.{}", net[0], net[1], rng.below(256)));
    }
    let cidr = strs(&[
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "10.1.2.3/30",
        "192.0.2.0/25",
        "192.0.2.128/26",
        "192.0.2.130/32",
        "198.51.100.0/24",
        "203.0.113.64/27",
        "203.0.113.77/20",
    ]);
    let v6 = strs(&[
        "2001:db8::1",
        "2001:db8::2",
        "2001:db8:1::a",
        "fe80::1",
        "2001:db8:ffff::10",
    ]);
    let domains = strs(&[
        "evil.example",
        "a.evil.example",
        "b.a.evil.example",
        "evil.example.net",
        "notevil.example",
        "c2.test",
        "x.c2.test",
        "update.bad.invalid",
        "cdn.bad.invalid",
        "xn--80ak6aa92e.example",
    ]);
    let urls = strs(&[
        "http://files.example.org/a.exe",
        "http://files.example.org/a.exe?x=1",
        "https://login.example.org/",
        "https://login.example.org/verify?id=42&t=a%20b",
        "http://files.example.org/it's/b.exe",
        "http://files.example.org/back\\slash",
        "http://198.18.0.9:8080/gate.php",
        "ftp://mirror.example.org/pub/x.tar",
    ]);
    let mut hashes = |len| (0..6).map(|_| rng.hex(len)).collect::<Vec<_>>();
    let (md5, sha1, sha256, sm3) = (hashes(32), hashes(40), hashes(64), hashes(64));
    let emails = strs(&[
        "billing@invoices.example",
        "ceo@corp.example",
        "noreply@evil.example",
        "o'brien@mail.example",
        "x.y+z@c2.test",
    ]);
    Pools {
        v4,
        cidr,
        v6,
        domains,
        urls,
        md5,
        sha1,
        sha256,
        sm3,
        emails,
    }
}

impl Pools {
    fn value(&self, rng: &mut Rng, path: Path) -> String {
        let pool = match path {
            Path::V4 | Path::NetSrc | Path::NetDst if rng.chance(40) => &self.cidr,
            Path::V4 | Path::NetSrc | Path::NetDst => &self.v4,
            Path::V6 => &self.v6,
            Path::Domain => &self.domains,
            Path::Url => &self.urls,
            Path::Md5 => &self.md5,
            Path::Sha1 => &self.sha1,
            Path::Sha256 => &self.sha256,
            Path::Sm3 => &self.sm3,
            Path::Email => &self.emails,
        };
        rng.pick(pool).clone()
    }
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// One comparison: a path and one value (`=`) or several (`IN`).
struct Cmp {
    path: Path,
    quote_key: bool,
    values: Vec<String>,
    set: bool,
    /// The optional white space around the operator and between set members.
    space: [&'static str; 3],
}

/// Optional white space, as it may be written.
const SPACES: [&str; 5] = ["", " ", " ", "  ", "\n\t"];

impl Cmp {
    fn ours(&self) -> String {
        let path = self.path.text(self.quote_key);
        let [a, b, c] = self.space;
        if self.set {
            let vs: Vec<String> = self.values.iter().map(|v| quoted(v)).collect();
            format!("{path} IN{a}({b}{}{c})", vs.join(&format!(",{c}")))
        } else {
            format!("{path}{a}={b}{}", quoted(&self.values[0]))
        }
    }

    /// The same comparison in the reference's words (see the module's doc).
    fn reference(&self) -> String {
        if !self.path.is_v4() {
            return self.ours();
        }
        let mut parts = Vec::new();
        for v in &self.values {
            let op = if v.contains('/') { "ISSUBSET" } else { "=" };
            for p in ADDRESS_PATHS {
                parts.push(format!("{p} {op} {}", quoted(v)));
            }
        }
        format!("({})", parts.join(" OR "))
    }
}

/// A pattern of the supported shape: observations joined by OR, each comparisons joined
/// by OR.
fn supported(rng: &mut Rng, pools: &Pools) -> (String, String) {
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let cmps: Vec<Cmp> = (0..1 + rng.below(3))
            .map(|_| {
                let path = *rng.pick(&PATHS);
                let set = rng.chance(30);
                let n = if set { 1 + rng.below(3) } else { 1 };
                Cmp {
                    path,
                    quote_key: rng.chance(50),
                    values: (0..n).map(|_| pools.value(rng, path)).collect(),
                    set,
                    space: [*rng.pick(&SPACES), *rng.pick(&SPACES), *rng.pick(&SPACES)],
                }
            })
            .collect();
        // After OR a path needs white space, or the two read as one word.
        let or = format!("{}OR{}", rng.pick(&SPACES), rng.pick(&SPACES[1..]));
        let o = cmps.iter().map(Cmp::ours).collect::<Vec<_>>().join(&or);
        let r = cmps
            .iter()
            .map(Cmp::reference)
            .collect::<Vec<_>>()
            .join(" OR ");
        let sp = rng.pick(&SPACES);
        if rng.chance(20) {
            ours.push(format!("({sp}[{o}]{sp})"));
        } else {
            ours.push(format!("[{sp}{o}{sp}]"));
        }
        reference.push(format!("[{r}]"));
    }
    let or = format!("{}OR{}", rng.pick(&SPACES), rng.pick(&SPACES));
    (ours.join(&or), reference.join(" OR "))
}

/// A valid STIX pattern of another shape, and the reason onewall gives for it.
fn unsupported(rng: &mut Rng, pools: &Pools) -> (String, &'static str) {
    let ip = quoted(rng.pick(&pools.v4).as_str());
    let dom = quoted(rng.pick(&pools.domains).as_str());
    let good = format!("domain-name:value = {dom}");
    let shapes: [(String, &'static str); 16] = [
        (
            format!("[ipv4-addr:value = {ip} AND {good}]"),
            "unsupported: AND",
        ),
        (
            format!("[ipv4-addr:value = {ip}] AND [{good}]"),
            "unsupported: AND",
        ),
        (
            format!("[{good}] FOLLOWEDBY [ipv4-addr:value = {ip}]"),
            "unsupported: FOLLOWEDBY",
        ),
        (
            format!("[{good}] WITHIN 300 SECONDS"),
            "unsupported: WITHIN qualifier",
        ),
        (
            format!("[ipv4-addr:value = {ip}] REPEATS 3 TIMES"),
            "unsupported: REPEATS qualifier",
        ),
        (
            format!("[{good}] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z'"),
            "unsupported: START/STOP qualifier",
        ),
        (
            format!("[{good} OR ipv4-addr:value != {ip}]"),
            "unsupported: comparison !=",
        ),
        (format!("[ipv4-addr:value NOT = {ip}]"), "unsupported: NOT"),
        (
            "[domain-name:value LIKE '%.evil.example']".into(),
            "unsupported: comparison LIKE",
        ),
        (
            "[url:value MATCHES '^https?://files']".into(),
            "unsupported: comparison MATCHES",
        ),
        (
            "[ipv4-addr:value ISSUBSET '10.0.0.0/8']".into(),
            "unsupported: comparison ISSUBSET",
        ),
        (
            format!("[{good} OR file:name = 'a.exe']"),
            "unsupported object path file:name",
        ),
        (
            "[file:size > 1024]".into(),
            "unsupported object path file:size",
        ),
        (
            "[x509-certificate:serial_number = '36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49']"
                .into(),
            "unsupported object path x509-certificate:serial_number",
        ),
        (
            "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo']".into(),
            "unsupported object path windows-registry-key:key",
        ),
        (
            "[file:hashes.'SHA-512' = 'ab']".into(),
            "unsupported object path file:hashes.'SHA-512'",
        ),
    ];
    rng.pick(&shapes).clone()
}

/// What an event holds, as onewall's matcher sees it.
#[derive(Debug, Default)]
struct Seen {
    addresses: Vec<IpAddr>,
    domains: Vec<String>,
    urls: Vec<String>,
    /// (STIX hash name, value)
    hashes: Vec<(&'static str, String)>,
    emails: Vec<String>,
}

/// An observed-data event (a STIX 2.1 bundle, as the reference takes it) and its values.
fn event(rng: &mut Rng, pools: &Pools, n: usize) -> (Value, Seen) {
    let mut seen = Seen::default();
    let mut objects = Vec::new();
    let mut k = 0;
    let mut id = |ty: &str| {
        k += 1;
        format!("{ty}--{n:08x}-0000-4000-8000-{k:012x}")
    };
    let mut v4_ids = Vec::new();
    for _ in 0..rng.below(4) {
        let a = if rng.chance(50) {
            rng.pick(&pools.v4).clone()
        } else {
            // Somewhere in or near a range of the pool.
            let c = rng.pick(&pools.cidr).clone();
            let base: std::net::Ipv4Addr = c
                .split('/')
                .next()
                .and_then(|b| b.parse().ok())
                .expect("cidr");
            let spread = [1u32, 3, 64, 300, 70_000][rng.below(5)];
            let delta = rng.below(spread as usize * 2) as i64 - i64::from(spread);
            let v = (i64::from(u32::from(base)) + delta).clamp(0, i64::from(u32::MAX));
            std::net::Ipv4Addr::from(u32::try_from(v).expect("in range")).to_string()
        };
        let i = id("ipv4-addr");
        objects.push(json!({"type": "ipv4-addr", "id": i, "value": a}));
        seen.addresses.push(a.parse().expect("address"));
        v4_ids.push(i);
    }
    if !v4_ids.is_empty() && rng.chance(60) {
        let src = rng.pick(&v4_ids).clone();
        let dst = rng.pick(&v4_ids).clone();
        objects.push(
            json!({"type": "network-traffic", "id": id("network-traffic"),
            "src_ref": src, "dst_ref": dst, "protocols": ["tcp"]}),
        );
    }
    if rng.chance(20) {
        let a = rng.pick(&pools.v6).clone();
        objects.push(json!({"type": "ipv6-addr", "id": id("ipv6-addr"), "value": a}));
        seen.addresses.push(a.parse().expect("address"));
    }
    for _ in 0..rng.below(3) {
        let d = rng.pick(&pools.domains).clone();
        objects.push(json!({"type": "domain-name", "id": id("domain-name"), "value": d}));
        seen.domains.push(d);
    }
    if rng.chance(35) {
        let u = rng.pick(&pools.urls).clone();
        objects.push(json!({"type": "url", "id": id("url"), "value": u}));
        seen.urls.push(u);
    }
    if rng.chance(45) {
        let mut hashes = serde_json::Map::new();
        for (name, pool) in [
            ("MD5", &pools.md5),
            ("SHA-1", &pools.sha1),
            ("SHA-256", &pools.sha256),
            ("SM3", &pools.sm3),
        ] {
            if rng.chance(50) {
                let h = rng.pick(pool).clone();
                hashes.insert(name.into(), json!(h));
                seen.hashes.push((name, h));
            }
        }
        objects.push(json!({"type": "file", "id": id("file"), "hashes": hashes, "name": "x.bin"}));
    }
    if rng.chance(30) || objects.is_empty() {
        let e = rng.pick(&pools.emails).clone();
        objects.push(json!({"type": "email-addr", "id": id("email-addr"), "value": e}));
        seen.emails.push(e);
    }
    let refs: Vec<Value> = objects.iter().map(|o| o["id"].clone()).collect();
    let t = "2026-11-30T10:00:00Z";
    let mut all = vec![json!({"type": "observed-data", "spec_version": "2.1",
        "id": format!("observed-data--{n:08x}-0000-4000-8000-000000000000"),
        "created": t, "modified": t, "first_observed": t, "last_observed": t,
        "number_observed": 1, "object_refs": refs})];
    all.extend(objects);
    (
        json!({"type": "bundle", "id": format!("bundle--{n:08x}-0000-4000-8000-000000000000"), "objects": all}),
        seen,
    )
}

/// Does an indicator of value `o` match what the event holds (the values' semantics: an
/// address equal or inside the range, a domain exactly, the rest equal)?
fn matches(o: &Observable, seen: &Seen) -> bool {
    let in_range = |a: &IpAddr, net: &IpAddr, p: u8| match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
            u32::from(*a) & mask == u32::from(*n)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
            u128::from(*a) & mask == u128::from(*n)
        }
        _ => false,
    };
    let hash = |name: &str, h: &str| seen.hashes.iter().any(|(n, v)| *n == name && v == h);
    match o {
        Observable::Ip(x) => seen.addresses.contains(x),
        Observable::Cidr(n, p) => seen.addresses.iter().any(|a| in_range(a, n, *p)),
        Observable::Domain(d) => seen.domains.contains(d),
        Observable::DomainTree(_) => panic!("a STIX pattern never gives a domain tree"),
        Observable::Url(u) => seen.urls.contains(u),
        Observable::Md5(h) => hash("MD5", h),
        Observable::Sha1(h) => hash("SHA-1", h),
        Observable::Sha256(h) => hash("SHA-256", h),
        Observable::Sm3(h) => hash("SM3", h),
        Observable::Email(e) => seen.emails.contains(e),
    }
}

/// The patterns as one bundle's indicators (`indicator--…-<n>`), read into a set.
fn set_of(patterns: &[String]) -> IntelSet {
    let objects: Vec<Value> = patterns
        .iter()
        .enumerate()
        .map(|(n, p)| {
            json!({"type": "indicator", "spec_version": "2.1",
                   "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
                   "pattern": p, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"})
        })
        .collect();
    let bundle = json!({"type": "bundle", "id": "bundle--1", "objects": objects});
    let read = read_bundle(bundle.to_string().as_bytes(), "stix").expect("reads");
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    IntelSet::default().with_feed("stix", read.indicators)
}

/// The patterns (by number) whose indicators `set` finds among the event's values.
fn set_matches(set: &IntelSet, seen: &Seen) -> BTreeSet<usize> {
    let now = Timestamp::parse_rfc3339("2026-11-30T10:00:00Z").expect("t");
    let addresses: Vec<String> = seen.addresses.iter().map(IpAddr::to_string).collect();
    let classed = addresses
        .iter()
        .map(|a| (FieldClass::Address, a))
        .chain(seen.domains.iter().map(|d| (FieldClass::Domain, d)))
        .chain(seen.urls.iter().map(|u| (FieldClass::Url, u)))
        .chain(seen.hashes.iter().map(|(_, h)| (FieldClass::Hash, h)))
        .chain(seen.emails.iter().map(|e| (FieldClass::Email, e)));
    let mut out = BTreeSet::new();
    for (class, text) in classed {
        for hit in set.lookup(class, text, now) {
            let id = set.get(hit.handle).id.expect("a STIX id");
            let n = id
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("numbered");
            out.insert(n);
        }
    }
    out
}

/// Ask the reference matcher; a missing python or package fails the test saying how to get
/// them.
fn reference(patterns: &[(String, bool)], events: &[Value]) -> Vec<Value> {
    let how = "the STIX differential test needs python3 with PyPI stix2-matcher 3.0.0: \
               run scripts/test (it installs it)";
    let probe = Command::new("python3")
        .args(["-c", "import stix2matcher"])
        .output()
        .unwrap_or_else(|e| panic!("{how} (python3: {e})"));
    assert!(
        probe.status.success(),
        "{how} ({})",
        String::from_utf8_lossy(&probe.stderr).trim()
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stix_matcher.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let input = json!({
        "patterns": patterns.iter().map(|(t, m)| json!({"text": t, "match": m})).collect::<Vec<_>>(),
        "events": events,
    });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("writes");
    let out = child.wait_with_output().expect("runs");
    assert!(
        out.status.success(),
        "stix_matcher.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the helper prints JSON");
    doc["results"].as_array().expect("results").clone()
}

#[test]
fn supported_patterns_match_as_the_reference_matcher_does() {
    let mut rng = Rng(0x5715_2021);
    let pools = pools(&mut rng);
    let supported: Vec<(String, String)> = (0..200).map(|_| supported(&mut rng, &pools)).collect();
    let unsupported: Vec<(String, &str)> = (0..50).map(|_| unsupported(&mut rng, &pools)).collect();
    let (events, seen): (Vec<Value>, Vec<Seen>) =
        (0..200).map(|n| event(&mut rng, &pools, n)).unzip();

    let mut asks: Vec<(String, bool)> = supported.iter().map(|(_, r)| (r.clone(), true)).collect();
    asks.extend(unsupported.iter().map(|(p, _)| (p.clone(), false)));
    // Our spelling of each supported pattern is valid STIX too (compiled only).
    asks.extend(supported.iter().map(|(o, _)| (o.clone(), false)));
    let results = reference(&asks, &events);
    assert_eq!(results.len(), asks.len());

    let ours_all: Vec<String> = supported.iter().map(|(o, _)| o.clone()).collect();
    let set = set_of(&ours_all);
    let by_set: Vec<BTreeSet<usize>> = seen.iter().map(|s| set_matches(&set, s)).collect();

    let mut pairs = 0;
    let mut hits = 0;
    let mut differ = Vec::new();
    for (i, (ours, theirs)) in supported.iter().enumerate() {
        let values = observables(ours).unwrap_or_else(|e| panic!("{ours}: {e}"));
        let want: BTreeSet<usize> = match results[i].get("matches") {
            Some(m) => m
                .as_array()
                .expect("list")
                .iter()
                .filter_map(Value::as_u64)
                .map(|n| n as usize)
                .collect(),
            None => panic!("the reference refused {theirs}: {}", results[i]),
        };
        let got: BTreeSet<usize> = seen
            .iter()
            .enumerate()
            .filter(|(_, s)| values.iter().any(|o| matches(o, s)))
            .map(|(n, _)| n)
            .collect();
        let from_set: BTreeSet<usize> = (0..events.len())
            .filter(|e| by_set[*e].contains(&i))
            .collect();
        pairs += events.len();
        hits += want.len();
        for (how, got) in [("values", &got), ("set", &from_set)] {
            if *got != want {
                differ.push(format!(
                    "{ours} ({how})\n  reference: {theirs}\n  only ours: {:?}\n  only the reference: {:?}",
                    got.difference(&want).collect::<Vec<_>>(),
                    want.difference(got).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} patterns differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
    // The generated set is not trivial: both outcomes are common.
    assert!(
        hits > pairs / 50 && hits < pairs / 2,
        "{hits} matches of {pairs}"
    );
    eprintln!(
        "{} patterns x {} events: {hits} matches, all as the reference",
        supported.len(),
        events.len()
    );

    for (i, (p, why)) in unsupported.iter().enumerate() {
        assert!(
            results[supported.len() + i].get("matches").is_some(),
            "the reference refuses {p}: {}",
            results[supported.len() + i]
        );
        let e = observables(p).expect_err(p);
        assert!(e.starts_with(why), "{p}: {e}, want {why}");
    }
    let ours_valid = &results[supported.len() + unsupported.len()..];
    for ((ours, _), r) in supported.iter().zip(ours_valid) {
        assert!(
            r.get("matches").is_some(),
            "the reference refuses {ours}: {r}"
        );
    }
}

/// Lexical corners: where the reference finds a syntax error, so do we; where it does not,
/// we never report one (a pattern is taken or refused as unsupported, never misread).
#[test]
fn the_lexical_grammar_agrees_with_the_reference() {
    let cases: Vec<(&str, Option<&[&str]>)> = vec![
        (
            "[ipv4-addr:value='10.0.0.1']OR[ipv4-addr:value='10.0.0.2']",
            Some(&["10.0.0.1", "10.0.0.2"]),
        ),
        (
            "[\n\tipv4-addr:value\n=\t'10.0.0.1'\n]",
            Some(&["10.0.0.1"]),
        ),
        (
            "[url:value IN('http://a.example/','http://b.example/x')]",
            Some(&["http://a.example/", "http://b.example/x"]),
        ),
        (
            "[url:value = 'http://a.example/\\'OR\\'']",
            Some(&["http://a.example/'OR'"]),
        ),
        (
            "[url:value = 'http://a.example/\\\\']",
            Some(&["http://a.example/\\"]),
        ),
        (
            "[url:value = 'http://a.example/]']",
            Some(&["http://a.example/]"]),
        ),
        (
            "(([domain-name:value = 'a.example']) OR ([domain-name:value = 'b.example']))",
            Some(&["a.example", "b.example"]),
        ),
        (
            "[(domain-name:value = 'a.example' OR (email-addr:value = 'x@a.example'))]",
            Some(&["a.example", "x@a.example"]),
        ),
        (
            "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']",
            Some(&["d41d8cd98f00b204e9800998ecf8427e"]),
        ),
        (
            "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']",
            Some(&["d41d8cd98f00b204e9800998ecf8427e"]),
        ),
        (
            "[ipv4-addr:value = '10.0.0.1' or ipv4-addr:value = '10.0.0.2']",
            None,
        ),
        ("[ipv4-addr:value in ('10.0.0.1')]", None),
        ("[ipv4-addr:value = '10.0.0.1'] within 5 seconds", None),
        ("[ipv4-addr:value = \"10.0.0.1\"]", None),
        ("[ipv4-addr:value = '10.0.0.1\\n']", None),
        ("[ipv4-addr:value = '10.0.0.1'", None),
        ("[ipv4-addr:value = '10.0.0.1']]", None),
        ("ipv4-addr:value = '10.0.0.1'", None),
        ("[ipv4-addr:value IN ()]", Some(&[])),
        ("[ipv4-addr:value IN ('10.0.0.1',)]", None),
        ("[file:hashes.SHA-256 = 'aa']", None),
        ("[]", None),
        ("", None),
        ("[ipv4-addr:value = TRUE]", None),
        ("[file:size = .5]", Some(&[])),
        ("[file:size = -.5]", Some(&[])),
        ("[file:size = +5]", Some(&[])),
        ("[x:a[-1] = 'a']", Some(&[])),
        ("[x:a[*].'b c'[0] = 'a']", Some(&[])),
        ("[Ipv4-addr:value = 'a']", Some(&[])),
        ("[x-custom-obj:x_prop = 'a']", Some(&[])),
        ("[file:name = 'a' AND file:size > 5]", Some(&[])),
        (
            "[file:size >= 5] REPEATS 2 TIMES WITHIN 10 SECONDS",
            Some(&[]),
        ),
        (
            "[artifact:payload_bin = b'aGVsbG8=' OR artifact:x = h'0aff']",
            Some(&[]),
        ),
        ("[process:created = t'2026-01-01T00:00:00Z']", Some(&[])),
        ("[file:name NOT IN ('a', 'b')]", Some(&[])),
        ("[file:name NOT LIKE 'a%']", Some(&[])),
        ("[EXISTS file:name]", Some(&[])),
    ];
    let asks: Vec<(String, bool)> = cases.iter().map(|(p, _)| (p.to_string(), false)).collect();
    let results = reference(&asks, &[]);
    for ((p, want), r) in cases.iter().zip(&results) {
        let theirs_ok = r.get("matches").is_some();
        let ours = observables(p);
        match (theirs_ok, want, &ours) {
            (false, None, Err(e)) => assert!(e.starts_with("syntax error"), "{p}: {e}"),
            (true, Some(values), Ok(got)) if !values.is_empty() => {
                let got: Vec<String> = got.iter().map(Observable::text).collect();
                assert_eq!(&got, values, "{p}");
            }
            (true, Some([]), Err(e)) => {
                assert!(e.starts_with("unsupported"), "{p}: {e}")
            }
            _ => panic!("{p}: the reference says {r}, we say {ours:?}, the table says {want:?}"),
        }
    }
}
