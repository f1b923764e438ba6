//! Test databases, made by the tests: an ip2region xdb written here to the format (as its
//! maker lays it out), and a MaxMind DB written by PyPI `mmdb-writer` (a writer independent of
//! our reader), with PyPI `maxminddb` and `py-ip2region` as reference readers.
//! Shared by `intel/tests/geo.rs` and the node's `tests/geo_enrich.rs`.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

/// One range of an xdb file: first and last address (same IP version) and its region text.
pub struct Segment {
    pub start: IpAddr,
    pub end: IpAddr,
    pub region: &'static str,
}

fn bytes_of(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Split a range (as big-endian bytes) where its first two bytes change: each vector index
/// cell covers one such block.
fn split_by_cell(start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let n = start.len();
    let mut out = Vec::new();
    let mut s = start.to_vec();
    loop {
        let mut block_end = s.clone();
        for b in block_end.iter_mut().skip(2) {
            *b = 0xff;
        }
        if block_end.as_slice() >= end {
            out.push((s, end.to_vec()));
            return out;
        }
        out.push((s.clone(), block_end.clone()));
        // The next block's first address: the two-byte prefix plus one.
        let prefix = u16::from_be_bytes([block_end[0], block_end[1]]) + 1;
        s = vec![0; n];
        s[..2].copy_from_slice(&prefix.to_be_bytes());
    }
}

/// An xdb file holding `segments` (sorted, not overlapping, all IPv4 or all IPv6):
/// structure version 2 for IPv4 unless `v3`, always 3 for IPv6. Vector index cells end just
/// past their last entry, as ip2region's maker writes them.
pub fn xdb(segments: &[Segment], v3: bool) -> Vec<u8> {
    let v6 = segments.first().is_some_and(|s| s.start.is_ipv6());
    let ip_len = if v6 { 16 } else { 4 };
    let entry = 2 * ip_len + 6;
    let mut out = vec![0u8; 256 + 256 * 256 * 8];
    // Region texts, deduplicated.
    let mut texts: Vec<(&str, u32)> = Vec::new();
    for s in segments {
        if !texts.iter().any(|(t, _)| *t == s.region) {
            texts.push((s.region, out.len() as u32));
            out.extend_from_slice(s.region.as_bytes());
        }
    }
    let mut first_entry = None;
    let mut last_entry = 0u32;
    for s in segments {
        let ptr = texts
            .iter()
            .find(|(t, _)| *t == s.region)
            .map(|(_, p)| *p)
            .unwrap_or_default();
        for (a, b) in split_by_cell(&bytes_of(s.start), &bytes_of(s.end)) {
            let at = out.len() as u32;
            first_entry.get_or_insert(at);
            last_entry = at;
            for ip in [&a, &b] {
                if v6 {
                    out.extend_from_slice(ip);
                } else {
                    out.extend(ip.iter().rev());
                }
            }
            out.extend_from_slice(&(s.region.len() as u16).to_le_bytes());
            out.extend_from_slice(&ptr.to_le_bytes());
            let cell = 256 + (usize::from(a[0]) * 256 + usize::from(a[1])) * 8;
            if out[cell..cell + 4] == [0, 0, 0, 0] {
                out[cell..cell + 4].copy_from_slice(&at.to_le_bytes());
            }
            out[cell + 4..cell + 8].copy_from_slice(&(at + entry as u32).to_le_bytes());
        }
    }
    let version: u16 = if v6 || v3 { 3 } else { 2 };
    out[0..2].copy_from_slice(&version.to_le_bytes());
    out[2..4].copy_from_slice(&1u16.to_le_bytes());
    out[4..8].copy_from_slice(&1_700_000_000u32.to_le_bytes());
    out[8..12].copy_from_slice(&first_entry.unwrap_or_default().to_le_bytes());
    out[12..16].copy_from_slice(&last_entry.to_le_bytes());
    if version == 3 {
        out[16..18].copy_from_slice(&(if v6 { 6u16 } else { 4 }).to_le_bytes());
        out[18..20].copy_from_slice(&4u16.to_le_bytes());
    }
    out
}

/// The segments of the test xdb (IPv4).
pub fn v4_segments() -> Vec<Segment> {
    let ip = |s: &str| s.parse::<IpAddr>().expect("address");
    vec![
        Segment {
            start: ip("1.2.0.0"),
            end: ip("1.2.255.255"),
            region: "中国|0|河南省|郑州市|电信",
        },
        Segment {
            start: ip("8.8.8.0"),
            end: ip("8.8.8.255"),
            region: "美国|0|0|0|0",
        },
        // Spans four vector index cells.
        Segment {
            start: ip("36.0.0.0"),
            end: ip("36.3.255.255"),
            region: "中国|0|北京|北京市|联通",
        },
        Segment {
            start: ip("43.252.0.0"),
            end: ip("43.252.3.255"),
            region: "中国|0|香港|0|0",
        },
        // The newer data's layout: 国家|省份|城市|ISP|代码.
        Segment {
            start: ip("45.0.0.0"),
            end: ip("45.0.255.255"),
            region: "日本|东京都|东京|0|JP",
        },
        Segment {
            start: ip("220.181.0.0"),
            end: ip("220.181.127.255"),
            region: "中国|0|北京|北京市|电信",
        },
        // Makers fill the space between ranges; the reference reader reads past the end of
        // the file without this last one.
        Segment {
            start: ip("220.181.128.0"),
            end: ip("220.181.255.255"),
            region: "0|0|0|0|0",
        },
    ]
}

/// The segments of the test xdb (IPv6).
pub fn v6_segments() -> Vec<Segment> {
    let ip = |s: &str| s.parse::<IpAddr>().expect("address");
    vec![
        Segment {
            start: ip("2400:3200::"),
            end: ip("2400:3200:ffff:ffff:ffff:ffff:ffff:ffff"),
            region: "中国|0|浙江省|杭州市|阿里云",
        },
        Segment {
            start: ip("2a00:1450::"),
            end: ip("2a00:1451:ffff:ffff:ffff:ffff:ffff:ffff"),
            region: "爱尔兰|0|0|0|0",
        },
        Segment {
            start: ip("2a00:1452::"),
            end: ip("2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            region: "0|0|0|0|0",
        },
    ]
}

/// Run a Python script with `args`; its standard output. Panics with the script's error (the
/// test needs PyPI `mmdb-writer`, `netaddr`, `maxminddb` and `py-ip2region`: scripts/test
/// installs them).
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python script failed (needs PyPI mmdb-writer, netaddr, maxminddb, py-ip2region): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The test MaxMind DB: GeoIP2 City-shaped records (names in zh-CN and en, one in English
/// only) with ASN fields, in an IPv6 tree holding IPv4 under `::/96`, as MaxMind ships.
pub const MMDB_WRITER: &str = r#"
import sys
from netaddr import IPSet
from mmdb_writer import MMDBWriter, MmdbU32

def names(zh, en):
    d = {"en": en}
    if zh:
        d["zh-CN"] = zh
    return {"names": d}

def city(code, country, province, city_, asn, org):
    rec = {"country": dict(iso_code=code, **names(*country))}
    if province:
        rec["subdivisions"] = [dict(iso_code="XX", **names(*province))]
    if city_:
        rec["city"] = names(*city_)
    if asn:
        rec["autonomous_system_number"] = MmdbU32(asn)
        rec["autonomous_system_organization"] = org
    return rec

w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City",
               languages=["en", "zh-CN"], description="onewall test")
w.insert_network(IPSet(["1.2.0.0/16"]), city("CN", ("中国", "China"), ("河南省", "Henan"),
                 ("郑州", "Zhengzhou"), 4134, "CHINANET-BACKBONE"))
w.insert_network(IPSet(["8.8.8.0/24"]), city("US", (None, "United States"),
                 (None, "California"), (None, "Mountain View"), 15169, "GOOGLE"))
w.insert_network(IPSet(["203.198.0.0/16"]), city("HK", ("香港", "Hong Kong"), None, None,
                 4760, "HKT Limited"))
w.insert_network(IPSet(["81.2.69.0/24"]), city("GB", ("英国", "United Kingdom"),
                 ("英格兰", "England"), ("伦敦", "London"), None, None))
w.insert_network(IPSet(["2400:3200::/32"]), city("CN", ("中国", "China"),
                 ("浙江省", "Zhejiang"), ("杭州", "Hangzhou"), 37963, "Hangzhou Alibaba"))
w.to_db_file(sys.argv[1])
"#;

/// Write the test MaxMind DB to `path`.
pub fn mmdb(path: &Path) {
    python(MMDB_WRITER, &[path.to_str().expect("utf-8 path")]);
}
