//! Geo-IP readers against databases the test makes: a MaxMind DB written by PyPI
//! `mmdb-writer` and checked against the reference reader (PyPI `maxminddb`), ip2region xdb
//! files written to the format and checked against `py-ip2region`; then the facade (scope,
//! 境内/境外, both databases together) and corrupt files.

mod geo_support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use onewall_intel::IntelError;
use onewall_intel::geo::enrich::GeoEnrich;
use onewall_intel::geo::{GeoDb, Mmdb, Place, Scope, Xdb};
use onewall_model::{Event, RegionCode, Source, Timestamp, Value};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn text(v: &Option<Arc<str>>) -> Option<&str> {
    v.as_deref()
}

fn mmdb_bytes() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("city.mmdb");
    geo_support::mmdb(&path);
    let bytes = std::fs::read(&path).expect("read the written database");
    (dir, bytes)
}

const MMDB_PROBES: &[&str] = &[
    "1.2.3.4",
    "1.2.255.255",
    "1.3.0.0",
    "8.8.8.8",
    "8.8.9.1",
    "203.198.7.7",
    "81.2.69.160",
    "9.9.9.9",
    "2400:3200::1",
    "2400:3201::1",
    "2001:4860::8888",
    "::1.2.3.4",
    "0.0.0.0",
    "255.255.255.255",
];

/// What PyPI `maxminddb` reads for each probe: the same parts ours takes.
const MMDB_REFERENCE: &str = r#"
import sys, json, maxminddb
r = maxminddb.open_database(sys.argv[1], maxminddb.MODE_MEMORY)
def name(d):
    n = (d or {}).get("names", {})
    return n.get("zh-CN") or n.get("en")
out = {}
for a in sys.argv[2:]:
    rec = r.get(a)
    if rec is None:
        out[a] = None
        continue
    subs = rec.get("subdivisions") or [None]
    out[a] = {
        "country_code": (rec.get("country") or {}).get("iso_code"),
        "country": name(rec.get("country")),
        "province": name(subs[0]),
        "city": name(rec.get("city")),
        "isp": rec.get("autonomous_system_organization"),
        "asn": rec.get("autonomous_system_number"),
    }
print(json.dumps(out))
"#;

fn as_json(p: &Place) -> serde_json::Value {
    serde_json::json!({
        "country_code": text(&p.country_code),
        "country": text(&p.country),
        "province": text(&p.province),
        "city": text(&p.city),
        "isp": text(&p.isp),
        "asn": p.asn,
    })
}

#[test]
fn mmdb_lookups_agree_with_the_reference_reader() {
    let (dir, bytes) = mmdb_bytes();
    let db = Mmdb::from_bytes(bytes).expect("open");
    assert_eq!(db.database_type(), "GeoLite2-City");
    let path = dir.path().join("city.mmdb");
    let mut args = vec![path.to_str().expect("utf-8")];
    args.extend(MMDB_PROBES);
    let reference: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&geo_support::python(MMDB_REFERENCE, &args)).expect("json");
    let mut found = 0;
    for probe in MMDB_PROBES {
        let ours = db.lookup(ip(probe)).expect("lookup");
        let theirs = &reference[*probe];
        match ours {
            Some(place) => {
                found += 1;
                assert_eq!(&as_json(&place), theirs, "{probe}");
            }
            None => assert!(theirs.is_null(), "{probe}: ours none, reference {theirs}"),
        }
    }
    assert_eq!(found, 7, "probes inside the database's networks");
}

