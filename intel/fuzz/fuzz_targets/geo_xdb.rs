//! An ip2region xdb file built from any bytes: the input's first 64 bytes are the header, the
//! next byte says how many vector index cells (up to 8) the following 10-byte groups set
//! (cell number, first and last entry), and the rest is the data and segment index after the
//! 512 KiB vector index. Opening and lookups answer or give an error, never a panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use onewall_intel::geo::Xdb;

const HEADER: usize = 256;
const VECTOR_INDEX: usize = 256 * 256 * 8;

fuzz_target!(|data: &[u8]| {
    let mut file = vec![0u8; HEADER + VECTOR_INDEX];
    let head = data.len().min(64);
    file[..head].copy_from_slice(&data[..head]);
    let mut rest = data.get(head..).unwrap_or_default();
    let cells = rest.first().map_or(0, |n| usize::from(n % 9));
    rest = rest.get(1..).unwrap_or_default();
    let mut prefixes = Vec::new();
    for _ in 0..cells {
        let Some(c) = rest.get(..10) else { break };
        let cell = usize::from(u16::from_le_bytes([c[0], c[1]]));
        let at = HEADER + cell * 8;
        file[at..at + 8].copy_from_slice(&c[2..10]);
        prefixes.push([c[1], c[0]]);
        rest = &rest[10..];
    }
    file.extend_from_slice(rest);
    let Ok(db) = Xdb::from_bytes(file) else {
        return;
    };
    let mut probes = vec![
        IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
        IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
        IpAddr::V6(Ipv6Addr::new(0x2400, 0x3200, 0, 0, 0, 0, 0, 1)),
    ];
    for [a, b] in prefixes {
        for tail in [0u8, 0x80, 0xff] {
            probes.push(IpAddr::V4(Ipv4Addr::new(a, b, tail, tail)));
            let hi = u16::from_be_bytes([a, b]);
            probes.push(IpAddr::V6(Ipv6Addr::new(hi, u16::from(tail), 0, 0, 0, 0, 0, 1)));
        }
    }
    for ip in probes {
        let _ = db.lookup(ip);
    }
});
