//! The flow datagram path on arbitrary bytes: one NetFlow/IPFIX decoder and one sFlow decoder
//! fed a sequence of datagrams (so templates learned from one apply to the next). Nothing
//! panics; every datagram gives its records as flow events plus at most one event that keeps
//! the datagram raw with its error; a datagram without an error keeps nothing raw.
//!
//! Input: datagrams separated by the 4 bytes `FLOW`; the first byte of each picks the
//! decoder (even: NetFlow/IPFIX, odd: sFlow) and the sender (its top bits). Seed it with the
//! recorded exporter datagrams in the shared corpus (`flows/dgrams/*/*.bin`), each prefixed
//! with a selector byte.

#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use onewall_ingest::flow::{FlowContext, NetflowDecoder, NetflowSettings, SflowDecoder};
use onewall_model::{Format, RegionCode, Timestamp};

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(4).position(|w| w == b"FLOW") {
        out.push(&rest[..at]);
        rest = &rest[at + 4..];
    }
    out.push(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let ctx = FlowContext {
        collector: "netflow".into(),
        region: RegionCode::HENAN,
        department: None,
    };
    let mut netflow = NetflowDecoder::new(NetflowSettings {
        template_ttl: None,
        max_exporters: 4,
    })
    .expect("decoder");
    let mut sflow = SflowDecoder::new(4);
    for dgram in split(data).into_iter().take(64) {
        let Some((&sel, body)) = dgram.split_first() else {
            continue;
        };
        let peer = SocketAddr::from(([127, 0, 0, 1 + (sel >> 6)], 2055));
        let mut out = Vec::new();
        let report = if sel & 1 == 0 {
            netflow.decode(
                body,
                peer,
                Timestamp::from_secs(1_800_000_000),
                &ctx,
                &mut out,
            )
        } else {
            sflow.decode(
                body,
                peer,
                Timestamp::from_secs(1_800_000_000),
                &ctx,
                &mut out,
            )
        };
        let kept: Vec<_> = out.iter().filter(|e| e.parse_error.is_some()).collect();
        assert!(kept.len() <= 1, "at most one raw error event per datagram");
        assert_eq!(kept.len(), usize::from(report.error.is_some()));
        if let Some(e) = kept.first() {
            assert_eq!(&*e.raw, body, "the error event keeps the whole datagram");
        }
        assert_eq!(out.len() - kept.len(), report.records);
        assert!(out.iter().all(|e| e.format == Format::Flow));
    }
});