#[test]
fn mmdb_city_records_give_country_province_city_and_asn() {
    let (_dir, bytes) = mmdb_bytes();
    let db = GeoDb::new(Some(Mmdb::from_bytes(bytes).expect("open")), None);

    let cn = db.lookup(ip("1.2.3.4")).expect("a Chinese address");
    assert_eq!(cn.scope, Scope::Public);
    assert_eq!(cn.domestic, Some(true));
    assert_eq!(text(&cn.place.country_code), Some("CN"));
    assert_eq!(text(&cn.place.country), Some("中国"));
    assert_eq!(text(&cn.place.province), Some("河南省"));
    assert_eq!(text(&cn.place.city), Some("郑州"));
    assert_eq!(cn.place.asn, Some(4134));
    assert_eq!(text(&cn.place.isp), Some("CHINANET-BACKBONE"));
    // The same address written as IPv6 is the same record.
    assert_eq!(db.lookup(ip("::ffff:1.2.3.4")), Some(cn));

    // Names only in English are read in English.
    let us = db.lookup(ip("8.8.8.8")).expect("a foreign address");
    assert_eq!(us.domestic, Some(false));
    assert_eq!(text(&us.place.country), Some("United States"));
    assert_eq!(text(&us.place.province), Some("California"));
    assert_eq!(text(&us.place.city), Some("Mountain View"));

    // Hong Kong is 境外.
    let hk = db.lookup(ip("203.198.1.1")).expect("Hong Kong");
    assert_eq!(text(&hk.place.country_code), Some("HK"));
    assert_eq!(hk.domestic, Some(false));

    let v6 = db.lookup(ip("2400:3200:1::5")).expect("an IPv6 address");
    assert_eq!(text(&v6.place.province), Some("浙江省"));

    // Outside every network: nothing known.
    assert_eq!(db.lookup(ip("9.9.9.9")), None);
    assert_eq!(db.lookup(ip("2001:4860::8888")), None);

    // Private and reserved addresses are marked without a database.
    let private = db.lookup(ip("192.168.1.1")).expect("scope");
    assert_eq!(private.scope, Scope::Private);
    assert_eq!(private.place, Place::default());
    assert_eq!(private.domestic, None);
    assert_eq!(
        db.lookup(ip("fd00::1")).map(|g| g.scope),
        Some(Scope::Private)
    );
    assert_eq!(
        db.lookup(ip("198.51.100.1")).map(|g| g.scope),
        Some(Scope::Reserved)
    );
    assert_eq!(
        db.lookup(ip("224.0.0.1")).map(|g| g.scope),
        Some(Scope::Reserved)
    );
}

/// What `py-ip2region` reads for each probe ("" when no range holds it).
const XDB_REFERENCE: &str = r#"
import sys, json
import ip2region.searcher as searcher, ip2region.util as util
buf = open(sys.argv[1], "rb").read()
version = util.version_from_header(util.Header(buf[:256]))
s = searcher.new_with_buffer(version, buf)
print(json.dumps({a: s.search(a) for a in sys.argv[2:]}))
"#;

/// What a maker writes for addresses it knows nothing of.
const FILLER: &str = "0|0|0|0|0";

fn check_xdb_against_reference(bytes: &[u8], probes: &[&str]) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.xdb");
    std::fs::write(&path, bytes).expect("write");
    let mut args = vec![path.to_str().expect("utf-8")];
    args.extend(probes);
    let reference: BTreeMap<String, String> =
        serde_json::from_str(&geo_support::python(XDB_REFERENCE, &args)).expect("json");
    let db = Xdb::from_bytes(bytes.to_vec()).expect("open");
    let mut found = 0;
    for probe in probes {
        let ours = db.region(ip(probe)).expect("lookup").unwrap_or_default();
        assert_eq!(ours, reference[*probe], "{probe}");
        found += usize::from(!ours.is_empty() && ours != FILLER);
    }
    found
}

const XDB_V4_PROBES: &[&str] = &[
    "1.2.0.0",
    "1.2.3.4",
    "1.2.255.255",
    "1.3.0.0",
    "1.1.1.1",
    "8.8.8.8",
    "8.8.7.255",
    "8.8.9.0",
    "36.0.0.1",
    "36.1.128.1",
    "36.3.255.255",
    "36.4.0.0",
    "43.252.2.1",
    "45.0.1.1",
    "220.181.38.148",
    "220.181.200.1",
    "0.0.0.0",
    "255.255.255.255",
];

#[test]
fn xdb_v4_lookups_agree_with_py_ip2region() {
    let segments = geo_support::v4_segments();
    for v3 in [false, true] {
        let bytes = geo_support::xdb(&segments, v3);
        let found = check_xdb_against_reference(&bytes, XDB_V4_PROBES);
        assert_eq!(found, 10, "v3 {v3}: probes inside the ranges");
    }
}

#[test]
fn xdb_v6_lookups_agree_with_py_ip2region() {
    let bytes = geo_support::xdb(&geo_support::v6_segments(), true);
    let probes = [
        "2400:3200::1",
        "2400:3200:ffff::1",
        "2400:3201::1",
        "2400:31ff:ffff::1",
        "2a00:1450:4001::200e",
        "2a00:1451:1::1",
        "2a00:1452::1",
        "::",
    ];
    assert_eq!(check_xdb_against_reference(&bytes, &probes), 4);
    let db = Xdb::from_bytes(bytes).expect("open");
    assert!(db.is_ipv6());
    // An IPv6 file has no IPv4 answer.
    assert_eq!(db.region(ip("1.2.3.4")).expect("lookup"), None);
}

