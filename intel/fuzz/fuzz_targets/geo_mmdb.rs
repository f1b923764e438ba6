//! A MaxMind DB file of any bytes: opening it and looking addresses up either answers or
//! gives an error, never a panic, a hang or unbounded memory.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use onewall_intel::geo::Mmdb;

fuzz_target!(|data: &[u8]| {
    let Ok(db) = Mmdb::from_bytes(data.to_vec()) else {
        return;
    };
    let mut probes = vec![
        IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
        IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::new(0x2400, 0x3200, 0, 0, 0, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff)),
    ];
    // Addresses taken from the input reach the records it describes.
    for chunk in data.chunks_exact(16).take(8) {
        let mut b = [0u8; 16];
        b.copy_from_slice(chunk);
        probes.push(IpAddr::V6(Ipv6Addr::from(b)));
        probes.push(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])));
    }
    for ip in probes {
        let _ = db.lookup(ip);
    }
});