#[test]
fn ipv4_and_ipv6_xdb_files_answer_their_own_addresses() {
    let v4 = Xdb::from_bytes(geo_support::xdb(&geo_support::v4_segments(), false)).expect("v4");
    let v6 = Xdb::from_bytes(geo_support::xdb(&geo_support::v6_segments(), true)).expect("v6");
    let db = GeoDb::new(None, Some(v4)).with_xdb(v6);
    let henan = db.lookup(ip("1.2.3.4")).expect("IPv4");
    assert_eq!(text(&henan.place.province), Some("河南省"));
    let hangzhou = db.lookup(ip("2400:3200::1")).expect("IPv6");
    assert_eq!(text(&hangzhou.place.city), Some("杭州市"));
    assert_eq!(hangzhou.domestic, Some(true));
    let ireland = db.lookup(ip("2a00:1450::1")).expect("IPv6 abroad");
    assert_eq!(text(&ireland.place.country_code), Some("IE"));
    assert_eq!(ireland.domestic, Some(false));
    assert_eq!(
        db.lookup(ip("2a00:1452::1")),
        None,
        "the maker's filler is nothing known"
    );
}

#[test]
fn xdb_regions_give_country_code_province_city_and_isp() {
    let db = GeoDb::new(
        None,
        Some(Xdb::from_bytes(geo_support::xdb(&geo_support::v4_segments(), false)).expect("open")),
    );
    let henan = db.lookup(ip("1.2.3.4")).expect("Henan");
    assert_eq!(text(&henan.place.country_code), Some("CN"));
    assert_eq!(text(&henan.place.country), Some("中国"));
    assert_eq!(text(&henan.place.province), Some("河南省"));
    assert_eq!(text(&henan.place.city), Some("郑州市"));
    assert_eq!(text(&henan.place.isp), Some("电信"));
    assert_eq!(henan.place.asn, None);
    assert_eq!(henan.domestic, Some(true));

    // `0` columns are unknown.
    let us = db.lookup(ip("8.8.8.8")).expect("US");
    assert_eq!(text(&us.place.country_code), Some("US"));
    assert_eq!(
        (us.place.province.clone(), us.place.city.clone()),
        (None, None)
    );
    assert_eq!(us.domestic, Some(false));

    // Hong Kong written as a province of 中国 is HK, 境外.
    let hk = db.lookup(ip("43.252.1.1")).expect("HK");
    assert_eq!(text(&hk.place.country_code), Some("HK"));
    assert_eq!(hk.domestic, Some(false));

    // The newer layout with the code in its last column.
    let jp = db.lookup(ip("45.0.0.9")).expect("JP");
    assert_eq!(text(&jp.place.country_code), Some("JP"));
    assert_eq!(text(&jp.place.province), Some("东京都"));
    assert_eq!(text(&jp.place.city), Some("东京"));
    assert_eq!(jp.place.isp, None);

    assert_eq!(db.lookup(ip("1.1.1.1")), None);
    assert_eq!(
        db.lookup(ip("10.0.0.1")).map(|g| g.scope),
        Some(Scope::Private)
    );
    assert_eq!(
        db.lookup(ip("100.64.1.1")).map(|g| g.scope),
        Some(Scope::Private)
    );
}

#[test]
fn both_databases_xdb_first_then_mmdb_fills_the_gaps() {
    let (_dir, mmdb) = mmdb_bytes();
    let db = GeoDb::from_bytes(
        Some(mmdb),
        Some(geo_support::xdb(&geo_support::v4_segments(), false)),
    )
    .expect("open both");
    let henan = db.lookup(ip("1.2.3.4")).expect("Henan");
    // The xdb's city and ISP, the MMDB's ASN.
    assert_eq!(text(&henan.place.city), Some("郑州市"));
    assert_eq!(text(&henan.place.isp), Some("电信"));
    assert_eq!(henan.place.asn, Some(4134));
    // Only in the MMDB.
    let gb = db.lookup(ip("81.2.69.160")).expect("GB");
    assert_eq!(text(&gb.place.city), Some("伦敦"));
    assert_eq!(gb.domestic, Some(false));
    // Only in the xdb.
    let bj = db.lookup(ip("220.181.38.148")).expect("Beijing");
    assert_eq!(text(&bj.place.province), Some("北京"));
    assert_eq!(db.lookup(ip("9.9.9.9")), None);
}

fn event(fields: &[(&str, Value)]) -> Event {
    let mut e = Event::new(
        Timestamp::now(),
        RegionCode::HENAN,
        Source::new("test", None),
        b"line",
    );
    for (k, v) in fields {
        e.fields.insert(k, v.clone());
    }
    e
}

#[test]
fn enrichment_fills_ecs_fields_per_side_and_keeps_what_events_have() {
    let (_dir, mmdb) = mmdb_bytes();
    let db = GeoDb::from_bytes(
        Some(mmdb),
        Some(geo_support::xdb(&geo_support::v4_segments(), false)),
    )
    .expect("open");
    let enrich = GeoEnrich::new(db).expect("fields");
    let mut batch = vec![
        event(&[
            ("source.ip", Value::Ip(ip("1.2.3.4"))),
            ("destination.ip", Value::str("8.8.8.8")),
            (
                "host.ip",
                Value::List(vec![Value::str("10.1.1.1"), Value::str("8.8.8.8")]),
            ),
            ("client.ip", Value::str("not an address")),
        ]),
        event(&[
            ("source.ip", Value::Ip(ip("1.2.3.4"))),
            ("source.geo.city_name", Value::str("sender's own")),
            ("server.ip", Value::Ip(ip("9.9.9.9"))),
        ]),
        event(&[("message", Value::str("no address"))]),
    ];
    assert_eq!(enrich.enrich(&mut batch), 5);
    let get = |e: &Event, k: &str| e.get(k).cloned();
    let s = |v: &str| Some(Value::str(v));
    let e = &batch[0];
    assert_eq!(get(e, "source.geo.country_iso_code"), s("CN"));
    assert_eq!(get(e, "source.geo.country_name"), s("中国"));
    assert_eq!(get(e, "source.geo.region_name"), s("河南省"));
    assert_eq!(get(e, "source.geo.city_name"), s("郑州市"));
    assert_eq!(get(e, "source.as.organization.name"), s("电信"));
    assert_eq!(get(e, "source.as.number"), Some(Value::Int(4134)));
    assert_eq!(get(e, "source.geo.scope"), s("public"));
    assert_eq!(get(e, "source.geo.domestic"), Some(Value::Bool(true)));
    assert_eq!(get(e, "destination.geo.country_iso_code"), s("US"));
    assert_eq!(get(e, "destination.as.number"), Some(Value::Int(15169)));
    assert_eq!(get(e, "destination.geo.domestic"), Some(Value::Bool(false)));
    // host.ip is a list: its first address.
    assert_eq!(get(e, "host.geo.scope"), s("private"));
    assert_eq!(get(e, "host.geo.country_iso_code"), None);
    assert_eq!(get(e, "client.geo.scope"), None);
    let e = &batch[1];
    assert_eq!(get(e, "source.geo.city_name"), s("sender's own"));
    assert_eq!(get(e, "source.geo.region_name"), s("河南省"));
    assert_eq!(get(e, "server.geo.scope"), s("public"));
    assert_eq!(get(e, "server.geo.country_name"), None);
    assert_eq!(batch[2].fields.len(), 1);
}

fn is_malformed(e: &IntelError, format: &str) -> bool {
    matches!(e, IntelError::MalformedDatabase { format: f, .. } if *f == format)
}

#[test]
fn corrupt_mmdb_files_give_a_clear_error_and_never_panic() {
    let (_dir, bytes) = mmdb_bytes();
    let e = Mmdb::from_bytes(Vec::new()).expect_err("empty");
    assert_eq!(
        e.to_string(),
        "MaxMind DB database is malformed: no metadata marker in the last 128 KiB"
    );
    let probes: Vec<IpAddr> = MMDB_PROBES.iter().map(|p| ip(p)).collect();
    let mut refused = 0;
    // Every truncation: opened or refused, never a panic; lookups answer or fail cleanly.
    for len in 0..bytes.len() {
        match Mmdb::from_bytes(bytes[..len].to_vec()) {
            Ok(db) => {
                for p in &probes {
                    let _ = db.lookup(*p);
                }
            }
            Err(e) => {
                assert!(is_malformed(&e, "MaxMind DB"), "{e}");
                refused += 1;
            }
        }
    }
    assert!(refused > bytes.len() / 2, "most truncations are refused");
    // Every byte changed: the same.
    let mut errors = 0;
    for i in 0..bytes.len() {
        for v in [0x00, 0xff, bytes[i] ^ 0x20] {
            let mut b = bytes.clone();
            b[i] = v;
            if let Ok(db) = Mmdb::from_bytes(b) {
                for p in &probes {
                    errors += usize::from(db.lookup(*p).is_err());
                }
            }
        }
    }
    assert!(errors > 0, "some corruptions are found at lookup");
}

#[test]
fn corrupt_xdb_files_give_a_clear_error_and_never_panic() {
    let bytes = geo_support::xdb(&geo_support::v4_segments(), false);
    let e = Xdb::from_bytes(bytes[..1000].to_vec()).expect_err("truncated");
    assert!(
        e.to_string()
            .starts_with("ip2region xdb database is malformed: 1000 bytes, shorter than"),
        "{e}"
    );
    let mut wrong = bytes.clone();
    wrong[0] = 9;
    assert_eq!(
        Xdb::from_bytes(wrong).expect_err("version").to_string(),
        "ip2region xdb database is malformed: structure version 9 (2 or 3 is read)"
    );
    let probes: Vec<IpAddr> = XDB_V4_PROBES.iter().map(|p| ip(p)).collect();
    let head = 256 + 256 * 256 * 8;
    // Truncations inside the data and index, and every changed byte there and in the header
    // and the used vector index cells.
    for len in head..bytes.len() {
        if let Ok(db) = Xdb::from_bytes(bytes[..len].to_vec()) {
            for p in &probes {
                let _ = db.lookup(*p);
            }
        }
    }
    let cells = [(1u8, 2u8), (8, 8), (36, 0), (36, 3), (45, 0), (220, 181)]
        .map(|(a, b)| 256 + (usize::from(a) * 256 + usize::from(b)) * 8);
    let spots = (0..32)
        .chain(cells.iter().flat_map(|c| *c..*c + 8))
        .chain(head..bytes.len());
    let mut errors = 0;
    for i in spots {
        for v in [0x00, 0xff, bytes[i] ^ 0x04] {
            let mut b = bytes.clone();
            b[i] = v;
            if let Ok(db) = Xdb::from_bytes(b) {
                for p in &probes {
                    if let Err(e) = db.lookup(*p) {
                        assert!(is_malformed(&e, "ip2region xdb"), "{e}");
                        errors += 1;
                    }
                }
            }
        }
    }
    assert!(errors > 0, "some corruptions are found at lookup");
}

/// A MaxMind DB writer of the format's parts this test needs, to check the record sizes the
/// PyPI writer does not choose for a small file (28 and 32 bits), an IPv4-only tree, values
/// written inline (no pointers) and the flat vendor layout.
mod writer {
    pub enum V {
        S(&'static str),
        U32(u32),
        M(Vec<(&'static str, V)>),
        A(Vec<V>),
    }

    fn head(out: &mut Vec<u8>, kind: u8, size: usize) {
        let (ext, kind) = if kind > 7 {
            (Some(kind - 7), 0)
        } else {
            (None, kind)
        };
        let small = if size < 29 { size as u8 } else { 29 };
        out.push(kind << 5 | small);
        out.extend(ext);
        if size >= 29 {
            out.push((size - 29) as u8);
        }
    }

    pub fn encode(out: &mut Vec<u8>, v: &V) {
        match v {
            V::S(s) => {
                head(out, 2, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            V::U32(n) => {
                head(out, 6, 4);
                out.extend_from_slice(&n.to_be_bytes());
            }
            V::M(pairs) => {
                head(out, 7, pairs.len());
                for (k, v) in pairs {
                    encode(out, &V::S(k));
                    encode(out, v);
                }
            }
            V::A(items) => {
                head(out, 11, items.len());
                for v in items {
                    encode(out, v);
                }
            }
        }
    }

    /// An IPv4 database of `networks` (address, prefix length, record) with `record_size`,
    /// the records after `pad` unused bytes of data section (so pointers need more than 24
    /// bits).
    pub fn ipv4(record_size: usize, pad: usize, networks: &[(u32, u32, V)]) -> Vec<u8> {
        #[derive(Clone, Copy)]
        enum R {
            Empty,
            Node(usize),
            Data(usize),
        }
        let mut data = vec![0u8; pad];
        let mut nodes: Vec<[R; 2]> = vec![[R::Empty; 2]];
        for (net, len, record) in networks {
            let off = data.len();
            encode(&mut data, record);
            let mut node = 0;
            for i in 0..*len {
                let bit = (net >> (31 - i) & 1) as usize;
                if i + 1 == *len {
                    nodes[node][bit] = R::Data(off);
                } else {
                    node = match nodes[node][bit] {
                        R::Node(n) => n,
                        _ => {
                            nodes.push([R::Empty; 2]);
                            nodes[node][bit] = R::Node(nodes.len() - 1);
                            nodes.len() - 1
                        }
                    };
                }
            }
        }
        let count = nodes.len();
        let value = |r: R| match r {
            R::Empty => count,
            R::Node(n) => n,
            R::Data(off) => count + 16 + off,
        };
        let mut out = Vec::new();
        for [l, r] in nodes {
            let (l, r) = (value(l) as u32, value(r) as u32);
            match record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.push(((l >> 24) as u8) << 4 | (r >> 24) as u8 & 0x0f);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                _ => {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let meta = V::M(vec![
            ("node_count", V::U32(count as u32)),
            ("record_size", V::U32(record_size as u32)),
            ("ip_version", V::U32(4)),
            ("binary_format_major_version", V::U32(2)),
            ("binary_format_minor_version", V::U32(0)),
            ("database_type", V::S("onewall-test-City")),
            ("languages", V::A(vec![V::S("zh-CN")])),
        ]);
        encode(&mut out, &meta);
        out
    }
}

#[test]
fn mmdb_record_sizes_ipv4_trees_inline_values_and_the_flat_layout() {
    use writer::V::{self, A, M, S, U32};
    let names = |zh: &'static str| M(vec![("names", M(vec![("zh-CN", S(zh))]))]);
    let networks = || -> Vec<(u32, u32, V)> {
        vec![
            (
                u32::from_be_bytes([1, 2, 0, 0]),
                16,
                M(vec![
                    ("city", names("洛阳")),
                    (
                        "country",
                        M(vec![
                            ("iso_code", S("CN")),
                            ("names", M(vec![("zh-CN", S("中国"))])),
                        ]),
                    ),
                    ("subdivisions", A(vec![names("河南省")])),
                    ("autonomous_system_number", U32(4837)),
                ]),
            ),
            (
                u32::from_be_bytes([5, 6, 7, 0]),
                24,
                M(vec![
                    ("country", M(vec![("iso_code", S("DE"))])),
                    ("province", S("Hessen")),
                    ("city", S("Frankfurt")),
                    ("isp", S("Example Carrier")),
                ]),
            ),
        ]
    };
    for (record_size, pad) in [(24, 0), (28, 0), (28, 1 << 24), (32, 1 << 24)] {
        let db = Mmdb::from_bytes(writer::ipv4(record_size, pad, &networks()))
            .unwrap_or_else(|e| panic!("record size {record_size}: {e}"));
        assert_eq!(db.database_type(), "onewall-test-City");
        let luoyang = db.lookup(ip("1.2.200.1")).expect("lookup").expect("found");
        assert_eq!(text(&luoyang.country_code), Some("CN"), "{record_size}");
        assert_eq!(text(&luoyang.province), Some("河南省"), "{record_size}");
        assert_eq!(text(&luoyang.city), Some("洛阳"), "{record_size}");
        assert_eq!(luoyang.asn, Some(4837));
        let flat = db.lookup(ip("5.6.7.8")).expect("lookup").expect("found");
        assert_eq!(text(&flat.country_code), Some("DE"));
        assert_eq!(text(&flat.country), None);
        assert_eq!(text(&flat.province), Some("Hessen"));
        assert_eq!(text(&flat.city), Some("Frankfurt"));
        assert_eq!(text(&flat.isp), Some("Example Carrier"));
        assert_eq!(db.lookup(ip("5.6.8.1")).expect("lookup"), None);
        // An IPv4 tree has no IPv6 answer; a mapped IPv4 address is read as IPv4.
        assert_eq!(db.lookup(ip("2400:3200::1")).expect("lookup"), None);
        assert_eq!(
            db.lookup(ip("::ffff:1.2.3.4")).expect("lookup"),
            Some(luoyang.clone())
        );
    }
}
